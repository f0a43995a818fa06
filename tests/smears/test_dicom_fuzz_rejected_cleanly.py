"""Damaged DICOM files end as one clear rejection each: no exception, no 500, nothing stored.

The seed file is built here with pydicom (a 24x24 RGB microscopy image); the damages are the
ones a damaged transfer or a hostile sender produces: cut files, element lengths that disagree
with their value representation, a compressed syntax this server cannot decode, and sizes
declared in the header that the pixel data does not hold. Thousands of random mutations of real
files are tests/smears/test_fuzzed_uploads_are_imported_or_refused.py.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pydicom.encaps import encapsulate
from pydicom.uid import JPEG2000Lossless, JPEGBaseline8Bit, JPEGLSLossless

from apps.core.models import AuditEvent
from apps.smears.importers import read_single
from apps.smears.models import Cell, SmearUpload
from tests.fuzzing import deadline

from .builders import dicom_bytes, dicom_dataset


def _seed_file() -> bytes:
    ds = dicom_dataset()
    pixels = np.arange(24 * 24 * 3, dtype=np.uint32).reshape(24, 24, 3) % 251
    ds.set_pixel_data(pixels.astype(np.uint8), "RGB", 8)
    return dicom_bytes(ds)


def _element_offset(data: bytes, group: int, element: int) -> int:
    """Where an explicit-VR little-endian element with a 2-byte length starts."""
    return data.index(struct.pack("<HH", group, element), 132)


def _with_value(data: bytes, group: int, element: int, value: bytes, vr: bytes = b"") -> bytes:
    """The element rewritten with `value` (and its VR, when given), the rest left in step."""
    at = _element_offset(data, group, element)
    (length,) = struct.unpack_from("<H", data, at + 6)
    head = struct.pack("<HH", group, element) + (vr or data[at + 4 : at + 6])
    return data[:at] + head + struct.pack("<H", len(value)) + value + data[at + 8 + length :]


def _encapsulated(transfer_syntax: str, frame: bytes) -> bytes:
    ds = dicom_dataset(transfer_syntax=transfer_syntax)
    ds.Rows = ds.Columns = 24
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = encapsulate([frame])
    ds["PixelData"].VR = "OB"
    return dicom_bytes(ds)


def _declared_size(rows: int, columns: int) -> bytes:
    """The seed's pixel data under another declared size; above 65535 written as UL."""
    ds = dicom_dataset()
    ds.set_pixel_data(np.zeros((24, 24, 3), np.uint8), "RGB", 8)
    del ds.Rows, ds.Columns
    vr = "UL" if max(rows, columns) > 0xFFFF else "US"
    ds.add_new(0x00280010, vr, rows)
    ds.add_new(0x00280011, vr, columns)
    return dicom_bytes(ds)


NAMED_CASES = {
    # A US value of 3 bytes, a CS value read as UL: pydicom raised BytesLengthException,
    # which escaped the importer as a 500.
    "Columns of 3 bytes": lambda: _with_value(_seed_file(), 0x0028, 0x0011, b"\x18\x00\x00"),
    "Columns of 4 bytes": lambda: _with_value(_seed_file(), 0x0028, 0x0011, b"\x18\x00" * 2),
    "Modality read as UL": lambda: _with_value(_seed_file(), 0x0008, 0x0060, b"SM", vr=b"UL"),
    "Rows as text": lambda: _with_value(_seed_file(), 0x0028, 0x0010, b"24", vr=b"CS"),
    "Modality longer than the file": lambda: _with_value(_seed_file(), 0x0008, 0x0060, b"SM")
    .replace(b"CS\x02\x00SM", b"CS\xf0\xffSM", 1),
    "cut in the header": lambda: _seed_file()[:300],
    "cut in the pixel data": lambda: _seed_file()[:-700],
    "JPEG-LS without a decoder": lambda: _encapsulated(JPEGLSLossless, b"\xff\xd8" + bytes(64)),
    "JPEG 2000 frame of garbage": lambda: _encapsulated(JPEG2000Lossless, bytes(range(256))),
    "JPEG frame of garbage": lambda: _encapsulated(JPEGBaseline8Bit, b"\xff\xd8\xff" + bytes(99)),
    "1x1 declared over 24x24 pixels": lambda: _declared_size(1, 1),
    "100000x100000 declared": lambda: _declared_size(100_000, 100_000),
    "1x100000 declared": lambda: _declared_size(1, 100_000),
    # A JP2 header box of length 0 before the codestream: pydicom 3.0 walked the boxes by
    # their lengths and never returned (found by bench/fuzz_importers.py, dicom #2771).
    "JPEG 2000 frame with a JP2 box of length 0": lambda: _encapsulated(
        JPEG2000Lossless, b"\x00\x00\x00\x0cjP  \r\n\x87\n\x00\x00\x00\x00ftyp" + bytes(64)),
    "no pixel data": lambda: _seed_file()[: _element_offset(_seed_file(), 0x7FE0, 0x0010)],
}


def test_the_seed_file_is_imported() -> None:
    (image,) = read_single("seed.dcm", _seed_file()).images
    assert (image.width, image.height) == (24, 24)


@pytest.mark.parametrize("case", list(NAMED_CASES))
def test_each_named_damage_is_one_clear_rejection(case: str) -> None:
    with deadline(10):  # a hang fails the test instead of holding the suite
        batch = read_single("x.dcm", NAMED_CASES[case]())
    assert batch.images == ()
    (rejected,) = batch.rejected
    assert rejected.file == "x.dcm"
    assert "DICOM" in rejected.reason or "pixels" in rejected.reason


def test_the_header_size_is_refused_before_any_pixel_is_decoded(monkeypatch) -> None:
    def decode(*args: object, **kwargs: object) -> None:
        raise AssertionError("pixels decoded")

    monkeypatch.setattr("apps.smears.importers.dicom.pixel_array", decode)
    (rejected,) = read_single("x.dcm", _declared_size(100_000, 100_000)).rejected
    assert rejected.reason == "image is 100000x100000 pixels, above the 40 MP limit"


@pytest.mark.parametrize("case", list(NAMED_CASES))
def test_the_page_reports_the_rejection_and_stores_nothing(
        case, client, technician, specimen, settings):
    client.force_login(technician)
    audit_before = AuditEvent.objects.count()
    upload = SimpleUploadedFile("slide.dcm", NAMED_CASES[case](), "application/dicom")
    response = client.post(f"/specimens/{specimen.accession}/smear/", {"files": [upload]},
                           follow=True)
    assert response.status_code == 200
    assert "slide.dcm" in response.content.decode()
    assert not Cell.objects.exists() and not SmearUpload.objects.exists()
    assert AuditEvent.objects.count() == audit_before
    media = Path(settings.MEDIA_ROOT)
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_the_api_refuses_a_damaged_dicom_with_its_reason_and_stores_nothing(
        client, technician, specimen):
    client.force_login(technician)
    upload = SimpleUploadedFile("slide.dcm", NAMED_CASES["Columns of 3 bytes"](),
                                "application/dicom")
    response = client.post(f"/api/specimens/{specimen.accession}/uploads/", {"files": [upload]})
    assert response.status_code == 422
    assert "slide.dcm" in response.content.decode()
    assert not Cell.objects.exists() and not SmearUpload.objects.exists()
