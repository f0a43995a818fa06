from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from apps.core import roles
from apps.core.errors import ImportRefusedError
from apps.core.permissions import role_required
from apps.patients.models import Specimen

from . import services
from .forms import CBCUploadForm
from .parsers import MAX_CBC_BYTES


def _run_import(request: HttpRequest, form: CBCUploadForm, specimen: Specimen | None):
    upload = form.cleaned_data["file"]
    if upload.size > MAX_CBC_BYTES:
        raise ImportRefusedError(_("The CBC file is too large (limit %(mb)d MB).")
                                 % {"mb": MAX_CBC_BYTES // 10**6})
    return services.cbc_import(actor=request.user, data=upload.read(), file_name=upload.name,
                               format=form.cleaned_data["format"] or None, specimen=specimen)


def _report(request: HttpRequest, outcome) -> None:  # type: ignore[no-untyped-def]
    messages.success(request, _(
        "%(n)d CBC result(s) imported, %(d)d already present, %(e)d row(s) with errors.")
        % {"n": outcome.results_created, "d": outcome.duplicates, "e": len(outcome.errors)})
    for error in outcome.errors[:20]:
        messages.warning(request, _("Line %(line)s: %(reason)s") % error)


@role_required(roles.CAN_IMPORT)
@require_POST
def cbc_upload(request: HttpRequest, accession: str) -> HttpResponse:
    specimen = get_object_or_404(Specimen, accession=accession)
    form = CBCUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a CBC file."))
        return redirect("specimen_detail", accession=accession)
    try:
        _report(request, _run_import(request, form, specimen))
    except ImportRefusedError as exc:
        messages.error(request, _("CBC file refused, nothing was imported: %(reason)s")
                       % {"reason": exc})
    return redirect("specimen_detail", accession=accession)


@role_required(roles.CAN_IMPORT)
@require_http_methods(["GET", "POST"])
def cbc_batch_import(request: HttpRequest) -> HttpResponse:
    form = CBCUploadForm(request.POST or None, request.FILES or None)
    outcome = None
    if request.method == "POST" and form.is_valid():
        try:
            outcome = _run_import(request, form, None)
            _report(request, outcome)
        except ImportRefusedError as exc:
            messages.error(request, _("CBC file refused, nothing was imported: %(reason)s")
                           % {"reason": exc})
    return render(request, "hemograms/cbc_import.html", {"form": form, "outcome": outcome})
