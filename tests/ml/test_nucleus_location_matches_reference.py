"""The fast canonical-view pieces give exactly what the rule the model was trained on gives.

hemaclinic-cells 2.1.0 learned from views made with ``ndimage.binary_closing``, a loop over the
labels and float arithmetic for the stain signal; the references below are those lines. Any
difference, even one pixel of the closing, can move a view, so every comparison is exact.
bench/check_canonical_view.py runs the whole view both ways on every real image.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from apps.ml import canonical
from apps.ml.canonical import ViewParams, disk_closing, locate_nucleus, stain_signal
from tests.ml.canonical_reference import (
    ref_choose,
    ref_closing,
    ref_locate,
    ref_stain_signal,
)

LISC = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "lisc"


def edge_masks() -> list[np.ndarray]:
    """Masks where a closing is easy to get wrong: edges, corners, thin shapes, extremes."""
    out = [np.zeros((9, 9), bool), np.ones((9, 9), bool), np.ones((1, 1), bool),
           np.ones((1, 17), bool), np.ones((17, 1), bool)]
    for y, x in [(0, 0), (0, 20), (20, 0), (20, 20), (10, 0), (0, 10), (10, 10)]:
        m = np.zeros((21, 21), bool)
        m[y, x] = True
        out.append(m)
    ring = np.zeros((30, 40), bool)
    ring[[0, -1], :] = ring[:, [0, -1]] = True
    out.append(ring)
    gap = np.zeros((40, 40), bool)  # two blobs just too far apart / just close enough
    gap[15:25, 5:15] = gap[15:25, 27:37] = True
    out.append(gap)
    stripes = np.zeros((40, 40), bool)
    stripes[:, ::7] = True
    out += [stripes, stripes.T.copy()]
    near_edge = np.zeros((50, 50), bool)
    near_edge[1:49:3, 1] = near_edge[1, 1:49:4] = near_edge[48, ::5] = True
    out.append(near_edge)
    return out


@pytest.mark.parametrize("radius", [0, 1, 2, 3, 5, 6, 7, 11, 22])
def test_disk_closing_is_binary_closing_by_the_disk(radius: int) -> None:
    rng = np.random.default_rng(radius)
    masks = edge_masks()
    for _ in range(150):
        h, w = (int(v) for v in rng.integers(1, 70, 2))
        density = rng.choice([0.002, 0.02, 0.08, 0.3, 0.6, 0.95])
        masks.append(rng.random((h, w)) < density)
    for m in masks:
        got = disk_closing(m, radius)
        assert got.dtype == bool and got.shape == m.shape
        assert np.array_equal(got, ref_closing(m, radius)), (m.shape, radius)


@pytest.mark.parametrize("black_level", [0, 20, 40, 40.5, 255, 256])
def test_stain_signal_is_the_float32_formula_bit_for_bit(black_level: float) -> None:
    # Every (max(R,B) - G, max(R,G,B)) pair the table indexes, with B below, equal to and
    # above R, plus random colours.
    r, g = (a.ravel() for a in np.meshgrid(np.arange(256), np.arange(256)))
    rng = np.random.default_rng(0)
    rgb = np.concatenate([np.stack([r, g, b], axis=-1) for b in
                          (np.zeros_like(r), r, np.full_like(r, 255), rng.integers(0, 256, r.size))]
                         + [rng.integers(0, 256, (4096, 3))]).astype(np.uint8)
    image = np.concatenate([rgb, rgb[:, ::-1]]).reshape(-1, 64, 3)  # R and B swapped too
    got, want = stain_signal(image, black_level), ref_stain_signal(image, black_level)
    assert got.dtype == np.float32 and got.shape == want.shape
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))  # +0.0 and -0.0 too
    floats = image.astype(np.float64)  # other dtypes and channel counts keep the formula
    assert np.array_equal(stain_signal(floats, black_level), ref_stain_signal(floats, black_level))
    rgba = np.concatenate([image, image[..., :1] // 2], axis=-1)
    assert np.array_equal(stain_signal(rgba, black_level), ref_stain_signal(rgba, black_level))


def test_component_choice_is_the_reference_loop() -> None:
    rng = np.random.default_rng(7)
    cases = []
    for _ in range(300):
        h, w = (int(v) for v in rng.integers(2, 60, 2))
        mask = rng.random((h, w)) < rng.choice([0.01, 0.05, 0.2, 0.5])
        mask[rng.integers(h), rng.integers(w)] = True
        # Grouping adds pixels, some forming components without a stained pixel.
        cases.append((mask, mask | (rng.random((h, w)) < rng.choice([0.0, 0.1, 0.4]))))
    # Ties: mirror-image blobs score the same; the first label (top-left) must win.
    for h, w in [(21, 31), (30, 30), (11, 40)]:
        m = np.zeros((h, w), bool)
        m[h // 2 - 2 : h // 2 + 2, 2:6] = True
        m |= m[:, ::-1]
        cases += [(m, m), (m.T.copy(), m.T.copy())]
    for mask, grouped in cases:
        assert canonical._choose_component(mask, grouped) == ref_choose(mask, grouped)
    m = cases[-2][0]
    assert canonical._choose_component(m, m)[0][0] < m.shape[1] / 2  # the left blob


def _analysis_copy(rgb: np.ndarray, px: int) -> np.ndarray:
    """The copy ``_locate`` hands to ``locate_nucleus`` (longer side ``px``)."""
    h, w = rgb.shape[:2]
    k = px / max(h, w)
    size = (max(1, round(w * k)), max(1, round(h * k)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR))


def _lisc_samples(n: int) -> list[np.ndarray]:
    files = sorted(LISC.glob("*/*.jpg"))
    if not files:
        pytest.fail(f"The LISC dataset is missing: expected images under {LISC}")
    out = []
    for f in files[:: max(1, len(files) // n)][:n]:
        with Image.open(f) as im:
            out.append(np.asarray(im.convert("RGB"), dtype=np.uint8))
    return out


def test_locate_nucleus_matches_the_reference_on_real_cells(
    pbc_path: Callable[[str], Path], golden_files: dict[str, str]
) -> None:
    images = []
    for rel in golden_files.values():
        with Image.open(pbc_path(rel)) as im:
            images.append(np.asarray(im.convert("RGB"), dtype=np.uint8))
    images += _lisc_samples(12)
    for rgb in images:
        # The 160 px analysis copy of a view, and full size as training/domain_eval.py reads.
        for p in (ViewParams(), ViewParams(analysis_px=max(rgb.shape[:2]))):
            small = _analysis_copy(rgb, p.analysis_px)
            assert locate_nucleus(small, p) == ref_locate(small, p)


def test_border_colour_is_the_median_of_the_edge_pixels() -> None:
    rng = np.random.default_rng(3)
    for h, w in [(1, 1), (1, 9), (9, 1), (2, 2), (37, 52), (363, 360)]:
        rgb = rng.integers(0, 256, (h, w, 3)).astype(np.uint8)
        edge = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
        want = tuple(int(v) for v in np.median(edge, axis=0))
        assert canonical._border_colour(Image.fromarray(rgb)) == want
