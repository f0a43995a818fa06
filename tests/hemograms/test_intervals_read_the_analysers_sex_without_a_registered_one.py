"""A man's haemoglobin is read against a man's interval even when the specimen was created by
its CBC (no registered patient) or the patient was registered without a sex: the analyser's
record gives it. The registered patient's sex and birth date win when they are known, and a
record that says otherwise is reported at import (a possible mix-up). The case page, the
specimen page and the signed report say whom the intervals are for and where that was read."""

from __future__ import annotations

from datetime import date

from django.utils import translation

from apps.analysis.score_text import score_display
from apps.analysis.scores import scores_compute
from apps.analysis.selectors import specimen_document
from apps.hemograms.models import CBCResult
from apps.hemograms.reference import ANALYSER, PATIENT, subject_for
from apps.hemograms.selectors import cbc_subject
from apps.patients.models import Specimen
from apps.patients.services import patient_create, specimen_create
from apps.workflow.services import cbc_import

CSV = ("accession,measured_at,patient_id,sex,birth_date,HGB(g/dL)\r\n"
       "{acc},2026-11-20T08:00,{patient},{sex},1970-03-01,12.5\r\n")


def _hgb(accession: str):  # type: ignore[no-untyped-def]
    return CBCResult.objects.get(specimen__accession=accession).values.get(code="HGB")


def test_without_a_registered_patient_the_analysers_sex_and_age_are_used(technician, client):
    outcome = cbc_import(actor=technician, data=CSV.format(acc="A-1", patient="", sex="M")
                         .encode(), file_name="cbc.csv")
    assert outcome.results_created == 1 and outcome.warnings == []
    hgb = _hgb("A-1")
    # 12.5 g/dL is anaemia in a man (< 13.0), not in a woman; with the sex unknown the widest
    # interval (12.0) would have left it unflagged.
    assert (hgb.ref_low, hgb.flag) == (13.0, "L")
    specimen = Specimen.objects.get(accession="A-1")
    assert specimen.patient is None
    subject = cbc_subject(specimen, CBCResult.objects.get(specimen=specimen))
    assert (subject.sex, subject.age, subject.sex_from, subject.age_from) == (
        "M", 56, ANALYSER, ANALYSER)
    assert specimen_document(specimen)["cbc"][0]["subject"]["sex_from"] == ANALYSER

    client.force_login(technician)
    page = client.get("/specimens/A-1/").content.decode()
    assert ("Reference intervals for a man aged 56 years (sex and age from the analyser&#x27;s "
            "record).") in page
    with translation.override("fr"):
        page = client.get("/specimens/A-1/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Intervalles de référence pour un homme de 56 ans (sexe et âge d&#x27;après " \
           "l&#x27;automate)." in page


def test_a_womans_record_is_read_against_a_womans_interval(technician):
    cbc_import(actor=technician, data=CSV.format(acc="A-2", patient="", sex="F").encode())
    hgb = _hgb("A-2")
    assert (hgb.ref_low, hgb.flag) == (12.0, "")


def test_a_patient_registered_without_sex_takes_the_analysers(technician):
    patient = patient_create(actor=technician, external_id="MRN-9")  # sex unknown
    specimen_create(actor=technician, accession="A-3", patient=patient)
    cbc_import(actor=technician, data=CSV.format(acc="A-3", patient="MRN-9", sex="M").encode())
    assert _hgb("A-3").flag == "L"
    subject = cbc_subject(Specimen.objects.get(accession="A-3"),
                          CBCResult.objects.get(specimen__accession="A-3"))
    assert (subject.sex_from, subject.age_from) == (ANALYSER, ANALYSER)


def test_the_registered_sex_wins_and_a_disagreeing_record_is_reported(technician):
    patient = patient_create(actor=technician, external_id="MRN-8", sex="M",
                             birth_date=date(1970, 3, 1))
    specimen_create(actor=technician, accession="A-4", patient=patient)
    outcome = cbc_import(actor=technician,
                         data=CSV.format(acc="A-4", patient="MRN-8", sex="F").encode())
    assert outcome.results_created == 1
    assert _hgb("A-4").flag == "L"  # the registered man's interval, not the record's woman's
    assert outcome.warnings == [
        "line 2: the analyser's record and the registered patient disagree (sex: female in the "
        "file, male registered); the registered patient's values are used for the reference "
        "intervals (check the sample's identity)"]
    subject = cbc_subject(Specimen.objects.get(accession="A-4"),
                          CBCResult.objects.get(specimen__accession="A-4"))
    assert (subject.sex_from, subject.age_from) == (PATIENT, PATIENT)


def test_a_birth_date_after_the_sample_gives_no_age():
    subject = subject_for(patient_sex="", patient_birth_date=None, record_sex="F",
                          record_birth_date=date(2030, 1, 1), day=date(2026, 11, 20))
    assert (subject.sex, subject.age, subject.age_from) == ("F", None, "")


FULL = ("accession,measured_at,sex,birth_date,WBC(10^9/L),HGB(g/dL),MCV(fL),PLT(10^9/L),"
        "NEUT#(10^9/L),MONO#(10^9/L)\r\n"
        "A-5,2026-11-20T08:00,M,1950-03-01,3.1,9.8,104.5,90,1.2,0.4\r\n")


def test_a_score_says_its_sex_and_age_came_from_the_analyser(technician, client):
    cbc_import(actor=technician, data=FULL.encode())
    specimen = Specimen.objects.get(accession="A-5")
    scores = {s.name: s for s in scores_compute(specimen_id=specimen.pk, trigger="cbc")}
    mds = scores["mds_cbc"]
    assert mds.state == "scored"  # before, without a patient: indeterminate, age and sex missing
    assert (mds.inputs["sex"], mds.inputs["age"], mds.inputs["sex_from"]) == ("M", 76, ANALYSER)
    assert score_display(mds)["demographics"] == (
        "Read from the analyser's record, not a patient record: sex and age.")
    client.force_login(technician)
    page = client.get("/specimens/A-5/").content.decode()
    assert "Read from the analyser&#x27;s record, not a patient record: sex and age." in page
