"""The CBC MDS ONNX model computes exactly the formula its card documents (golden)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from apps.ml.scores.features import FEATURE_NAMES, CBCFeatures, to_arrays
from apps.ml.scores.mds_cbc import MDSCBCModel, load_model, predict
from apps.ml.scores.reasons import INPUT_REQUIRED, Reason

PATIENTS = [
    CBCFeatures(anc=1.2, hb=9.1, plt=95.0, wbc=2.9, mono=0.3, age=74.0, sex="M"),
    CBCFeatures(anc=4.5, hb=13.8, plt=260.0, wbc=7.1, mono=0.5, age=35.0, sex="F"),
    CBCFeatures(anc=0.0, hb=6.0, plt=12.0, wbc=0.8, mono=0.0, age=90.0, sex="M"),
    # Partial: optional inputs missing -> imputed through the mask.
    CBCFeatures(anc=2.0, hb=10.5, plt=140.0),
    CBCFeatures(anc=2.0, hb=10.5, plt=140.0, mcv=104.0, ne_wx=520.0),
]


def card_formula(card: dict, row: CBCFeatures) -> tuple[float, list[float]]:
    """The card's documented formula, written out independently of the runtime code."""
    values = row.values()
    total = card["intercept"]
    parts = []
    for f in card["features"]:
        v = values[f["name"]]
        missing = v is None
        x = f["impute"] if missing else v
        if f["transform"] == "log1p":
            x = math.log1p(max(x, 0.0))
        z = (x - f["mean"]) / f["std"]
        c = z * f["coef"] + (f["missing_coef"] if missing else 0.0)
        parts.append(c)
        total += c
    return 1.0 / (1.0 + math.exp(-total)), parts


@pytest.fixture(scope="module")
def card(mds_cbc_dir: Path) -> dict:
    return json.loads((mds_cbc_dir / "card.json").read_text())


@pytest.fixture(scope="module")
def model(mds_cbc_dir: Path) -> MDSCBCModel:
    return load_model(mds_cbc_dir)


def test_onnx_equals_the_card_formula(card: dict, model: MDSCBCModel):
    results = model.predict_many(PATIENTS)
    # The graph's output for every row, also those the runtime then declines to score (the
    # third patient's counts lie outside the values of the training cohort).
    graph = model.run(*to_arrays(PATIENTS))[0]
    for row, res, out in zip(PATIENTS, results, graph, strict=True):
        p, parts = card_formula(card, row)
        assert float(out) == pytest.approx(p, abs=1e-5)
        by_name = {c.name: c.contribution for c in res.contributions}
        for name, expected in zip(FEATURE_NAMES, parts, strict=True):
            assert by_name[name] == pytest.approx(expected, abs=1e-5)
        if res.state == "scored":
            assert res.probability == pytest.approx(p, abs=1e-5)
            assert res.above_threshold == (p >= card["operating_point"]["threshold"])
    # Declined: the second (no cytopenia) and the third (outside the training values).
    assert [r.state for r in results] == ["scored", "indeterminate", "indeterminate",
                                          "scored", "scored"]


def test_missing_inputs_are_masked_and_imputed(card: dict, model: MDSCBCModel):
    res = model.predict(PATIENTS[3])
    assert res.state == "scored"
    assert set(res.missing) == {"wbc", "mono", "age", "sex_male", "mcv", "ne_wx"}
    feats = {f["name"]: f for f in card["features"]}
    for c in res.contributions:
        if c.name in res.missing:
            assert c.missing and c.value is None
            assert c.used == pytest.approx(feats[c.name]["impute"], rel=1e-6)
    # A NaN sent under a set mask is ignored, not propagated.
    x = np.zeros((1, len(FEATURE_NAMES)), np.float32)
    m = np.ones_like(x)
    x[0, :3] = [2.0, 10.5, 140.0]
    m[0, :3] = 0.0
    x[0, 3:] = np.nan
    p, _, _ = model.run(x, m)
    assert p[0] == pytest.approx(res.probability, abs=1e-6)


def test_mcv_and_ne_wx_have_no_learned_weight(card: dict, model: MDSCBCModel):
    # The training cohort has neither: the ONNX model accepts them and ignores them.
    without, with_ = model.predict_many([PATIENTS[3], PATIENTS[4]])
    assert with_.probability == pytest.approx(without.probability, abs=1e-7)
    feats = {f["name"]: f for f in card["features"]}
    for name in ("mcv", "ne_wx"):
        assert feats[name]["coef"] == 0.0 and feats[name]["missing_coef"] == 0.0
        assert feats[name]["observed_in_training"] == 0


@pytest.mark.parametrize("missing", ["anc", "hb", "plt"])
def test_required_input_missing_is_indeterminate(model: MDSCBCModel, missing: str):
    row = replace(PATIENTS[0], **{missing: None})
    res = model.predict(row)
    assert res.state == "indeterminate"
    assert res.probability is None and res.above_threshold is None
    assert res.reasons == (Reason(INPUT_REQUIRED, {"input": missing}),)


def test_result_carries_provenance(card: dict, model: MDSCBCModel):
    res = model.predict(PATIENTS[0])
    assert res.model == {
        "name": card["name"],
        "version": card["version"],
        "sha256": card["files"]["model"]["sha256"],
    }
    assert "never a diagnosis" in res.disclaimer


def test_predict_needs_a_registered_model(tmp_path: Path, model: MDSCBCModel):
    with pytest.raises(LookupError):
        predict(PATIENTS[0], models_root=tmp_path)
    assert predict(PATIENTS[0], model=model) == model.predict(PATIENTS[0])
