"""An HL7 blood count names when its sample was collected (SPM-17, else OBR-7, which HL7 v2
defines as the collection time of a specimen's observation): a specimen without one takes it,
audited, so the result sent back carries it in OBR-7 as the order did; a specimen that has
another keeps its own and the import says so."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest

from apps.core.models import AuditEvent
from apps.hemograms.parsers import parse_cbc
from apps.patients.models import Specimen
from apps.patients.services import patient_create, specimen_update
from apps.workflow.services import cbc_import


def message(*, obr7: str = "20261120081500+0100", spm17: str | None = None,
            obx19: str = "", accession: str = "S-0001") -> bytes:
    spm = f"SPM|1|{accession}||BLD^Whole blood^HL70487|||||||||||||{spm17}\r" \
        if spm17 is not None else ""
    return (f"MSH|^~\\&|XN-550|LAB|LIS|CHU|20261120093000+0100||ORU^R01|M1|P|2.5.1\r"
            f"PID|1||MRN-1||DOE^JOHN||19500301|M\r"
            f"OBR|1||{accession}|58410-2^CBC^LN|||{obr7}\r"
            f"OBX|1|NM|6690-2^Leukocytes^LN||6.20|10*9/L|||||F||||||||{obx19}\r"
            f"OBX|2|NM|718-7^Hemoglobin^LN||13.1|g/dL|||||F\r"
            f"{spm}").encode()


def test_obr7_is_the_collection_time_and_spm17_comes_first():
    (record,) = parse_cbc(message()).records
    assert record.collected_at == record.measured_at == datetime(2026, 11, 20, 7, 15,
                                                                 tzinfo=UTC)
    assert record.collected_at_field == "OBR-7"
    (record,) = parse_cbc(message(spm17="20261120063000+0100")).records
    assert record.collected_at == datetime(2026, 11, 20, 5, 30, tzinfo=UTC)
    assert record.collected_at_field == "SPM-17"
    assert record.measured_at == datetime(2026, 11, 20, 7, 15, tzinfo=UTC)


def test_obx19_is_the_measurement_time():
    """OBX-19, the date/time of the analysis (HL7 v2.5), is when the count was measured; the
    collection time stays OBR-7's."""
    (record,) = parse_cbc(message(obx19="20261120103000+0100")).records
    assert record.measured_at == datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    assert record.collected_at == datetime(2026, 11, 20, 7, 15, tzinfo=UTC)
    assert "OBX-19 '2026112010' has no time of day" in parse_cbc(
        message(obx19="2026112010")).errors[0].reason


def test_a_bad_collection_time_is_refused_with_its_field():
    parsed = parse_cbc(message(spm17="20261120"))
    assert parsed.records == ()
    assert "SPM-17 '20261120' has no time of day" in parsed.errors[0].reason


@pytest.mark.django_db
def test_a_specimen_created_by_the_message_takes_its_collection_time(technician, settings):
    """Taken, audited with the field and line it came from, and announced."""
    settings.TIME_ZONE = "UTC"
    patient_create(actor=technician, external_id="MRN-1", sex="M")
    outcome = cbc_import(actor=technician, data=message(spm17="20261120063000+0100"))
    assert outcome.results_created == 1, outcome.errors
    specimen = Specimen.objects.get(accession="S-0001")
    assert specimen.collected_at == datetime(2026, 11, 20, 5, 30, tzinfo=UTC)
    event = AuditEvent.objects.filter(action="specimen.update").latest("at")
    assert event.actor == technician and event.after["collected_at"] == "2026-11-20T05:30:00Z"
    assert event.detail == {"from": "cbc_file", "field": "SPM-17", "line": 1}
    assert outcome.warnings == [
        "line 1: specimen S-0001 takes the sample's collection time from the file (SPM-17): "
        "20 November 2026, 05:30"]


@pytest.mark.django_db
def test_a_registered_collection_time_is_kept_and_the_import_says_so(technician, specimen,
                                                                      settings):
    settings.TIME_ZONE = "UTC"
    registered = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    specimen_update(actor=technician, specimen=specimen, collected_at=registered)
    outcome = cbc_import(actor=technician, data=message(), specimen=specimen)
    assert outcome.results_created == 1, outcome.errors
    specimen.refresh_from_db()
    assert specimen.collected_at == registered
    assert outcome.warnings == [
        "line 1: the file gives the sample's collection time as 20 November 2026, 07:15; "
        "specimen S-0001 keeps its registered one, 20 November 2026, 06:00 (check which is "
        "right)"]

    # The same time as registered: nothing to say.
    again = cbc_import(actor=technician, data=message(obr7="20261120070000+0100").replace(
        b"6.20", b"6.30"), specimen=specimen)
    assert again.results_created == 1 and again.warnings == []


def _warnings(client, url: str) -> list[str]:
    page = client.get(url).content.decode()
    box = re.search(r'<div id="cbc-record-differs"[^>]*>(.*?)</div>', page, re.S)
    return [" ".join(html.unescape(p).split())
            for p in re.findall(r"<p[^>]*>(.*?)</p>", box.group(1), re.S)] if box else []


@pytest.mark.django_db
def test_the_case_page_keeps_a_collection_time_the_file_gives_otherwise(
        client, technician, biologist, specimen, settings):
    """The import warns once; the case page and the specimen page keep saying it until the
    times agree, and the sign form points at it."""
    settings.TIME_ZONE = "UTC"
    specimen_update(actor=technician, specimen=specimen,
                    collected_at=datetime(2026, 11, 20, 6, 0, tzinfo=UTC))
    cbc_import(actor=technician, data=message(), specimen=specimen)
    client.force_login(biologist)
    expected = ["The CBC file gives the sample's collection time as 20 November 2026, 07:15; "
                "the specimen's registered one is 20 November 2026, 06:00. Check which is "
                "right: the report and the result message carry the specimen's."]
    assert _warnings(client, "/review/S-0001/") == expected
    assert _warnings(client, "/specimens/S-0001/") == expected
    assert b'id="sign-record-differs"' in client.get("/review/S-0001/").content

    # Corrected to the file's time (to the minute): nothing left to say.
    specimen_update(actor=technician, specimen=specimen,
                    collected_at=datetime(2026, 11, 20, 7, 15, 30, tzinfo=UTC))
    assert _warnings(client, "/review/S-0001/") == []
    assert b'id="sign-record-differs"' not in client.get("/review/S-0001/").content


@pytest.mark.django_db
def test_the_case_page_keeps_a_patient_the_analyser_record_gives_otherwise(
        client, technician, biologist, specimen):
    """PID-8 says F where the registered patient is M: the import's warning stays on the page."""
    cbc_import(actor=technician, data=message().replace(b"|19500301|M", b"|19500301|F"),
               specimen=specimen)
    client.force_login(biologist)
    assert _warnings(client, "/review/S-0001/") == [
        "The analyser's record and the registered patient disagree (sex: female in the file, "
        "male registered): the registered patient's values are used for the reference "
        "intervals. Check the sample's identity."]


@pytest.mark.django_db
def test_a_file_that_agrees_adds_nothing(client, technician, biologist):
    patient_create(actor=technician, external_id="MRN-1", sex="M")
    cbc_import(actor=technician, data=message(spm17="20261120063000+0100"))
    client.force_login(biologist)
    assert _warnings(client, "/review/S-0001/") == []


@pytest.mark.django_db
def test_in_french_the_times_read_a_la_francaise(client, technician, biologist, specimen,
                                                 settings):
    from tests.helpers import case_page_html

    settings.TIME_ZONE = "UTC"
    specimen_update(actor=technician, specimen=specimen,
                    collected_at=datetime(2026, 11, 20, 6, 0, tzinfo=UTC))
    cbc_import(actor=technician, data=message(), specimen=specimen)
    case_page_html(client, biologist, specimen, "fr")
    assert _warnings(client, "/review/S-0001/") == [
        "Le fichier de l'hémogramme donne 20 novembre 2026 à 07:15 comme heure de prélèvement ; "
        "celle qui est enregistrée pour le prélèvement est 20 novembre 2026 à 06:00. Vérifiez "
        "laquelle est juste : le compte rendu et le message de résultat portent celle du "
        "prélèvement."]


@pytest.mark.django_db
def test_a_count_dated_by_its_collection_time_is_not_called_measured_then(
        client, technician, specimen):
    """Without OBX-19 the message's only time is OBR-7, the collection time: the count is dated
    by it, and the pages and the report say that it is not a time of analysis."""
    from apps.hemograms.models import CBCResult

    cbc_import(actor=technician, data=message(), specimen=specimen)
    first = CBCResult.objects.get(specimen=specimen)
    assert first.dated_by_collection
    client.force_login(technician)
    page = client.get("/specimens/S-0001/").content.decode()
    assert "(the file's collection time: it gives no time of analysis)" in page
    # The case page's CBC tab says which count it shows and when it was measured, too.
    case = client.get("/review/S-0001/").content.decode()
    source = case[case.index('id="cbc-source"'):]
    source = source[:source.index("</p>")]
    assert "measured 20 November 2026" in source and "no time of analysis" in source
    cbc_import(actor=technician, data=message(obx19="20261120093000+0100").replace(
        b"6.20", b"6.40"), specimen=specimen)
    analysed = CBCResult.objects.filter(specimen=specimen).exclude(pk=first.pk).get()
    assert analysed.measured_at == datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    assert not analysed.dated_by_collection


def test_the_report_explains_a_count_dated_by_a_collection_time_since_corrected():
    """Signed with the specimen collected at 07:15 (corrected) and the count dated by the file's
    07:45: the report says the count's time is the file's collection time, not the specimen's."""
    from django.utils import translation

    from apps.reports.document import _dated_note

    cbc = {"dated_by_collection": True, "measured_at": "2026-12-07T07:45:00+00:00"}
    with translation.override("en"):
        assert _dated_note(cbc, "2026-12-07T07:15:00+00:00") == (
            "the file's collection time, not the specimen's above: the file gives no time of "
            "analysis")
        assert _dated_note(cbc, "2026-12-07T07:45:00+00:00") == (
            "the file's collection time: it gives no time of analysis")
        assert _dated_note({**cbc, "dated_by_collection": False}, None) == ""


@pytest.mark.django_db
def test_a_file_that_disagrees_puts_the_specimen_on_the_worklist_until_corrected(
        technician, specimen, settings):
    """The case page's warning is only read once the case is opened: the specimen is flagged
    (weighing as a possible mix-up) while the file and the registered facts disagree."""
    from django.utils import translation

    from apps.patients.flag_text import flag_reason
    from apps.patients.models import SpecimenFlag
    from apps.patients.services import specimen_collection_time_set

    settings.TIME_ZONE = "UTC"
    specimen_update(actor=technician, specimen=specimen,
                    collected_at=datetime(2026, 11, 20, 6, 0, tzinfo=UTC))
    cbc_import(actor=technician, data=message().replace(b"|19500301|M", b"|19500301|F"),
               specimen=specimen)
    flag = SpecimenFlag.objects.get(specimen=specimen, name="cbc_record_differs")
    assert flag.weight == 10 and flag.reason["params"]["fields"] == ["collected_at", "sex"]
    with translation.override("en"):
        assert flag_reason(flag) == (
            "the CBC file gives another collection time and sex than the registered specimen "
            "or patient: check the sample's identity")
    specimen.refresh_from_db()
    assert specimen.priority >= 10
    # The collection time corrected to the file's: only the sex is left.
    specimen_collection_time_set(actor=technician, specimen=specimen,
                                 collected_at=datetime(2026, 11, 20, 7, 15, tzinfo=UTC))
    flag = SpecimenFlag.objects.get(specimen=specimen, name="cbc_record_differs")
    assert flag.reason["params"]["fields"] == ["sex"]


@pytest.mark.django_db
def test_a_file_that_agrees_raises_no_flag(technician):
    from apps.patients.models import SpecimenFlag

    patient_create(actor=technician, external_id="MRN-1", sex="M")
    cbc_import(actor=technician, data=message(spm17="20261120063000+0100"))
    assert not SpecimenFlag.objects.filter(name="cbc_record_differs").exists()
