"""python -m training.scores.evaluate: the cohort evaluation from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.scores.evaluate import main

REPO = Path(__file__).resolve().parents[3]
CARD = REPO / "models_onnx" / "hemaclinic-mds-cbc" / "1.0.0" / "card.json"
COHORT = REPO.parent / "shared" / "datasets" / "wbs_cbc"


def test_cross_validation_from_the_command_line_reproduces_the_card(tmp_path, capsys):
    if not COHORT.is_dir():
        pytest.fail(f"The real cohort is missing: {COHORT} (see ../shared/datasets).")
    assert main(["--cohort", str(COHORT), "--mode", "cv", "--out", str(tmp_path)]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    card = json.loads(CARD.read_text())["metrics"]["cross_validated"]
    assert metrics["auc"] == pytest.approx(card["auc"], abs=1e-6)
    assert '"auc"' in capsys.readouterr().out


def test_a_missing_cohort_folder_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--cohort", str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert "no cohort folder" in capsys.readouterr().err
