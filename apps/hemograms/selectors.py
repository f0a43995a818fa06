from __future__ import annotations

from apps.patients.models import Specimen

from .models import CBCResult


def cbc_latest(specimen: Specimen) -> CBCResult | None:
    return (CBCResult.objects.filter(specimen=specimen)
            .prefetch_related("values").order_by("-measured_at", "-created_at").first())
