"""A patient registered with the wrong sex or birth date had no way to be corrected (the admin
is read-only), so a CBC file that gave the right one kept its case on the worklist and its
blood count read against the wrong intervals. The patient page corrects the record, audited
with what was checked; the cases not signed are read again (intervals, flags, scores); a
signed case keeps what was signed until its amendment, which reads it again."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest

from apps.core.models import AuditEvent
from apps.hemograms.models import CBCValue
from apps.patients.models import Patient, Specimen, SpecimenFlag, SpecimenStatus
from apps.patients.services import patient_create, specimen_create
from apps.review.selectors import worklist
from apps.workflow.services import cbc_import


def _message(accession: str) -> bytes:
    """A woman's blood count (PID-8 F), haemoglobin 12.5 g/dL: low for a man, not for a woman."""
    return (f"MSH|^~\\&|XN-550|LAB|LIS|CHU|20261120093000+0100||ORU^R01|{accession}|P|2.5.1\r"
            f"PID|1||MRN-7||DOE^JANE||19500301|F\r"
            f"OBR|1||{accession}|58410-2^CBC^LN|||20261120081500+0100\r"
            f"OBX|1|NM|718-7^Hemoglobin^LN||12.5|g/dL|||||F\r").encode()


def _hb(accession: str) -> CBCValue:
    return CBCValue.objects.get(result__specimen__accession=accession, code="HGB")


def _flags(accession: str) -> set[str]:
    return set(SpecimenFlag.objects.filter(specimen__accession=accession)
               .values_list("name", flat=True))


def _messages(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [html.unescape(re.sub(r"\s+", " ", m)).strip() for m in re.findall(
        r'<li class="msg[^"]*"[^>]*>(.*?)</li>', response.content.decode(), re.S)]


@pytest.fixture
def registered_as_a_man(technician, biologist):  # type: ignore[no-untyped-def]
    from apps.review.models import Signature
    from apps.review.selectors import report_content

    patient = patient_create(actor=technician, external_id="MRN-7", family_name="Doe",
                             given_name="Jane", sex="M")
    for accession in ("S-OPEN", "S-SIGNED"):
        specimen = specimen_create(actor=technician, accession=accession, patient=patient)
        cbc_import(actor=technician, data=_message(accession), specimen=specimen)
    signed = Specimen.objects.get(accession="S-SIGNED")
    Signature.objects.create(specimen=signed, version=1, meaning="validated",
                             signed_by=biologist, content=report_content(signed),
                             content_sha256="0" * 64)
    Specimen.objects.filter(pk=signed.pk).update(status=SpecimenStatus.VALIDATED)
    return patient


@pytest.mark.django_db
def test_the_corrected_sex_is_audited_and_the_open_case_read_again(
        client, technician, registered_as_a_man):
    patient = registered_as_a_man
    assert _hb("S-OPEN").flag == "L" and "cbc_record_differs" in _flags("S-OPEN")
    client.force_login(technician)
    page = client.get(f"/patients/{patient.pseudo_id}/", HTTP_ACCEPT_LANGUAGE="en")
    assert f'href="/patients/{patient.pseudo_id}/correct/"' in page.content.decode()
    form = client.get(f"/patients/{patient.pseudo_id}/correct/", HTTP_ACCEPT_LANGUAGE="en")
    assert '<option value="M" selected>' in form.content.decode()   # pre-filled

    answer = client.post(f"/patients/{patient.pseudo_id}/correct/", {
        "family_name": "Doe", "given_name": "Jane", "birth_date": "1950-03-01", "sex": "F",
        "reason": "Identity document checked at the ward."},
        HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert _messages(answer) == [
        "The patient's record was corrected (birth date, sex); the change is audited. The "
        "blood counts and scores of S-OPEN are read again for the corrected sex and age. "
        "Signed cases keep the record as signed and wait on the worklist for a biologist to "
        "amend them: S-SIGNED."]
    patient.refresh_from_db()
    assert patient.sex == "F" and str(patient.birth_date) == "1950-03-01"
    event = AuditEvent.objects.get(action="patient.update")
    assert event.actor == technician and event.before["sex"] == "M"
    assert event.after["sex"] == "F" and event.detail == {
        "reason": "Identity document checked at the ward.", "fields": ["birth_date", "sex"]}
    # The open case: a woman's interval, no low haemoglobin, the file agrees with the record.
    assert _hb("S-OPEN").flag == "" and _hb("S-OPEN").ref_low == 12.0
    assert not {"anaemia", "cbc_record_differs"} & _flags("S-OPEN")
    # The signed case keeps what was signed, and waits for its amendment, saying why.
    assert _hb("S-SIGNED").flag == "L" and "cbc_record_differs" in _flags("S-SIGNED")
    assert "record_corrected" in _flags("S-SIGNED")
    signed = Specimen.objects.get(accession="S-SIGNED")
    assert signed.priority == 3 and signed in worklist()
    case = html.unescape(client.get("/review/S-SIGNED/",
                                    HTTP_ACCEPT_LANGUAGE="en").content.decode())
    assert ("The patient's birth date and sex corrected after signing: the signed report "
            "carries the record as it was; amend the case to read it again.") in case
    # Its blood count reads as signed: a man's intervals, said as a man's (not "a woman"
    # beside "13-17 Low").
    assert re.findall(r'id="cbc-subject">([^<]*)<', case) == [
        "Reference intervals for a man aged 76 years (age from the analyser's record)."]
    assert "for a woman" not in case
    opened = html.unescape(client.get("/review/S-OPEN/",
                                      HTTP_ACCEPT_LANGUAGE="en").content.decode())
    assert "for a woman aged 76 years" in opened


@pytest.mark.django_db
def test_the_amendment_reads_a_signed_case_again(client, technician, biologist,
                                                registered_as_a_man):
    client.force_login(technician)
    client.post(f"/patients/{registered_as_a_man.pseudo_id}/correct/", {
        "family_name": "Doe", "given_name": "Jane", "sex": "F",
        "reason": "Identity document checked at the ward."})
    assert _hb("S-SIGNED").flag == "L"
    client.force_login(biologist)
    client.post("/review/S-SIGNED/amend/", {"reason": "The patient's sex was corrected."})
    assert Specimen.objects.get(accession="S-SIGNED").status == SpecimenStatus.IN_REVIEW
    assert _hb("S-SIGNED").flag == ""
    assert not {"cbc_record_differs", "record_corrected"} & _flags("S-SIGNED")


@pytest.mark.django_db
def test_in_french_the_birth_date_is_kept_in_the_form(client, technician, registered_as_a_man):
    """The French form printed the birth date "01/03/1950" in a date picker, which reads no
    such value: saving the sex alone erased the birth date."""
    from datetime import date

    Patient.objects.filter(pk=registered_as_a_man.pk).update(birth_date=date(1950, 3, 1))
    client.force_login(technician)
    form = client.get(f"/patients/{registered_as_a_man.pseudo_id}/correct/",
                      HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert 'name="birth_date" value="1950-03-01"' in form


@pytest.mark.django_db
def test_a_correction_says_what_was_checked_and_a_name_changes_nothing_else(
        client, technician, registered_as_a_man):
    patient = registered_as_a_man
    client.force_login(technician)
    refused = client.post(f"/patients/{patient.pseudo_id}/correct/", {
        "family_name": "Doe", "given_name": "Jane", "sex": "F", "reason": "  "},
        HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 200 and "This field is required." in refused.content.decode()
    # Said at the top too, where the reader looks first, in the reader's language.
    assert "Nothing was saved: correct what is marked below." in refused.content.decode()
    refused_fr = client.post(f"/patients/{patient.pseudo_id}/correct/", {
        "family_name": "Doe", "given_name": "Jane", "sex": "F", "reason": ""},
        HTTP_ACCEPT_LANGUAGE="fr")
    assert "Rien n'a été enregistré\u00a0: corrigez ce qui est signalé ci-dessous." in \
        html.unescape(refused_fr.content.decode())
    assert Patient.objects.get(pk=patient.pk).sex == "M"
    assert not AuditEvent.objects.filter(action="patient.update").exists()

    same = client.post(f"/patients/{patient.pseudo_id}/correct/", {
        "family_name": "Doe", "given_name": "Jane", "sex": "M", "reason": "Checked."},
        HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert _messages(same) == ["Nothing was changed: the record already reads so."]
    assert not AuditEvent.objects.filter(action="patient.update").exists()

    named = client.post(f"/patients/{patient.pseudo_id}/correct/", {
        "family_name": "Doe-Martin", "given_name": "Jane", "sex": "M", "reason": "Married name."},
        HTTP_ACCEPT_LANGUAGE="en", follow=True)
    # The signed report prints the name: the signed case waits for its amendment.
    assert _messages(named) == [
        "The patient's record was corrected (family name); the change is audited. Signed "
        "cases keep the record as signed and wait on the worklist for a biologist to amend "
        "them: S-SIGNED."]
    assert _hb("S-OPEN").flag == "L"        # nothing that depends on sex or age was read again


@pytest.mark.django_db
def test_only_a_signed_in_user_corrects_a_record(client, registered_as_a_man):
    answer = client.post(f"/patients/{registered_as_a_man.pseudo_id}/correct/", {
        "family_name": "X", "sex": "F", "reason": "r"})
    assert answer.status_code in (302, 403)
    assert Patient.objects.get(pk=registered_as_a_man.pk).family_name == "Doe"


@pytest.mark.django_db
def test_the_api_corrects_a_record_as_the_page_does(client, technician, registered_as_a_man):
    client.force_login(technician)
    url = f"/api/patients/{registered_as_a_man.pseudo_id}/correct/"
    refused = client.post(url, {"sex": "F"}, content_type="application/json")
    assert refused.status_code == 400 and "reason" in refused.json()
    answer = client.post(url, {"sex": "F", "reason": "Identity document checked."},
                         content_type="application/json")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["patient"]["sex"] == "F" and body["patient"]["family_name"] == "Doe"
    assert (body["fields"], body["read_again"], body["signed"]) == (
        ["sex"], ["S-OPEN"], ["S-SIGNED"])
    assert _hb("S-OPEN").flag == "" and _hb("S-SIGNED").flag == "L"


@pytest.mark.django_db
def test_a_file_that_still_gives_the_record_as_it_was_is_not_a_mixup(client, technician):
    """The lab's system sent the same wrong birth date as the one registered: the correction,
    made on the identity document, left a weight-10 "CBC file disagrees" flag on every case of
    the patient, which only a new file from the analyser could clear. A file giving the value
    the record held before its correction is explained: the page says so and that the
    laboratory system is to be corrected too; a value the record never held still flags."""
    def message(accession: str, born: str) -> bytes:
        return _message(accession).replace(b"|19500301|F", f"|{born}|F".encode())

    patient = patient_create(actor=technician, external_id="MRN-7", family_name="Roe",
                             given_name="Ann", sex="F", birth_date=date(1958, 4, 12))
    specimen = specimen_create(actor=technician, accession="S-TYPO", patient=patient)
    cbc_import(actor=technician, data=message("S-TYPO", "19580412"), specimen=specimen)
    assert _hb("S-TYPO").value == 12.5 and "cbc_record_differs" not in _flags("S-TYPO")
    client.force_login(technician)
    client.post(f"/patients/{patient.pseudo_id}/correct/", {
        "family_name": "Roe", "given_name": "Ann", "birth_date": "1958-04-21", "sex": "F",
        "reason": "Identity document checked."})
    patient.refresh_from_db()
    assert patient.superseded == {"birth_date": ["1958-04-12"]}
    assert "cbc_record_differs" not in _flags("S-TYPO")
    page = html.unescape(client.get("/specimens/S-TYPO/", HTTP_ACCEPT_LANGUAGE="en")
                         .content.decode())
    assert ("The CBC file gives the patient's birth date as 12 April 1958, as the record held "
            "it before its correction: the corrected record is used. Have the laboratory "
            "information system corrected too.") in page
    assert 'id="cbc-record-differs"' not in page
    # A later file with the old value: a note, not a disagreement; one with a value the record
    # never held: the identity is to be checked.
    later = specimen_create(actor=technician, accession="S-LATER", patient=patient)
    outcome = cbc_import(actor=technician, data=message("S-LATER", "19580412"), specimen=later)
    assert [w for w in outcome.warnings if "disagree" in w] == []
    assert any("as the record held it before its correction" in w for w in outcome.warnings)
    other = specimen_create(actor=technician, accession="S-OTHER", patient=patient)
    cbc_import(actor=technician, data=message("S-OTHER", "19580415"), specimen=other)
    assert "cbc_record_differs" in _flags("S-OTHER")
    # Corrected back: the value is current again, and the file that gives it agrees.
    client.post(f"/patients/{patient.pseudo_id}/correct/", {
        "family_name": "Roe", "given_name": "Ann", "birth_date": "1958-04-12", "sex": "F",
        "reason": "The first document was another patient's."})
    patient.refresh_from_db()
    assert patient.superseded == {"birth_date": ["1958-04-21"]}
    assert "cbc_record_differs" not in _flags("S-TYPO")
