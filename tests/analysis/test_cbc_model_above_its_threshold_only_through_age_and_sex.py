"""The CBC MDS model draws most of its signal from age and sex (its card: AUC 0.858 with them
alone, 0.665 without). An older man whose blood count lowers the odds of MDS (a normal
neutrophil count, a mild anaemia) still reached its threshold, and every such man went on the
worklist flagged "MDS risk" as if the count pointed to one. When the output reaches the
threshold only through age and sex (their part taken out of the log-odds, the count alone stays
below it), the score says so in its level and headline, and the worklist flag says so with the
output of the count alone. It stays a flag: without age and sex the model finds half the MDS
of its own cohort (python -m training.scores.demographic_gate)."""

from __future__ import annotations

import pytest
from django.utils import translation

from apps.analysis.models import Score
from apps.analysis.score_text import score_display
from apps.analysis.scores import scores_compute
from apps.core.numbers import figures_apart, probability_against
from apps.ml.scores.mds_cbc import above_only_through_demographics, output_without_demographics
from apps.patients.flag_text import flag_reason
from apps.patients.models import SpecimenFlag
from apps.workflow.services import cbc_import

HEADER = (b"Sample No.,Date,Time,WBC(10^9/L),HGB(g/dL),MCV(fL),PLT(10^9/L),NEUT#(10^9/L),"
          b"MONO#(10^9/L)\r\n")


def _score(specimen, row: str) -> Score:  # type: ignore[no-untyped-def]
    cbc_import(actor=specimen.created_by, data=HEADER + row.encode())
    scores_compute(specimen_id=specimen.pk, trigger="test")
    return Score.objects.filter(specimen=specimen, name="mds_cbc").order_by("-revision").first()


def _flag(specimen) -> SpecimenFlag:  # type: ignore[no-untyped-def]
    return SpecimenFlag.objects.get(specimen=specimen, source="score", name="mds_risk")


def test_the_part_of_age_and_sex_is_taken_out_of_the_log_odds():
    parts = [{"name": "age", "contribution": 1.0}, {"name": "sex_male", "contribution": 0.5},
             {"name": "anc", "contribution": -1.2}]
    # logit(0.8) = 1.386; without 1.5 of it: -0.114, output 0.47.
    assert output_without_demographics(0.8, parts) == pytest.approx(0.4716, abs=1e-3)
    assert above_only_through_demographics(0.8, 0.68, parts)
    assert not above_only_through_demographics(0.8, 0.45, parts)  # the count alone reaches it
    assert not above_only_through_demographics(0.6, 0.68, parts)  # below it anyway
    assert output_without_demographics(1.0, parts) is None
    assert not above_only_through_demographics(0.8, 0.68, [])


def test_an_older_man_with_a_count_against_mds_is_flagged_for_what_carries_it(older_man):
    # A mild anaemia (so the model is scored), a normal neutrophil count.
    score = _score(older_man, "S-0001,2026/11/20,08:00:00,7.50,12.5,96.0,140,4.40,0.60\r\n")
    assert score.state == "scored" and score.level == "above_threshold", (score.value,
                                                                         score.level)
    parts = score.evidence["contributions"]
    alone = output_without_demographics(score.value, parts)
    assert alone < score.thresholds["operating_point"] <= score.value
    flag = _flag(older_man)
    assert flag.reason["params"]["count_alone"] == pytest.approx(alone)
    assert flag.rule.endswith(f", only through age and sex (the count alone {alone:.2f} < 0.68)")
    with translation.override("en"):
        assert flag_reason(flag).startswith(
            f"CBC MDS model: output {score.value:.2f}, at or above 0.68 only through age and sex "
            f"(the blood count alone: {alone:.2f})")
    with translation.override("en"):
        shown = score_display(score)
    assert shown["level"].endswith(", through age and sex alone")
    assert shown["drivers"].startswith("Above the operating threshold only through age and sex:")
    # The model's output, not a clinical reading of the count (which the CBC table gives).
    assert shown["drivers"].endswith("That is the model's output, not a reading of the count: "
                                     "its cytopenias and its MCV are read on the CBC table.")
    assert "does not point to" not in shown["drivers"]
    with translation.override("fr"):
        assert score_display(score, report=True)["level"].endswith(
            ", par l'âge et le sexe seuls")


def test_a_count_that_reaches_the_threshold_on_its_own_is_flagged(older_man):
    # Neutropenia and a low haemoglobin: the count alone lifts the output.
    score = _score(older_man, "S-0001,2026/11/20,08:00:00,2.10,8.9,104.0,95,0.60,0.40\r\n")
    assert score.state == "scored" and score.level == "above_threshold"
    assert output_without_demographics(score.value, score.evidence["contributions"]) \
        >= score.thresholds["operating_point"]
    assert _flag(older_man).reason["params"]["count_alone"] is None
    with translation.override("en"):
        shown = score_display(score)
    assert "through age and sex alone" not in shown["level"]
    assert not shown["drivers"].startswith("Above the operating threshold only")


def test_an_output_just_below_the_threshold_never_reads_as_equal_to_it():
    """0.6835 against 0.6849 read "the blood count gives output 0.68, below 0.68": the two are
    printed with the decimals it takes them to differ, in the flag, its record and the
    headline alike."""
    assert figures_apart(0.6835, 0.6849) == 3 and figures_apart(0.56, 0.6849) == 2
    assert figures_apart(0.68491, 0.68492) == 4      # never more than four
    with translation.override("en"):
        assert probability_against(0.6835, 0.6849) == ("0.683", "0.685")
        assert probability_against(0.56, 0.6849) == ("0.56", "0.68")
        assert probability_against(0.001, 0.6849) == ("<\u00a00.01", "0.68")
        text = flag_reason(SpecimenFlag(name="mds_risk", reason={
            "code": "mds_cbc_above", "params": {"probability": 0.8, "threshold": 0.6849,
                                                "age_and_sex": True, "count_alone": 0.6835}}))
    assert "at or above 0.685 only through age and sex (the blood count alone: 0.683)" in text
    with translation.override("fr"):
        assert probability_against(0.6835, 0.6849) == ("0,683", "0,685")
