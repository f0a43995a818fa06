from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
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
    specimens = list(selectors.patient_specimens(patient))
    # The latest specimen's patient context (its blood counts over time and the signed
    # conclusions before it), as its case page shows it.
    return render(request, "patients/patient_detail.html", {
        "patient": patient, "specimens": specimens,
        # Over time: with one specimen there is no time to show.
        "latest": specimens[0] if len(specimens) > 1 else None})


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
    return _specimen_form_post(
        request, accession, MixupClearForm(request.POST),
        lambda specimen, data: services.specimen_mixup_clear(
            actor=request.user, specimen=specimen, reason=data["reason"]),
        done=_("The possible mix-up flag was cleared; the reason is audited."),
        invalid=_("Say what was checked before clearing the flag."))


@role_required(roles.CAN_IMPORT)
@require_http_methods(["POST"])
def specimen_collection_time(request: HttpRequest, accession: str) -> HttpResponse:
    """Enter or correct the collection time (posted to the specimen page)."""
    return _specimen_form_post(
        request, accession, CollectionTimeForm(request.POST),
        lambda specimen, data: services.specimen_collection_time_set(
            actor=request.user, specimen=specimen, collected_at=data["collected_at"]),
        done=_("The collection time was saved; the change is audited."))


def _specimen_form_post(request: HttpRequest, accession: str, form: forms.Form,
                        act: Callable[[Specimen, dict[str, Any]], object], *, done: str,
                        invalid: str | None = None) -> HttpResponse:
    """A form posted to the specimen page: its errors (``invalid``, else the form's own), the
    service's refusal, or ``done``, said as a message; then back to the page."""
    specimen = get_object_or_404(Specimen, accession=accession)
    if not form.is_valid():
        messages.error(request, invalid or " ".join(
            m for errors in form.errors.values() for m in errors))
    else:
        try:
            act(specimen, form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
        else:
            messages.success(request, done)
    return redirect("specimen_detail", accession=accession)
