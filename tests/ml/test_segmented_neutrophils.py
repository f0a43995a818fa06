"""training/segmented_neutrophils.py: the registered model's own test-split neutrophils, as
exported and cut out on black (also frame-filling and at 120 px), are still called neutrophils,
and the measure counts what it says it counts."""

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

    result = measure(cell_model, default_datasets_dir(), limit=24)
    assert list(result) == list(PRESENTATIONS)
    for name, r in result.items():
        assert r["n"] == 24
        assert 0.0 <= r["flagged"] <= 1.0
        # Real healthy-donor neutrophils of the model's own test split: recognised in PBC's
        # stain however they are cut out (all of them: python -m training.segmented_neutrophils).
        assert r["neutrophil"] >= 0.85, name
        assert r["confident_wrong_not_flagged"] <= 1, name
