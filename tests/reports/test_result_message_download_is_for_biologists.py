"""The HL7 result message of a signature is downloadable from the case page by a biologist,
byte for byte as stored; a technician gets neither the link nor the file."""

from __future__ import annotations

import pytest

from apps.reports.models import ResultMessage
from apps.reports.services import result_message_create


@pytest.fixture
def message(signed):  # type: ignore[no-untyped-def]
    return result_message_create(signature=signed)


def test_biologist_downloads_the_stored_message(client, signer, message):
    client.force_login(signer)
    page = client.get("/review/H25-0001/").content.decode()
    assert 'href="/specimens/H25-0001/reports/1/result.hl7"' in page
    assert "HL7 result message" in page
    response = client.get("/specimens/H25-0001/reports/1/result.hl7")
    assert response.status_code == 200
    assert response.content == message.message.encode()
    assert response["X-Content-SHA256"] == message.sha256
    assert 'filename="H25-0001_v1.hl7"' in response["Content-Disposition"]
    assert client.get("/specimens/H25-0001/reports/2/result.hl7").status_code == 404


def test_technician_gets_neither_the_link_nor_the_file(client, technician, message):
    client.force_login(technician)
    page = client.get("/review/H25-0001/").content.decode()
    assert "result.hl7" not in page
    assert client.get("/specimens/H25-0001/reports/1/result.hl7").status_code == 403


def test_a_tampered_message_is_refused(client, signer, message):
    ResultMessage.objects.filter(pk=message.pk).update(message=message.message + "X")
    client.force_login(signer)
    with pytest.raises(Exception, match="does not match its sha256"):
        client.get("/specimens/H25-0001/reports/1/result.hl7")
