"""evaluate_cohort on the real wbs_cbc cohort reproduces the card's figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.scores.evaluate import OUTPUT_FILES, evaluate_cohort


@pytest.fixture(scope="module")
def card(mds_cbc_dir: Path) -> dict:
    return json.loads((mds_cbc_dir / "card.json").read_text())


def test_cross_validation_reproduces_the_card(
    tmp_path: Path, wbs_cbc: Path, mds_cbc_dir: Path, card: dict
):
    met = evaluate_cohort(cohort=wbs_cbc, out=tmp_path, model_dir=mds_cbc_dir, mode="cv")
    cv = card["metrics"]["cross_validated"]
    assert met["auc"] == pytest.approx(cv["auc"], abs=1e-6)
    assert met["ci95"]["auc"] == pytest.approx(cv["auc_ci95"], abs=1e-6)
    for k in ("sensitivity", "specificity", "accuracy"):
        assert met[k] == pytest.approx(cv[k], abs=1e-6)
    assert met["calibration"]["brier"] == pytest.approx(cv["brier"], abs=1e-6)
    assert met["n"] == card["training_data"]["n_patients_used"]
    assert met["n_positive"] == card["training_data"]["n_mds"]
    for name in OUTPUT_FILES:
        assert (tmp_path / name).stat().st_size > 0
    assert json.loads((tmp_path / "metrics.json").read_text())["auc"] == met["auc"]


def test_fixed_model_reproduces_the_apparent_figures(
    tmp_path: Path, wbs_cbc: Path, mds_cbc_dir: Path, card: dict
):
    met = evaluate_cohort(cohort=wbs_cbc, out=tmp_path, model_dir=mds_cbc_dir, mode="model")
    ap = card["metrics"]["apparent_on_training_cohort"]
    assert met["auc"] == pytest.approx(ap["auc"], abs=1e-6)
    assert met["sensitivity"] == pytest.approx(ap["sensitivity"], abs=1e-6)
    cm = met["confusion_per_repeat"][0]
    assert cm["tp"] + cm["fn"] == card["training_data"]["n_mds"]
    assert met["cohort"]["n_indeterminate"] == sum(card["training_data"]["excluded"].values())


def test_lab_format_cohort_is_evaluated(tmp_path: Path, mds_cbc_dir: Path):
    cohort = tmp_path / "cohort"
    cohort.mkdir()
    header = "patient_id,label,anc,mcv,ne_wx,hb,plt,sex,age,image_dir\n"
    rows = [
        f"L{i},{'mds' if i % 2 else 'not_mds'},{1.0 + i * 0.4:.1f},{95 + i},,"
        f"{9 + i * 0.3:.1f},{100 + 20 * i},{'M' if i % 3 else 'F'},{50 + 3 * i},\n"
        for i in range(10)
    ]
    rows.append("L99,mds,,,,10.0,150,M,70,\n")  # no ANC: indeterminate
    (cohort / "cohort.csv").write_text(header + "".join(rows))
    met = evaluate_cohort(cohort=cohort, out=tmp_path / "out", model_dir=mds_cbc_dir)
    assert met["cohort"]["format"] == "lab"
    assert met["n"] == 10 and met["cohort"]["n_indeterminate"] == 1
    assert 0.0 <= met["auc"] <= 1.0


def test_missing_matplotlib_is_a_clear_error(
    tmp_path: Path, wbs_cbc: Path, mds_cbc_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    import sys

    from training.scores.evaluate import EvaluationError

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(EvaluationError, match="matplotlib"):
        evaluate_cohort(cohort=wbs_cbc, out=tmp_path, model_dir=mds_cbc_dir)
    assert not (tmp_path / "metrics.json").exists()
