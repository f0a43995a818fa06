from __future__ import annotations

from apps.core.models import AuditEvent
from apps.patients.models import Patient, Specimen


def test_technician_creates_a_patient_then_a_specimen(client, technician):
    client.force_login(technician)
    response = client.post("/patients/new/", {"external_id": "MRN-77", "family_name": "Durand",
                                              "sex": "F", "birth_date": "1950-03-02"})
    patient = Patient.objects.get(external_id="MRN-77")
    assert response["Location"] == f"/patients/{patient.pseudo_id}/"
    response = client.post("/specimens/new/", {"accession": "H25-000123",
                                               "collected_at": "2026-11-20T08:30",
                                               "patient": patient.pseudo_id})
    assert response["Location"] == "/specimens/H25-000123/"
    specimen = Specimen.objects.get(accession="H25-000123")
    assert specimen.patient == patient
    page = client.get("/specimens/H25-000123/").content.decode()
    assert patient.pseudo_id in page
    assert "Durand" not in page  # identifying fields stay on the patient page
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"patient.create", "specimen.create"} <= actions


def test_duplicate_or_malformed_accession_is_refused_with_a_message(client, technician, specimen):
    client.force_login(technician)
    response = client.post("/specimens/new/", {"accession": "S-0001"})
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    response = client.post("/specimens/new/", {"accession": "../etc/passwd"})
    assert response.status_code == 200
    assert Specimen.objects.count() == 1


def test_search_finds_specimens_by_accession_and_patient(client, biologist, specimen):
    client.force_login(biologist)
    assert "S-0001" in client.get("/specimens/?q=0001").content.decode()
    pseudo = specimen.patient.pseudo_id
    assert "S-0001" in client.get(f"/specimens/?q={pseudo}").content.decode()
    assert "S-0001" not in client.get("/specimens/?q=nothing").content.decode()


def test_a_patients_specimens_are_listed_by_collection_time(client, technician, specimen):
    """A specimen registered later for an earlier sample is listed under the later sample."""
    import re
    from datetime import UTC, datetime

    from apps.patients.models import Specimen
    from apps.patients.services import specimen_create

    Specimen.objects.filter(pk=specimen.pk).update(
        collected_at=datetime(2026, 12, 7, 8, 0, tzinfo=UTC))
    late = specimen_create(actor=technician, accession="S-0002", patient=specimen.patient)
    Specimen.objects.filter(pk=late.pk).update(
        collected_at=datetime(2026, 12, 4, 8, 0, tzinfo=UTC))
    client.force_login(technician)
    page = client.get(f"/patients/{specimen.patient.pseudo_id}/").content.decode()
    listed = re.findall(r">(S-000\d)<", page)
    assert listed.index("S-0001") < listed.index("S-0002")


def test_lists_print_times_as_every_other_page_does(client, technician, specimen, settings):
    """The specimen list and the patient page printed "2026-12-05 08:30" where the worklist,
    the case page and the report print "5 December 2026, 08:30" ("5 décembre 2026 à 08:30")."""
    from datetime import UTC, datetime

    from apps.patients.models import Specimen

    settings.TIME_ZONE = "UTC"
    Specimen.objects.filter(pk=specimen.pk).update(
        collected_at=datetime(2026, 12, 5, 8, 30, tzinfo=UTC))
    client.force_login(technician)
    for url in ("/specimens/", f"/patients/{specimen.patient.pseudo_id}/"):
        english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "5 December 2026, 08:30" in english and "2026-12-05" not in english
        french = client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
        assert "5 décembre 2026 à 08:30" in french
