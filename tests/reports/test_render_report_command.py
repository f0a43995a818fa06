"""manage.py render_report: renders through the same service and writes the stored bytes."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from apps.reports.models import Report, ReportStatus


def test_writes_the_same_bytes_as_the_download(client, technician, make_specimen, sign, tmp_path):
    specimen = make_specimen()
    sign(specimen)
    sign(specimen, version=2, amendment_reason="Comment completed.")
    out = tmp_path / "out.pdf"
    call_command("render_report", "H25-0001", "--lang", "en", "--out", str(out))
    report = Report.objects.get(signature__version=2, language="en")   # the latest signature
    assert report.status == ReportStatus.READY
    client.force_login(technician)
    download = client.get(reverse("report_download", kwargs={
        "accession": "H25-0001", "version": 2, "language": "en"}))
    assert out.read_bytes() == download.content

    # Again, and for an older version: the ready report is not rendered again.
    call_command("render_report", "H25-0001", "--lang", "en", "--out", str(out))
    assert out.read_bytes() == download.content
    call_command("render_report", "H25-0001", "--lang", "fr", "--version", "1",
                 "--out", str(tmp_path / "v1.pdf"))
    assert Report.objects.get(signature__version=1, language="fr").status == ReportStatus.READY


def test_clear_errors_without_a_signature(make_specimen, tmp_path):
    make_specimen()
    out = tmp_path / "out.pdf"
    with pytest.raises(CommandError, match="has no signature"):
        call_command("render_report", "H25-0001", "--lang", "fr", "--out", str(out))
    with pytest.raises(CommandError, match="No specimen"):
        call_command("render_report", "NOPE-1", "--lang", "fr", "--out", str(out))
    assert not out.exists()


def test_unknown_version_is_an_error(signed, tmp_path):
    with pytest.raises(CommandError, match="no signature version 7"):
        call_command("render_report", "H25-0001", "--lang", "fr", "--version", "7",
                     "--out", str(tmp_path / "x.pdf"))
