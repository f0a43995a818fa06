"""A ready report is never rendered again; a failure is stored with its message and a new
request renders it again."""

from __future__ import annotations

import pytest

from apps.core.models import AuditEvent
from apps.reports import pdf
from apps.reports.models import ReportStatus
from apps.reports.services import ReportError, report_render, report_request


def test_a_ready_report_is_not_rendered_again(signed, rendered, monkeypatch):
    report = rendered(signed, "fr")
    before = (report.pdf.name, report.sha256, report.rendered_at)

    def must_not_render(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("rendered again")

    monkeypatch.setattr(pdf, "render_pdf", must_not_render)
    again = report_render(report_id=report.pk)
    assert (again.pdf.name, again.sha256, again.rendered_at) == before
    same = report_request(signature=signed, language="fr", actor=None)
    assert same.pk == report.pk and same.status == ReportStatus.READY


def test_a_failure_is_kept_then_a_new_request_renders(signed, technician, monkeypatch,
                                                       django_capture_on_commit_callbacks):
    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError("disk full")

    monkeypatch.setattr(pdf, "render_pdf", broken)
    with django_capture_on_commit_callbacks(execute=True):
        report = report_request(signature=signed, language="en", actor=technician)
    report.refresh_from_db()
    assert report.status == ReportStatus.FAILED
    assert report.error == "OSError: disk full" and not report.pdf
    assert AuditEvent.objects.filter(action="report.fail", object_id=str(report.pk)).exists()

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        again = report_request(signature=signed, language="en", actor=technician)
    again.refresh_from_db()
    assert again.pk == report.pk
    assert again.status == ReportStatus.READY and again.error == "" and again.sha256


def test_an_unknown_language_is_refused(signed):
    with pytest.raises(ReportError, match="Language 'de'"):
        report_request(signature=signed, language="de", actor=None)


def test_a_message_for_a_deleted_report_is_dropped(db):
    assert report_render(report_id=987654) is None
