"""Plain raster images (JPEG, PNG, TIFF, BMP) checked with a full Pillow decode."""

from __future__ import annotations

import io
import struct
import warnings

from PIL import Image, ImageFile, UnidentifiedImageError

from apps.core.text import Text

from .decoded import Decoded, FileRejected, megapixels
from .types import Limits

PILLOW_FORMATS = ("JPEG", "PNG", "TIFF", "BMP")

# Exceptions Pillow's plugins raise on malformed input, by family: OSError (decoder errors,
# truncation), SyntaxError (Pillow's "not a valid file" in several plugins), ValueError,
# EOFError, struct.error, LookupError (IndexError, KeyError), TypeError and ArithmeticError
# (ZeroDivisionError, OverflowError). Caught only around the decode of untrusted bytes and
# always turned into a Rejected that carries the message.
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    LookupError,
    TypeError,
    ArithmeticError,
)

NOT_AN_IMAGE = Text.of("not an image that can be read (JPEG, PNG, TIFF, BMP or DICOM expected)")


def require_strict_decoding() -> None:
    """Refuse to run when someone enabled Pillow's lenient mode process-wide.

    LOAD_TRUNCATED_IMAGES is global; with it on, a truncated cell image would be imported
    with grey padding where the cell was, and a model would then score the padding.
    """
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError(
            "PIL.ImageFile.LOAD_TRUNCATED_IMAGES is enabled in this process; smear imports "
            "need it off so that truncated images are rejected."
        )


def pixel_limit_reason(width: int, height: int, frames: int, limits: Limits) -> Text | None:
    pixels = width * height * frames
    if pixels <= limits.max_pixels:
        return None
    if frames > 1:
        return Text.of("image is %(width)sx%(height)s pixels x %(frames)s frames, above the "
                       "%(limit)s limit", width=width, height=height, frames=frames,
                       limit=megapixels(limits.max_pixels))
    return Text.of("image is %(width)sx%(height)s pixels, above the %(limit)s limit",
                   width=width, height=height, limit=megapixels(limits.max_pixels))


def decode_raster(data: bytes, limits: Limits) -> Decoded:
    """Fully decode `data` with Pillow; raise FileRejected when it is not a sound image."""
    require_strict_decoding()
    fmt = "image"
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; a warning is no refusal.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=list(PILLOW_FORMATS)) as img:
                fmt = img.format or fmt
                width, height = img.size
                # Checked on the header's size, before load() allocates the pixels.
                reason = pixel_limit_reason(width, height, 1, limits)
                if reason:
                    raise FileRejected(reason)
                frames = getattr(img, "n_frames", 1)
                if frames != 1:
                    raise FileRejected(Text.of(
                        "%(format)s holds %(n)s images; only single-image files are imported",
                        format=fmt, n=frames))
                img.load()
        except UnidentifiedImageError as exc:
            raise FileRejected(NOT_AN_IMAGE) from exc
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise FileRejected(Text.of(
                "image is too large to decode safely (above the %(limit)s limit)",
                limit=megapixels(limits.max_pixels))) from exc
        except _DECODE_ERRORS as exc:
            # In the reader's words, not the decoder's (English, and about its internals); the
            # decoder's message stays on the exception chain.
            if "truncated" in str(exc).lower():
                raise FileRejected(Text.of(
                    "truncated %(format)s: the file ends before its image does (an interrupted "
                    "copy or export?)", format=fmt)) from exc
            raise FileRejected(Text.of("damaged %(format)s: its image data cannot be decoded",
                                       format=fmt)) from exc
    if fmt == "MPO":
        # Pillow reports some camera JPEGs as MPO; a single-frame one is a plain JPEG.
        fmt = "JPEG"
    if fmt not in PILLOW_FORMATS:
        raise FileRejected(NOT_AN_IMAGE)
    return Decoded(content=data, format=fmt, width=width, height=height)
