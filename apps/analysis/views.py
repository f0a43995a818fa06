from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from apps.core import roles
from apps.core.permissions import role_required
from apps.patients.models import Specimen
from apps.smears.models import Cell

from . import overlays, selectors


@role_required(roles.CAN_VIEW)
@require_GET
def analysis_progress(request: HttpRequest, accession: str) -> JsonResponse:
    specimen = get_object_or_404(Specimen, accession=accession)
    # With whether the scores shown are the previous ones: the page reloads once they are not.
    return JsonResponse({**selectors.run_progress(selectors.run_latest(specimen)),
                         "scores_pending": selectors.scores_pending(specimen)})



@role_required(roles.CAN_VIEW)
@require_GET
def cell_cam(request: HttpRequest, cell_id: int) -> HttpResponse:
    """The Grad-CAM overlay of the cell's newest prediction (drawn on first request): of its
    class, or with ``?map=vacuole`` of the vacuole output (404 when it has none)."""
    which = request.GET.get("map", "cell_class")
    if which not in overlays.MAPS:
        return HttpResponse(status=404)
    name = overlays.cell_overlay(get_object_or_404(Cell, pk=cell_id), which)
    if name is None:
        return HttpResponse(status=404)
    response = FileResponse(default_storage.open(name, "rb"), content_type="image/png")
    # Patient images: no browser or proxy keeps a copy (the file on the server is the cache).
    response["Cache-Control"] = "private, no-store"
    return response
