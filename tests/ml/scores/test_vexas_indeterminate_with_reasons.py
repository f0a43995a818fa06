"""Missing or partial inputs make the VEXAS rule indeterminate and say why."""

from __future__ import annotations

import pytest

from apps.ml.scores.reasons import (
    FEW_NEUTROPHILS,
    INPUT_MISSING,
    VACUOLE_OUTPUT_UNAVAILABLE,
    Reason,
)
from apps.ml.scores.vexas import MIN_NEUTROPHILS, VexasInputs, vexas_score

COMPLETE = dict(
    n_neutrophils=40,
    vacuole_probs=[0.9] * 10 + [0.1] * 30,
    mcv_fl=104.0,
    hgb_g_dl=10.0,
    plt_10_9_l=120.0,
    sex="M",
    age_years=70.0,
)


def test_complete_inputs_are_scored():
    r = vexas_score(VexasInputs(**COMPLETE))
    assert r.state == "scored" and r.reasons == () and r.score is not None


def test_too_few_neutrophils():
    r = vexas_score(VexasInputs(**{**COMPLETE, "n_neutrophils": 7, "vacuole_probs": [0.9] * 7}))
    assert r.state == "indeterminate" and r.score is None and r.level is None
    assert r.reasons == (Reason(FEW_NEUTROPHILS, {"n": 7, "min": MIN_NEUTROPHILS}),)


def test_exactly_the_minimum_number_of_neutrophils_is_enough():
    r = vexas_score(
        VexasInputs(
            **{
                **COMPLETE,
                "n_neutrophils": MIN_NEUTROPHILS,
                "vacuole_probs": [0.1] * MIN_NEUTROPHILS,
            }
        )
    )
    assert r.state == "scored"


def test_vacuole_output_unavailable():
    r = vexas_score(VexasInputs(**{**COMPLETE, "vacuole_probs": None}))
    assert r.state == "indeterminate"
    assert Reason(VACUOLE_OUTPUT_UNAVAILABLE) in r.reasons


def test_partial_cbc_lists_every_missing_input():
    r = vexas_score(
        VexasInputs(**{**COMPLETE, "mcv_fl": None, "plt_10_9_l": float("nan"), "age_years": None})
    )
    assert r.state == "indeterminate"
    assert set(r.reasons) == {Reason(INPUT_MISSING, {"input": i}) for i in ("mcv", "plt", "age")}
    # What was available is still shown.
    assert next(c for c in r.contributions if c.name == "vacuoles").value == pytest.approx(0.25)


def test_nothing_but_a_count():
    r = vexas_score(VexasInputs(n_neutrophils=0, vacuole_probs=None))
    assert r.state == "indeterminate"
    assert {Reason(VACUOLE_OUTPUT_UNAVAILABLE)} | {
        Reason(INPUT_MISSING, {"input": i}) for i in ("mcv", "hb", "plt", "sex", "age")
    } <= set(r.reasons)


def test_inconsistent_inputs_raise():
    with pytest.raises(ValueError):
        vexas_score(VexasInputs(**{**COMPLETE, "n_neutrophils": 41}))
    with pytest.raises(ValueError):
        vexas_score(VexasInputs(**{**COMPLETE, "vacuole_probs": [1.5] * 40}))
