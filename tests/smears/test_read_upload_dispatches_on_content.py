"""read_upload and read_single decide by the first bytes, never by the file name."""

from __future__ import annotations

import io

import numpy as np
import pytest

from apps.smears.importers import ImportRefused, Limits, read_single, read_upload

from .builders import dicom_native, export_entries, pbc_bytes, pbc_pixels, zip_bytes


class _Pipe(io.RawIOBase):
    """A non-seekable stream, like a socket."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_a_zip_named_jpg_is_read_as_a_zip() -> None:
    entries = export_entries(per_class=1)
    batch = read_upload("photo.jpg", io.BytesIO(zip_bytes(entries)))
    assert [i.name for i in batch.images] == list(entries)


def test_a_jpeg_named_zip_is_read_as_a_jpeg() -> None:
    (image,) = read_upload("export.zip", io.BytesIO(pbc_bytes())).images
    assert (image.name, image.format) == ("export.zip", "JPEG")


def test_a_dicom_named_jpg_is_read_as_dicom() -> None:
    data = dicom_native(pbc_pixels())
    (image,) = read_upload("cell.jpg", io.BytesIO(data)).images
    assert image.format == "DICOM"


def test_read_single_hands_a_zip_to_read_zip() -> None:
    entries = export_entries(per_class=1)
    assert len(read_single("x.bin", zip_bytes(entries)).images) == len(entries)


def test_client_folders_are_dropped_from_a_single_name() -> None:
    (image,) = read_single("C:\\Users\\lab\\neutrophil\\cell 1.jpg", pbc_bytes()).images
    assert (image.name, image.analyser_class) == ("cell 1.jpg", "")
    (image,) = read_single("../../etc/x.jpg", pbc_bytes()).images
    assert image.name == "x.jpg"


def test_a_non_seekable_stream_is_buffered_within_the_limit() -> None:
    entries = export_entries(per_class=1)
    data = zip_bytes(entries)
    assert len(read_upload("x.zip", _Pipe(data)).images) == len(entries)
    with pytest.raises(ImportRefused, match="too large"):
        read_upload("x.zip", _Pipe(data), limits=Limits(max_upload_bytes=len(data) - 1))


def test_a_single_file_above_the_image_limit_is_rejected_not_refused() -> None:
    data = pbc_bytes()
    batch = read_upload("big.jpg", io.BytesIO(data), limits=Limits(max_member_bytes=len(data) - 1))
    (rejected,) = batch.rejected
    assert rejected.file == "big.jpg" and "per-image limit" in rejected.reason


def test_an_empty_upload_is_rejected() -> None:
    (rejected,) = read_upload("empty.jpg", io.BytesIO(b"")).rejected
    assert rejected.reason == "empty file (0 bytes)"


def test_pixels_survive_a_single_dicom_upload() -> None:
    pixels = pbc_pixels("monocyte")
    (image,) = read_single("x.dcm", dicom_native(pixels)).images
    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(io.BytesIO(image.content))), pixels)
