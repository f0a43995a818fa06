"""The specimen page, the API and import_cellavision read an upload the same way: the kind
recorded (archive, folder, images) comes from the files' content, never from their number or
names. A single JPEG sent to the API used to be recorded as an archive."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from apps.smears.models import SmearUpload, UploadKind
from tests.helpers import export_zip
from tests.smears.builders import dicom_native, pbc_bytes, pbc_pixels


@pytest.fixture(autouse=True)
def _no_queue(monkeypatch):
    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)


def _jpeg(name: str = "cell.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pbc_bytes("neutrophil", 0), "image/jpeg")


def _zip(name: str = "export.zip") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, export_zip({"neutrophil": 2}), "application/zip")


def _dicom(name: str = "slide.dcm") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, dicom_native(pbc_pixels("monocyte", 0)), "application/dicom")


def _send(client, via: str, accession: str, files: list) -> None:  # type: ignore[no-untyped-def]
    url = (f"/api/specimens/{accession}/uploads/" if via == "api"
           else f"/specimens/{accession}/smear/")
    response = client.post(url, {"files": files})
    assert response.status_code in (201, 302), response.content


CASES = {
    "one-jpeg": ([_jpeg], UploadKind.IMAGES, "cell.jpg"),
    "one-dicom": ([_dicom], UploadKind.IMAGES, "slide.dcm"),
    "one-zip": ([_zip], UploadKind.ARCHIVE, "export.zip"),
    "a-zip-not-named-zip": ([lambda: _zip("export.bin")], UploadKind.ARCHIVE, "export.bin"),
    "a-jpeg-named-zip": ([lambda: _jpeg("cells.zip")], UploadKind.IMAGES, "cells.zip"),
    "two-images": ([_jpeg, _dicom], UploadKind.IMAGES, "2 files"),
}


@pytest.mark.parametrize("via", ["api", "page"])
@pytest.mark.parametrize("case", list(CASES))
def test_the_kind_comes_from_the_content(client, technician, specimen, via, case):
    makers, kind, name = CASES[case]
    client.force_login(technician)
    _send(client, via, specimen.accession, [make() for make in makers])
    upload = SmearUpload.objects.get()
    assert (upload.kind, upload.original_name) == (kind, name)
    assert upload.images_imported >= 1


def test_a_folder_picked_in_the_page_is_a_folder_upload(client, technician, specimen):
    client.force_login(technician)
    files = [_jpeg("a.jpg"), _jpeg("b.jpg")]
    files[1] = SimpleUploadedFile("b.jpg", pbc_bytes("lymphocyte", 0), "image/jpeg")
    paths = ["export/neutrophil/a.jpg", "export/lymphocyte/b.jpg"]
    client.post(f"/specimens/{specimen.accession}/smear/",
                {"files": files, "paths": json.dumps(paths)})
    upload = SmearUpload.objects.get()
    assert (upload.kind, upload.original_name) == (UploadKind.FOLDER, "export")
    assert sorted(upload.cells.values_list("analyser_class", flat=True)) == [
        "lymphocyte", "neutrophil"]


@pytest.mark.parametrize(("file_name", "content", "kind"), [
    ("cell.jpg", lambda: pbc_bytes("neutrophil", 0), UploadKind.IMAGES),
    ("export.zip", lambda: export_zip({"neutrophil": 2}), UploadKind.ARCHIVE),
])
def test_the_command_reads_a_file_as_the_page_does(db, tmp_path, file_name, content, kind):
    path = tmp_path / file_name
    path.write_bytes(content())
    call_command("import_cellavision", str(path), "--specimen", "CV-9", "--json")
    upload = SmearUpload.objects.get()
    assert (upload.kind, upload.original_name) == (kind, file_name)


@pytest.mark.parametrize("via", ["api", "page"])
def test_an_oversize_upload_is_refused_the_same_way(client, technician, specimen, settings, via):
    settings.UPLOAD_MAX_BYTES = 1000
    client.force_login(technician)
    url = (f"/api/specimens/{specimen.accession}/uploads/" if via == "api"
           else f"/specimens/{specimen.accession}/smear/")
    response = client.post(url, {"files": [_jpeg()]}, follow=True)
    text = response.content.decode()
    assert "the limit is 0 MB" in text
    assert not SmearUpload.objects.exists()
