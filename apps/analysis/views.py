from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from apps.core import roles
from apps.core.permissions import role_required
from apps.patients.models import Specimen

from . import selectors


@role_required(roles.CAN_VIEW)
@require_GET
def analysis_progress(request: HttpRequest, accession: str) -> JsonResponse:
    specimen = get_object_or_404(Specimen, accession=accession)
    return JsonResponse(selectors.run_progress(selectors.run_latest(specimen)))

