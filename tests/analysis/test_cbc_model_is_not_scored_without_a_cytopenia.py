"""An MDS needs at least one cytopenia (WHO and ICC 2022: haemoglobin < 13 g/dL in men and
< 12 in women, neutrophils < 1.8, platelets < 150 x 10^9/L). The CBC MDS model put a 75-year-old
man with a normal count on the worklist at output 0.90, above a patient with a macrocytic
anaemia and thrombocytopenia: on a count without a cytopenia its output rests on age and sex.
Such a count is now indeterminate, says why with its figures and the cut-offs, and raises no
MDS flag; one cytopenia is enough for it to be scored."""

from __future__ import annotations

import pytest
from django.utils import translation

from apps.analysis.models import Score
from apps.analysis.score_text import reason_text, score_display
from apps.analysis.scores import scores_compute
from apps.ml.scores.cytopenia import no_cytopenia
from apps.ml.scores.reasons import NO_CYTOPENIA
from apps.patients.models import SpecimenFlag
from apps.workflow.services import cbc_import

HEADER = (b"Sample No.,Date,Time,WBC(10^9/L),HGB(g/dL),MCV(fL),PLT(10^9/L),NEUT#(10^9/L),"
          b"MONO#(10^9/L)\r\n")


def _row(hb: str, plt: str = "250", anc: str = "4.10") -> bytes:
    return f"S-0001,2026/11/20,08:00:00,6.5,{hb},90.0,{plt},{anc},0.5\r\n".encode()


def _mds_cbc(specimen) -> Score:  # type: ignore[no-untyped-def]
    scores_compute(specimen_id=specimen.pk, trigger="test")
    return Score.objects.filter(specimen=specimen, name="mds_cbc").order_by("-revision").first()


def _mds_flag(specimen) -> bool:  # type: ignore[no-untyped-def]
    return SpecimenFlag.objects.filter(specimen=specimen, source="score",
                                       name="mds_risk").exists()


def test_a_normal_count_is_indeterminate_and_not_flagged(technician, older_man):
    cbc_import(actor=technician, data=HEADER + _row(hb="14.8"))
    score = _mds_cbc(older_man)
    assert score.state == "indeterminate" and score.value is None and score.level == ""
    (reason,) = score.reasons
    assert reason["code"] == NO_CYTOPENIA
    assert reason["params"] == {"hb": 14.8, "anc": 4.1, "plt": 250.0, "hb_cutoff": 13.0,
                                "anc_cutoff": 1.8, "plt_cutoff": 150.0, "sex": "M"}
    assert not _mds_flag(older_man)
    with translation.override("en"):
        text = reason_text(reason)
    assert text.startswith("no cytopenia (Hb 14.8\u00a0g/dL ≥ 13\u00a0g/dL, ANC 4.1\u00a0×10⁹/L")
    assert "an MDS needs at least one (WHO and ICC 2022)" in text
    with translation.override("fr"):
        assert reason_text(reason).startswith("aucune cytopénie (Hb 14,8\u00a0g/dL ≥ 13\u00a0g/dL, "
                                              "PNN 4,1\u00a0×10⁹/L")


@pytest.mark.parametrize("hb, plt, anc", [("12.9", "250", "4.10"), ("14.8", "149", "4.10"),
                                          ("14.8", "250", "1.70")])
def test_one_cytopenia_is_enough_to_be_scored(technician, older_man, hb, plt, anc):
    cbc_import(actor=technician, data=HEADER + _row(hb=hb, plt=plt, anc=anc))
    assert _mds_cbc(older_man).state == "scored"


def test_the_cut_offs_follow_the_sex_and_an_unknown_sex_misses_no_anaemia():
    # At the cut-off itself a count is not below it.
    assert no_cytopenia(13.0, 1.8, 150.0, "M") is not None
    assert no_cytopenia(12.5, 4.0, 250.0, "M") is None  # anaemic man
    assert no_cytopenia(12.5, 4.0, 250.0, "F")["hb_cutoff"] == 12.0  # not an anaemic woman
    assert no_cytopenia(12.5, 4.0, 250.0, None) is None  # could be an anaemic man
    assert no_cytopenia(13.2, 4.0, 250.0, None)["hb_cutoff"] == 13.0
    # A count not measured cannot rule a cytopenia out.
    assert no_cytopenia(14.0, None, 250.0, "M") is None


def test_the_figures_keep_the_decimals_the_analyser_gave(technician, older_man):
    """ANC 4.10 in the file reads "ANC 4.10" in the reason and in the evidence table, as the
    CBC table prints it: not "4.1" beside it."""
    cbc_import(actor=technician, data=HEADER + _row(hb="14.8", anc="4.10"))
    score = _mds_cbc(older_man)
    assert score.inputs["decimals"] == {"WBC": 1, "HGB": 1, "MCV": 1, "PLT": 0, "NEUT#": 2,
                                        "MONO#": 1}
    with translation.override("en"):
        (text,) = score_display(score)["reasons"]
    assert text.startswith("no cytopenia (Hb 14.8\u00a0g/dL ≥ 13\u00a0g/dL, ANC 4.10\u00a0×10⁹/L"
                           " ≥ 1.8\u00a0×10⁹/L, platelets 250\u00a0×10⁹/L")
    with translation.override("fr"):
        assert "PNN 4,10\u00a0×10⁹/L" in score_display(score, report=True)["reasons"][0]
    # Scored: the evidence table's values as the file gave them.
    cbc_import(actor=technician, data=HEADER + _row(hb="12.90", anc="1.70").replace(
        b",6.5,", b",6.50,"))
    score = _mds_cbc(older_man)
    assert score.state == "scored"
    with translation.override("en"):
        rows = {r["name"]: r["value"] for r in score_display(score)["table"]["rows"]}
    assert rows["neutrophil count"] == "1.70\u00a0×10⁹/L"
    assert rows["white cell count"] == "6.50\u00a0×10⁹/L"
    assert rows["haemoglobin"] == "12.90\u00a0g/dL"
