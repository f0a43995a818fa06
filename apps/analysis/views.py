from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from apps.core import roles
from apps.core.permissions import role_required
from apps.patients.models import Specimen

from . import selectors, services


@role_required(roles.CAN_VIEW)
@require_GET
def analysis_progress(request: HttpRequest, accession: str) -> JsonResponse:
    specimen = get_object_or_404(Specimen, accession=accession)
    return JsonResponse(selectors.run_progress(selectors.run_latest(specimen)))


@role_required(roles.CAN_IMPORT)
@require_POST
def analysis_rerun(request: HttpRequest, accession: str) -> HttpResponse:
    specimen = get_object_or_404(Specimen, accession=accession)
    services.analysis_request(actor=request.user, specimen=specimen)
    messages.success(request, _("The analysis was queued again."))
    return redirect("specimen_detail", accession=accession)
