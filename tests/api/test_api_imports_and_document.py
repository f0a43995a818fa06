"""REST API: the same services as the pages, and the same document as export_specimen."""

from __future__ import annotations

import io
import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from tests.helpers import export_zip

CBC = (b"Sample No.,Date,Time,WBC(10^9/L),HGB(g/dL),MCV(fL),PLT(10^9/L)\r\n"
       b"API-1,2026/11/20,10:00:00,5.1,13.9,91.0,250\r\n")


def test_create_upload_and_read_back_the_document(client, technician, monkeypatch):
    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)
    client.force_login(technician)
    response = client.post("/api/patients/", {"external_id": "MRN-A", "sex": "M"},
                           content_type="application/json")
    assert response.status_code == 201
    pseudo = response.json()["pseudo_id"]
    response = client.post("/api/specimens/", {"accession": "API-1", "patient": pseudo},
                           content_type="application/json")
    assert response.status_code == 201, response.content

    upload = SimpleUploadedFile("export.zip", export_zip({"basophil": 2, "platelet": 1}))
    response = client.post("/api/specimens/API-1/uploads/", {"files": [upload]})
    assert response.status_code == 201, response.content
    assert response.json()["images_imported"] == 3

    response = client.post("/api/specimens/API-1/cbc/",
                           {"file": SimpleUploadedFile("xn.csv", CBC)})
    assert response.status_code == 201, response.content
    assert response.json()["results_created"] == 1

    document = client.get("/api/specimens/API-1/document/").json()
    out = io.StringIO()
    call_command("export_specimen", "API-1", stdout=out)
    assert json.loads(out.getvalue()) == document
    assert document["specimen"]["patient"] == pseudo
    assert len(document["cells"]) == 3
    assert {c["analyser_class"] for c in document["cells"]} == {"basophil", "platelet"}
    assert all(c["predicted_class"] is None for c in document["cells"])  # not analysed yet
    hgb = next(v for v in document["cbc"][0]["values"] if v["code"] == "HGB")
    assert hgb["value"] == 13.9 and hgb["flag"] == ""
    runs = client.get("/api/specimens/API-1/analysis/").json()
    assert runs[0]["status"] == "queued"


def test_refused_upload_is_a_422_with_the_reason(client, technician, specimen):
    client.force_login(technician)
    response = client.post("/api/specimens/S-0001/uploads/",
                           {"files": [SimpleUploadedFile("x.zip", b"PK\x03\x04garbage")]})
    assert response.status_code == 422
    assert "nothing was imported" in response.json()["detail"]
    # In the reader's language, the whole message.
    response = client.post("/api/specimens/S-0001/uploads/",
                           {"files": [SimpleUploadedFile("x.zip", b"PK\x03\x04garbage")]},
                           HTTP_ACCEPT_LANGUAGE="fr")
    assert response.json()["detail"].startswith("Refusé, rien n'a été importé\u00a0: ")


def test_a_cbc_file_none_of_whose_rows_was_attached_is_a_422(client, technician, specimen):
    """Every row for another sample: nothing attached, which a client reading the status alone
    must not take for an import; the outcome and each row's reason are in the answer."""
    client.force_login(technician)
    other = CBC.replace(b"API-1", b"S-9999")
    response = client.post("/api/specimens/S-0001/cbc/",
                           {"file": SimpleUploadedFile("xn.csv", other)})
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "nothing_imported" and body["results_created"] == 0
    assert body["errors"] and body["import_id"] is None
    assert "nothing was imported" in body["detail"]
    # The same row for this specimen is attached: 201.
    mine = CBC.replace(b"API-1", b"S-0001")
    response = client.post("/api/specimens/S-0001/cbc/",
                           {"file": SimpleUploadedFile("xn.csv", mine)})
    assert response.status_code == 201 and response.json()["results_created"] == 1
    # Sent again: already stored, not refused.
    response = client.post("/api/specimens/S-0001/cbc/",
                           {"file": SimpleUploadedFile("xn.csv", mine)})
    assert response.status_code == 201 and response.json()["duplicates"] == 1


def test_biologist_can_read_but_a_user_without_role_cannot_write(client, make_user, specimen):
    client.force_login(make_user("norole"))
    response = client.post("/api/specimens/", {"accession": "X-1"},
                           content_type="application/json")
    assert response.status_code == 403


def test_openapi_schema_and_docs_are_served(client, biologist):
    client.force_login(biologist)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/specimens/{accession}/uploads/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content.lower()
