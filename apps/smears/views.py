from __future__ import annotations

import io
import json
import zipfile

from django.conf import settings
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
from .models import Cell, UploadKind


def _folder_as_zip(files: list, paths: list[str]) -> io.BytesIO:
    # A folder picked in the browser arrives as files plus their relative paths; packing them as
    # a zip in memory sends them through exactly the same checks as an exported archive.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for upload, path in zip(files, paths, strict=True):
            archive.writestr(path, upload.read())
    buffer.seek(0)
    return buffer


@role_required(roles.CAN_IMPORT)
@require_POST
def smear_upload(request: HttpRequest, accession: str) -> HttpResponse:
    specimen = get_object_or_404(Specimen, accession=accession)
    files = request.FILES.getlist("files")
    if not files:
        messages.error(request, _("Choose a CellaVision export (zip or folder) or images."))
        return redirect("specimen_detail", accession=accession)
    total = sum(f.size for f in files)
    try:
        if total > settings.UPLOAD_MAX_BYTES:
            raise ImportRefusedError(
                _("The upload is %(size).0f MB; the limit is %(limit).0f MB.")
                % {"size": total / 1e6, "limit": settings.UPLOAD_MAX_BYTES / 1e6})
        paths = json.loads(request.POST.get("paths") or "[]")
        if paths and len(paths) == len(files) and all(isinstance(p, str) for p in paths):
            kind, name = UploadKind.FOLDER, paths[0].split("/")[0]
            batch = services.smear_read_upload(name=f"{name}.zip",
                                               fileobj=_folder_as_zip(files, paths))
        else:
            single_zip = len(files) == 1 and files[0].name.lower().endswith(".zip")
            kind = UploadKind.ARCHIVE if single_zip else UploadKind.IMAGES
            name = files[0].name if len(files) == 1 else f"{len(files)} files"
            batch = services.batches_merge(
                [services.smear_read_upload(name=f.name, fileobj=f) for f in files])
        outcome = services.smear_import(actor=request.user, specimen=specimen, batch=batch,
                                        kind=kind, original_name=name)
    except ImportRefusedError as exc:
        messages.error(request, _("Upload refused, nothing was imported: %(reason)s")
                       % {"reason": exc})
        return redirect("specimen_detail", accession=accession)
    messages.success(request, _(
        "%(n)d image(s) imported, %(d)d duplicate(s) ignored, %(r)d file(s) rejected.")
        % {"n": outcome.images_imported, "d": len(outcome.duplicates), "r": len(outcome.rejected)})
    for item in outcome.rejected[:20]:
        messages.warning(request, f"{item['file']}: {item['reason']}")
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
    response["Cache-Control"] = "private, max-age=3600"
    return response


@role_required(roles.CAN_VIEW)
@require_GET
def cell_image(request: HttpRequest, cell_id: int) -> HttpResponse:
    return _cell_file(request, cell_id, "image")


@role_required(roles.CAN_VIEW)
@require_GET
def cell_cam(request: HttpRequest, cell_id: int) -> HttpResponse:
    return _cell_file(request, cell_id, "cam")
