from __future__ import annotations

from typing import Any

from django.utils import timezone

from apps.patients.models import Specimen

from . import reference
from .models import CBCResult, HeldCBCRecord, ReferenceRangeSet


def cbc_latest(specimen: Specimen) -> CBCResult | None:
    return (CBCResult.objects.filter(specimen=specimen)
            .prefetch_related("values").order_by("-measured_at", "-created_at").first())


# The values that say most of a blood count, for a line about an earlier one.
KEY_CODES = ("WBC", "HGB", "MCV", "PLT", "NEUT#")


def cbc_earlier(specimen: Specimen, latest: CBCResult | None) -> list[dict[str, Any]]:
    """The specimen's other blood counts than ``latest`` (a rerun, a count attached after an
    amendment), newest first: when measured, by which analyser, and their key values (code,
    value, unit), so the count shown never hides the one it replaced."""
    if latest is None:
        return []
    others = (CBCResult.objects.filter(specimen=specimen).exclude(pk=latest.pk)
              .prefetch_related("values").order_by("-measured_at", "-created_at"))
    out = []
    for result in others:
        values = {v.code: v for v in result.values.all() if v.value is not None}
        out.append({"measured_at": result.measured_at, "analyser": result.analyser,
                    "values": [{"code": c, "value": values[c].value, "unit": values[c].unit}
                               for c in KEY_CODES if c in values],
                    # Its analyser alarms ("Blasts?"): the latest count may have none.
                    "ip_messages": result.ip_messages})
    return out


def cbc_results(specimen: Specimen) -> list[CBCResult]:
    """The specimen's counts, newest first."""
    return list(CBCResult.objects.filter(specimen=specimen)
                .order_by("-measured_at", "-created_at"))


def cbc_ip_messages(specimen: Specimen, results: list[CBCResult] | None = None) -> list[str]:
    """The analyser's IP messages of every count of the specimen (``results`` when the caller
    read them: cbc_results), each once, newest count first: a "Blasts?" on the first count
    stays a finding when a later count without it is attached. The worklist flags them; the
    CBC MDS model is not scored beside a blast one."""
    counts = cbc_results(specimen) if results is None else results
    return list(dict.fromkeys(text for r in counts for text in r.ip_messages))


def cbc_held(specimen: Specimen) -> list[HeldCBCRecord]:
    """The CBC rows received after the case was signed that wait for a biologist: neither attached
    nor left out (oldest first)."""
    return list(HeldCBCRecord.objects.filter(specimen=specimen, attached_result__isnull=True,
                                             left_out_reason="")
                .select_related("source", "source__imported_by"))


def cbc_subject(specimen: Specimen, cbc: CBCResult | None) -> reference.Subject:
    """Whom the specimen's blood count is read for (reference.subject_for), on the sample's
    day: the count's measurement, else the specimen's collection, else its registration."""
    patient = specimen.patient if specimen.patient_id else None
    when = (cbc.measured_at if cbc is not None and cbc.measured_at
            else specimen.collected_at or specimen.created_at)
    return reference.subject_for(
        patient_sex=patient.sex if patient else "",
        patient_birth_date=patient.birth_date if patient else None,
        record_sex=cbc.record_sex if cbc is not None else "",
        record_birth_date=cbc.record_birth_date if cbc is not None else None,
        day=timezone.localdate(when) if timezone.is_aware(when) else when.date())


def reference_table_active() -> reference.RangeTable:
    """The admin's active set; the built-in adult table when none is active."""
    active = ReferenceRangeSet.objects.filter(is_active=True).prefetch_related("intervals").first()
    if active is None:
        return reference.default_table()
    return reference.RangeTable(active.version, tuple(
        reference.Rule(i.code, i.sex, i.age_min, i.age_max, i.low, i.high)
        for i in active.intervals.all()))
