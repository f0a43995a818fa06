from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from apps.core import roles
from apps.core.permissions import role_required

from . import selectors, services
from .forms import CollectionTimeForm, MixupClearForm, PatientForm, SpecimenForm
from .models import Patient, Specimen


@role_required(roles.CAN_VIEW)
def patient_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    page = Paginator(selectors.patient_search(query), 50).get_page(request.GET.get("page"))
    return render(request, "patients/patient_list.html", {"page": page, "q": query})


@role_required(roles.CAN_IMPORT)
@require_http_methods(["GET", "POST"])
def patient_create(request: HttpRequest) -> HttpResponse:
    form = PatientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        patient = services.patient_create(actor=request.user, **form.cleaned_data)
        return redirect("patient_detail", pseudo_id=patient.pseudo_id)
    return render(request, "patients/patient_form.html", {"form": form})


@role_required(roles.CAN_VIEW)
def patient_detail(request: HttpRequest, pseudo_id: str) -> HttpResponse:
    patient = get_object_or_404(Patient, pseudo_id=pseudo_id)
    return render(request, "patients/patient_detail.html", {
        "patient": patient, "specimens": patient.specimens.all()})


@role_required(roles.CAN_VIEW)
def specimen_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    page = Paginator(selectors.specimen_search(query), 50).get_page(request.GET.get("page"))
    return render(request, "patients/specimen_list.html", {"page": page, "q": query})


@role_required(roles.CAN_IMPORT)
@require_http_methods(["GET", "POST"])
def specimen_create(request: HttpRequest) -> HttpResponse:
    initial = {"patient": request.GET.get("patient", "")}
    form = SpecimenForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        specimen = services.specimen_create(actor=request.user, **form.cleaned_data)
        return redirect("specimen_detail", accession=specimen.accession)
    return render(request, "patients/specimen_form.html", {"form": form})


@role_required(roles.CAN_IMPORT)
@require_http_methods(["POST"])
def specimen_mixup_clear(request: HttpRequest, accession: str) -> HttpResponse:
    """Clear the possible mix-up flag after checking (posted to the specimen page)."""
    specimen = get_object_or_404(Specimen, accession=accession)
    form = MixupClearForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say what was checked before clearing the flag."))
        return redirect("specimen_detail", accession=accession)
    try:
        services.specimen_mixup_clear(actor=request.user, specimen=specimen,
                                      reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return redirect("specimen_detail", accession=accession)
    messages.success(request, _("The possible mix-up flag was cleared; the reason is audited."))
    return redirect("specimen_detail", accession=accession)


@role_required(roles.CAN_IMPORT)
@require_http_methods(["POST"])
def specimen_collection_time(request: HttpRequest, accession: str) -> HttpResponse:
    """Enter or correct the collection time (posted to the specimen page)."""
    specimen = get_object_or_404(Specimen, accession=accession)
    form = CollectionTimeForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(m for errors in form.errors.values() for m in errors))
        return redirect("specimen_detail", accession=accession)
    try:
        services.specimen_collection_time_set(actor=request.user, specimen=specimen,
                                              collected_at=form.cleaned_data["collected_at"])
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return redirect("specimen_detail", accession=accession)
    messages.success(request, _("The collection time was saved; the change is audited."))
    return redirect("specimen_detail", accession=accession)
