"""DICOM microscopy images (pydicom 3) rendered to RGB PNG, with their useful metadata."""

from __future__ import annotations

import io
import logging
import struct
import warnings

import numpy as np
import pydicom
from PIL import Image, UnidentifiedImageError
from pydicom.encaps import generate_frames
from pydicom.errors import BytesLengthException, InvalidDicomError
from pydicom.pixels import get_decoder, pixel_array
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    VLMicroscopicImageStorage,
    VLSlideCoordinatesMicroscopicImageStorage,
    VLWholeSlideMicroscopyImageStorage,
)

from apps.core.text import Text

from .decoded import Decoded, FileRejected
from .images import pixel_limit_reason, require_strict_decoding
from .types import Limits

logger = logging.getLogger(__name__)

MICROSCOPY_SOP_CLASSES = {
    str(VLMicroscopicImageStorage): "VL Microscopic Image",
    str(VLSlideCoordinatesMicroscopicImageStorage): "VL Slide-Coordinates Microscopic Image",
    str(VLWholeSlideMicroscopyImageStorage): "VL Whole Slide Microscopy Image",
}
_NATIVE_SYNTAXES = frozenset(
    {str(ImplicitVRLittleEndian), str(ExplicitVRLittleEndian), str(ExplicitVRBigEndian)}
)
_PHOTOMETRIC_SAMPLES = {"RGB": 3, "YBR_FULL": 3, "YBR_FULL_422": 3, "MONOCHROME2": 1}

# pydicom raises a wide range of exception types on malformed files, some of them only
# when an element is first accessed: its own error classes (errors.py: a value whose length is
# not a multiple of its VR's size raises BytesLengthException while reading an ordinary element
# such as Columns), and the builtin families its readers and pixel handlers let through. They
# are caught by family at this module's boundary and turned into a Rejected carrying the
# message, never let through and never dropped. NotImplementedError (an odd transfer syntax
# or pixel layout) is a RuntimeError and is reported apart, before this tuple.
_DICOM_ERRORS = (
    BytesLengthException,
    ValueError,  # includes UnicodeDecodeError
    LookupError,  # KeyError, IndexError
    AttributeError,
    TypeError,
    struct.error,
    RuntimeError,  # includes RecursionError
    OSError,
    EOFError,
    ArithmeticError,  # OverflowError, ZeroDivisionError
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)

# Copied into ImportedImage.metadata. A whitelist on purpose: PatientName, PatientBirthDate,
# PatientSex/Age, physicians, institution and free-text descriptions (which may contain
# names) are never copied; patient identity lives in the patients app only.
_METADATA_KEYWORDS = (
    "SOPClassUID",
    "SOPInstanceUID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "Modality",
    "Manufacturer",
    "ManufacturerModelName",
    "DeviceSerialNumber",
    "SoftwareVersions",
    "StudyDate",
    "ContentDate",
    "ContentTime",
    "AcquisitionDateTime",
    "AccessionNumber",
    "PatientID",
    "ContainerIdentifier",
    "PixelSpacing",
    "ImagedVolumeWidth",
    "ImagedVolumeHeight",
    "PhotometricInterpretation",
    "BitsStored",
    "LossyImageCompression",
)
_MAX_METADATA_VALUE = 1024

# The first box of a JP2 file: its length (12) and type ("jP  "); its content follows.
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  "

# Group 2 is always explicit VR little endian; these VRs use a 4-byte length.
_LONG_LENGTH_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)


def is_dicom(data: bytes) -> bool:
    """DICOM Part 10 file: 128-byte preamble then "DICM". Bare datasets are not accepted."""
    return data[128:132] == b"DICM"


def decode_dicom(data: bytes, limits: Limits) -> Decoded:
    """Check a DICOM microscopy image against `limits` and render it as an RGB PNG."""
    require_strict_decoding()
    transfer_syntax = _transfer_syntax(data)
    # pydicom reports much of what is wrong with a file as warnings (for instance a file cut
    # inside its pixel data loses the element with only a warning): they are kept and added
    # to the rejection reason, or logged when the file is imported anyway.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            decoded = _decode(data, transfer_syntax, limits)
        except FileRejected as exc:
            raise FileRejected(_with_warning(exc.reason, caught)) from exc
        except InvalidDicomError as exc:
            raise FileRejected(Text.of("not a valid DICOM file (%(detail)s)",
                                       detail=str(exc))) from exc
        except NotImplementedError as exc:
            raise FileRejected(Text.of("DICOM file uses a feature this server cannot read "
                                       "(%(detail)s)", detail=str(exc))) from exc
        except _DICOM_ERRORS as exc:
            raise FileRejected(_with_warning(Text.of(
                "damaged DICOM file (%(detail)s)", detail=f"{type(exc).__name__}: {exc}"),
                caught)) from exc
    for warning in caught:
        logger.info("DICOM imported with a warning: %s", warning.message)
    return decoded


def _with_warning(reason: Text, caught: list[warnings.WarningMessage]) -> Text:
    """``reason`` and the first warning pydicom gave while reading the file, if any."""
    if not caught:
        return reason
    return Text.of("%(reason)s; pydicom: %(warning)s", reason=reason,
                   warning=str(caught[0].message)[:300])


def _transfer_syntax(data: bytes) -> str:
    """Read (0002,0010) from the file meta group and check it before pydicom parses the rest.

    pydicom inflates a Deflated Explicit VR dataset in one unbounded zlib call, so the
    transfer syntax has to be known before dcmread() sees the bytes.
    """
    pos = 132
    while pos + 8 <= len(data):
        group, element = struct.unpack_from("<HH", data, pos)
        if group != 0x0002:
            break
        vr = data[pos + 4 : pos + 6]
        if vr in _LONG_LENGTH_VRS:
            if pos + 12 > len(data):
                break
            (length,) = struct.unpack_from("<L", data, pos + 8)
            value_at = pos + 12
        else:
            (length,) = struct.unpack_from("<H", data, pos + 6)
            value_at = pos + 8
        if value_at + length > len(data):
            raise FileRejected(Text.of(
                "damaged DICOM file (file meta information is cut short)"))
        if element == 0x0010:
            uid = data[value_at : value_at + length].rstrip(b"\x00 ").decode("ascii", "replace")
            _check_transfer_syntax(uid)
            return uid
        pos = value_at + length
    raise FileRejected(Text.of(
        "damaged DICOM file (no transfer syntax in the file meta information)"))


def _check_transfer_syntax(uid: str) -> None:
    if uid in _NATIVE_SYNTAXES:
        return
    syntax = UID(uid)
    name = syntax.name if syntax.is_valid else repr(uid)
    if syntax.is_transfer_syntax and syntax.is_compressed:
        try:
            available = get_decoder(syntax).is_available
        except NotImplementedError:
            available = False
        if available:
            return
        raise FileRejected(Text.of(
            "DICOM pixel data is compressed as %(syntax)s, which this server cannot decode",
            syntax=name))
    raise FileRejected(Text.of("DICOM transfer syntax %(syntax)s is not supported",
                               syntax=name))


def _decode(data: bytes, transfer_syntax: str, limits: Limits) -> Decoded:
    ds = pydicom.dcmread(io.BytesIO(data))
    sop_class = str(ds.get("SOPClassUID") or ds.file_meta.get("MediaStorageSOPClassUID") or "")
    if sop_class not in MICROSCOPY_SOP_CLASSES:
        name = UID(sop_class).name if sop_class else "unknown"
        raise FileRejected(Text.of(
            "DICOM object is a %(name)s (%(uid)s), not a microscopy image; only VL "
            "Microscopic, VL Slide-Coordinates Microscopic and single-frame VL Whole Slide "
            "Microscopy images are imported", name=name, uid=sop_class or "no SOP class"))
    if "PixelData" not in ds:
        raise FileRejected(Text.of("DICOM file has no pixel data"))

    rows = _required_int(ds, "Rows")
    columns = _required_int(ds, "Columns")
    frames = int(ds.get("NumberOfFrames") or 1)
    samples = int(ds.get("SamplesPerPixel") or 1)
    if rows < 1 or columns < 1 or frames < 1:
        raise FileRejected(Text.of(
            "DICOM header declares an empty image (%(columns)sx%(rows)s, %(frames)s frames)",
            columns=columns, rows=rows, frames=frames))
    if frames > limits.max_dicom_frames:
        if sop_class == str(VLWholeSlideMicroscopyImageStorage):
            raise FileRejected(Text.of(
                "DICOM holds %(frames)s frames; only images with at most %(limit)s frame(s) are "
                "imported (whole-slide pyramids are not imported)", frames=frames,
                limit=limits.max_dicom_frames))
        raise FileRejected(Text.of(
            "DICOM holds %(frames)s frames; only images with at most %(limit)s frame(s) are "
            "imported", frames=frames, limit=limits.max_dicom_frames))
    # Header sizes only: nothing has been decoded or allocated yet.
    reason = pixel_limit_reason(columns, rows, frames, limits)
    if reason:
        raise FileRejected(reason)

    photometric = str(ds.get("PhotometricInterpretation") or "").strip()
    if photometric not in _PHOTOMETRIC_SAMPLES:
        raise FileRejected(Text.of(
            "DICOM photometric interpretation %(value)s is not supported (RGB, YBR_FULL, "
            "YBR_FULL_422 or MONOCHROME2 expected)", value=photometric or "(missing)"))
    if samples != _PHOTOMETRIC_SAMPLES[photometric]:
        raise FileRejected(Text.of("DICOM declares %(n)s samples per pixel for %(value)s",
                                   n=samples, value=photometric))
    bits_allocated = _required_int(ds, "BitsAllocated")
    bits_stored = int(ds.get("BitsStored") or bits_allocated)
    if bits_allocated not in (8, 16) or not 1 <= bits_stored <= bits_allocated:
        raise FileRejected(Text.of(
            "DICOM pixels are %(stored)s of %(allocated)s bits; 8- or 16-bit expected",
            stored=bits_stored, allocated=bits_allocated))
    if int(ds.get("PixelRepresentation") or 0) != 0:
        raise FileRejected(Text.of(
            "DICOM pixels are signed; microscopy images are expected unsigned"))

    if transfer_syntax in _NATIVE_SYNTAXES:
        per_pixel = 2 if photometric == "YBR_FULL_422" else samples
        expected = rows * columns * frames * per_pixel * bits_allocated // 8
        held = len(ds.PixelData)
        # One trailing pad byte keeps an odd length even; anything else means the header's
        # size is not the image's (a 1x1 header over a whole cell, or a cut file).
        if not expected <= held <= expected + 1:
            raise FileRejected(Text.of(
                "DICOM pixel data holds %(held)s bytes but the header declares a "
                "%(columns)sx%(rows)s image needing %(expected)s bytes (truncated or "
                "inconsistent file)", held=held, columns=columns, rows=rows, expected=expected))
    else:
        _check_compressed_frame_size(ds.PixelData, columns, rows)

    arr = pixel_array(ds, index=0)
    if arr.shape[:2] != (rows, columns):
        raise FileRejected(Text.of(
            "DICOM decoded to %(shape)s pixels, not the declared %(rows)sx%(columns)s",
            shape=str(arr.shape), rows=rows, columns=columns))
    rgb = _to_rgb8(arr, bits_stored)
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="PNG")
    return Decoded(
        content=out.getvalue(),
        format="DICOM",
        width=columns,
        height=rows,
        metadata=_metadata(ds, transfer_syntax),
    )


def _required_int(ds: pydicom.Dataset, keyword: str) -> int:
    value = ds.get(keyword)
    if value is None or value == "":
        raise FileRejected(Text.of("DICOM header has no %(keyword)s", keyword=keyword))
    return int(value)


def _check_compressed_frame_size(pixel_data: bytes, columns: int, rows: int) -> None:
    """A JPEG/JPEG 2000 frame carries its own size: make it agree before anything decodes it.

    Otherwise a tiny header could wrap a frame tens of megapixels large, which the decoder
    would expand before pydicom compares shapes.
    """
    frame = next(generate_frames(pixel_data, number_of_frames=1), b"")
    if not frame:
        raise FileRejected(Text.of("DICOM compressed pixel data holds no frame"))
    _check_jp2_boxes(frame)
    try:
        with Image.open(io.BytesIO(frame), formats=["JPEG", "JPEG2000"]) as img:
            size = img.size
    except UnidentifiedImageError:
        return  # RLE and other codecs: pydicom sizes its output from Rows and Columns
    if size != (columns, rows):
        raise FileRejected(Text.of(
            "DICOM compressed frame is %(width)sx%(height)s pixels but the header declares "
            "%(columns)sx%(rows)s", width=size[0], height=size[1], columns=columns, rows=rows))


def _check_jp2_boxes(frame: bytes) -> None:
    """A frame wrapped in a JP2 file header must lead to its codestream box.

    pydicom (3.0, pixels.utils.get_j2k_parameters) walks the header's boxes by their lengths
    before decoding and never ends on a box of length 0: one such box held a worker forever.
    A length below the 8-byte box header cannot be walked either, so both are refused here.
    """
    if not frame.startswith(_JP2_SIGNATURE):
        return
    offset = len(_JP2_SIGNATURE) + 4
    while offset < len(frame):
        length = int.from_bytes(frame[offset : offset + 4], "big")
        if frame[offset + 4 : offset + 8] == b"jp2c":
            return
        if length < 8:
            raise FileRejected(Text.of(
                "damaged DICOM file (a JPEG 2000 header box declares %(n)s bytes)", n=length))
        offset += length
    raise FileRejected(Text.of(
        "damaged DICOM file (the JPEG 2000 frame holds no codestream)"))


def _to_rgb8(arr: np.ndarray, bits_stored: int) -> np.ndarray:
    """8-bit RGB for the PNG and the models.

    More than 8 stored bits are scaled linearly from the full stored range (0..2**n-1) to
    0..255: deterministic and reversible in meaning, unlike a per-image window.
    """
    if arr.dtype != np.uint8 or bits_stored != 8:
        top = (1 << bits_stored) - 1
        wide = np.minimum(arr.astype(np.uint32), top)
        arr = ((wide * 255 + top // 2) // top).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.stack([arr, arr, arr], axis=-1)
    return np.ascontiguousarray(arr)


def _metadata(ds: pydicom.Dataset, transfer_syntax: str) -> dict[str, str]:
    found: dict[str, str] = {"TransferSyntaxUID": transfer_syntax}
    for keyword in _METADATA_KEYWORDS:
        _put(found, keyword, [_text(ds, keyword)])
    if "PixelSpacing" not in found:
        # Whole-slide images keep the pixel spacing in the shared functional groups.
        shared = ds.get("SharedFunctionalGroupsSequence")
        measures = shared[0].get("PixelMeasuresSequence") if shared else None
        if measures:
            _put(found, "PixelSpacing", [_text(measures[0], "PixelSpacing")])
    specimens = ds.get("SpecimenDescriptionSequence") or []
    _put(found, "SpecimenIdentifier", [_text(item, "SpecimenIdentifier") for item in specimens])
    _put(found, "SpecimenUID", [_text(item, "SpecimenUID") for item in specimens])
    optical_paths = ds.get("OpticalPathSequence") or []
    _put(found, "ObjectiveLensPower", [_text(i, "ObjectiveLensPower") for i in optical_paths])
    return found


def _text(ds: pydicom.Dataset, keyword: str) -> str:
    """An element's value as DICOM would print it: multiple values joined with a backslash."""
    if keyword not in ds:
        return ""
    element = ds[keyword]
    values = element.value if element.VM > 1 else [element.value]
    # FL is single precision: 0.09 is stored as 0.0900000036; print what was written.
    single = element.VR == "FL"
    texts = (f"{v:.7g}" if single else str(v).strip() for v in values if v is not None)
    return "\\".join(t for t in texts if t)


def _put(found: dict[str, str], key: str, texts: list[str]) -> None:
    text = "\\".join(t for t in texts if t)
    text = "".join(ch for ch in text if ch.isprintable())[:_MAX_METADATA_VALUE]
    if text:
        found[key] = text
