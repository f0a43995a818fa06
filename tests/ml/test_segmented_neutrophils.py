"""training/segmented_neutrophils.py: the registered model's own test-split neutrophils, as
exported and cut out on black (also frame-filling and at 120 px), are still called neutrophils,
its band neutrophils are not read as immature granulocytes once cut out, and the measure counts
what it says it counts."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("torch")  # training.domain_eval's shifts live beside the augmentation


def test_cut_out_neutrophils_are_on_black_and_still_recognised(cell_model, pbc_path):
    from training.data import default_datasets_dir
    from training.segmented_neutrophils import PRESENTATIONS, measure

    image = Image.open(pbc_path("neutrophil/SNE_103795.jpg")).convert("RGB")
    for name, present in PRESENTATIONS.items():
        corner = np.asarray(present(image))[0, 0]
        assert (corner == 0).all() == ("black" in name), name
    assert min(np.asarray(PRESENTATIONS["x1.5, cut out on black, 120 px"](image)).shape[:2]) == 120

    # Every presentation is measured and counted (a few cells: the figures are the next test's).
    result = measure(cell_model, default_datasets_dir(), limit=6)
    assert list(result) == list(PRESENTATIONS)
    for name, r in result.items():
        assert r["n"] == 6
        assert 0.0 <= r["flagged"] <= 1.0
        assert r["bands"]["n"] == 6, name  # BNE_ sorts before SNE_: the first six are bands
        assert r["bands"]["recognised"] == pytest.approx(r["recognised"]), name
        assert r["bands"]["called_ig"] + r["recognised"] <= 1 + 1e-9, name


# The presentations that keep a ring of slide around the cell; the cuts along the cell's own edge
# are measured, not held (below).
WITH_SLIDE = ("as exported", "cut out on black", "cell fills the frame x1.5, cut out on black",
              "cell fills the frame x2, cut out on black", "x1.5, cut out on black, 120 px")


def test_neutrophils_cut_out_with_a_ring_of_slide_are_recognised_and_bands_stay_bands(cell_model):
    """Every second test-split neutrophil by file name (174 cells, band and segmented about half
    each), fixed on 2026-12-06 before the next candidate was trained: the earlier check, the
    first 24 by file name, all bands, at 85%, turned on one cell.

    Held: the issue's figure for segmented neutrophils, 95% recognised, in every presentation
    with slide around the cell; and no left shift made by the cut-out: in a cut-out the model
    calls no more bands immature granulocytes than as exported, give or take two cells (the
    band/metamyelocyte boundary is where readers disagree most, as exported included)."""
    from training.data import default_datasets_dir
    from training.segmented_neutrophils import measure

    result = measure(cell_model, default_datasets_dir(), every=2, presentations=WITH_SLIDE)
    assert list(result) == list(WITH_SLIDE)
    exported = result["as exported"]["bands"]
    assert result["as exported"]["n"] >= 170 and 70 <= exported["n"] <= 100
    ig_exported = round(exported["called_ig"] * exported["n"])
    for name, r in result.items():
        assert r["recognised"] >= 0.95, name
        assert r["confident_wrong_not_flagged"] <= 1, name
        bands = r["bands"]
        assert bands["n"] == exported["n"], name
        assert round(bands["called_ig"] * bands["n"]) <= ig_exported + 2, name


def test_a_cut_along_the_edge_leaves_the_cell_alone_and_is_measured_as_such(pbc_path):
    """The tight cut-out keeps the cell (its nucleus and cytoplasm, holes filled) and no slide
    around it. The registered model is not held to the disc cut-out's figure there (2.1.4:
    82.7% of 347 neutrophils, docs/training.md); the test above checks that it is counted."""
    from training.segmented_neutrophils import EDGE_OD_PALE, PRESENTATIONS, cut_out_along_edge

    image = Image.open(pbc_path("neutrophil/SNE_103795.jpg")).convert("RGB")
    cut = np.asarray(cut_out_along_edge(image))
    disc = np.asarray(PRESENTATIONS["cut out on black"](image))
    kept, kept_disc = (cut.max(axis=-1) > 0).mean(), (disc.max(axis=-1) > 0).mean()
    assert 0.02 < kept < kept_disc  # the cell, less than the disc around it
    rgb = np.asarray(image)
    assert (cut[cut.max(axis=-1) > 0] == rgb[cut.max(axis=-1) > 0]).all()  # pixels as imaged
    # The centre of the nucleus is kept, the image corners are not.
    assert cut[rgb.shape[0] // 2, rgb.shape[1] // 2].max() > 0
    assert (cut[[0, 0, -1, -1], [0, -1, 0, -1]] == 0).all()

    # At the lower level the cut keeps the pale cytoplasm too: more than the tight cut, all of
    # it, and still less than the disc.
    pale = np.asarray(cut_out_along_edge(image, EDGE_OD_PALE)).max(axis=-1) > 0
    assert (pale >= (cut.max(axis=-1) > 0)).all()
    assert kept * 1.1 < pale.mean() < kept_disc
