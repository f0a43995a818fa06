"""The CBC MDS model's card records the values its training cohort covered (derived from the
cohort, reproducibly); a CBC with a value outside them is indeterminate, with the input, its
value and the range as a reason, never a probability the model extrapolated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from apps.ml.scores.card import ScoreCardError
from apps.ml.scores.features import FEATURE_NAMES, CBCFeatures
from apps.ml.scores.mds_cbc import MDSCBCModel, load_model
from apps.ml.scores.reasons import INPUT_OUTSIDE_TRAINING, INPUT_REQUIRED, Reason
from training.scores.cohort import load_cohort, training_ranges

# Inside every range of the card: scored.
INSIDE = CBCFeatures(anc=1.2, hb=9.1, plt=95.0, wbc=2.9, mono=0.3, age=74.0, sex="M")


@pytest.fixture(scope="module")
def model(mds_cbc_dir: Path) -> MDSCBCModel:
    return load_model(mds_cbc_dir)


def _ranges(model_dir: Path) -> dict[str, list[float] | None]:
    card = json.loads((model_dir / "card.json").read_text())
    return {f["name"]: f["training_range"] for f in card["features"]}


def test_the_card_ranges_are_those_of_the_training_cohort(mds_cbc_dir: Path, wbs_cbc: Path):
    ranges = _ranges(mds_cbc_dir)
    assert ranges == training_ranges(load_cohort(wbs_cbc))
    assert ranges["wbc"] == [1.2, 47.0] and ranges["age"] == [15.8, 89.3]
    # Never observed in training (no weight either): no range, never a reason.
    assert ranges["mcv"] is None and ranges["ne_wx"] is None


def test_a_value_outside_the_training_values_is_indeterminate(model: MDSCBCModel):
    assert model.predict(INSIDE).state == "scored"
    result = model.predict(CBCFeatures(**{**INSIDE.__dict__, "wbc": 80.5, "age": 12.0}))
    assert result.state == "indeterminate"
    assert result.probability is None and result.above_threshold is None
    assert result.reasons == (
        Reason(INPUT_OUTSIDE_TRAINING, {"input": "wbc", "value": 80.5, "low": 1.2,
                                        "high": 47.0, "unit": "10^9/L"}),
        Reason(INPUT_OUTSIDE_TRAINING, {"input": "age", "value": 12.0, "low": 15.8,
                                        "high": 89.3, "unit": "years"}),
    )


def test_the_ends_of_a_range_are_inside_it(model: MDSCBCModel):
    ends = CBCFeatures(anc=0.17, hb=19.8, plt=6.0, wbc=47.0, mono=0.0, age=89.3, sex="F")
    assert model.predict(ends).state == "scored"
    # MCV and Neutro-WX have no range: any value is accepted (and has no weight).
    assert model.predict(CBCFeatures(**{**INSIDE.__dict__, "mcv": 140.0})).state == "scored"


def test_a_missing_required_input_comes_first(model: MDSCBCModel):
    result = model.predict(CBCFeatures(hb=9.1, plt=1500.0))
    assert [r.code for r in result.reasons] == [INPUT_REQUIRED, INPUT_OUTSIDE_TRAINING]
    assert result.reasons[0].params == {"input": "anc"}


def _edit_card(model_dir: Path, name: str, bounds: object) -> None:
    path = model_dir / "card.json"
    raw = json.loads(path.read_text())
    for f in raw["features"]:
        if f["name"] == name:
            if bounds is None:
                del f["training_range"]
            else:
                f["training_range"] = bounds
    path.write_text(json.dumps(raw))


def test_a_card_without_ranges_scores_as_before(mds_cbc_copy: Path):
    for name in FEATURE_NAMES:
        _edit_card(mds_cbc_copy, name, None)
    model = MDSCBCModel.from_dir(mds_cbc_copy)
    assert model.predict(CBCFeatures(**{**INSIDE.__dict__, "wbc": 80.5})).state == "scored"


@pytest.mark.parametrize("bounds", [[1.0], [5.0, 1.0], ["low", "high"], 3.0])
def test_a_malformed_range_is_a_card_error(mds_cbc_copy: Path, bounds: object):
    _edit_card(mds_cbc_copy, "wbc", bounds)
    with pytest.raises(ScoreCardError, match="training_range of wbc"):
        MDSCBCModel.from_dir(mds_cbc_copy)
