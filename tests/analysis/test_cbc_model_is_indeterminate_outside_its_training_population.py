"""The CBC MDS model was trained on MDS, anaemias and normal counts. On a count the analyser
suspects blasts in (the worklist's own rule, over every count of the specimen), or with a value
outside those its training cohort covered, it is indeterminate with a reason that says so, and
raises no MDS flag: an MDS output beside a possible acute leukaemia is rejected by a
hematologist."""

from __future__ import annotations

from django.utils import translation

from apps.analysis.models import Score
from apps.analysis.score_text import reason_text, score_display
from apps.analysis.scores import ANALYSER_SUSPECTS_BLASTS, scores_compute
from apps.ml.scores.reasons import INPUT_OUTSIDE_TRAINING
from apps.patients.models import SpecimenFlag
from apps.workflow.services import cbc_import

HEADER = (b"Sample No.,Date,Time,WBC(10^9/L),HGB(g/dL),MCV(fL),PLT(10^9/L),NEUT#(10^9/L),"
          b"NEUT%(%),MONO#(10^9/L),IP Message\r\n")
# The hematologist's sample: WBC 41.2, 1% neutrophils, "Blasts/Abn Lympho?". Every value is
# inside the ranges of the training cohort: only the analyser's message tells.
LEUKAEMIA = b"S-0001,2026/11/20,08:00:00,41.2,8.1,96.0,38,0.41,1.0,0.4,Blasts/Abn Lympho?\r\n"


def _row(wbc: str = "41.2", messages: str = "", time: str = "08:00:00") -> bytes:
    return f"S-0001,2026/11/20,{time},{wbc},8.1,96.0,38,0.41,1.0,0.4,{messages}\r\n".encode()


def _mds_cbc(specimen) -> Score:  # type: ignore[no-untyped-def]
    scores_compute(specimen_id=specimen.pk, trigger="test")
    return Score.objects.filter(specimen=specimen, name="mds_cbc").order_by("-revision").first()


def _score_flags(specimen) -> set[str]:  # type: ignore[no-untyped-def]
    return set(SpecimenFlag.objects.filter(specimen=specimen, source="score")
               .values_list("name", flat=True))


def test_the_same_count_without_the_message_is_scored_and_flagged(technician, older_man):
    """The control: without the analyser's message the model scores this count above its
    operating threshold and puts it on the worklist as an MDS risk."""
    cbc_import(actor=technician, data=HEADER + _row())
    score = _mds_cbc(older_man)
    assert score.state == "scored" and score.level == "above_threshold"
    assert "mds_risk" in _score_flags(older_man)


def test_a_blast_message_makes_the_score_indeterminate_and_raises_no_mds_flag(
        technician, older_man):
    cbc_import(actor=technician, data=HEADER + LEUKAEMIA)
    score = _mds_cbc(older_man)
    assert score.state == "indeterminate"
    assert score.value is None and score.level == ""
    assert score.reasons == [{"code": ANALYSER_SUSPECTS_BLASTS,
                              "params": {"messages": ["Blasts/Abn Lympho?"]}}]
    assert score.sha256  # still recorded with the model that declined
    assert "contributions" not in score.evidence  # no log-odds parts to read as evidence
    assert "mds_risk" not in _score_flags(older_man)
    # The message itself still leads the worklist (the same rule, weight 8).
    flag = SpecimenFlag.objects.get(specimen=older_man, source="cbc", name="analyser_message")
    assert flag.weight == 8


def test_other_messages_leave_the_model_scored(technician, older_man):
    cbc_import(actor=technician, data=HEADER + _row(messages="PLT Clumps?;Left Shift?"))
    assert _mds_cbc(older_man).state == "scored"


def test_a_blast_message_on_an_earlier_count_still_counts(technician, older_man):
    """As on the worklist: a later count without the message does not hide it."""
    cbc_import(actor=technician, data=HEADER + _row(messages="Blasts?", time="07:00:00"))
    cbc_import(actor=technician, data=HEADER + _row(time="09:00:00"))
    score = _mds_cbc(older_man)
    assert score.state == "indeterminate"
    assert score.reasons[0]["params"] == {"messages": ["Blasts?"]}


def test_a_count_outside_the_training_values_is_indeterminate(technician, older_man):
    cbc_import(actor=technician, data=HEADER + _row(wbc="80.5"))  # the cohort's highest: 47
    score = _mds_cbc(older_man)
    assert score.state == "indeterminate" and score.value is None
    assert score.reasons == [{"code": INPUT_OUTSIDE_TRAINING, "params": {
        "input": "wbc", "value": 80.5, "low": 1.2, "high": 47.0, "unit": "10^9/L"}}]
    assert "mds_risk" not in _score_flags(older_man)


def test_the_reasons_read_plainly_in_english_and_french():
    blasts = {"code": ANALYSER_SUSPECTS_BLASTS,
              "params": {"messages": ["Blasts/Abn Lympho?", "Left Shift?"]}}
    outside = {"code": INPUT_OUTSIDE_TRAINING, "params": {
        "input": "wbc", "value": 80.5, "low": 1.2, "high": 47.0, "unit": "10^9/L"}}
    with translation.override("en"):
        assert reason_text(blasts) == (
            "the analyser suspects blasts (Blasts/Abn Lympho?; Left Shift?): outside the "
            "population the model was trained on (MDS, anaemias and normal counts)")
        assert reason_text(outside) == (
            "white cell count 80.5\u00a0×10⁹/L: outside the values of the cohort the model was "
            "trained on (1.2 to 47\u00a0×10⁹/L)")
    with translation.override("fr"):
        french = reason_text(blasts)
        assert french.startswith("l'automate suspecte des blastes (Blasts/Abn Lympho?")
        assert "Left Shift?)" in french  # the analyser's own words, as it wrote them
        assert "SMD" in french
        assert reason_text(outside).startswith("numération leucocytaire 80,5\u00a0×10⁹/L")
        assert reason_text(outside).endswith("(de 1,2 à 47\u00a0×10⁹/L)")


def test_the_case_page_says_indeterminate_with_the_reason(client, biologist, technician,
                                                          older_man):
    cbc_import(actor=technician, data=HEADER + LEUKAEMIA)
    score = _mds_cbc(older_man)
    assert score_display(score)["table"] is None
    client.force_login(biologist)
    page = client.get(f"/review/{older_man.accession}/").content.decode()
    panel = page.split('data-score="mds_cbc"', 1)[1].split('<div class="score"', 1)[0]
    assert "Indeterminate" in panel
    assert "the analyser suspects blasts (Blasts/Abn Lympho?): outside the population" in panel
    assert "above the operating threshold" not in panel


def test_scores_stored_before_are_recomputed_on_open_cases_only(technician, older_man):
    """A score stored under the earlier rule (scored beside 'Blasts?') keeps its result until
    the specimen's next trigger; `manage.py scores_recompute` brings the open cases to the
    current rule and leaves a signed case as signed."""
    from io import StringIO

    from django.core.management import call_command

    from apps.patients.models import SIGNED_STATUSES

    cbc_import(actor=technician, data=HEADER + LEUKAEMIA)
    stale = _mds_cbc(older_man)
    Score.objects.filter(pk=stale.pk).update(state="scored", value=0.82, level="above_threshold",
                                             reasons=[])
    out = StringIO()
    call_command("scores_recompute", stdout=out)
    assert "specimens read: 1; score revisions stored: 1" in out.getvalue()
    assert _latest(older_man).state == "indeterminate"
    assert _latest(older_man).revision == stale.revision + 1

    Score.objects.filter(specimen=older_man).update(state="scored", reasons=[])
    type(older_man).objects.filter(pk=older_man.pk).update(status=SIGNED_STATUSES[0])
    out = StringIO()
    call_command("scores_recompute", stdout=out)
    assert "specimens read: 0; score revisions stored: 0" in out.getvalue()
    assert _latest(older_man).state == "scored"


def _latest(specimen) -> Score:  # type: ignore[no-untyped-def]
    return Score.objects.filter(specimen=specimen, name="mds_cbc").order_by("-revision").first()
