"""The canonical cell view: one rule for training and runtime, pinned on real cells.

Golden values were computed once with ``apps.ml.canonical.canonical_view`` (default
``ViewParams``) on PBC test-split files; the invariance tests are why it exists: the
same cell at another magnification, cropped tighter or segmented on black reaches the
model at the same place and scale.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from apps.ml.canonical import (
    FOUND,
    NO_STAIN,
    REASONS,
    ViewParams,
    canonical_view,
)
from training.data import load_view_image

# rel path -> (centre (x, y) in source px, output px per source px, mean RGB of the view)
GOLDEN = {
    "neutrophil/SNE_103795.jpg": ((182.16, 182.88), 0.6786, (212.471, 180.098, 177.570)),
    "eosinophil/EO_100884.jpg": ((169.44, 182.39), 0.5635, (215.224, 180.407, 178.424)),
    "platelet/PLATELET_109056.jpg": ((182.05, 185.21), 1.5162, (217.315, 185.299, 182.237)),
    "lymphocyte/LY_102859.jpg": ((182.69, 182.39), 0.7653, (215.098, 181.790, 179.794)),
}


def _open(path) -> Image.Image:  # type: ignore[no-untyped-def]
    with Image.open(path) as im:
        return im.convert("RGB")


@pytest.mark.parametrize("rel", sorted(GOLDEN))
def test_golden_views(rel, pbc_path):  # type: ignore[no-untyped-def]
    centre, scale, mean_rgb = GOLDEN[rel]
    view = canonical_view(_open(pbc_path(rel)))
    assert view.reason == FOUND
    assert view.image.size == (192, 192) and view.image.mode == "RGB"
    np.testing.assert_allclose(view.centre, centre, atol=0.05)
    assert view.scale == pytest.approx(scale, abs=1e-3)
    np.testing.assert_allclose(np.asarray(view.image, float).mean((0, 1)), mean_rgb, atol=0.05)


def test_training_and_runtime_use_the_same_pixels(pbc_path):  # type: ignore[no-untyped-def]
    rel = "neutrophil/SNE_103795.jpg"
    params = ViewParams()
    runtime = np.asarray(canonical_view(_open(pbc_path(rel)), params).image)
    training = load_view_image(pbc_path(rel), 192, params.to_card())
    assert np.array_equal(runtime, training)
    # A card records the rule and its constants, and gives them back unchanged.
    assert ViewParams.from_card(params.to_card()) == params


@pytest.mark.parametrize("factor", [0.5, 0.75, 1.5, 2.0])
def test_the_view_does_not_depend_on_magnification(factor, pbc_path):  # type: ignore[no-untyped-def]
    for rel in GOLDEN:
        im = _open(pbc_path(rel))
        base = canonical_view(im)
        w, h = im.size
        resized = im.resize((round(w * factor), round(h * factor)), Image.Resampling.BILINEAR)
        view = canonical_view(resized)
        assert view.found, rel
        # Same cell size in the model input (within 3 %), same cell centre (within 2 source px).
        assert view.scale * factor / base.scale == pytest.approx(1.0, abs=0.03), rel
        np.testing.assert_allclose(np.asarray(view.centre) / factor, base.centre, atol=2.0)


def test_a_frame_filling_crop_is_brought_back_to_the_training_scale(pbc_path):  # type: ignore[no-untyped-def]
    im = _open(pbc_path("lymphocyte/LY_102859.jpg"))
    base = canonical_view(im)
    w, h = im.size
    tight = im.crop((w // 4, h // 4, 3 * w // 4, 3 * h // 4)).resize((w, h))  # cell x2
    view = canonical_view(tight)
    assert view.found
    assert view.scale / base.scale == pytest.approx(0.5, abs=0.02)
    a, b = (np.asarray(v.image, float) for v in (base, view))
    # The centre of the view (the nucleus) looks the same.
    assert np.abs(a[72:120, 72:120] - b[72:120, 72:120]).mean() < 12


def test_a_cell_segmented_on_black_is_found_and_centred(pbc_path):  # type: ignore[no-untyped-def]
    im = _open(pbc_path("neutrophil/SNE_103795.jpg"))
    base = canonical_view(im)
    arr = np.asarray(im).copy()
    yy, xx = np.mgrid[: arr.shape[0], : arr.shape[1]]
    cx, cy = base.centre
    arr[(yy - cy) ** 2 + (xx - cx) ** 2 > 75**2] = 0
    shifted = np.zeros((500, 500, 3), np.uint8)  # off-centre on a larger black canvas
    shifted[20 : 20 + arr.shape[0], 120 : 120 + arr.shape[1]] = arr
    view = canonical_view(Image.fromarray(shifted))
    assert view.found
    np.testing.assert_allclose(view.centre, (cx + 120, cy + 20), atol=3)
    assert view.scale / base.scale == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize(
    "image",
    [
        Image.new("RGB", (360, 363), (235, 222, 205)),  # empty background
        Image.new("RGB", (200, 200), (0, 0, 0)),  # black
        Image.new("L", (120, 90), 128),  # grey
    ],
)
def test_no_white_cell_is_reported_with_a_reason(image):  # type: ignore[no-untyped-def]
    view = canonical_view(image)
    assert view.reason == NO_STAIN and not view.found
    assert view.reason in REASONS
    assert view.image.size == (192, 192)  # the fallback crop is still a valid input
