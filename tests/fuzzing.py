"""Seeded mutation fuzzing of every importer, through the entry point the app calls.

One module for the suite (tests/smears, tests/hemograms: a few thousand inputs per importer) and
for bench/fuzz_importers.py (10,000 and more). Seeds are real files: PBC and LISC CellaVision
images from ../shared/datasets, DICOM files built around their pixels, CellaVision-style export
zips of them, and CBC files in each format holding real blood counts (wbs_cbc) plus the samples
the CBC tests and docs/cbc-formats.md use. Each input is a seed mutated at the byte level, at
the level of the format's own structure (DICOM elements, PNG chunks, JPEG markers, TIFF and BMP
headers, zip directories, CSV fields and HL7 segments), or a zip crafted from hostile parts.

An outcome is "handled" when the importer returns its result (well formed: every rejection
carries its reason) or raises its documented refusal with a message: ImportRefused for the
smear importers (read_upload, as apps.smears.services calls it), CBCParseError for the CBC
parsers (parse_cbc). Anything else, including a refusal without a message or a malformed
result, is "unhandled". Input i of an importer depends only on (importer, seed, i), so any
failure is reproduced by its index (bench/fuzz_importers.py --only).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import random
import signal
import struct
import threading
import time
import traceback
import warnings
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    ExplicitVRBigEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    RLELossless,
    UID_dictionary,
    VLWholeSlideMicroscopyImageStorage,
    generate_uid,
)

from apps.hemograms.parsers import PARAMETERS, CBCParseError, ParseResult, parse_cbc
from apps.smears.importers import DEFAULT_LIMITS, ImportBatch, ImportRefused, read_upload
from tests.smears.builders import dicom_bytes, dicom_dataset

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"

ACCEPTED, REJECTED = "accepted", "rejected"


class Unclear(Exception):
    """A handled outcome that breaks the importer's contract (no message, malformed result)."""


class TooSlow(BaseException):
    """One input ran past the time allowed. A BaseException, so no importer can swallow it."""


# --- the importers, called as the app calls them -----------------------------------------

_IMAGE_FORMATS = {"JPEG", "PNG", "TIFF", "BMP", "DICOM"}


def _require(condition: object, what: str) -> None:
    if not condition:
        raise Unclear(what)


def upload_outcome(data: bytes, name: str) -> str:
    """One upload through read_upload (apps.smears.services.smear_read_upload's call)."""
    try:
        batch = read_upload(name, io.BytesIO(data), limits=DEFAULT_LIMITS)
    except ImportRefused as exc:
        _require(str(exc).strip(), "ImportRefused without a message")
        return REJECTED
    check_batch(batch, single=not data.startswith(b"PK"))
    return ACCEPTED if batch.images else REJECTED


def check_batch(batch: ImportBatch, *, single: bool) -> None:
    """An ImportBatch as its contract says: reasons given, images sound and within limits."""
    for rejected in batch.rejected:
        _require(rejected.file and rejected.reason.strip(), f"no reason given: {rejected}")
    for skipped in batch.skipped:
        _require(skipped.reason.strip(), f"skipped without a reason: {skipped}")
    for image in batch.images:
        _require(image.content and image.sha256 == hashlib.sha256(image.content).hexdigest(),
                 f"image {image.name!r}: content and sha256 disagree")
        _require(image.format in _IMAGE_FORMATS, f"image {image.name!r}: format {image.format}")
        _require(image.width >= 1 and image.height >= 1
                 and image.width * image.height <= DEFAULT_LIMITS.max_pixels,
                 f"image {image.name!r}: {image.width}x{image.height}")
    if single:  # read_single: exactly one image or one rejection
        _require(len(batch.images) + len(batch.rejected) == 1,
                 f"a single file gave {len(batch.images)} images, {len(batch.rejected)} rejections")


def cbc_outcome(data: bytes, fmt: str | None) -> str:
    """One CBC file through parse_cbc (apps.hemograms.services.cbc_import's call)."""
    try:
        result = parse_cbc(data, format=fmt)
    except CBCParseError as exc:
        _require(str(exc).strip(), "CBCParseError without a message")
        return REJECTED
    check_cbc_result(result, fmt)
    return ACCEPTED if result.records else REJECTED


def check_cbc_result(result: ParseResult, fmt: str | None = None) -> None:
    """A ParseResult as docs/cbc-formats.md describes it."""
    _require(isinstance(result, ParseResult), f"parse_cbc returned {type(result).__name__}")
    _require(result.format in ("sysmex", "hl7", "csv") and fmt in (None, result.format),
             f"format {result.format!r} for {fmt!r}")
    _require(result.records or result.errors, "no record and no error")
    for record in result.records:
        _require(record.line >= 1 and record.accession and len(record.accession) <= 64,
                 f"record line {record.line} accession {record.accession!r}")
        codes = [m.code for m in record.measurements]
        _require(len(codes) == len(set(codes)), f"line {record.line}: a parameter twice")
        for m in record.measurements:
            _require(m.code in PARAMETERS, f"line {record.line}: unknown code {m.code!r}")
            _require(m.value is None or (math.isfinite(m.value) and m.value >= 0),
                     f"line {record.line}: {m.code} = {m.value!r}")
    for error in result.errors:
        _require(error.line >= 1 and error.reason.startswith(f"line {error.line}: ")
                 and len(error.reason) > len(f"line {error.line}: "),
                 f"error without its line or reason: {error}")


# --- byte-level mutations ----------------------------------------------------------------

_INTERESTING = (0, 1, 2, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
                0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF)


def _offset(rng: random.Random, size: int, head: int) -> int:
    """A position, half the time in the first `head` bytes (where the headers are)."""
    return rng.randrange(min(size, head) if rng.random() < 0.5 else size)


def _interesting(rng: random.Random, width: int) -> bytes:
    value = rng.choice(_INTERESTING) & ((1 << (8 * width)) - 1)
    return value.to_bytes(width, rng.choice(("little", "big")))


def _mutate_once(rng: random.Random, data: bytearray, others: list[bytes], head: int
                 ) -> bytearray:
    if not data:
        return bytearray(rng.randbytes(rng.randrange(1, 64)))
    size = len(data)
    kind = rng.randrange(10)
    at = _offset(rng, size, head)
    if kind == 0:  # cut short
        return data[: rng.randrange(size)]
    if kind == 1:  # a run of random bytes over what was there
        n = rng.randrange(1, 33)
        data[at : at + n] = rng.randbytes(n)
    elif kind == 2:  # bit flips
        for _ in range(rng.randrange(1, 9)):
            data[_offset(rng, size, head)] ^= 1 << rng.randrange(8)
    elif kind == 3:  # bytes inserted
        data[at:at] = rng.randbytes(rng.randrange(1, 65))
    elif kind == 4:  # a range deleted
        del data[at : at + rng.randrange(1, 257)]
    elif kind == 5:  # a range repeated elsewhere
        n = rng.randrange(1, 513)
        chunk = data[at : at + n]
        to = rng.randrange(size)
        data[to:to] = chunk * rng.choice((1, 1, 2, 16))
    elif kind in (6, 7):  # a size, offset or count field set to a boundary value
        width = rng.choice((1, 2, 4, 4, 8))
        data[at : at + width] = _interesting(rng, width)
    elif kind == 8 and others:  # the head of this file on the tail of another
        other = rng.choice(others)
        return data[: rng.randrange(size)] + other[rng.randrange(len(other) or 1) :]
    else:  # a run of zeros or of 0xFF
        n = rng.randrange(1, 65)
        data[at : at + n] = bytes([rng.choice((0, 0xFF))]) * n
    return data


def mutate_bytes(rng: random.Random, data: bytes, others: Sequence[bytes] = (), head: int = 1024
                 ) -> bytes:
    """One to four byte-level mutations of `data` (most often one)."""
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4))):
        out = _mutate_once(rng, out, list(others), head)
    return bytes(out)


# --- real images --------------------------------------------------------------------------

def _dataset_files(folder: str, pattern: str, n: int) -> list[Path]:
    files = sorted((DATASETS / folder).glob(pattern))[:n]
    if len(files) < n:
        raise RuntimeError(
            f"The datasets are missing: expected {n} files {pattern} under {DATASETS / folder} "
            "(see ../shared/datasets/README.md).")
    return files


@cache
def real_jpegs() -> tuple[bytes, ...]:
    """CellaVision DM96 JPEGs (PBC, 360x363) and LISC JPEGs (another microscope, 224x224)."""
    pbc = [p for cls in ("neutrophil", "eosinophil", "lymphocyte", "platelet")
           for p in _dataset_files(f"pbc/{cls}", "*.jpg", 1)]
    lisc = _dataset_files("lisc/monocyte", "*.jpg", 1)
    return tuple(p.read_bytes() for p in [*pbc, *lisc])


@cache
def real_pixels(size: int | None = None) -> np.ndarray:
    """RGB pixels of a real PBC neutrophil; a centred size x size crop when `size` is given."""
    with Image.open(io.BytesIO(real_jpegs()[0])) as img:
        rgb = np.asarray(img.convert("RGB"))
    if size is None:
        return rgb
    top, left = (rgb.shape[0] - size) // 2, (rgb.shape[1] - size) // 2
    return np.ascontiguousarray(rgb[top : top + size, left : left + size])


def _encode(pixels: np.ndarray, fmt: str, mode: str = "RGB", **params: object) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).convert(mode).save(out, format=fmt, **params)
    return out.getvalue()


@cache
def image_seeds() -> tuple[bytes, ...]:
    """Real cell images as a lab sends them, and re-encoded in every accepted format."""
    crop = real_pixels(48)
    full = real_pixels()
    return (
        *real_jpegs(),
        _encode(crop, "JPEG", quality=90),
        _encode(crop, "JPEG", progressive=True, quality=80),
        _encode(full, "PNG"),
        _encode(crop, "PNG"),
        _encode(crop, "PNG", mode="P"),
        _encode(crop, "PNG", mode="L"),
        _encode(crop, "PNG", mode="RGBA"),
        _encode(full, "BMP"),
        _encode(crop, "BMP"),
        _encode(crop, "BMP", mode="P"),
        _encode(crop, "TIFF"),
        _encode(crop, "TIFF", compression="tiff_lzw"),
        _encode(crop, "TIFF", compression="tiff_adobe_deflate"),
        _encode(crop, "TIFF", compression="packbits"),
        _encode(full, "TIFF", compression="jpeg"),
    )


def _png_chunks(data: bytes) -> list[tuple[int, int]]:
    """(offset, length) of each chunk of a PNG."""
    chunks, pos = [], 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack_from(">L", data, pos)
        chunks.append((pos, length))
        pos += 12 + length
    return chunks


def _jpeg_segments(data: bytes) -> list[int]:
    """Offsets of the JPEG marker segments before the scan data."""
    found, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        found.append(pos)
        if data[pos + 1] == 0xDA:
            break
        pos += 2 + struct.unpack_from(">H", data, pos + 2)[0]
    return found


def _tiff_entries(data: bytes) -> list[int]:
    """Offsets of the 12-byte entries of a little-endian TIFF's first IFD."""
    if data[:4] != b"II*\x00":
        return []
    (ifd,) = struct.unpack_from("<L", data, 4)
    if ifd + 2 > len(data):
        return []
    (count,) = struct.unpack_from("<H", data, ifd)
    return [ifd + 2 + 12 * i for i in range(count) if ifd + 14 + 12 * i <= len(data)]


def mutate_image(rng: random.Random, seeds: list[bytes]) -> bytes:
    data = bytearray(rng.choice(seeds))
    roll = rng.random()
    if roll < 0.55:
        return mutate_bytes(rng, bytes(data), seeds, head=512)
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        # A chunk's content changed and its CRC made right, so the decoder reads on.
        pos, length = rng.choice(_png_chunks(bytes(data)))
        body = bytearray(data[pos + 8 : pos + 8 + length])
        if body:
            width = rng.choice((1, 2, 4))
            at = rng.randrange(len(body))
            body[at : at + width] = _interesting(rng, width)
        kind = data[pos + 4 : pos + 8]
        crc = struct.pack(">L", zlib.crc32(kind + body) & 0xFFFFFFFF)
        data[pos : pos + 12 + length] = struct.pack(">L", len(body)) + kind + body + crc
    elif data[:2] == b"\xff\xd8":
        segments = _jpeg_segments(bytes(data))
        if segments:
            pos = rng.choice(segments)
            width = rng.choice((1, 2))
            at = pos + 2 + rng.randrange(max(1, min(16, len(data) - pos - 2)))
            data[at : at + width] = _interesting(rng, width)
    elif data[:4] == b"II*\x00":
        entries = _tiff_entries(bytes(data))
        if entries:
            pos = rng.choice(entries)
            field_at = pos + rng.choice((0, 2, 4, 8))
            width = 2 if field_at - pos < 4 else 4
            data[field_at : field_at + width] = _interesting(rng, width)
    elif data[:2] == b"BM":
        at = rng.choice((2, 10, 14, 18, 22, 26, 28, 30, 34, 46, 50))
        width = 2 if at in (26, 28) else 4
        data[at : at + width] = _interesting(rng, width)
    if rng.random() < 0.3:
        return mutate_bytes(rng, bytes(data), seeds, head=512)
    return bytes(data)


# --- DICOM ---------------------------------------------------------------------------------

def _fixed_uids(ds: Dataset, name: str) -> Dataset:
    """Deterministic UIDs, so that the seeds (and so every input) are the same on every run."""
    def uid(what: str) -> str:
        return str(generate_uid(entropy_srcs=["hemaclinic-fuzz", name, what]))

    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = uid("instance")
    ds.StudyInstanceUID, ds.SeriesInstanceUID = uid("study"), uid("series")
    ds.SpecimenDescriptionSequence[0].SpecimenUID = uid("specimen")
    return ds


def _native(name: str, pixels: np.ndarray, photometric: str = "RGB", bits: int | None = None,
            transfer_syntax: str = "") -> bytes:
    ds = _fixed_uids(dicom_dataset(), name)
    ds.set_pixel_data(pixels, photometric, bits or pixels.dtype.itemsize * 8)
    if transfer_syntax:  # written in another native syntax (8-bit pixels read the same)
        ds.file_meta.TransferSyntaxUID = transfer_syntax
    return dicom_bytes(ds)


def _encapsulated(name: str, syntax: str, frame: bytes, rows: int, columns: int,
                  photometric: str) -> bytes:
    ds = _fixed_uids(dicom_dataset(transfer_syntax=syntax), name)
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = photometric
    ds.PlanarConfiguration = 0
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.NumberOfFrames = 1
    ds.PixelData = encapsulate([frame])
    ds["PixelData"].VR = "OB"
    return dicom_bytes(ds)


def _whole_slide(name: str, pixels: np.ndarray) -> bytes:
    """A single-frame VL Whole Slide image with its pixel spacing in the functional groups."""
    ds = _fixed_uids(dicom_dataset(sop_class=VLWholeSlideMicroscopyImageStorage), name)
    measures, shared, optical = Dataset(), Dataset(), Dataset()
    measures.PixelSpacing = [0.000242, 0.000242]
    measures.SliceThickness = 0.001
    shared.PixelMeasuresSequence = [measures]
    ds.SharedFunctionalGroupsSequence = [shared]
    optical.ObjectiveLensPower = 100
    optical.OpticalPathIdentifier = "1"
    ds.OpticalPathSequence = [optical]
    ds.ImagedVolumeWidth = ds.ImagedVolumeHeight = 0.0116
    ds.set_pixel_data(pixels, "RGB", 8)
    return dicom_bytes(ds)


def _rle(name: str, pixels: np.ndarray) -> bytes:
    ds = _fixed_uids(dicom_dataset(), name)
    ds.set_pixel_data(pixels, "RGB", 8)
    ds.compress(RLELossless, pixels)
    return dicom_bytes(ds)


@cache
def dicom_seeds() -> dict[str, bytes]:
    """DICOM microscopy files around real cell pixels, in each layout the importer reads, by name.

    All are imported but "jpeg-ls", whose codec this server lacks (refused by its syntax)."""
    crop, small = real_pixels(32), real_pixels(16)
    grey16 = (real_pixels(24)[..., 1].astype(np.uint16) * 16)  # 12 bits stored
    jpeg_crop = _encode(crop, "JPEG", quality=90)
    return {
        "rgb": _native("rgb", crop),
        "rgb-full": _native("rgb-full", real_pixels()),
        "ybr": _native("ybr", crop, "YBR_FULL"),
        "mono16": _native("mono16", grey16, "MONOCHROME2", 12),
        "mono8": _native("mono8", small[..., 1].copy(), "MONOCHROME2"),
        "implicit": _native("implicit", small, transfer_syntax=ImplicitVRLittleEndian),
        "big-endian": _native("big-endian", small, transfer_syntax=ExplicitVRBigEndian),
        "wsi": _whole_slide("wsi", small),
        "rle": _rle("rle", small),
        "jpeg": _encapsulated("jpeg", JPEGBaseline8Bit, jpeg_crop, 32, 32, "YBR_FULL_422"),
        "jpeg-full": _encapsulated("jpeg-full", JPEGBaseline8Bit, real_jpegs()[0], 363, 360,
                                   "YBR_FULL_422"),
        "j2k": _encapsulated("j2k", JPEG2000Lossless, _encode(small, "JPEG2000", no_jp2=True),
                             16, 16, "RGB"),
        # A JP2 file header around the codestream: not what DICOM asks for, but sent.
        "jp2": _encapsulated("jp2", JPEG2000Lossless, _encode(small, "JPEG2000"), 16, 16, "RGB"),
        "jpeg-ls": _encapsulated("jpeg-ls", JPEGLSLossless, jpeg_crop, 32, 32, "RGB"),
    }


_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN",
                       b"UR", b"UT", b"UV"})
_VRS = (b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT",
        b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST",
        b"SV", b"TM", b"UC", b"UI", b"UL", b"UN", b"UR", b"US", b"UT", b"UV", b"XX", b"\x00\x00")
# Tags the importer reads, and a few more: Rows, Columns, frames, pixel layout, the UIDs.
_TAGS = ((0x0028, 0x0010), (0x0028, 0x0011), (0x0028, 0x0008), (0x0028, 0x0002),
         (0x0028, 0x0004), (0x0028, 0x0100), (0x0028, 0x0101), (0x0028, 0x0102),
         (0x0028, 0x0103), (0x0028, 0x0006), (0x0028, 0x0030), (0x7FE0, 0x0010),
         (0x0008, 0x0016), (0x0002, 0x0010), (0x0002, 0x0002), (0x0008, 0x0060),
         (0x0040, 0x0560), (0x5200, 0x9229), (0x0048, 0x0105), (0xFFFE, 0xE000),
         (0xFFFE, 0xE0DD))
_TEXT_VALUES = (b"", b"0", b"-1", b"1", b"65536", b"99999999999999999999", b"1e999", b"NaN",
                b"inf", b"12\\34", b"\\", b"\x00", b"\xff\xfe", b"RGB", b"YBR_FULL_422",
                b"PALETTE COLOR", b"MONOCHROME1", b"YBR_RCT", b"1.2.840.10008.1.2.4.50",
                b"1.2.840.10008.1.2.1.99", b"1.2.840.10008.5.1.4.1.1.77.1.2", b"A" * 70000)
_UIDS = tuple(uid.encode() for uid in UID_dictionary)


_ITEM = struct.pack("<HH", 0xFFFE, 0xE000)


@dataclass(frozen=True)
class _Element:
    at: int  # the tag
    vr_at: int | None  # None for items and delimiters (no VR)
    length_at: int
    length_size: int
    value_at: int
    length: int


def dicom_elements(data: bytes) -> list[_Element]:
    """The elements of an explicit VR little-endian Part 10 file, sequences entered."""
    found: list[_Element] = []
    pos = 132
    while pos + 8 <= len(data):
        group, _element = struct.unpack_from("<HH", data, pos)
        if group == 0xFFFE:  # item or delimiter: tag then a 4-byte length, no VR
            (length,) = struct.unpack_from("<L", data, pos + 4)
            found.append(_Element(pos, None, pos + 4, 4, pos + 8, length))
            pos += 8
            continue
        vr = data[pos + 4 : pos + 6]
        if not vr.isalpha() or not vr.isupper():
            break  # not explicit VR (implicit or big endian past the meta group)
        if vr in _LONG_VRS:
            if pos + 12 > len(data):
                break
            (length,) = struct.unpack_from("<L", data, pos + 8)
            found.append(_Element(pos, pos + 4, pos + 8, 4, pos + 12, length))
            # Sequences are entered so their items' elements are mutated too.
            pos += 12 if vr == b"SQ" or length == 0xFFFFFFFF else 12 + length
        else:
            (length,) = struct.unpack_from("<H", data, pos + 6)
            found.append(_Element(pos, pos + 4, pos + 6, 2, pos + 8, length))
            pos += 8 + length
    return found


def _set_value(data: bytearray, element: _Element, value: bytes) -> bytearray:
    limit = (1 << (8 * element.length_size)) - 1
    value = value[:limit]
    end = element.value_at + (element.length if element.length != 0xFFFFFFFF else 0)
    data[element.value_at : end] = value
    fmt = "<H" if element.length_size == 2 else "<L"
    struct.pack_into(fmt, data, element.length_at, len(value))
    return data


def mutate_dicom(rng: random.Random, seeds: list[bytes]) -> bytes:
    source = rng.choice(seeds)
    if rng.random() < 0.4:
        return mutate_bytes(rng, source, seeds, head=1500)
    data = bytearray(source)
    elements = dicom_elements(source)
    if not elements:
        return mutate_bytes(rng, source, seeds, head=1500)
    element = rng.choice(elements)
    frames = [e for e in elements if e.vr_at is None and source[e.at : e.at + 4] == _ITEM
              and e.length not in (0, 0xFFFFFFFF)]
    kind = rng.randrange(10)
    if kind == 9 and frames:  # inside a compressed frame (its item length kept in step)
        frame = frames[-1]
        body = source[frame.value_at : frame.value_at + frame.length]
        return bytes(_set_value(data, frame, mutate_image(rng, [body])))
    if kind == 0 and element.vr_at is not None:  # another VR: the length is read otherwise
        data[element.vr_at : element.vr_at + 2] = rng.choice(_VRS)
    elif kind == 1:  # a boundary length
        data[element.length_at : element.length_at + element.length_size] = _interesting(
            rng, element.length_size)
    elif kind == 2:  # a text value that does not fit the element
        data = _set_value(data, element, rng.choice(_TEXT_VALUES))
    elif kind == 3:  # a binary value of any length (odd ones included)
        data = _set_value(data, element, rng.randbytes(rng.choice((0, 1, 2, 3, 4, 5, 6, 8, 12))))
    elif kind == 4:  # a 2- or 4-byte number at the boundaries (US/UL values: sizes, bits)
        data = _set_value(data, element, _interesting(rng, rng.choice((2, 4))))
    elif kind == 5:  # the element removed
        end = element.value_at + (element.length if element.length != 0xFFFFFFFF else 0)
        del data[element.at : end]
    elif kind == 6:  # the element repeated
        end = element.value_at + (element.length if element.length != 0xFFFFFFFF else 0)
        data[element.at : element.at] = data[element.at : end]
    elif kind == 7:  # another tag
        data[element.at : element.at + 4] = struct.pack("<HH", *rng.choice(_TAGS))
    else:  # another transfer syntax or SOP class UID, or an invalid one
        uid = rng.choice(_UIDS) if rng.random() < 0.8 else rng.choice(_TEXT_VALUES[:12])
        targets = [e for e in elements if source[e.at : e.at + 4] in (
            struct.pack("<HH", 0x0002, 0x0010), struct.pack("<HH", 0x0008, 0x0016))]
        data = _set_value(data, rng.choice(targets) if targets else element, uid)
    if rng.random() < 0.25:
        return mutate_bytes(rng, bytes(data), seeds, head=1500)
    return bytes(data)


# --- zips ------------------------------------------------------------------------------------

def _zip(entries: list[tuple[zipfile.ZipInfo | str, bytes]], method: int = zipfile.ZIP_DEFLATED
         ) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


@cache
def zip_seeds() -> tuple[bytes, ...]:
    """CellaVision-style exports: class folders of real cell images, zipped as labs do."""
    jpegs = real_jpegs()
    small = _encode(real_pixels(32), "JPEG", quality=85)
    classes = ("neutrophil", "eosinophil", "lymphocyte", "platelet", "monocyte")
    export = [(f"export/{cls}/{i}.jpg", data) for i, (cls, data) in
              enumerate(zip(classes, jpegs, strict=True))]
    return (
        _zip(export),
        _zip(export[:2], zipfile.ZIP_STORED),
        _zip([("neutrophil/a.jpg", small), ("lymphocyte/b.jpg", image_seeds()[7]),
              ("slide.xml", b"<slide/>"), ("__MACOSX/._a.jpg", b"\x00" * 64),
              ("monocyte/", b"")]),
        _zip([("cell.dcm", dicom_seeds()["rgb"]), ("neutrophil/c.png", image_seeds()[8])]),
    )


_CD_FIELDS = ((6, 2), (8, 2), (10, 2), (16, 4), (20, 4), (24, 4), (28, 2), (30, 2), (32, 2),
              (38, 4), (42, 4))  # (offset, width) in a central directory record
_LOCAL_FIELDS = ((6, 2), (8, 2), (14, 4), (18, 4), (22, 4), (26, 2), (28, 2))


def zip_records(data: bytes) -> tuple[list[int], int | None]:
    """Offsets of the central directory records, and of the end record."""
    end = data.rfind(b"PK\x05\x06")
    if end < 0 or end + 22 > len(data):
        return [], None
    count, _size, offset = struct.unpack_from("<HLL", data, end + 10)
    records, pos = [], offset
    for _ in range(count):
        if pos + 46 > len(data) or data[pos : pos + 4] != b"PK\x01\x02":
            break
        records.append(pos)
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, pos + 28)
        pos += 46 + name_len + extra_len + comment_len
    return records, end


def _zip_surgery(rng: random.Random, source: bytes) -> bytes:
    """A field of the central directory, a local header or the end record set to a boundary
    value: sizes that lie, offsets out of the file, overlapping members, odd flags."""
    data = bytearray(source)
    records, end = zip_records(source)
    roll = rng.random()
    if records and roll < 0.15:  # another compression method, in both headers
        record = rng.choice(records)
        method = struct.pack("<H", rng.choice((1, 6, 8, 9, 12, 14, 19, 93, 95, 98, 99, 0xFFFF)))
        data[record + 10 : record + 12] = method
        (local,) = struct.unpack_from("<L", source, record + 42)
        if local + 30 <= len(data):
            data[local + 8 : local + 10] = method
    elif records and roll < 0.6:
        record = rng.choice(records)
        at, width = rng.choice(_CD_FIELDS)
        if at == 42 and rng.random() < 0.5:  # point at another member's header: overlap
            other = rng.choice(records)
            data[record + 42 : record + 46] = source[other + 42 : other + 46]
        elif at == 38 and rng.random() < 0.5:  # a symbolic link, a device, a folder
            mode = rng.choice((0o120777, 0o020644, 0o040755, 0o010644))
            struct.pack_into("<L", data, record + 38, mode << 16)
        else:
            data[record + at : record + at + width] = _interesting(rng, width)
    elif records and roll < 0.85:
        (local,) = struct.unpack_from("<L", source, rng.choice(records) + 42)
        if local + 30 <= len(data):
            at, width = rng.choice(_LOCAL_FIELDS)
            data[local + at : local + at + width] = _interesting(rng, width)
    elif end is not None:
        at, width = rng.choice(((8, 2), (10, 2), (12, 4), (16, 4), (20, 2)))
        data[end + at : end + at + width] = _interesting(rng, width)
    return bytes(data)


_SEPARATOR_NAMES = ("neutrophil/{n}", "export/neutrophil/{n}", "{n}", "a\\b\\{n}",
                    "/".join(["deep"] * 60) + "/{n}", "x" * 300 + "/{n}", "{n}/", ".hidden/{n}",
                    "__MACOSX/neutrophil/._{n}", "Thumbs.db", "slide.xml", "neutrófilo/{n}",
                    "célula/{n}")
_HOSTILE_NAMES = ("../{n}", "../../etc/{n}", "/abs/{n}", "\\abs\\{n}", "C:/{n}", "C:{n}",
                  "a/../../{n}", "a/\x00/{n}", "a\x1b[31m/{n}", "a/./b/{n}", "a//b/{n}",
                  "a\\..\\{n}", "\u202e{n}", "\ud800{n}")


def _crafted_member(rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(image_seeds())
    if roll < 0.55:
        return mutate_image(rng, list(image_seeds()))
    if roll < 0.65:
        return rng.choice((dicom_seeds()["rgb"], dicom_seeds()["jpeg"]))
    if roll < 0.72:
        return mutate_dicom(rng, list(dicom_seeds().values()))
    if roll < 0.8:  # a zip inside the zip
        return rng.choice(zip_seeds())
    if roll < 0.86:
        return b""
    if roll < 0.92:  # highly compressible: below and just above the ratio check's floor
        return b"\x00" * rng.choice((1024, 64 * 1024, 1024**2 + 1))
    return rng.randbytes(rng.randrange(1, 2048))


def crafted_zip(rng: random.Random) -> bytes:
    """A zip made of hostile parts: odd and unsafe names, duplicates, nested archives,
    bombs, other methods, and then perhaps a directory whose sizes lie."""
    entries: list[tuple[zipfile.ZipInfo | str, bytes]] = []
    for i in range(rng.choice((0, 1, 1, 2, 2, 3, 5, 8))):
        pattern = rng.choice(_HOSTILE_NAMES if rng.random() < 0.2 else _SEPARATOR_NAMES)
        name = pattern.format(n=f"cell{i}.{rng.choice(('jpg', 'png', 'dcm', 'bmp', 'tif'))}")
        if entries and rng.random() < 0.15:  # a duplicate name, or one by another spelling
            previous = entries[rng.randrange(len(entries))][0]
            previous = previous.filename if isinstance(previous, zipfile.ZipInfo) else previous
            name = rng.choice((previous, previous.replace("/", "\\"), previous.upper(),
                               previous + "/", "./" + previous))
        info = zipfile.ZipInfo(name.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
                               if rng.random() < 0.9 else name)
        # Other methods (bzip2, LZMA, AES...) are written by _zip_surgery: same bytes to the
        # importer, which never decompresses them, without the cost of compressing.
        info.compress_type = rng.choice((zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED))
        if rng.random() < 0.1:
            info.external_attr = rng.choice((0o120777, 0o040755, 0o020644)) << 16
        if rng.random() < 0.05:
            info.flag_bits |= 0x1  # marked encrypted (it is not)
        entries.append((info, _crafted_member(rng)))
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", allowZip64=True) as archive:
            warnings.simplefilter("ignore")  # "Duplicate name": written on purpose
            if rng.random() < 0.1:
                archive.comment = rng.randbytes(rng.randrange(0, 200))
            for info, data in entries:
                archive.writestr(info, data)
    except (ValueError, UnicodeEncodeError):
        # zipfile itself refuses to write some names: keep the ones written so far.
        pass
    data = buffer.getvalue()
    if rng.random() < 0.5:
        data = _zip_surgery(rng, data)
    if rng.random() < 0.1:  # an executable stub in front or trailing bytes after the end
        data = rng.randbytes(rng.randrange(1, 512)) + data if rng.random() < 0.5 else \
            data + rng.randbytes(rng.randrange(1, 512))
    return data


def mutate_zip(rng: random.Random, seeds: list[bytes]) -> bytes:
    roll = rng.random()
    if roll < 0.35:
        return mutate_bytes(rng, rng.choice(seeds), seeds, head=256)
    if roll < 0.55:
        data = _zip_surgery(rng, rng.choice(seeds))
        return mutate_bytes(rng, data, seeds) if rng.random() < 0.2 else data
    return crafted_zip(rng)


# --- CBC files -------------------------------------------------------------------------------

# The samples the CBC tests use as seeds (formerly inline in
# tests/hemograms/test_fuzzed_input_only_raises_cbc_parse_error.py).
CBC_TEST_SEEDS = {
    "sysmex": b"Nickname,Analyzer ID,Date,Time,Sample No.,Patient ID,Sex,Birth,WBC(10^3/uL),WBC/M,"
    b"HGB(g/L),PLT(10^3/uL),[NE-WX],[NE-SFL(ch)]\r\n"
    b"XN-10^1,XN-10^11036,05/03/2024,14:30:12,S1,P1,F,12/11/1960,6.52*,,135,@251,310,48.2\r\n"
    b"XN-10^1,XN-10^11036,05/03/2024,14:31:00,S2,,M,,----,*,++++,ERROR,,\r\n",
    "hl7": b"\x0bMSH|^~\\&|XN|LAB|LIS|HOSP|20240305120000+0100||ORU^R01|C1|P|2.5\r"
    b"PID|1||P\\F\\1||DOE^J||19800212|F\r"
    b"OBR|1||S1||||20240305115500+0100\r"
    b"OBX|1|NM|6690-2^WBC^LN||6.5|10*9/L||H|||F\r"
    b"OBX|2|SN|718-7^HGB^LN||^8.4|mmol/L|||||F\r"
    b"OBX|3|NM|NE-WX^^L||310||||||X\r\x1c\r",
    "csv": "accession;measured_at;sex;birth_date;WBC(10^9/L);HGB(g/dL);RET#(10^6/µL)\r\n"
    "É1;2024-03-05T08:00+01:00;F;1970-01-01;5,1;13,0*;0,052\r\n"
    '"A;2";2024-03-05 08:01;;;"4,0";;\r\n'.encode("cp1252"),
}


@cache
def _blood_counts() -> tuple[dict[str, str], ...]:
    """Complete real blood counts (wbs_cbc: MDS, anaemia and normal findings)."""
    path = DATASETS / "wbs_cbc" / "blood_count_data.csv"
    if not path.is_file():
        raise RuntimeError(f"The datasets are missing: expected {path}.")
    with path.open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh)
                if all(v.replace(".", "", 1).isdigit() for k, v in r.items() if k != "id")]
    return tuple(rows[:12])


def _values(row: dict[str, str]) -> dict[str, float]:
    wbc = float(row["wbc_ul"]) / 1000
    stabs_segs = float(row["stabs_perc"]) + float(row["segs_perc"])
    lymph = float(row["lymphocytes_small_perc"]) + float(row["lymphocytes_large_perc"])
    return {"WBC": wbc, "HGB": float(row["hb_g_dl"]), "PLT": float(row["plt_ul"]) / 1000,
            "NEUT#": wbc * stabs_segs / 100, "NEUT%": stabs_segs, "LYMPH%": lymph,
            "MONO%": float(row["monocytes_perc"]), "EO%": float(row["eosinophil_perc"]),
            "BASO%": float(row["basophil_perc"])}


_CSV_UNITS = {"WBC": "10^9/L", "HGB": "g/dL", "PLT": "10^9/L", "NEUT#": "10^9/L", "NEUT%": "%",
              "LYMPH%": "%", "MONO%": "%", "EO%": "%", "BASO%": "%"}
_SYSMEX_UNITS = {"WBC": "10^3/uL", "HGB": "g/dL", "PLT": "10^3/uL", "NEUT#": "10^3/uL",
                 "NEUT%": "%", "LYMPH%": "%", "MONO%": "%", "EO%": "%", "BASO%": "%"}
_LOINC = {"WBC": "6690-2", "HGB": "718-7", "PLT": "777-3", "NEUT#": "751-8", "NEUT%": "770-8",
          "LYMPH%": "736-9", "MONO%": "5905-5", "EO%": "713-8", "BASO%": "706-2"}


def _number(value: float, comma: bool) -> str:
    text = f"{value:.2f}"
    return text.replace(".", ",") if comma else text


def _generic_csv(rows: tuple[dict[str, str], ...], delimiter: str = ",") -> bytes:
    comma = delimiter != ","
    header = ["accession", "measured_at", "patient_id", "sex", "birth_date",
              *(f"{code}({unit})" for code, unit in _CSV_UNITS.items())]
    lines = [delimiter.join(header)]
    for i, row in enumerate(rows):
        values = _values(row)
        lines.append(delimiter.join([
            f"S-{row['id']}", f"2024-03-{1 + i % 28:02d}T08:{i % 60:02d}:00+01:00",
            f"MRN-{i}" if i % 3 else "", "FM"[i % 2], "1950-06-0" + str(1 + i % 9),
            *(_number(values[code], comma) for code in _CSV_UNITS)]))
    return ("\r\n".join(lines) + "\r\n").encode()


def _sysmex(rows: tuple[dict[str, str], ...], delimiter: str = ",") -> bytes:
    comma = delimiter != ","
    header = ["Nickname", "Analyzer ID", "Date", "Time", "Rack", "Position", "Sample No.",
              "Patient ID", "Sex", "Birth", "IP ABN(WBC)Neutrophilia", "IP Message"]
    for code, unit in _SYSMEX_UNITS.items():
        header += [f"{code}({unit})", f"{code}/M"]
    header += ["[NE-WX]", "[NE-SFL(ch)]", "Q-Flag(Blasts?)"]
    lines = [delimiter.join(header)]
    for i, row in enumerate(rows):
        values = _values(row)
        cells = ["XN-10^1", "XN-10^11036", f"{1 + i % 28:02d}/03/2024", f"14:{i % 60:02d}:12",
                 "000123", str(1 + i % 10), f"S{row['id']}", f"H{i:06d}" if i % 2 else "",
                 "MF"[i % 2], "12/11/1960" if i % 3 else "", "1" if i % 4 == 0 else "",
                 "PLT Clumps?" if i % 5 == 0 else ""]
        for code in _SYSMEX_UNITS:
            mark = "*" if (i + len(code)) % 7 == 0 else ""
            cells += [_number(values[code], comma) + mark, "@" if i % 11 == 3 else ""]
        cells += ["310", "48.2" if not comma else "48,2", "80"]
        lines.append(delimiter.join(cells))
    return ("\r\n".join(lines) + "\r\n").encode()


def _hl7(rows: tuple[dict[str, str], ...], mllp: bool = False, batch: bool = False) -> bytes:
    messages = []
    for i, row in enumerate(rows):
        values = _values(row)
        segments = [
            f"MSH|^~\\&|XN-550^11036|LAB|LIS|HOSP|202403{1 + i % 28:02d}120000+0100||ORU^R01|"
            f"C{i}|P|2.5",
            f"PID|1||MRN\\F\\{i}^^^HOSP||DOE^JANE||1950060{1 + i % 9}|{'FM'[i % 2]}",
            f"OBR|1||S{row['id']}||||202403{1 + i % 28:02d}115500+0100",
            "NTE|1||sample slightly haemolysed",
        ]
        for n, code in enumerate(_CSV_UNITS, start=1):
            unit = "%" if code.endswith("%") else ("g/dL" if code == "HGB" else "10*9/L")
            flag = "H" if (i + n) % 5 == 0 else ""
            kind = "SN" if n == 2 else "NM"
            value = f"^{values[code]:.2f}" if kind == "SN" else f"{values[code]:.2f}"
            segments.append(f"OBX|{n}|{kind}|{_LOINC[code]}^{code}^LN||{value}|{unit}|"
                            f"|{flag}|||F|||202403{1 + i % 28:02d}115500")
        segments.append("OBX|99|ST|IP_MSG^Left Shift?^99SYSMEX||1||||||F")
        text = "\r".join(segments) + "\r"
        messages.append(f"\x0b{text}\x1c\r" if mllp else text)
    body = "".join(messages)
    if batch:
        body = f"FHS|^~\\&|XN\rBHS|^~\\&|XN\r{body}BTS|{len(rows)}\rFTS|1\r"
    return body.encode()


def _documented_csv() -> bytes:
    """The generic CSV example of docs/cbc-formats.md, as a user would copy it."""
    text = (ROOT / "docs" / "cbc-formats.md").read_text(encoding="utf-8")
    start = text.index("```csv\n") + len("```csv\n")
    return text[start : text.index("```", start)].encode()


@cache
def cbc_seeds(fmt: str) -> tuple[bytes, ...]:
    """Files of one CBC format ('sysmex', 'hl7', 'csv') holding real counts, in its dialects."""
    rows = _blood_counts()
    if fmt == "sysmex":
        return (_sysmex(rows[:4]), _sysmex(rows[4:7], ";"), _sysmex(rows[7:9], "\t"),
                b"XN export,,\r\n" + _sysmex(rows[9:10]), CBC_TEST_SEEDS["sysmex"])
    if fmt == "hl7":
        return (_hl7(rows[:2]), _hl7(rows[2:5], mllp=True), _hl7(rows[5:8], batch=True),
                # Other separators (MSH-1, MSH-2), where '*' repeats: G/L, not 10*9/L; the
                # field separator in a text ("NEUT#") escaped with that message's escape, @F@.
                _hl7(rows[8:9]).replace(b"10*9/L", b"G/L").replace(b"#", b"@F@")
                .replace(b"|", b"#")
                .replace(b"^~\\&", b"$*@%").replace(b"^", b"$"), CBC_TEST_SEEDS["hl7"])
    return (_generic_csv(rows[:4]), _generic_csv(rows[4:7], ";"), _generic_csv(rows[7:9], "\t"),
            b"\xef\xbb\xbfsep=;\r\n" + _generic_csv(rows[9:10], ";"), _documented_csv(),
            CBC_TEST_SEEDS["csv"])


_CBC_TOKENS = ("", "0", "-1", "1.5", "1,5", "1.5.5", "1e309", "1e-309", "nan", "inf", "9" * 400,
               "0x1F", "*", "@", "!", "@12.3", "12.3*", "*12.3@!", "----", "++++", "ERROR",
               "DISCRETE", "<5", ">5", "1 000", '"', '""', '"a""b"', "µ", "\x00", "\ufeff",
               "2024-02-30", "2024-13-01T25:61", "31/31/2024", "99:99", "1900-01-01",
               "2024-03-05T14:30:00+25:00", "^~\\&", "\\X41\\", "\\Xzz\\", "\\F\\", "\\E",
               "MSH|^~\\&", "OBX|1|NM|", "PID|", "Sample No.", "accession", "WBC(10^9/L)",
               "WBC(furlongs)", "HGB(mmol/L)", "NE-WX()", "[NE-SFL(ch)]", "IP Message",
               "QC-1", "ERR0001", "sep=,", "\r", "\n", "\r\n", "\x0b", "\x1c", "|", "^", "&",
               "~", ";", ",", "\t", "A" * 65, "é", "\udcff")


def _split_keep(line: str) -> tuple[list[str], str]:
    for separator in ("|", ";", "\t", ","):
        if separator in line:
            return line.split(separator), separator
    return [line], ","


def mutate_cbc_text(rng: random.Random, data: bytes) -> bytes:
    """A change a person, a spreadsheet or a middleware makes to the text of a CBC file."""
    text = data.decode("utf-8", "surrogateescape")
    newline = "\r\n" if "\r\n" in text else ("\r" if "\r" in text else "\n")
    lines = text.split(newline)
    i = rng.randrange(len(lines))
    kind = rng.randrange(9)
    if kind == 0:  # one field replaced
        fields, separator = _split_keep(lines[i])
        fields[rng.randrange(len(fields))] = rng.choice(_CBC_TOKENS)
        lines[i] = separator.join(fields)
    elif kind == 1:  # a field added or removed
        fields, separator = _split_keep(lines[i])
        if rng.random() < 0.5 and len(fields) > 1:
            del fields[rng.randrange(len(fields))]
        else:
            fields.insert(rng.randrange(len(fields) + 1), rng.choice(_CBC_TOKENS))
        lines[i] = separator.join(fields)
    elif kind == 2:  # a line removed, repeated or moved
        line = lines.pop(i)
        if rng.random() < 0.7:
            lines.insert(rng.randrange(len(lines) + 1), line)
            if rng.random() < 0.5:
                lines.insert(rng.randrange(len(lines) + 1), line)
    elif kind == 3:  # another delimiter on one line
        fields, _separator = _split_keep(lines[i])
        lines[i] = rng.choice(("|", ";", "\t", ",", " ")).join(fields)
    elif kind == 4:  # very long lines or many of them
        lines.insert(i, rng.choice(_CBC_TOKENS) * rng.choice((100, 5000)))
    elif kind == 5:  # the line ends of the whole file changed, or mixed
        newline = rng.choice(("\n", "\r", "\r\n", "\n\r"))
    elif kind == 6:  # a quote opened and never closed
        lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)] + '"' + lines[i]
    elif kind == 7:  # a token spliced into the middle of a field
        at = rng.randrange(len(lines[i]) + 1)
        lines[i] = lines[i][:at] + rng.choice(_CBC_TOKENS) + lines[i][at:]
    else:  # another header line taken from the other formats
        other = rng.choice(rng.choice((cbc_seeds("sysmex"), cbc_seeds("hl7"), cbc_seeds("csv"))))
        lines.insert(i, other.decode("utf-8", "replace").splitlines()[0])
    text = newline.join(lines)
    encoded = text.encode("utf-8", "surrogateescape")
    roll = rng.random()
    if roll < 0.04:  # saved as UTF-16 with its byte-order mark (Excel "Unicode text")
        encoded = text.encode("utf-16", "surrogatepass")
    elif roll < 0.08:
        encoded = text.encode("cp1252", "replace")
    elif roll < 0.1:
        encoded = b"\xef\xbb\xbf" + encoded
    return encoded


def mutate_cbc(rng: random.Random, seeds: list[bytes]) -> bytes:
    data = rng.choice(seeds)
    for _ in range(rng.choice((1, 1, 2, 3, 5))):
        data = mutate_cbc_text(rng, data)
    if rng.random() < 0.3:
        data = mutate_bytes(rng, data, seeds)
    return data


# --- the run -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Importer:
    name: str
    seeds: Callable[[], list[bytes]]
    mutate: Callable[[random.Random, list[bytes]], bytes]
    call: Callable[[bytes], str]


IMPORTERS: dict[str, Importer] = {
    importer.name: importer for importer in (
        Importer("dicom", lambda: list(dicom_seeds().values()), mutate_dicom,
                 lambda data: upload_outcome(data, "slide.dcm")),
        Importer("image", lambda: list(image_seeds()), mutate_image,
                 lambda data: upload_outcome(data, "cell.jpg")),
        Importer("zip", lambda: list(zip_seeds()), mutate_zip,
                 lambda data: upload_outcome(data, "export.zip")),
        Importer("sysmex", lambda: list(cbc_seeds("sysmex")), mutate_cbc,
                 lambda data: cbc_outcome(data, "sysmex")),
        Importer("hl7", lambda: list(cbc_seeds("hl7")), mutate_cbc,
                 lambda data: cbc_outcome(data, "hl7")),
        Importer("csv", lambda: list(cbc_seeds("csv")), mutate_cbc,
                 lambda data: cbc_outcome(data, "csv")),
        Importer("auto", lambda: [*cbc_seeds("sysmex"), *cbc_seeds("hl7"), *cbc_seeds("csv")],
                 mutate_cbc, lambda data: cbc_outcome(data, None)),
    )
}


def generate(importer: str, index: int, *, seed: int = 0) -> bytes:
    """Input `index` of an importer's run: a pure function of (importer, seed, index)."""
    target = IMPORTERS[importer]
    rng = random.Random(f"{importer}:{seed}:{index}")
    return target.mutate(rng, target.seeds())


@dataclass
class Failure:
    index: int
    kind: str
    trace: str


@dataclass
class FuzzReport:
    importer: str
    inputs: int = 0
    accepted: int = 0
    rejected: int = 0
    unhandled: Counter[str] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)  # the first few, with tracebacks
    elapsed: float = 0.0
    slowest: float = 0.0
    slowest_index: int = -1

    @property
    def unhandled_count(self) -> int:
        return sum(self.unhandled.values())

    def summary(self) -> str:
        kinds = ", ".join(f"{k} x{n}" for k, n in self.unhandled.most_common()) or "-"
        return (f"{self.importer:7s} inputs {self.inputs:6d}  accepted {self.accepted:6d}  "
                f"rejected {self.rejected:6d}  unhandled {self.unhandled_count:4d} ({kinds})  "
                f"{self.elapsed:6.1f} s  slowest {self.slowest * 1000:.0f} ms "
                f"(#{self.slowest_index})")

    def details(self) -> str:
        return "\n".join(f"--- {self.importer} #{f.index}: {f.kind}\n{f.trace}"
                         for f in self.failures)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise TooSlow in the block when it runs longer than `seconds` (a timer signal: only in
    the main thread, and not on Windows; elsewhere the block runs untimed)."""
    if seconds <= 0 or not hasattr(signal, "setitimer") or (
            threading.current_thread() is not threading.main_thread()):
        yield
        return

    def expire(_signum: int, _frame: object) -> None:
        raise TooSlow(f"still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def fuzz(importer: str, count: int, *, seed: int = 0, start: int = 0, keep: int = 3,
         max_seconds: float = 20.0) -> FuzzReport:
    """Feed `count` inputs (from index `start`) to one importer; count what became of each.

    An input running longer than `max_seconds` is stopped and counted as unhandled (TooSlow)."""
    report = FuzzReport(importer)
    target = IMPORTERS[importer]
    seeds = target.seeds()
    started = time.perf_counter()
    for index in range(start, start + count):
        data = target.mutate(random.Random(f"{importer}:{seed}:{index}"), seeds)
        t0 = time.perf_counter()
        try:
            with deadline(max_seconds):
                outcome = target.call(data)
        except (Exception, TooSlow) as exc:  # the very thing counted here
            kind = f"Unclear: {exc}" if isinstance(exc, Unclear) else type(exc).__name__
            report.unhandled[kind if len(kind) < 120 else kind[:117] + "..."] += 1
            if len(report.failures) < keep:
                report.failures.append(Failure(index, kind, traceback.format_exc()))
        else:
            if outcome == ACCEPTED:
                report.accepted += 1
            else:
                report.rejected += 1
        took = time.perf_counter() - t0
        if took > report.slowest:
            report.slowest, report.slowest_index = took, index
        report.inputs += 1
    report.elapsed = time.perf_counter() - started
    return report


def inputs(importer: str, count: int, *, seed: int = 0, start: int = 0) -> Iterator[bytes]:
    for index in range(start, start + count):
        yield generate(importer, index, seed=seed)
