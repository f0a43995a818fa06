"""Broken or out-of-scope DICOM files are rejected with a clear reason; nothing escapes."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.uid import (
    CTImageStorage,
    DeflatedExplicitVRLittleEndian,
    JPEGLSLossless,
    VLWholeSlideMicroscopyImageStorage,
)

from apps.smears.importers import read_single

from .builders import dicom_bytes, dicom_dataset, dicom_jpeg, dicom_native, pbc_bytes, pbc_pixels


def _reason(data: bytes) -> str:
    batch = read_single("x.dcm", data)
    assert batch.images == ()
    (rejected,) = batch.rejected
    return rejected.reason


def _with_pixels(**attributes: object) -> bytes:
    ds = dicom_dataset()
    ds.set_pixel_data(pbc_pixels(), "RGB", 8)
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    return dicom_bytes(ds)


def test_truncated_files_are_rejected() -> None:
    native = dicom_native(pbc_pixels())
    assert "truncated" in _reason(native[: len(native) // 2])
    encapsulated = dicom_jpeg(pbc_bytes(), rows=363, columns=360)
    assert "pixel data" in _reason(encapsulated[: len(encapsulated) // 2])
    assert "DICOM" in _reason(native[:140])


def test_other_sop_classes_are_rejected() -> None:
    data = dicom_native(pbc_pixels(), sop_class=CTImageStorage)
    reason = _reason(data)
    assert "CT Image Storage" in reason and "not a microscopy image" in reason


def test_huge_declared_size_with_tiny_pixel_data_is_rejected_before_decoding() -> None:
    ds = dicom_dataset()
    ds.set_pixel_data(np.zeros((4, 4, 3), np.uint8), "RGB", 8)
    ds.Rows = ds.Columns = 60000
    assert _reason(dicom_bytes(ds)) == "image is 60000x60000 pixels, above the 40 MP limit"


def test_declared_size_larger_than_the_pixel_data_is_rejected() -> None:
    ds = dicom_dataset()
    ds.set_pixel_data(np.zeros((4, 4, 3), np.uint8), "RGB", 8)
    ds.Rows = ds.Columns = 400
    assert "pixel data holds 48 bytes" in _reason(dicom_bytes(ds))


def test_missing_pixel_data_is_rejected() -> None:
    ds = dicom_dataset()
    ds.set_pixel_data(pbc_pixels(), "RGB", 8)
    del ds.PixelData
    assert _reason(dicom_bytes(ds)) == "DICOM file has no pixel data"


def test_multi_frame_whole_slide_images_are_rejected() -> None:
    ds = dicom_dataset(sop_class=VLWholeSlideMicroscopyImageStorage)
    frames = np.stack([pbc_pixels("neutrophil", i) for i in range(3)])
    ds.set_pixel_data(frames, "RGB", 8)
    assert "3 frames" in _reason(dicom_bytes(ds))
    assert "whole-slide" in _reason(dicom_bytes(ds))


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"PhotometricInterpretation": "PALETTE COLOR"}, "PALETTE COLOR is not supported"),
        ({"PixelRepresentation": 1}, "signed"),
        ({"SamplesPerPixel": 1}, "1 samples per pixel"),
    ],
)
def test_unsupported_pixel_encodings_are_rejected(
    attributes: dict[str, object], expected: str
) -> None:
    assert expected in _reason(_with_pixels(**attributes))


def test_unsupported_bit_depth_is_rejected() -> None:
    assert "8- or 16-bit expected" in _reason(_with_pixels(BitsAllocated=32, BitsStored=32))


def test_deflated_datasets_are_rejected_before_parsing() -> None:
    # pydicom would inflate the whole dataset in one unbounded call.
    ds = dicom_dataset(transfer_syntax=DeflatedExplicitVRLittleEndian)
    ds.set_pixel_data(np.zeros((4, 4, 3), np.uint8), "RGB", 8)
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    assert "Deflated Explicit VR Little Endian is not supported" in _reason(dicom_bytes(ds))


def test_a_compressed_syntax_without_a_decoder_is_rejected() -> None:
    data = dicom_jpeg(pbc_bytes(), rows=363, columns=360)
    data = data.replace(b"1.2.840.10008.1.2.4.50", JPEGLSLossless.encode(), 1)
    assert "cannot decode" in _reason(data)


def test_a_jpeg_frame_larger_than_the_header_says_is_rejected() -> None:
    assert "compressed frame is 360x363" in _reason(dicom_jpeg(pbc_bytes(), rows=10, columns=10))
