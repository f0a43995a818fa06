from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from .models import Patient, Specimen


def patient_search(query: str = "") -> QuerySet[Patient]:
    qs = Patient.objects.annotate(specimen_count=Count("specimens")).order_by("-created_at")
    query = query.strip()
    if query:
        qs = qs.filter(
            Q(pseudo_id__iexact=query) | Q(external_id__iexact=query)
            | Q(family_name__icontains=query) | Q(given_name__icontains=query)
        )
    return qs


def specimen_search(query: str = "") -> QuerySet[Specimen]:
    qs = Specimen.objects.select_related("patient")
    query = query.strip()
    if query:
        qs = qs.filter(Q(accession__icontains=query) | Q(patient__pseudo_id__iexact=query))
    return qs
