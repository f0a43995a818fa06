from __future__ import annotations

from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from apps.core import roles
from apps.core.permissions import role_required

from .models import Cell


@role_required(roles.CAN_VIEW)
@require_GET
def cell_image(request: HttpRequest, cell_id: int) -> HttpResponse:
    cell = get_object_or_404(Cell, pk=cell_id)
    response = FileResponse(cell.image.open("rb"))
    response["Cache-Control"] = "private, no-store"
    return response
