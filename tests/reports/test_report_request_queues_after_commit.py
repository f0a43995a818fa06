"""report_request creates the row and audits it; the render task starts only after commit."""

from __future__ import annotations

from apps.core.models import AuditEvent
from apps.reports.models import Report, ReportStatus
from apps.reports.services import report_request


def test_the_task_runs_after_commit_and_the_report_is_ready(
        signed, signer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        report = report_request(signature=signed, language="fr", actor=signer)
    assert report.status == ReportStatus.PENDING and len(callbacks) == 1
    event = AuditEvent.objects.get(action="report.request", object_id=str(report.pk))
    assert event.actor == signer
    assert event.after == {"specimen": "H25-0001", "version": 1, "language": "fr",
                           "content_sha256": signed.content_sha256}

    callbacks[0]()     # the eager Celery task, as a worker would run it
    report.refresh_from_db()
    assert report.status == ReportStatus.READY and report.rendered_at is not None
    assert AuditEvent.objects.filter(action="report.render", object_id=str(report.pk)).exists()

    # Asking again returns the same row; one report per signature and language.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert report_request(signature=signed, language="fr", actor=signer).pk == report.pk
    assert callbacks == []
    assert Report.objects.filter(signature=signed).count() == 1
