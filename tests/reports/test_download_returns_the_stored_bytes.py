"""The download is the stored PDF, byte for byte, with safe headers; 404 until it is ready."""

from __future__ import annotations

import hashlib

from django.urls import reverse

from apps.reports.models import Report, ReportStatus


def _url(version=1, language="fr"):  # type: ignore[no-untyped-def]
    return reverse("report_download", kwargs={"accession": "H25-0001", "version": version,
                                              "language": language})


def test_downloading_twice_returns_the_same_stored_bytes(client, technician, signed, rendered):
    report = rendered(signed, "fr")
    client.force_login(technician)
    first, second = client.get(_url()), client.get(_url())
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert hashlib.sha256(first.content).hexdigest() == report.sha256
    assert first.content.startswith(b"%PDF-")
    assert first["Content-Type"] == "application/pdf"
    assert first["Content-Disposition"] == 'attachment; filename="H25-0001_v1_fr.pdf"'
    assert first["X-Content-Type-Options"] == "nosniff"
    # The stored file's name is generated, never the accession.
    assert "H25" not in report.pdf.name and report.pdf.name.startswith("reports/")


def test_not_found_until_ready_and_for_unknown_versions_or_languages(client, technician, signed):
    client.force_login(technician)
    assert client.get(_url()).status_code == 404                       # no report yet
    Report.objects.create(signature=signed, language="fr")              # pending
    assert client.get(_url()).status_code == 404
    Report.objects.filter(signature=signed).update(status=ReportStatus.FAILED, error="boom")
    assert client.get(_url()).status_code == 404
    assert client.get(_url(version=2)).status_code == 404
    assert client.get("/specimens/H25-0001/reports/1/de.pdf").status_code == 404


def test_status_endpoint_for_polling(client, technician, signed, rendered):
    client.force_login(technician)
    url = reverse("report_status", kwargs={"accession": "H25-0001", "version": 1,
                                           "language": "en"})
    assert client.get(url).json() == {"status": "missing"}
    report = rendered(signed, "en")
    data = client.get(url).json()
    assert data["status"] == "ready" and data["sha256"] == report.sha256
    assert data["url"] == _url(language="en")
