"""JPEG, PNG, TIFF and BMP are imported byte for byte; the format comes from the content."""

from __future__ import annotations

import pytest

from apps.smears.importers import read_single

from .builders import pbc_bytes, reencode, sha256


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF", "BMP"])
def test_each_supported_format_is_imported_unchanged(fmt: str) -> None:
    data = pbc_bytes() if fmt == "JPEG" else reencode(pbc_bytes(), fmt)
    # The name says .jpg whatever the content: only the content decides.
    (image,) = read_single("cell.jpg", data).images

    assert image.format == fmt
    assert (image.width, image.height) == (360, 363)
    assert image.content == data
    assert image.sha256 == sha256(data)
    assert image.analyser_class == ""
    assert image.name == "cell.jpg"


def test_a_compressed_tiff_is_decoded_fully() -> None:
    data = reencode(pbc_bytes(), "TIFF", compression="tiff_lzw")
    (image,) = read_single("cell.tif", data).images
    assert image.format == "TIFF"
