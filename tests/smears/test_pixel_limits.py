"""Images above max_pixels are rejected from their header, before any decoding."""

from __future__ import annotations

import time

from apps.smears.importers import Limits, read_single, read_zip

from .builders import pbc_bytes, png_1bit, zip_bytes


def test_an_image_above_max_pixels_is_rejected_from_its_header() -> None:
    png = png_1bit(7000, 7000)  # 49 MP: under Pillow's own guard, above our 40 MP
    started = time.perf_counter()
    (rejected,) = read_single("big.png", png).rejected
    assert rejected.reason == "image is 7000x7000 pixels, above the 40 MP limit"
    assert time.perf_counter() - started < 0.5


def test_a_decompression_bomb_png_is_rejected_quickly() -> None:
    png = png_1bit(20000, 20000)  # 400 MP, about 60 KB on disk
    assert len(png) < 200_000
    good = pbc_bytes()
    started = time.perf_counter()
    batch = read_zip(zip_bytes([("export/bomb.png", png), ("export/neutrophil/a.jpg", good)]))
    assert time.perf_counter() - started < 1.0
    (rejected,) = batch.rejected
    assert rejected.file == "export/bomb.png"
    assert "too large to decode safely" in rejected.reason or "20000x20000" in rejected.reason
    assert [i.name for i in batch.images] == ["export/neutrophil/a.jpg"]


def test_pillow_bomb_warnings_become_rejections_when_limits_are_raised() -> None:
    # With max_pixels above Pillow's MAX_IMAGE_PIXELS (~89 MP), Pillow's guard still holds.
    (rejected,) = read_single("big.png", png_1bit(10000, 10000), limits=Limits(
        max_pixels=500_000_000
    )).rejected
    assert "too large to decode safely" in rejected.reason


def test_the_pixel_limit_is_configurable() -> None:
    (rejected,) = read_single("cell.jpg", pbc_bytes(), limits=Limits(max_pixels=100_000)).rejected
    assert rejected.reason == "image is 360x363 pixels, above the 0.1 MP limit"
