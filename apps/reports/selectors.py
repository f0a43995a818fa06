"""Report reads: find a report, its stored bytes (checked against the stored sha256); the
result messages of a specimen; the whole specimen document (export and API); the files signed
content names."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from apps.patients.models import Specimen
from apps.review.models import Signature
from apps.review.selectors import specimen_document as review_document

from .models import Report, ReportStatus, ResultMessage


class ReportIntegrityError(Exception):
    """The stored PDF no longer matches the sha256 recorded when it was rendered."""


def report_find(*, accession: str, version: int, language: str) -> Report | None:
    return (Report.objects.select_related("signature__specimen")
            .filter(signature__specimen__accession=accession, signature__version=version,
                    language=language)
            .first())


def report_pdf_bytes(report: Report) -> bytes:
    """The stored PDF of a ready report, exactly as rendered."""
    if report.status != ReportStatus.READY or not report.pdf:
        raise ValueError(f"Report {report.pk} is not ready.")
    with report.pdf.open("rb") as fh:
        data = fh.read()
    if hashlib.sha256(data).hexdigest() != report.sha256:
        raise ReportIntegrityError(
            f"The stored PDF of report {report.pk} does not match its sha256.")
    return data


def report_filename(report: Report) -> str:
    """A download name such as H25-0001_v2_fr.pdf, limited to safe characters."""
    signature = report.signature
    accession = re.sub(r"[^A-Za-z0-9._-]", "_", signature.specimen.accession).strip(".") or "report"
    language = re.sub(r"[^a-z-]", "_", report.language.lower())
    return f"{accession[:64]}_v{signature.version}_{language}.pdf"


def report_status(report: Report | None) -> dict[str, object]:
    if report is None:
        return {"status": "missing"}
    out: dict[str, object] = {"status": report.status, "language": report.language,
                              "version": report.signature.version}
    if report.status == ReportStatus.READY:
        out["sha256"] = report.sha256
    if report.status == ReportStatus.FAILED:
        out["error"] = report.error
    return out


def result_message_find(*, accession: str, version: int | None = None) -> ResultMessage | None:
    """The result message of a signature version, or of the latest signed version."""
    qs = (ResultMessage.objects.select_related("signature__specimen")
          .filter(signature__specimen__accession=accession,
                  format=ResultMessage.HL7_ORU_R01))
    if version is not None:
        qs = qs.filter(signature__version=version)
    return qs.order_by("-signature__version").first()


def result_message_bytes(message: ResultMessage) -> bytes:
    """The stored message as sent (UTF-8), checked against its sha256."""
    data = message.message.encode("utf-8")
    if hashlib.sha256(data).hexdigest() != message.sha256:
        raise ReportIntegrityError(
            f"The stored result message {message.pk} does not match its sha256.")
    return data


def result_message_filename(message: ResultMessage) -> str:
    accession = re.sub(r"[^A-Za-z0-9._-]", "_",
                       message.signature.specimen.accession).strip(".") or "result"
    return f"{accession[:64]}_v{message.signature.version}.hl7"


def specimen_document(specimen: Specimen) -> dict[str, Any]:
    """The whole specimen as one JSON document (export_specimen and the REST API): the review
    document (cells with their final class and reviewer, differential, conclusion, signature)
    and the result messages sent to the laboratory system."""
    document = review_document(specimen)
    document["result_messages"] = [{
        "version": m.signature.version, "format": m.format, "control_id": m.control_id,
        "sha256": m.sha256, "created_at": m.created_at.isoformat(),
    } for m in (ResultMessage.objects.filter(signature__specimen=specimen)
                .select_related("signature").order_by("signature__version"))]
    return document


def signed_key_cell_files() -> set[str]:
    """Every media name the key cells of signed report content hold (cell images and their
    overlays): a report printed again, in another language or after a failure, needs them.
    Every string of a key cell is taken, not only "image" and "cam", so a file named under a key
    added later is kept too; a string that is not a file name matches no file."""
    names: set[str] = set()
    for key_cells in (Signature.objects.order_by().values_list("content__key_cells", flat=True)
                      .iterator(chunk_size=500)):
        for cell in key_cells if isinstance(key_cells, list) else []:
            if isinstance(cell, dict):
                names.update(value for value in cell.values() if isinstance(value, str))
    return names
