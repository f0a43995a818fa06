"""Single images and DICOM files uploaded through the specimen page; bad files reported."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from apps.core.models import AuditEvent
from apps.smears.models import Cell
from tests.smears.builders import dicom_native, pbc_bytes, pbc_pixels


def test_images_and_a_dicom_file_become_cells(client, technician, specimen, monkeypatch):
    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)
    client.force_login(technician)
    files = [
        SimpleUploadedFile("a.jpg", pbc_bytes("neutrophil", 0), "image/jpeg"),
        SimpleUploadedFile("b.jpg", pbc_bytes("lymphocyte", 0), "image/jpeg"),
        SimpleUploadedFile("slide.dcm", dicom_native(pbc_pixels("monocyte", 0)),
                           "application/dicom"),
        SimpleUploadedFile("notes.jpg", b"this is not an image", "image/jpeg"),
    ]
    response = client.post(f"/specimens/{specimen.accession}/smear/", {"files": files},
                           follow=True)
    page = response.content.decode()
    assert "Images imported: 3;" in page
    assert "notes.jpg" in page                      # the rejected file is named with its reason
    cells = {c.source_name: c for c in Cell.objects.filter(specimen=specimen)}
    assert set(cells) == {"a.jpg", "b.jpg", "slide.dcm"}
    dicom = cells["slide.dcm"]
    assert dicom.source_format == "DICOM"
    assert dicom.metadata["Manufacturer"] == "CellaVision"
    assert "PatientName" not in dicom.metadata
    assert dicom.image.name.endswith(".png")
    assert AuditEvent.objects.filter(action="smear.import").count() == 1


def test_oversize_upload_is_refused_before_reading(client, technician, specimen, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    client.force_login(technician)
    response = client.post(f"/specimens/{specimen.accession}/smear/",
                           {"files": [SimpleUploadedFile("a.jpg", pbc_bytes("neutrophil", 0))]},
                           follow=True)
    assert "nothing was imported" in response.content.decode()
    assert not Cell.objects.exists()
