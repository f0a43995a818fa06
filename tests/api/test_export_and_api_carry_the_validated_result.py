"""export_specimen and GET /api/specimens/{acc}/document/ carry the validated result: per cell the
final class and who reviewed it (anomaly outputs on neutrophils only), the differential per 100
WBC as signed, the conclusion and the signature; GET /api/specimens/{acc}/hl7/ returns the
stored HL7 result message."""

from __future__ import annotations

import io
import json

import hl7
import pytest
from django.core.management import call_command

from apps.reports.models import ResultMessage
from apps.smears.models import Cell
from apps.workflow.services import case_sign, cells_reclassify
from tests.review.cbc import cbc_with_differential
from tests.review.conftest import analysed  # noqa: F401  (the review tests' analysed specimen)

PASSWORD = "correct-horse-battery"


@pytest.fixture
def signed(analysed, technician, biologist, settings, tmp_path,  # noqa: F811
           django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    settings.LIS_OUTBOX_DIR = str(tmp_path / "outbox")
    cbc_with_differential(actor=technician, specimen=analysed)
    neutrophil = Cell.objects.filter(specimen=analysed, analyser_class="neutrophil").first()
    cells_reclassify(actor=biologist, specimen=analysed, cell_ids=[neutrophil.pk],
                     new_class="ig")
    with django_capture_on_commit_callbacks(execute=True):
        signature = case_sign(actor=biologist, specimen=analysed, password=PASSWORD,
                              meaning="validated",
                              count_acknowledged=True, comment="Aspect réactionnel.")
    return signature, neutrophil


def _document(client, user, accession):  # type: ignore[no-untyped-def]
    client.force_login(user)
    document = client.get(f"/api/specimens/{accession}/document/").json()
    out = io.StringIO()
    call_command("export_specimen", accession, stdout=out)
    assert json.loads(out.getvalue()) == document
    return document


def test_cells_carry_their_final_class_and_reviewer(client, technician, signed):
    signature, reclassified = signed
    document = _document(client, technician, signature.specimen.accession)
    cells = {c["id"]: c for c in document["cells"]}
    cell = cells[reclassified.pk]
    assert (cell["analyser_class"], cell["predicted_class"]) == ("neutrophil", "neutrophil")
    assert (cell["final_class"], cell["reviewed_by"]) == ("ig", "bio")
    assert cell["reviewed_at"] is not None
    for c in cells.values():
        if c["id"] != reclassified.pk:
            assert c["reviewed_by"] is None and c["final_class"] == c["analyser_class"]
        # Anomaly outputs exist for neutrophils only (after review), unavailable ones in words.
        expected = ({"vacuole": 0.1, "barr_body": "not available in this model"}
                    if c["final_class"] == "neutrophil" else {})
        assert c["anomalies"] == expected, c


def test_the_validated_differential_conclusion_and_signature(client, technician, signed):
    signature, _cell = signed
    document = _document(client, technician, signature.specimen.accession)
    diff = document["differential"]
    assert (diff["signed"], diff["validated"], diff["signature_version"]) == (True, True, 1)
    assert diff["per_100_wbc"] == {"neutrophil": 33.3, "lymphocyte": 33.3, "monocyte": 16.7,
                                   "eosinophil": 0.0, "basophil": 0.0, "ig": 16.7}
    assert (diff["nrbc_per_100_wbc"], diff["wbc_counted"], diff["target"]) == (0.0, 6, 100)
    assert diff["analyser"]["per_100_wbc"]["neutrophil"] == 60.0
    assert diff["scanner"]["per_100_wbc"]["neutrophil"] == 50.0
    assert diff == {**signature.content["differential"], "signed": True, "validated": True,
                    "signature_version": 1}
    assert document["conclusion"] == "Aspect réactionnel."
    sign = document["signature"]
    assert (sign["username"], sign["meaning"], sign["version"]) == ("bio", "validated", 1)
    assert sign["signed_at"] == signature.content["signature"]["signed_at"]
    assert sign["content_sha256"] == signature.content_sha256
    message = ResultMessage.objects.get(signature=signature)
    assert document["result_messages"] == [{
        "version": 1, "format": "hl7v2.5-oru-r01", "control_id": "S-0001-v1",
        "sha256": message.sha256, "created_at": message.created_at.isoformat()}]


def test_before_signing_the_differential_is_current_and_not_validated(client, technician,
                                                                      biologist,
                                                                      analysed):  # noqa: F811
    document = _document(client, technician, analysed.accession)
    assert document["signature"] is None and document["conclusion"] is None
    assert document["differential"]["signed"] is False
    assert document["differential"]["per_100_wbc"]["neutrophil"] == 50.0
    assert document["result_messages"] == []
    client.force_login(biologist)
    assert client.get(f"/api/specimens/{analysed.accession}/hl7/").status_code == 404


def test_the_api_returns_the_stored_hl7_message(client, technician, biologist, make_user,
                                                signed):
    signature, _cell = signed
    message = ResultMessage.objects.get(signature=signature)
    # The result released to the laboratory system is a biologist's download, through the API
    # as from the case page; a technician reads the document, not the message.
    client.force_login(technician)
    assert client.get("/api/specimens/S-0001/hl7/").status_code == 403
    assert client.get("/api/specimens/S-0001/hl7/?version=1").status_code == 403
    client.force_login(biologist)
    response = client.get("/api/specimens/S-0001/hl7/")
    assert response.status_code == 200
    assert response.content == message.message.encode()
    assert response["X-Content-SHA256"] == message.sha256
    assert response["Content-Type"].startswith("x-application/hl7-v2+er7")
    msg = hl7.parse(response.content.decode())
    values = {str(o[3][0][0]): float(str(o[5])) for o in msg.segments("OBX")}
    assert values["38518-7"] == 16.7 and values["23761-0"] == 33.3
    assert client.get("/api/specimens/S-0001/hl7/?version=1").content == response.content
    assert client.get("/api/specimens/S-0001/hl7/?version=2").status_code == 404
    assert client.get("/api/specimens/S-0001/hl7/?version=x").status_code == 400
    client.force_login(make_user("norole"))
    assert client.get("/api/specimens/S-0001/hl7/").status_code == 403
