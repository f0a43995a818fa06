"""evaluate_cohort runs on the real wbs_cbc cohort and reproduces the model card's figures."""

from __future__ import annotations

import io
import json

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from tests.helpers import DATASETS

CARD = settings.MODELS_ONNX_DIR / "hemaclinic-mds-cbc" / "1.0.0" / "card.json"


def test_cross_validation_reproduces_the_card(tmp_path):
    cohort = DATASETS / "wbs_cbc"
    if not cohort.is_dir():
        pytest.fail(f"The real cohort is missing: {cohort} (see ../shared/datasets).")
    out = io.StringIO()
    call_command("evaluate_cohort", "--cohort", str(cohort), "--mode", "cv",
                 "--out", str(tmp_path), stdout=out)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    card = json.loads(CARD.read_text())["metrics"]["cross_validated"]
    assert metrics["auc"] == pytest.approx(card["auc"], abs=1e-6)
    assert metrics["sensitivity"] == pytest.approx(card["sensitivity"], abs=1e-6)
    for name in ("roc.png", "pr.png", "calibration.png", "predictions.csv"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert '"auc"' in out.getvalue()


def test_missing_cohort_folder_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="No cohort folder"):
        call_command("evaluate_cohort", "--cohort", str(tmp_path / "nope"), "--out",
                     str(tmp_path / "o"), stdout=io.StringIO())
