"""Report reads: find a report, its stored bytes (checked against the stored sha256)."""

from __future__ import annotations

import hashlib
import re

from .models import Report, ReportStatus


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
