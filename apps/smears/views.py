from __future__ import annotations

from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from apps.core import roles
from apps.core.permissions import role_required

from .models import Cell


def _cell_file(request: HttpRequest, cell_id: int, which: str) -> FileResponse:
    cell = get_object_or_404(Cell, pk=cell_id)
    if which == "image":
        field = cell.image
    else:
        prediction = cell.latest_prediction()
        if prediction is None or not prediction.cam:
            return HttpResponse(status=404)
        field = prediction.cam
    response = FileResponse(field.open("rb"))
    response["Cache-Control"] = "private, no-store"
    return response


@role_required(roles.CAN_VIEW)
@require_GET
def cell_image(request: HttpRequest, cell_id: int) -> HttpResponse:
    return _cell_file(request, cell_id, "image")


@role_required(roles.CAN_VIEW)
@require_GET
def cell_cam(request: HttpRequest, cell_id: int) -> HttpResponse:
    return _cell_file(request, cell_id, "cam")
