"""A CBC file chosen but empty is refused in the importer's words ("the file is empty"), on the
specimen page and the batch import page, in the reader's language; nothing is written. With no
file chosen, the page asks for one."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.hemograms.models import CBCImport


@pytest.mark.parametrize(("language", "said"), [
    ("en", "CBC file refused, nothing was imported: the file is empty"),
    ("fr", "le fichier est vide"),
])
def test_an_empty_file_is_refused_as_empty(client, technician, specimen, language, said):
    client.force_login(technician)
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    response = client.post(f"/specimens/{specimen.accession}/cbc/",
                           {"file": SimpleUploadedFile("cbc.csv", b"")}, follow=True)
    page = response.content.decode()
    assert said in page
    assert "Choose a CBC file." not in page
    batch = client.post("/cbc/import/", {"file": SimpleUploadedFile("cbc.csv", b"")})
    assert said.split(": ")[-1] in batch.content.decode()
    assert not CBCImport.objects.exists()


def test_no_file_asks_for_one(client, technician, specimen):
    client.force_login(technician)
    response = client.post(f"/specimens/{specimen.accession}/cbc/", {}, follow=True)
    assert "Choose a CBC file." in response.content.decode()
