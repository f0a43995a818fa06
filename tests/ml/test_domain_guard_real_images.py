"""The registered model's domain check on real images: cells pass, non-cells never do.

Real PBC test-split cells, the same cells under a change of magnification or crop (inside,
same class), and images that are not white cells: a blank frame, noise, a colour-inverted
cell, and smear fields of red cells only cut from TXL-PBC away from every white-cell box.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from apps.ml.canonical import NO_STAIN
from apps.ml.domain import CELL_INSIDE, CELL_NO_NUCLEUS, CELL_OUTSIDE

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
LISC_DIR = DATASETS / "lisc"


def _open(path: Path) -> Image.Image:
    with Image.open(path) as im:
        return im.convert("RGB")


def test_the_registered_model_has_a_domain_check(cell_model):  # type: ignore[no-untyped-def]
    assert cell_model.card.domain is not None
    assert 0 < cell_model.card.domain.specimen_max_outside < 1


def test_real_cells_are_inside_and_shifted_ones_right_or_flagged(cell_model, pbc_path,  # type: ignore[no-untyped-def]
                                                                 golden_files):
    """As exported: inside and right. Magnified, cropped or down-sampled: right, or flagged
    (a plain warning) - never a wrong class that passes the check."""
    for cls, rel in golden_files.items():
        im = _open(pbc_path(rel))
        w, h = im.size
        variants = {
            "x2 frame-filling crop": im.crop((w // 4, h // 4, 3 * w // 4, 3 * h // 4)).resize(
                (w, h)),
            "120 px": im.resize((120, 121), Image.Resampling.BILINEAR),
            "colour-inverted": ImageOps.invert(im),
        }
        base, *shifted = cell_model.predict([im, *variants.values()])
        assert base.in_domain and base.domain == CELL_INSIDE, (rel, base.domain_score)
        assert base.cell_class == cls, rel
        for name, p in zip(variants, shifted, strict=True):
            assert p.in_domain is not None, (rel, name)
            assert p.cell_class == cls or not p.in_domain, (rel, name, p.cell_class,
                                                            p.domain_score)


def test_a_blank_frame_noise_and_an_inverted_cell_are_flagged(cell_model, pbc_path):  # type: ignore[no-untyped-def]
    gen = np.random.default_rng(0)
    cell = _open(pbc_path("neutrophil/SNE_103795.jpg"))
    blank, noise, inverted = cell_model.predict([
        Image.new("RGB", (360, 363), (236, 224, 208)),
        Image.fromarray(gen.integers(0, 256, (363, 360, 3), dtype=np.uint8)),
        ImageOps.invert(cell),
    ])
    assert blank.in_domain is False
    if cell_model.card.input.view is not None:  # the canonical view says why
        assert (blank.view, blank.domain) == (NO_STAIN, CELL_NO_NUCLEUS)
    assert noise.in_domain is False
    assert inverted.in_domain is False
    assert inverted.domain in (CELL_OUTSIDE, CELL_NO_NUCLEUS)


def test_fields_of_red_cells_only_are_flagged(cell_model):  # type: ignore[no-untyped-def]
    from training.domain_eval import non_cell_images

    if not (DATASETS / "txl_pbc").is_dir():
        pytest.fail(f"The TXL-PBC dataset is missing: expected {DATASETS / 'txl_pbc'}")
    fields = non_cell_images(DATASETS, n_fields=24, seed=7)[:24]
    preds = cell_model.predict(fields)
    flagged = [p for p in preds if not p.in_domain]
    # The card measures 99% of 207 such images flagged (domain_eval); here, on 24 others:
    # nearly all flagged, and none that passes is given a confident class.
    assert len(flagged) >= 0.9 * len(fields), [(p.cell_class, p.domain_score) for p in preds]
    assert all(p.cell_class_prob < 0.9 for p in preds if p.in_domain)


def test_a_stain_trained_on_without_a_held_out_figure_is_outside(cell_model):  # type: ignore[no-untyped-def]
    """LISC may be in the registered model's training data, but held out by cell it is far
    less accurate than PBC (card: lisc_held_out_by_cell): the domain check knows one validated
    stain, PBC's, and LISC's cells are flagged."""
    guard = cell_model.guard()
    assert guard is not None and guard.stain is not None and guard.stain.sources == ["pbc"]
    ood = cell_model.card.raw["out_of_domain"]
    if ood.get("lisc_in_training") is True:
        held_out = ood["lisc_held_out_by_cell"]
        assert held_out["held_out_by_cell"] is True and held_out["accuracy"] < 0.95
    lisc = LISC_DIR / "labels.csv"
    if not lisc.is_file():
        pytest.fail(f"The LISC dataset is missing: expected {lisc} (see ../shared/datasets).")
    with lisc.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    picked = [r for c in ("basophil", "eosinophil", "lymphocyte", "monocyte", "neutrophil")
              for r in [r for r in rows if r["class"] == c][:2]]
    preds = cell_model.predict([_open(LISC_DIR / r["path"]) for r in picked])
    assert [p.in_domain for p in preds] == [False] * len(picked), [
        (r["path"], p.domain, p.domain_score) for r, p in zip(picked, preds, strict=True)]
