from __future__ import annotations

import json

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from apps.core import roles
from apps.core.errors import ImportRefusedError
from apps.core.permissions import role_required
from apps.patients.models import Specimen

from . import services
from .models import Cell


@role_required(roles.CAN_IMPORT)
@require_POST
def smear_upload(request: HttpRequest, accession: str) -> HttpResponse:
    specimen = get_object_or_404(Specimen, accession=accession)
    files = request.FILES.getlist("files")
    if not files:
        messages.error(request, _("Choose a CellaVision export (zip or folder) or images."))
        return redirect("specimen_detail", accession=accession)
    # A folder picked in the browser sends each file's relative path; anything else is ignored.
    paths = json.loads(request.POST.get("paths") or "[]")
    folder = (paths if paths and len(paths) == len(files)
              and all(isinstance(p, str) for p in paths) else None)
    try:
        outcome = services.smear_upload(actor=request.user, specimen=specimen, files=files,
                                        folder_paths=folder)
    except ImportRefusedError as exc:
        messages.error(request, _("Upload refused, nothing was imported: %(reason)s")
                       % {"reason": exc})
        return redirect("specimen_detail", accession=accession)
    messages.success(request, _(
        "%(n)d image(s) imported, %(d)d duplicate(s) ignored, %(r)d file(s) rejected.")
        % {"n": outcome.images_imported, "d": len(outcome.duplicates), "r": len(outcome.rejected)})
    for item in outcome.rejected[:20]:
        messages.warning(request, f"{item['file']}: {item['reason']}")
    if outcome.cross_specimen_duplicates:
        others = sorted({d["specimen"] for d in outcome.cross_specimen_duplicates})
        messages.error(request, _(
            "Possible sample mix-up: %(n)d image(s) are identical to images of specimen(s) "
            "%(others)s. Both specimens are flagged; check their identity.")
            % {"n": len({d["file"] for d in outcome.cross_specimen_duplicates}),
               "others": ", ".join(others)})
    return redirect("specimen_detail", accession=accession)


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
