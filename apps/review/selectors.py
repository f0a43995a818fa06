"""Reads for the review: the differential from the cells, the content of a report."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.conf import settings

from apps.analysis.selectors import score_entry, scores_for_display, specimen_domain_latest
from apps.hemograms.selectors import cbc_latest
from apps.patients.models import Specimen
from apps.smears.models import Cell

REPORT_SCHEMA = "hemaclinic-report/1"
KEY_CELLS = 12


def cell_final_class(cell: Cell) -> str:
    """The biologist's class when reviewed, else the model's, else ''."""
    if cell.reviewed_class:
        return cell.reviewed_class
    prediction = cell.latest_prediction()
    return prediction.cell_class if prediction else ""


def differential(specimen: Specimen) -> dict[str, Any]:
    cells = list(Cell.objects.filter(specimen=specimen).prefetch_related("predictions"))
    final = Counter(cell_final_class(c) or "unclassified" for c in cells)
    analyser = Counter(c.analyser_class for c in cells if c.analyser_class)
    total = len(cells)
    names = sorted(set(final) | set(analyser), key=lambda name: (-final.get(name, 0), name))
    rows = [{"class": name, "count": final.get(name, 0),
             "percent": round(100 * final.get(name, 0) / total, 1) if total else 0.0,
             "analyser_count": analyser.get(name, 0)}
            for name in names]
    return {"total": total, "rows": rows,
            "reviewed": sum(1 for c in cells if c.reviewed_class),
            "unclassified": final.get("unclassified", 0)}


def report_content(specimen: Specimen, *, comment: str = "") -> dict[str, Any]:
    """Everything the printed report shows (schema hemaclinic-report/1), as plain JSON values.

    Signed as is (its sha256 over canonical JSON is the signature's content hash) and rendered to
    PDF from the stored copy, so the PDF shows exactly what was signed.
    """
    patient = specimen.patient
    cbc = cbc_latest(specimen)
    cells = list(Cell.objects.filter(specimen=specimen).prefetch_related("predictions"))
    models: dict[tuple[str, str], dict[str, str]] = {}
    key_cells = []
    for cell in cells:
        prediction = cell.latest_prediction()
        if prediction is None:
            continue
        models[(prediction.model_name, prediction.model_version)] = {
            "name": prediction.model_name, "version": prediction.model_version,
            "sha256": prediction.model_sha256}
        key_cells.append({
            "cell_id": cell.pk, "class": cell_final_class(cell),
            "predicted_class": prediction.cell_class,
            "probability": round(prediction.cell_class_prob, 4),
            "reviewed": bool(cell.reviewed_class),
            "image": cell.image.name, "cam": prediction.cam.name or None,
            "anomalies": prediction.anomalies,
            "domain_flag": prediction.domain_flag,
        })
    scores = scores_for_display(specimen)
    domain = specimen_domain_latest(specimen)
    # Key cells: the least typical first (reclassified, then lowest model confidence).
    key_cells.sort(key=lambda c: (c["class"] == c["predicted_class"], c["probability"]))
    return {
        "schema": REPORT_SCHEMA,
        "lab": {"name": settings.LAB_NAME},
        "patient": None if patient is None else {
            "pseudo_id": patient.pseudo_id, "external_id": patient.external_id,
            "family_name": patient.family_name, "given_name": patient.given_name,
            "birth_date": patient.birth_date.isoformat() if patient.birth_date else None,
            "sex": patient.sex,
        },
        "specimen": {
            "accession": specimen.accession,
            "collected_at": specimen.collected_at.isoformat() if specimen.collected_at else None,
        },
        "cbc": None if cbc is None else {
            "analyser": cbc.analyser,
            "measured_at": cbc.measured_at.isoformat() if cbc.measured_at else None,
            "reference_ranges_version": cbc.reference_ranges_version,
            "values": [{"code": v.code, "value": v.value, "raw_value": v.raw_value,
                        "unit": v.unit, "ref_low": v.ref_low, "ref_high": v.ref_high,
                        "flag": v.flag, "analyser_flag": v.analyser_flag}
                       for v in cbc.values.all()],
        },
        "differential": differential(specimen),
        # Are the images inside the domain the cell model was validated on (latest analysis)?
        "domain": None if domain is None else {
            k: domain[k] for k in ("code", "cells", "outside", "max_outside")},
        "scores": [score_entry(s) for s in scores],
        "key_cells": key_cells[:KEY_CELLS],
        "models": sorted([*models.values(), *(
            {"name": s.definition, "version": s.version, "sha256": s.sha256}
            for s in scores if s.sha256)],
            key=lambda m: (m["name"], m["version"])),
        "comment": comment,
    }


WORKLIST_STATUSES = ("registered", "imported", "analysing", "analysed", "in_review", "rescan")


def worklist(*, flag: str = "", status: str = "", date_from=None, date_to=None,  # type: ignore[no-untyped-def]
             include_unflagged: bool = False):
    """Specimens waiting for a biologist: flagged first (priority), then the oldest first."""
    from django.db.models import Prefetch

    from apps.patients.models import SpecimenFlag

    qs = Specimen.objects.select_related("patient").prefetch_related(
        Prefetch("flags", queryset=SpecimenFlag.objects.order_by("name")))
    qs = qs.filter(status=status) if status else qs.filter(status__in=WORKLIST_STATUSES)
    if flag:
        qs = qs.filter(flags__name=flag)
    elif not include_unflagged:
        qs = qs.filter(priority__gt=0)
    if date_from:
        qs = qs.filter(created_at__date__gte=date_from)
    if date_to:
        qs = qs.filter(created_at__date__lte=date_to)
    return qs.order_by("-priority", "created_at", "id").distinct()


def worklist_counts() -> dict[str, int]:
    from django.db.models import Count

    rows = (Specimen.objects.filter(status__in=WORKLIST_STATUSES, priority__gt=0)
            .values("status").annotate(n=Count("id")))
    return {row["status"]: row["n"] for row in rows}


def flag_names() -> list[str]:
    from apps.patients.models import SpecimenFlag

    return list(SpecimenFlag.objects.values_list("name", flat=True).distinct().order_by("name"))
