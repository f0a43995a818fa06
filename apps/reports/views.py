from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from apps.core import roles
from apps.core.permissions import role_required
from apps.review.models import Signature

from . import selectors, services
from .models import ReportStatus
from .services import ReportError, report_request

HL7_CONTENT_TYPE = "x-application/hl7-v2+er7; charset=utf-8"


def _find(accession: str, version: int, language: str):  # type: ignore[no-untyped-def]
    if language not in {code for code, _name in settings.LANGUAGES}:
        raise Http404
    return selectors.report_find(accession=accession, version=version, language=language)


@role_required(roles.CAN_VIEW)
@require_GET
def report_download(request: HttpRequest, accession: str, version: int,
                    language: str) -> HttpResponse:
    """The stored PDF, byte for byte; 404 until it is rendered."""
    report = _find(accession, version, language)
    if report is None or report.status != ReportStatus.READY:
        raise Http404
    services.copy_taken_record(actor=request.user, obj=report, via="page")
    response = HttpResponse(selectors.report_pdf_bytes(report), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=selectors.report_filename(report))
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@role_required(roles.CAN_VIEW)
@require_GET
def report_status(request: HttpRequest, accession: str, version: int,
                  language: str) -> JsonResponse:
    """For polling: missing, pending, ready (with the download URL and sha256) or failed."""
    report = _find(accession, version, language)
    data = selectors.report_status(report)
    if report is not None and report.status == ReportStatus.READY:
        data["url"] = reverse("report_download", kwargs={
            "accession": accession, "version": version, "language": language})
    response = JsonResponse(data)
    response["Cache-Control"] = "private, no-store"
    return response


def result_message_response(message) -> HttpResponse:  # type: ignore[no-untyped-def]
    """The stored result message as an HL7 v2 (ER7) download, byte for byte."""
    response = HttpResponse(selectors.result_message_bytes(message),
                            content_type=HL7_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=selectors.result_message_filename(message))
    response["X-Content-SHA256"] = message.sha256
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@role_required(roles.CAN_REVIEW)
@require_GET
def result_message_download(request: HttpRequest, accession: str, version: int) -> HttpResponse:
    """The HL7 result message of a signature (biologists); 404 until it is produced."""
    message = selectors.result_message_find(accession=accession, version=version)
    if message is None:
        raise Http404
    services.copy_taken_record(actor=request.user, obj=message, via="page")
    return result_message_response(message)


@role_required(roles.CAN_REVIEW)
@require_POST
def report_language(request: HttpRequest, accession: str, version: int) -> HttpResponse:
    """Render a signed report in another language (same signed content, other words).

    Biologists only: rendering a signed report is part of releasing it."""
    signature = get_object_or_404(Signature, specimen__accession=accession, version=version)
    try:
        report_request(signature=signature, language=request.POST.get("language", ""),
                       actor=request.user)
    except ReportError as exc:
        messages.error(request, str(exc))
    return redirect("review_case", accession=accession)
