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


def test_every_file_of_a_zip_is_accounted_for(client, technician, specimen, monkeypatch):
    """An export's image imported, a Word file refused as a document, a text file named as not
    read: no file of the upload goes unmentioned."""
    from tests.smears.builders import zip_bytes

    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)
    client.force_login(technician)
    data = zip_bytes({"export/neutrophil/a.jpg": pbc_bytes("neutrophil", 0),
                      "export/readme.txt": b"CellaVision export",
                      "export/notes.docx": zip_bytes({"word/document.xml": b"<w:document/>"})})
    response = client.post(f"/specimens/{specimen.accession}/smear/",
                           {"files": [SimpleUploadedFile("export.zip", data, "application/zip")]},
                           follow=True, HTTP_ACCEPT_LANGUAGE="en")
    page = " ".join(response.content.decode().split())
    assert "Images imported: 1; duplicates ignored: 0; files rejected: 1." in page
    assert "export/notes.docx: not an image: a document stored as a zip archive" in page
    assert "1 file not read, not an image: export/readme.txt." in page
