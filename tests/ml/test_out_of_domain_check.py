"""training.out_of_domain_check runs on a few images: every non-cell image counted, and the
registered model flags those (a blank frame, noise, red cells only)."""

from __future__ import annotations

import pytest

from apps.ml.cells import CellModel
from tests.ml.conftest import MODELS_ROOT
from training.data import default_datasets_dir


def test_the_check_counts_and_flags_non_cell_images():
    pytest.importorskip("torch")  # the training extra (domain_eval's imports)
    from training.out_of_domain_check import measure

    datasets = default_datasets_dir()
    if not (datasets / "lisc" / "labels.csv").is_file():
        pytest.skip("LISC is not in the datasets folder")
    model = CellModel.from_dir(MODELS_ROOT / "hemaclinic-cells" / "2.1.4", threads=1)
    r = measure(model, datasets, fields=6, lisc_limit=12)
    assert r["non_cells"] == 6 + 50  # 25 flat colours and 25 noise images with the crops
    assert r["non_cells_flagged"] >= 0.9 * r["non_cells"]
    assert 12 <= r["lisc"] <= 13 and 0 <= r["lisc_flagged"] <= r["lisc"]
