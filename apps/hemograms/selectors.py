from __future__ import annotations

from apps.patients.models import Specimen

from . import reference
from .models import CBCResult, ReferenceRangeSet


def cbc_latest(specimen: Specimen) -> CBCResult | None:
    return (CBCResult.objects.filter(specimen=specimen)
            .prefetch_related("values").order_by("-measured_at", "-created_at").first())


def reference_table_active() -> reference.RangeTable:
    """The admin's active set; the built-in adult table when none is active."""
    active = ReferenceRangeSet.objects.filter(is_active=True).prefetch_related("intervals").first()
    if active is None:
        return reference.default_table()
    return reference.RangeTable(active.version, tuple(
        reference.Rule(i.code, i.sex, i.age_min, i.age_max, i.low, i.high)
        for i in active.intervals.all()))
