"""Who took a copy of a signed result out of the application (its PDF, its HL7 message, from the
page or the API) and a signature refused are in the append-only audit trail."""

from __future__ import annotations

import pytest

from apps.core.models import AuditEvent
from apps.reports.services import result_message_create
from apps.review.services import ReviewError


def test_the_hl7_download_is_recorded_from_the_page_and_the_api(client, make_specimen, sign,
                                                                 signer, settings):
    settings.LIS_OUTBOX_DIR = ""
    signature = sign(make_specimen())
    message = result_message_create(signature=signature)
    client.force_login(signer)
    page = client.get(f"/specimens/{signature.specimen.accession}/reports/1/result.hl7")
    api = client.get(f"/api/specimens/{signature.specimen.accession}/hl7/")
    assert page.status_code == api.status_code == 200
    events = AuditEvent.objects.filter(action="result_message.download").order_by("id")
    assert [(e.actor_username, e.detail["via"], e.detail["version"], e.detail["sha256"])
            for e in events] == [("cmartin", "page", 1, message.sha256),
                                 ("cmartin", "api", 1, message.sha256)]


def test_a_refused_signature_is_recorded(make_specimen, signer):
    from apps.analysis.models import AnalysisRun, RunStatus
    from apps.review.services import case_sign

    specimen = make_specimen()
    # Its analysis failed: a signature is refused.
    AnalysisRun.objects.filter(specimen=specimen).update(status=RunStatus.FAILED)
    signer.set_password("pw-1234567890")
    signer.save()
    with pytest.raises(ReviewError):
        case_sign(actor=signer, specimen=specimen, password="pw-1234567890",
                  meaning="validated")
    event = AuditEvent.objects.get(action="case.sign_refused")
    assert event.actor_username == "cmartin" and event.detail["meaning"] == "validated"
    assert "analysis of the cells failed" in event.detail["reason"]


def test_the_pdf_download_is_recorded(client, make_specimen, sign, rendered, technician):
    signature = sign(make_specimen())
    report = rendered(signature, "fr")
    client.force_login(technician)
    response = client.get(f"/specimens/{signature.specimen.accession}/reports/1/fr.pdf")
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="report.download")
    assert event.actor_username == technician.get_username()
    assert (event.detail["via"], event.detail["language"], event.detail["sha256"]) == (
        "page", "fr", report.sha256)
