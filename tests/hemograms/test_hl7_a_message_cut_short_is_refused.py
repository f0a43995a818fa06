"""An HL7 message cut short in transit (the file ends inside an OBX segment) is refused whole,
with a reason, instead of being imported as a complete count without the results it lost."""

from __future__ import annotations

from django.utils import translation

from apps.core.text import translated
from apps.hemograms.models import CBCResult
from apps.hemograms.parsers import parse_cbc
from apps.workflow.services import cbc_import
from tests.hemograms.test_hl7_single_message import MESSAGE

CUT = MESSAGE[: MESSAGE.index(b"OBX|9|") + len(b"OBX|9|NM|777-3")]


def test_a_message_cut_inside_an_observation_is_refused():
    result = parse_cbc(CUT)
    assert result.records == ()
    (error,) = result.errors
    (problem,) = error.problems
    with translation.override("en"):
        assert translated(problem) == ("the observation on line 14 (777-3) has no result status "
                                "(OBX-11), which the others have: the message may have been "
                                "cut short")
    with translation.override("fr"):
        assert "a peut-être été tronqué" in translated(problem)


def test_a_message_cut_between_segments_is_still_read():
    # Nothing in HL7 v2 says how many observations follow: a message cut at a segment's end
    # cannot be told from a shorter one, and is read as it stands.
    whole = MESSAGE[: MESSAGE.index(b"OBX|9|")]
    (record,) = parse_cbc(whole).records
    assert [m.code for m in record.measurements][-1] == "RDW-CV"


def test_a_sender_that_gives_no_status_is_read_as_before():
    data = (b"MSH|^~\\&|XN|LAB|LIS|HOSP|20240305120000||ORU^R01|C1|P|2.5\r"
            b"OBR|1||S1||||20240305115500\r"
            b"OBX|1|NM|6690-2^WBC^LN||5.0|10*9/L\r"
            b"OBX|2|NM|777-3^PLT^LN||210|10*9/L\r")
    (record,) = parse_cbc(data).records
    assert [m.code for m in record.measurements] == ["WBC", "PLT"]


def _specimen(technician):  # type: ignore[no-untyped-def]
    """The message's sample, of its patient (PID-3 P123456)."""
    from apps.patients.services import patient_create, specimen_create

    patient = patient_create(actor=technician, external_id="P123456", sex="F")
    return specimen_create(actor=technician, accession="24-0311", patient=patient)


def test_the_import_writes_nothing(technician, db):
    specimen = _specimen(technician)
    with translation.override("en"):
        outcome = cbc_import(actor=technician, data=CUT, specimen=specimen)
    assert outcome.results_created == 0
    assert ["may have been cut short" in str(e["reason"]) for e in outcome.errors] == [True]
    assert not CBCResult.objects.filter(specimen=specimen).exists()


def test_a_second_count_of_the_same_time_with_other_values_is_pointed_out(technician, db,
                                                                        monkeypatch):
    # A message cut between segments imports as a shorter count; the whole message sent again
    # is kept beside it, and the import says that the two disagree.
    from apps.hemograms.selectors import cbc_latest

    monkeypatch.setattr("apps.analysis.tasks.scores_compute_task.delay", lambda *_: None)
    specimen = _specimen(technician)
    first = cbc_import(actor=technician, data=MESSAGE[: MESSAGE.index(b"OBX|9|")],
                       specimen=specimen)
    # The specimen takes the message's collection time, and the import says so.
    assert first.results_created == 1 and len(first.warnings) == 1
    assert "takes the sample's collection time from the file (OBR-7)" in first.warnings[0]
    with translation.override("en"):
        second = cbc_import(actor=technician, data=MESSAGE, specimen=specimen)
    assert second.results_created == 1
    assert any("already has a count measured at the same time with other values" in w
               for w in second.warnings), second.warnings
    assert {v.code for v in cbc_latest(specimen).values.all()} >= {"PLT", "NEUT#"}
    again = cbc_import(actor=technician, data=MESSAGE, specimen=specimen)
    assert again.duplicates == 1 and again.results_created == 0
    assert not any("same time" in w for w in again.warnings)
