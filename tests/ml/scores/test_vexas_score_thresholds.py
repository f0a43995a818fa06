"""The VEXAS rule on its boundaries: exactly at each threshold, just below and just above."""

from __future__ import annotations

import pytest

from apps.ml.scores import vexas
from apps.ml.scores.vexas import VexasInputs, vacuolated_fraction, vexas_score


def _probs(n: int, k: int) -> list[float]:
    """n neutrophils, k of them exactly at the vacuole cut-off, the rest clearly negative."""
    return [vexas.VACUOLE_PROB_CUTOFF] * k + [0.01] * (n - k)


def _inputs(**kw) -> VexasInputs:  # type: ignore[no-untyped-def]
    base = dict(
        n_neutrophils=50,
        vacuole_probs=_probs(50, 0),
        mcv_fl=90.0,
        hgb_g_dl=14.0,
        plt_10_9_l=250.0,
        sex="F",
        age_years=40.0,
    )
    base.update(kw)
    return VexasInputs(**base)


def _points(result, name: str) -> float:  # type: ignore[no-untyped-def]
    return next(c.points for c in result.contributions if c.name == name)


def test_vacuolated_fraction_counts_probabilities_at_the_cutoff():
    assert vacuolated_fraction([0.5, 0.4999, 0.9, 0.0], 0.5) == 0.5
    with pytest.raises(ValueError):
        vacuolated_fraction([], 0.5)
    with pytest.raises(ValueError):
        vacuolated_fraction([1.2], 0.5)


@pytest.mark.parametrize(("k", "expected"), [(3, 0.0), (4, 0.2), (9, 0.2), (10, 0.4), (11, 0.4)])
def test_vacuole_fraction_bands(k: int, expected: float):
    # n=50: 4/50 = 8% (low band, exactly at it), 10/50 = 20% (high band, exactly at it).
    r = vexas_score(_inputs(vacuole_probs=_probs(50, k)))
    assert r.state == "scored"
    assert _points(r, "vacuoles") == pytest.approx(expected)


def test_probability_just_below_the_cutoff_is_not_vacuolated():
    r = vexas_score(_inputs(vacuole_probs=[0.4999] * 50))
    assert _points(r, "vacuoles") == 0.0


@pytest.mark.parametrize(("mcv", "points"), [(100.0, 0.0), (100.1, 0.25), (99.9, 0.0)])
def test_macrocytosis_is_strictly_above_100(mcv: float, points: float):
    assert _points(vexas_score(_inputs(mcv_fl=mcv)), "macrocytosis") == points


@pytest.mark.parametrize(
    ("sex", "hgb", "points"),
    [
        ("M", 13.0, 0.0),
        ("M", 12.99, 0.15),
        ("F", 12.0, 0.0),
        ("F", 11.99, 0.15),
        ("F", 12.5, 0.0),
        ("M", 12.5, 0.15),
    ],
)
def test_anaemia_uses_sex_specific_who_cutoffs(sex: str, hgb: float, points: float):
    assert _points(vexas_score(_inputs(sex=sex, hgb_g_dl=hgb)), "anaemia") == points


@pytest.mark.parametrize(("plt", "points"), [(150.0, 0.0), (149.9, 0.10), (150.1, 0.0)])
def test_thrombocytopenia_below_150(plt: float, points: float):
    assert _points(vexas_score(_inputs(plt_10_9_l=plt)), "thrombocytopenia") == points


@pytest.mark.parametrize(("age", "points"), [(50.0, 0.05), (49.9, 0.0)])
def test_age_from_50(age: float, points: float):
    assert _points(vexas_score(_inputs(age_years=age)), "age_over_50") == points


def test_levels_at_their_exact_boundaries():
    # vacuoles full (0.40) alone -> exactly the intermediate boundary.
    r = vexas_score(_inputs(vacuole_probs=_probs(50, 10)))
    assert r.score == pytest.approx(0.40) and r.level == "intermediate"
    # 0.40 + macrocytosis 0.25 + male 0.05 = 0.70 -> exactly high.
    r = vexas_score(_inputs(vacuole_probs=_probs(50, 10), mcv_fl=105.0, sex="M"))
    assert r.score == pytest.approx(0.70) and r.level == "high"
    # 0.40 + 0.25 = 0.65 -> just below high.
    r = vexas_score(_inputs(vacuole_probs=_probs(50, 10), mcv_fl=105.0))
    assert r.level == "intermediate"
    # 0.25 + 0.10 = 0.35 -> low.
    r = vexas_score(_inputs(mcv_fl=105.0, plt_10_9_l=100.0))
    assert r.score == pytest.approx(0.35) and r.level == "low"


def test_full_picture_scores_one_and_pseudo_pelger_adds_nothing():
    r = vexas_score(
        _inputs(
            vacuole_probs=_probs(50, 25),
            mcv_fl=108.0,
            hgb_g_dl=9.0,
            plt_10_9_l=90.0,
            sex="M",
            age_years=68.0,
            pseudo_pelger_probs=[0.9] * 50,
        )
    )
    assert r.state == "scored" and r.score == pytest.approx(1.0) and r.level == "high"
    pp = next(c for c in r.contributions if c.name == "pseudo_pelger")
    assert pp.points == 0.0 and pp.value == 1.0
    assert r.version == vexas.VERSION
    assert "UBA1" in r.disclaimer and "never a diagnosis" in r.disclaimer
    assert r.thresholds["min_neutrophils"] == vexas.MIN_NEUTROPHILS


def test_weights_sum_to_one():
    assert sum(vexas.WEIGHTS.values()) == pytest.approx(1.0)


def test_without_vacuoles_the_level_stays_low_whatever_the_blood_count():
    """A macrocytic anaemia and thrombocytopenia without vacuolated neutrophils (0.55 points for
    a woman, 0.60 for an older man) are an MDS's, a B12 deficiency's or alcohol's far more often
    than VEXAS's: low (vexas-rule 1.3; a woman's since 1.2), the points kept. With vacuoles,
    anyone's level is their points'."""
    blood = dict(mcv_fl=105.0, hgb_g_dl=10.0, plt_10_9_l=100.0, age_years=78.0)
    woman = vexas_score(_inputs(**blood))
    assert woman.score == pytest.approx(0.55) and woman.level == "low"
    man = vexas_score(_inputs(sex="M", **blood))
    assert man.score == pytest.approx(0.60) and man.level == "low"
    with_vacuoles = vexas_score(_inputs(vacuole_probs=_probs(50, 10), **blood))
    assert with_vacuoles.level == "high"
    assert vexas_score(_inputs(sex="M", vacuole_probs=_probs(50, 10), **blood)).level == "high"
    from dataclasses import asdict

    hers, his = ([asdict(c) for c in r.contributions] for r in (woman, man))
    assert vexas.kept_low("low", hers) and vexas.kept_low("low", his)
    assert vexas.woman_kept_low("low", hers) and not vexas.woman_kept_low("low", his)
    # A man's "intermediate" stored under 1.2 keeps its level: not read as kept low.
    assert not vexas.kept_low("intermediate", his)
    assert not vexas.kept_low("high", [asdict(c) for c in with_vacuoles.contributions])
