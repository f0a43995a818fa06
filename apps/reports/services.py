"""Report writes: request a report for a signature, render it (in a worker) once and store it."""

from __future__ import annotations

import hashlib
import logging
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.staticfiles import finders
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from apps.core.audit import audit_record
from apps.review.models import Signature

from .document import report_html
from .models import Report, ReportStatus

logger = logging.getLogger(__name__)
User = AbstractBaseUser | AnonymousUser | None

STYLESHEET = "reports/report.css"


class ReportError(Exception):
    """A report cannot be requested or produced; the message says why."""


def language_clean(language: str) -> str:
    codes = [code for code, _name in settings.LANGUAGES]
    if language not in codes:
        raise ReportError(f"Language {language!r}: use one of {', '.join(codes)}.")
    return language


def _static_dir() -> Path:
    found = finders.find(STYLESHEET)
    if not found:
        raise ReportError(f"The report stylesheet {STYLESHEET} is missing from the static files.")
    return Path(found if isinstance(found, str) else found[0]).resolve().parent


def _report_ensure(*, signature: Signature, language: str, actor: User) -> tuple[Report, bool]:
    """The Report row (locked), created or reset to pending when not ready. Call in a transaction.

    Returns (report, needs_render)."""
    report, created = Report.objects.select_for_update().get_or_create(
        signature=signature, language=language_clean(language))
    if report.status == ReportStatus.READY:
        return report, False
    if report.status == ReportStatus.FAILED:
        report.status, report.error = ReportStatus.PENDING, ""
        report.save(update_fields=["status", "error"])
    audit_record(actor=actor, action="report.request", obj=report, after={
        "specimen": signature.specimen.accession, "version": signature.version,
        "language": report.language, "content_sha256": signature.content_sha256},
        detail={"created": created})
    return report, True


@transaction.atomic
def report_request(*, signature: Signature, language: str, actor: User) -> Report:
    """Get or create the report of `signature` in `language`; queue its rendering (after commit)
    unless it is ready. Asking again for a failed report queues it again."""
    from .tasks import report_render_task

    report, needs_render = _report_ensure(signature=signature, language=language, actor=actor)
    if needs_render:
        report_id = report.pk
        transaction.on_commit(lambda: report_render_task.delay(report_id))
    return report


def report_render(*, report_id: int) -> Report | None:
    """Render the report from the signed content and store the PDF and its sha256.

    Idempotent: a ready report is returned as is, never rendered again (its bytes are the record).
    A rendering error is stored on the report (status failed), logged, and the report returned.
    """
    report = (Report.objects.select_related("signature__specimen", "signature__signed_by")
              .filter(pk=report_id).first())
    if report is None:
        logger.error("report %s does not exist; message dropped", report_id)
        return None
    if report.status == ReportStatus.READY:
        return report
    # Imported here: WeasyPrint is heavy and only workers (and the command) render.
    from .pdf import render_pdf

    try:
        static_dir = _static_dir()
        media_root = Path(settings.MEDIA_ROOT).resolve()
        html = report_html(signature=report.signature, language=report.language,
                           media_root=media_root)
        pdf = render_pdf(html, base_dir=static_dir, allowed_roots=[static_dir, media_root])
    except Exception as exc:  # any failure must reach the user as a failed report, not vanish
        logger.exception("report %s could not be rendered", report_id)
        return _report_fail(report_id=report_id, error=f"{type(exc).__name__}: {exc}")
    return _report_store(report_id=report_id, pdf=pdf)


@transaction.atomic
def _report_fail(*, report_id: int, error: str) -> Report:
    report = Report.objects.select_for_update().get(pk=report_id)
    if report.status != ReportStatus.READY:  # another worker may have succeeded meanwhile
        report.status, report.error = ReportStatus.FAILED, error[:2000]
        report.save(update_fields=["status", "error"])
        audit_record(actor=None, action="report.fail", obj=report, detail={"error": report.error})
    return report


def _report_store(*, report_id: int, pdf: bytes) -> Report:
    digest = hashlib.sha256(pdf).hexdigest()
    written = ""
    try:
        with transaction.atomic():
            report = Report.objects.select_for_update().get(pk=report_id)
            if report.status == ReportStatus.READY:  # a concurrent render won: keep its bytes
                return report
            # A generated name: never the accession or anything else a user typed.
            report.pdf.save(f"{uuid.uuid4().hex}.pdf", ContentFile(pdf), save=False)
            written = report.pdf.name
            report.sha256, report.status, report.error = digest, ReportStatus.READY, ""
            report.rendered_at = timezone.now()
            report.save(update_fields=["pdf", "sha256", "status", "error", "rendered_at"])
            audit_record(actor=None, action="report.render", obj=report, after={
                "sha256": digest, "bytes": len(pdf), "language": report.language,
                "content_sha256": report.signature.content_sha256})
    except BaseException:
        if written:
            report.pdf.storage.delete(written)
        raise
    return report


def report_generate(*, signature: Signature, language: str, actor: User) -> Report:
    """Get or create the report and render it now, in this process (command line, tests)."""
    with transaction.atomic():
        report, needs_render = _report_ensure(signature=signature, language=language,
                                              actor=actor)
    if not needs_render:
        return report
    rendered = report_render(report_id=report.pk)
    if rendered is None:
        raise ReportError(f"Report {report.pk} was deleted while it was being rendered.")
    return rendered
