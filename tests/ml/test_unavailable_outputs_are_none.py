"""Outputs the card marks unavailable are None at runtime, never a number."""

from __future__ import annotations

from PIL import Image

from apps.ml.cards import ANOMALY_KEYS, load_card


def test_card_marks_hypogranulation_barr_body_and_pseudo_pelger_unavailable(model_dir):
    card = load_card(model_dir)
    assert {a.name for a in card.anomalies} == set(ANOMALY_KEYS)
    assert not card.anomaly("hypogranulation").available
    assert not card.anomaly("barr_body").available
    assert card.anomaly("vacuole").available
    assert card.anomaly("vacuole").head == "cytoplasm_vacuole"
    # A band neutrophil is not a pseudo-Pelger cell: no output tells them apart.
    assert not card.anomaly("pseudo_pelger").available
    assert "band" in card.raw["outputs"]["anomalies"]["pseudo_pelger"]["reason"]


def test_runtime_returns_none_for_unavailable_and_not_applicable(
    cell_model, pbc_path, golden_files
):
    images = [Image.open(pbc_path(rel)) for rel in golden_files.values()]
    preds = cell_model.predict(images)
    assert preds, "no golden images"
    for pred in preds:
        assert pred.anomalies["hypogranulation"] is None
        assert pred.anomalies["barr_body"] is None
        assert pred.anomalies["pseudo_pelger"] is None
        # Available outputs are numbers for every cell (a reviewer may reclassify it).
        value = pred.anomalies["vacuole"]
        assert isinstance(value, float) and 0.0 <= value <= 1.0
    assert any(p.cell_class == "neutrophil" for p in preds)
