"""A DICOM file names its sample (AccessionNumber) and its patient (PatientID): uploaded to a
specimen they do not name, it is refused with its file name and reason, and nothing of it is
written (no cell, no upload row, no image file). The rule is patients' one identity rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.core.models import AuditEvent
from apps.patients.services import patient_create, specimen_create
from apps.smears.models import Cell, SmearUpload
from tests.smears.builders import dicom_bytes, dicom_dataset, pbc_bytes, pbc_pixels


@pytest.fixture(autouse=True)
def _no_queue(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)


def _dicom(name: str, **identity: str) -> SimpleUploadedFile:
    ds = dicom_dataset()
    for keyword, value in identity.items():
        setattr(ds, keyword, value)
    ds.set_pixel_data(pbc_pixels("monocyte", 0), "RGB", 8)
    return SimpleUploadedFile(name, dicom_bytes(ds), "application/dicom")


def _stored_files(settings) -> list[Path]:  # type: ignore[no-untyped-def]
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _assert_nothing_written(settings) -> None:  # type: ignore[no-untyped-def]
    assert not Cell.objects.exists()
    assert not SmearUpload.objects.exists()
    assert not AuditEvent.objects.filter(action="smear.import").exists()
    assert _stored_files(settings) == []


@pytest.mark.parametrize(("identity", "code", "said"), [
    ({"PatientID": "MRN-2"}, "patient_mismatch", "DICOM PatientID 'MRN-2'"),
    ({"AccessionNumber": "S-0002"}, "sample_mismatch", "DICOM AccessionNumber 'S-0002'"),
    ({"PatientID": "MRN-1", "AccessionNumber": "S-0002"}, "sample_mismatch", "'S-0002'"),
])
def test_a_file_naming_someone_else_is_refused_on_the_page(
        client, technician, specimen, settings, identity, code, said):
    # The other patient and specimen exist: the file is theirs, not S-0001's.
    other = patient_create(actor=technician, external_id="MRN-2")
    specimen_create(actor=technician, accession="S-0002", patient=other)
    client.force_login(technician)
    response = client.post(f"/specimens/{specimen.accession}/smear/",
                           {"files": [_dicom("other.dcm", **identity)]}, follow=True)
    page = response.content.decode()
    assert "Upload refused, nothing was imported" in page
    assert "other.dcm" in page and said in page.replace("&#x27;", "'")
    assert "possible sample mix-up" in page
    _assert_nothing_written(settings)


def test_the_api_lists_the_refused_file_with_its_code_and_imports_the_rest(
        client, technician, specimen, settings):
    client.force_login(technician)
    files = [SimpleUploadedFile("a.jpg", pbc_bytes("neutrophil", 0), "image/jpeg"),
             _dicom("mine.dcm", PatientID="MRN-1", AccessionNumber="S-0001"),
             _dicom("theirs.dcm", PatientID="MRN-9")]
    response = client.post(f"/api/specimens/{specimen.accession}/uploads/", {"files": files})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["images_imported"] == 2
    (refused,) = body["rejected"]
    assert refused["file"] == "theirs.dcm"
    # MRN-9 is nobody registered here; the stored patient's number is never echoed.
    assert refused["code"] == "patient_mismatch"
    assert "MRN-9" in refused["reason"] and "MRN-1" not in refused["reason"]
    assert sorted(Cell.objects.values_list("source_name", flat=True)) == ["a.jpg", "mine.dcm"]
    assert SmearUpload.objects.get().rejected == [refused]
    # Only the two imported images are on disk: nothing of the refused file.
    assert len(_stored_files(settings)) == 2


def test_a_file_naming_this_specimen_and_its_patient_is_imported(client, technician, specimen):
    client.force_login(technician)
    response = client.post(
        f"/specimens/{specimen.accession}/smear/",
        {"files": [_dicom("slide.dcm", PatientID="MRN-1", AccessionNumber="S-0001")]},
        follow=True)
    assert "Images imported: 1;" in response.content.decode()
    cell = Cell.objects.get(specimen=specimen)
    assert (cell.metadata["PatientID"], cell.metadata["AccessionNumber"]) == ("MRN-1", "S-0001")


def test_a_file_for_a_specimen_without_a_patient_must_name_a_registered_one(
        client, technician, settings):
    bare = specimen_create(actor=technician, accession="S-0003")
    client.force_login(technician)
    response = client.post(f"/api/specimens/{bare.accession}/uploads/",
                           {"files": [_dicom("x.dcm", PatientID="MRN-404")]})
    assert response.status_code == 422, response.content
    assert "x.dcm" in response.content.decode()
    _assert_nothing_written(settings)
