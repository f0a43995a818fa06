"""Report writes: request a report for a signature, render it (in a worker) once and store it;
produce the signature's result message for the laboratory system, store it and write it to the
outbox folder; prune the overlay files no report or page needs any more."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import uuid
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.staticfiles import finders
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone, translation

from apps.analysis.overlays import StoredFile
from apps.analysis.overlays import overlay_files_prune as analysis_overlay_files_prune
from apps.core.audit import audit_record
from apps.hemograms.wording import ip_message
from apps.review.models import Signature

from .document import replaced, report_html
from .hl7_result import Amended, Sent, SignatureFacts, oru_r01, sent_observations
from .models import Report, ReportStatus, ResultMessage
from .selectors import signed_key_cell_files

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


# Who the result message is addressed to: the lab's own information system.
RECEIVING_APPLICATION = "LIS"
OUTBOX_SUFFIX = ".hl7"


def result_message_request(*, signature: Signature) -> None:
    """Produce the result message of `signature` in a worker once the signature is committed."""
    from .tasks import result_message_task

    signature_id = signature.pk
    transaction.on_commit(lambda: result_message_task.delay(signature_id))


def result_message_produce(*, signature_id: int) -> ResultMessage | None:
    """Store the result message of a signature (once) and write it to the outbox folder."""
    signature = (Signature.objects.select_related("specimen", "signed_by")
                 .filter(pk=signature_id).first())
    if signature is None:
        logger.error("signature %s does not exist; result message dropped", signature_id)
        return None
    message = result_message_create(signature=signature)
    result_message_outbox_write(message=message)
    return message


def _signature_facts(signature: Signature) -> SignatureFacts:
    signed = signature.content.get("signature") or {}
    user = signature.signed_by
    signed_at = signed.get("signed_at")
    return SignatureFacts(
        version=signature.version, meaning=signature.meaning,
        signed_at=datetime.fromisoformat(signed_at) if signed_at else signature.signed_at,
        signer_id=user.get_username(), signer_family_name=user.last_name or user.get_username(),
        signer_given_name=user.first_name, comment=signature.comment,
        amendment_reason=signature.amendment_reason, content_sha256=signature.content_sha256)


def _replaced_observations(signature: Signature) -> list[Sent] | None:
    """What the result message of the version ``signature`` replaces sent (None for a first
    one, or when that message is not kept): the observations as they went out, under the
    codes they went out with."""
    earlier = Signature.objects.filter(specimen_id=signature.specimen_id,
                                       version__lt=signature.version).order_by("-version").first()
    if earlier is None:
        return None
    sent = ResultMessage.objects.filter(signature=earlier,
                                        format=ResultMessage.HL7_ORU_R01).first()
    # Every signature gets its message when it is signed; without it (a version signed before
    # result messages were kept), what was sent is not known: None.
    return None if sent is None else sent_observations(sent.message)


def _amended(signature: Signature) -> Amended | None:
    """What an amendment changes of the version it replaces, as its report prints it (labels
    in the active language); None for a first version."""
    earlier = replaced(signature) if signature.version > 1 else None
    if earlier is None:
        return None
    return Amended(version=int(earlier["version"]),
                   changes=tuple((c["label"], c["before"], c["after"])
                                 for c in earlier["changes"]),
                   comment_changed=bool(earlier["comment_changed"]),
                   collected_changed=earlier["collected_changed"],
                   cbc_changed=earlier["cbc_changed"],
                   patient_changed=tuple(earlier["patient_changed"]),
                   separator=translation.pgettext("between the items of a list", "; "),
                   changed_keys=frozenset(c["key"] for c in earlier["changes"]))


def control_id_of(message: str) -> str:
    """MSH-10 of an ER7 message (its message control id)."""
    msh = message.split("\r", 1)[0]
    fields = msh.split(msh[3]) if msh.startswith("MSH") and len(msh) > 3 else []
    if len(fields) < 10 or not fields[9]:
        raise ReportError("The result message has no control id (MSH-10).")
    return fields[9]


@transaction.atomic
def result_message_create(*, signature: Signature) -> ResultMessage:
    """The HL7 v2.5 ORU^R01 of `signature`, built from the signed content and stored with its
    sha256; the stored one when it exists (a message is never built twice)."""
    Signature.objects.select_for_update().filter(pk=signature.pk).first()
    existing = ResultMessage.objects.filter(signature=signature,
                                            format=ResultMessage.HL7_ORU_R01).first()
    if existing is not None:
        return existing
    lab = (signature.content.get("lab") or {}).get("name") or settings.LAB_NAME
    # The notes in the laboratory's language, whoever's request or worker builds the message.
    with translation.override(settings.HL7_NOTES_LANGUAGE):
        text = oru_r01(content=signature.content, signature=_signature_facts(signature),
                       sending_facility=lab, receiving_application=RECEIVING_APPLICATION,
                       receiving_facility=lab, gettext=translation.gettext,
                       ip_text=ip_message,
                       previous=_replaced_observations(signature),
                       amended=_amended(signature))
    message = ResultMessage.objects.create(
        signature=signature, format=ResultMessage.HL7_ORU_R01, control_id=control_id_of(text),
        message=text, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest())
    audit_record(actor=None, action="result_message.create", obj=message, after={
        "specimen": signature.specimen.accession, "version": signature.version,
        "control_id": message.control_id, "sha256": message.sha256,
        "content_sha256": signature.content_sha256})
    return message


def outbox_file_name(message: ResultMessage) -> str:
    """The outbox file name: the control id (already restricted to safe characters by the
    accession rule, restricted again here) and the .hl7 suffix the interface engine picks up."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", message.control_id).lstrip(".")[:100]
    return f"{safe or 'result'}{OUTBOX_SUFFIX}"


def result_message_outbox_write(*, message: ResultMessage) -> Path | None:
    """Write the message to settings.LIS_OUTBOX_DIR (none when empty) as one file, atomically:
    written and synced under a hidden temporary name (mode 0600), then linked to its final
    name, which an interface engine never sees half-written. An existing file is never
    overwritten: the same bytes are already delivered, other bytes are an error."""
    if not settings.LIS_OUTBOX_DIR:
        return None
    folder = Path(settings.LIS_OUTBOX_DIR)
    path = folder / outbox_file_name(message)
    data = message.message.encode("utf-8")
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if path.exists():
            if path.read_bytes() == data:
                return path
            raise ReportError(f"{path.name} exists in the outbox with other content.")
        fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=folder)  # mode 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.link(tmp, path)  # fails if the name exists: never overwrites
        finally:
            os.unlink(tmp)
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except (OSError, ReportError) as exc:
        logger.exception("result message %s could not be written to the outbox", message.pk)
        audit_record(actor=None, action="result_message.outbox_fail", obj=message,
                     detail={"error": f"{type(exc).__name__}: {exc}"[:2000]})
        raise
    audit_record(actor=None, action="result_message.outbox", obj=message,
                 after={"file": path.name, "sha256": message.sha256})
    return path


def overlay_files_prune(*, dry_run: bool = False) -> list[StoredFile]:
    """Delete the overlay files (and bounded copies of large key cells) that no cell's newest
    prediction draws and no signed report names (apps.analysis.overlays decides, given what
    signed content names); with ``dry_run`` only list them. Returns them with their sizes."""
    removed = analysis_overlay_files_prune(keep=signed_key_cell_files(), dry_run=dry_run)
    if removed and not dry_run:
        logger.info("overlay files pruned: %d files, %d bytes", len(removed),
                    sum(f.size for f in removed))
    return removed


def copy_taken_record(*, actor: AbstractBaseUser | AnonymousUser, obj: Report | ResultMessage,
                      via: str) -> None:
    """Who took a copy of a signed result out of the application (its PDF, its HL7 message),
    and from where ("page" or "api"): an access trail for a patient's result, in the
    append-only audit trail."""
    signature = obj.signature
    action = "report.download" if isinstance(obj, Report) else "result_message.download"
    audit_record(actor=actor, action=action, obj=obj, detail={
        "specimen": signature.specimen.accession, "version": signature.version,
        "sha256": obj.sha256, "via": via,
        **({"language": obj.language} if isinstance(obj, Report) else {})})
