"""training.colour_probe runs on a few images: every correction measured on LISC and on PBC
validation, and LISC's images split by red-cell tint without losing any."""

from __future__ import annotations

import pytest

from apps.ml.cells import CellModel
from tests.ml.conftest import MODELS_ROOT
from training.data import default_datasets_dir


def test_probe_reports_every_correction_and_every_lisc_image():  # type: ignore[no-untyped-def]
    pytest.importorskip("torch")  # the training extra
    pytest.importorskip("torchstain")
    from training.colour_probe import measure

    datasets = default_datasets_dir()
    if not (datasets / "lisc" / "labels.csv").is_file():
        pytest.skip("LISC is not in the datasets folder")
    model = CellModel.from_dir(MODELS_ROOT / "hemaclinic-cells" / "2.0.0", threads=1)
    res = measure(model, datasets, pbc_cells=24, limit=24)
    assert set(res["corrections"]) >= {"as it is", "white balance on the red cells",
                                       "Reinhard to PBC, per image"}
    for r in res["corrections"].values():
        assert 0.0 <= r["lisc"] <= 1.0 and 0.0 <= r["pbc_validation"] <= 1.0
    n = sum(b["n"] for b in res["lisc_by_red_cell_tint"]) + res["lisc_no_red_cells"]
    assert n == res["lisc_images"] > 0
    assert len(res["pbc_red_cell_colour"]) == 3
