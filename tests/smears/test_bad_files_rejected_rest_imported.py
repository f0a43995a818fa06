"""A bad file is rejected with a reason; the other files of the upload are still imported."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageFile

from apps.smears.importers import read_single, read_zip

from .builders import accounted_names, export_entries, pbc_bytes, zip_bytes


def _flip_png_data(png: bytes) -> bytes:
    data = bytearray(png)
    idat = data.find(b"IDAT")
    data[idat + 40 : idat + 60] = bytes(20)
    return bytes(data)


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (8, 8)).save(out, format="GIF")
    return out.getvalue()


def _two_page_tiff() -> bytes:
    out = io.BytesIO()
    pages = [Image.new("RGB", (8, 8), c) for c in ("red", "blue")]
    pages[0].save(out, format="TIFF", save_all=True, append_images=pages[1:])
    return out.getvalue()


JPEG = pbc_bytes("platelet")
BAD_FILES = {
    "text renamed .jpg": (b"Patient list\nDoe, Jane\n", "not an image"),
    "empty file": (b"", "empty file"),
    "truncated JPEG": (JPEG[: len(JPEG) // 2], "truncated JPEG"),
    "JPEG without its end": (JPEG[:-200], "truncated JPEG"),
    "JPEG header only": (JPEG[:300], "truncated"),
    "random bytes": (bytes(range(256)) * 4, "not an image"),
    "GIF is not accepted": (_gif(), "not an image"),
    "multi-page TIFF": (_two_page_tiff(), "holds 2 images"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_is_rejected_and_the_rest_imported(case: str) -> None:
    data, reason = BAD_FILES[case]
    good = export_entries(per_class=1)
    batch = read_zip(zip_bytes({**good, "export/neutrophil/bad.jpg": data}))

    assert [i.name for i in batch.images] == list(good)
    (rejected,) = batch.rejected
    assert rejected.file == "export/neutrophil/bad.jpg"
    assert reason in rejected.reason
    assert sorted(accounted_names(batch)) == sorted([*good, "export/neutrophil/bad.jpg"])


def test_a_damaged_png_is_rejected() -> None:
    out = io.BytesIO()
    Image.open(io.BytesIO(pbc_bytes())).save(out, format="PNG")
    (rejected,) = read_single("cell.png", _flip_png_data(out.getvalue())).rejected
    assert "PNG" in rejected.reason


def test_lenient_pillow_mode_is_refused_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    # With LOAD_TRUNCATED_IMAGES on, truncated cells would be imported padded with grey.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        read_single("cell.jpg", pbc_bytes())
