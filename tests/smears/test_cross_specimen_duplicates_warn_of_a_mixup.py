"""Real PBC images already stored for another specimen: the import still succeeds, its JSON lists
them as cross_specimen_duplicates with the other specimen's accession, and both specimens carry a
visible "possible sample mix-up" warning on the specimen page and the case page, in English and
French, and are on the worklist for it."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.core.models import AuditEvent
from apps.patients.models import SpecimenFlag
from apps.patients.services import patient_create, specimen_create
from apps.review.selectors import worklist
from apps.smears.models import Cell
from apps.smears.services import smear_read_upload
from apps.workflow.services import smear_import
from tests.helpers import export_zip, pbc_images


@pytest.fixture(autouse=True)
def _no_inference(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)


@pytest.fixture
def two_specimens(technician, specimen):  # type: ignore[no-untyped-def]
    """S-0001 holds 3 neutrophils and 2 lymphocytes; S-0002, another patient, nothing yet."""
    batch = smear_read_upload(name="a.zip", fileobj=io.BytesIO(
        export_zip({"neutrophil": 3, "lymphocyte": 2})))
    smear_import(actor=technician, specimen=specimen, batch=batch)
    other = patient_create(actor=technician, external_id="MRN-2", sex="F")
    return specimen, specimen_create(actor=technician, accession="S-0002", patient=other)


def _names(cls: str, n: int) -> list[str]:
    return [f"export/{cls}/{p.name}" for p in pbc_images(cls, n)]


def test_the_api_json_lists_them_and_the_import_succeeds(client, technician, two_specimens):
    client.force_login(technician)
    upload = SimpleUploadedFile("b.zip", export_zip({"neutrophil": 4, "eosinophil": 1}))
    response = client.post("/api/specimens/S-0002/uploads/", {"files": [upload]})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["images_imported"] == 5 and body["duplicates"] == 0
    assert body["cross_specimen_duplicates"] == [
        {"file": name, "specimen": "S-0001"} for name in _names("neutrophil", 3)]
    assert Cell.objects.filter(specimen__accession="S-0002").count() == 5


def test_both_specimens_are_flagged_and_on_the_worklist(technician, two_specimens):
    first, second = two_specimens
    batch = smear_read_upload(name="b.zip", fileobj=io.BytesIO(export_zip({"neutrophil": 1})))
    outcome = smear_import(actor=technician, specimen=second, batch=batch)
    assert outcome.as_dict()["cross_specimen_duplicates"] == [
        {"file": _names("neutrophil", 1)[0], "specimen": "S-0001"}]
    flags = {f.specimen.accession: f.rule for f in
             SpecimenFlag.objects.filter(name="possible_mixup").select_related("specimen")}
    assert flags == {"S-0001": "S-0002", "S-0002": "S-0001"}
    assert {s.accession for s in worklist(flag="possible_mixup")} == {"S-0001", "S-0002"}
    audited = AuditEvent.objects.filter(action="specimen.possible_mixup")
    assert audited.count() == 2

    # A third specimen with the same image: the first now names both others, once each.
    third = specimen_create(actor=technician, accession="S-0003")
    batch = smear_read_upload(name="c.zip", fileobj=io.BytesIO(export_zip({"neutrophil": 1})))
    outcome = smear_import(actor=technician, specimen=third, batch=batch)
    assert {d["specimen"] for d in outcome.cross_specimen_duplicates} == {"S-0001", "S-0002"}
    assert SpecimenFlag.objects.get(specimen=first, name="possible_mixup").rule == (
        "S-0002, S-0003")
    first.refresh_from_db()
    # One flag, its weight once (a possible mix-up comes first: 10), however many it names.
    assert first.priority == 10


def test_different_images_raise_nothing(technician, two_specimens):
    _first, second = two_specimens
    batch = smear_read_upload(name="b.zip", fileobj=io.BytesIO(export_zip({"basophil": 2})))
    outcome = smear_import(actor=technician, specimen=second, batch=batch)
    assert outcome.images_imported == 2 and outcome.cross_specimen_duplicates == []
    assert not SpecimenFlag.objects.filter(name="possible_mixup").exists()


@pytest.mark.parametrize(("language", "heading", "sentence"), [
    ("en", "Possible sample mix-up", "identical cell images are stored for this specimen"),
    ("fr", "Possible inversion d", "images de cellules identiques"),
])
def test_the_warning_is_on_both_specimen_pages_and_case_pages(client, technician, biologist,
                                                              two_specimens, language, heading,
                                                              sentence):
    client.force_login(technician)
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    upload = SimpleUploadedFile("b.zip", export_zip({"neutrophil": 2}))
    response = client.post("/specimens/S-0002/smear/", {"files": [upload]}, follow=True)
    assert response.status_code == 200
    assert "S-0001" in response.content.decode()  # the message after the upload names it
    client.force_login(biologist)
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    for accession, other in (("S-0001", "S-0002"), ("S-0002", "S-0001")):
        for url in (f"/specimens/{accession}/", f"/review/{accession}/"):
            page = client.get(url).content.decode()
            assert 'id="mixup-warning"' in page, url
            warning = page[page.index('id="mixup-warning"'):]
            warning = warning[:warning.index("</p>")]
            assert heading in warning and sentence in warning and other in warning, url


def test_a_specimen_without_duplicates_shows_no_warning(client, biologist, two_specimens):
    client.force_login(biologist)
    assert 'id="mixup-warning"' not in client.get("/specimens/S-0001/").content.decode()
    assert 'id="mixup-warning"' not in client.get("/review/S-0001/").content.decode()
