"""The analysis works on a bounded copy of each cell image (memory bounded by design)."""

from __future__ import annotations

import io

from PIL import Image

from apps.analysis.pipeline import ANALYSIS_MAX_SIDE, decode_bounded


def _encoded(size: tuple[int, int], fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 150, 170)).save(buf, format=fmt)
    return buf.getvalue()


def test_a_huge_image_is_analysed_at_a_bounded_size():
    for fmt in ("PNG", "JPEG"):
        image = decode_bounded(_encoded((4000, 3000), fmt))
        assert max(image.size) <= ANALYSIS_MAX_SIDE, (fmt, image.size)
        assert image.mode == "RGB"
        # The aspect ratio is kept (no stretching of the cell).
        assert abs(image.size[0] / image.size[1] - 4 / 3) < 0.02


def test_a_cellavision_crop_is_untouched():
    image = decode_bounded(_encoded((360, 363), "PNG"))
    assert image.size == (360, 363)
