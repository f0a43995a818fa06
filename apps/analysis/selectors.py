from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict

from django.db.models import Count, Q

from apps.ml.domain import specimen_domain_counts
from apps.patients.models import Specimen
from apps.smears.differential import is_neutrophil

from .models import AnalysisRun, CellPrediction, RunStatus, ScoresRequest

# The anomaly outputs (vacuoles, nucleus lobation, and those a model does not provide) are read
# on neutrophils only (the model card's applies_to_cell_class): on any other cell they mean
# nothing, so they are not shown, printed or exported there.
NOT_AVAILABLE = "not available in this model"


def cell_anomalies(*, final_class: str, anomalies: dict[str, float | None] | None
                   ) -> dict[str, float | None]:
    """The anomaly outputs to show for a cell of `final_class` (Cell.final_class, after review):
    all of them (None: not available in this model) for a neutrophil (segmented or band), none
    for any other cell."""
    if not is_neutrophil(final_class):
        return {}
    return dict(anomalies or {})


def run_latest(specimen: Specimen) -> AnalysisRun | None:
    return AnalysisRun.objects.filter(specimen=specimen).order_by("-queued_at", "-id").first()


def run_domain(run: AnalysisRun) -> dict[str, object]:
    """Is the run's specimen inside the domain its cell model was validated on?

    From the cell predictions the run stored and the specimen rule of its model card (kept on
    the run): {"code": "inside" | "outside" | "unchecked", "cells", "outside", "max_outside"}
    (apps.ml.domain.specimen_domain_counts), and "waiting": the images not counted until a
    biologist confirms or reclassifies them (those outside; every image of a smear outside as
    a whole, CellPrediction.smear_outside) that none has yet.
    "unchecked" when the model has no domain check.
    """
    return _runs_domain([run])[run.pk]


def _runs_domain(runs: list[AnalysisRun]) -> dict[int, dict[str, object]]:
    """run_domain of each run, counted in one query whatever the number of runs and cells: a
    prediction with in_domain null was not checked, False is outside (whatever its view)."""
    counts = {row["run_id"]: row for row in (
        CellPrediction.objects.filter(run__in=[r.pk for r in runs]).values("run_id")
        .annotate(checked=Count("id", filter=Q(in_domain__isnull=False)),
                  outside=Count("id", filter=Q(in_domain=False)),
                  waiting=Count("id", filter=Q(cell__reviewed_class="") & (
                      Q(in_domain=False) | Q(smear_outside=True)))))}
    return {run.pk: {**specimen_domain_counts(
        checked=counts.get(run.pk, {}).get("checked", 0),
        outside=counts.get(run.pk, {}).get("outside", 0),
        max_outside=run.domain_max_outside).as_dict(),
        "waiting": counts.get(run.pk, {}).get("waiting", 0)} for run in runs}


def specimen_domain_latest(specimen: Specimen) -> dict[str, object] | None:
    """The domain verdict of the specimen's latest finished analysis (see run_domain), with
    the run's id and models; None when no analysis has finished."""
    return specimens_domain_latest([specimen.pk]).get(specimen.pk)


def specimens_domain_latest(specimen_ids: Iterable[int]) -> dict[int, dict[str, object]]:
    """specimen_domain_latest of many specimens in two queries (a page of the worklist): by
    specimen id, only those with a finished analysis."""
    latest: dict[int, AnalysisRun] = {}
    for run in (AnalysisRun.objects.filter(specimen_id__in=list(specimen_ids),
                                           status=RunStatus.SUCCEEDED)
                .only("id", "specimen_id", "queued_at", "models_used", "domain_max_outside")
                .order_by("specimen_id", "-queued_at", "-id")):
        latest.setdefault(run.specimen_id, run)
    if not latest:
        return {}
    verdicts = _runs_domain(list(latest.values()))
    return {specimen_id: {**verdicts[run.pk], "run": run.pk, "models": run.models_used}
            for specimen_id, run in latest.items()}


def run_progress(run: AnalysisRun | None) -> dict[str, object]:
    """The run's progress for the specimen page's poll: codes and counts, and ``text``, the
    line the page shows, in the active language (as the page words it when it is drawn)."""
    if run is None:
        return {"status": "none", "done": 0, "total": 0, "percent": 0, "error": "", "text": ""}
    from django.utils.translation import gettext as _

    # "cells: 0 of 15": no plural to agree with 0 or 1 in French ("0 cellule sur 15").
    cells = _("cells: %(done)s of %(total)s") % {"done": run.progress_done,
                                                  "total": run.progress_total}
    return {
        "id": run.pk, "status": run.status, "done": run.progress_done,
        "total": run.progress_total, "percent": run.progress_percent, "error": run.error_text,
        "active": run.is_active, "text": f"{run.get_status_display()} — {cells}",
    }


def specimen_document(specimen: Specimen) -> dict[str, object]:
    """The whole specimen as one JSON-ready document (export_specimen and the REST API)."""
    from apps.hemograms.models import CBCResult
    from apps.hemograms.selectors import cbc_computed, cbc_subject
    from apps.smears.models import Cell

    cbc = []
    for result in CBCResult.objects.filter(specimen=specimen).prefetch_related("values"):
        cbc.append({
            "id": result.pk, "analyser": result.analyser,
            "measured_at": result.measured_at.isoformat() if result.measured_at else None,
            "source_format": result.source_format, "source_import": result.source_id,
            "source_line": result.source_line,
            "reference_ranges_version": result.reference_ranges_version,
            "subject": asdict(cbc_subject(specimen, result)),
            "values": [{
                "code": v.code, "value": v.value, "unit": v.unit, "raw_value": v.raw_value,
                "raw_unit": v.raw_unit, "analyser_flag": v.analyser_flag,
                "ref_low": v.ref_low, "ref_high": v.ref_high, "flag": v.flag,
            } for v in result.values.all()],
            "flags": [f"{v.code}:{v.flag}" for v in result.values.all() if v.flag],
            # The white-cell counts the file left out, computed from their share and the WBC
            # (share_code), as the case page shows them; "values" stays what the file said.
            "computed": [asdict(c) for c in cbc_computed(result, specimen)],
        })
    cells = []
    for cell in (Cell.objects.filter(specimen=specimen).select_related("reviewed_by")
                 .prefetch_related("predictions")):
        prediction = cell.latest_prediction()
        final_class = cell.final_class
        entry: dict[str, object] = {
            "id": cell.pk, "sha256": cell.sha256, "source_name": cell.source_name,
            "width": cell.width, "height": cell.height,
            # The scanner's pre-classification (CellaVision class folder), not a result.
            "analyser_class": cell.analyser_class,
            "final_class": final_class or None,
            "reviewed_class": cell.reviewed_class or None,
            "reviewed_by": cell.reviewed_by.get_username() if cell.reviewed_by else None,
            "reviewed_at": cell.reviewed_at.isoformat() if cell.reviewed_at else None,
            # The biologist's read of its vacuoles: true seen, false none, null not read.
            "reviewed_vacuoles": cell.reviewed_vacuoles,
            "predicted_class": None, "probabilities": None, "anomalies": {},
        }
        if prediction is not None:
            entry.update({
                "predicted_class": prediction.cell_class,
                "predicted_class_prob": prediction.cell_class_prob,
                "probabilities": prediction.class_probs,
                "subtype": prediction.subtype or None, "subtype_prob": prediction.subtype_prob,
                "attributes": prediction.attributes,
                # Neutrophils only (cell_anomalies); empty for any other final class.
                "anomalies": {k: (v if v is not None else NOT_AVAILABLE) for k, v in
                              cell_anomalies(final_class=final_class,
                                             anomalies=prediction.anomalies).items()},
                "view": prediction.view or None, "domain_score": prediction.domain_score,
                "in_domain": prediction.in_domain, "domain_flag": prediction.domain_flag or None,
                "model": {"name": prediction.model_name, "version": prediction.model_version,
                          "sha256": prediction.model_sha256},
            })
        cells.append(entry)
    runs = [{
        "id": run.pk, "pipeline": run.pipeline, "status": run.status,
        "progress": {"done": run.progress_done, "total": run.progress_total},
        "models": run.models_used, "queued_at": run.queued_at.isoformat(),
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "error": run.error, "timings": run.timings,
        "domain": run_domain(run) if run.status == RunStatus.SUCCEEDED else None,
    } for run in specimen.analysis_runs.all()]
    return {
        "specimen": {
            "accession": specimen.accession,
            "patient": specimen.patient.pseudo_id if specimen.patient_id else None,
            "collected_at": specimen.collected_at.isoformat() if specimen.collected_at else None,
            "status": specimen.status,
        },
        "cbc": cbc,
        # CBC rows received after the case was signed: attached (attached_result), left out
        # (left_out_reason) or waiting for a biologist (neither).
        "cbc_held": [{
            "id": h.pk, "source_import": h.source_id, "source_line": h.source_line,
            "received_at": h.created_at.isoformat(),
            "measured_at": h.measured_at.isoformat() if h.measured_at else None,
            "key_values": h.key_values, "attached_result": h.attached_result_id,
            "left_out_reason": h.left_out_reason or None,
        } for h in specimen.held_cbc_records.all()],
        "cells": cells,
        # Of the latest finished run; null before any. "unchecked": the model has no domain check.
        "domain": specimen_domain_latest(specimen),
        "analysis_runs": runs,
        "scores": [score_entry(s) for s in scores_for_display(specimen)],
        "score_revisions": specimen.scores.count(),
    }


def score_entry(score) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """A stored score as plain JSON (export, API, signed report content)."""
    return {
        "name": score.name, "revision": score.revision, "definition": score.definition,
        "version": score.version, "sha256": score.sha256, "state": score.state,
        "value": score.value, "level": score.level, "thresholds": score.thresholds,
        "inputs": score.inputs, "evidence": score.evidence, "reasons": score.reasons,
        "text": score.text, "computed_at": score.created_at.isoformat(),
    }


def scores_how() -> dict[str, str]:
    """The definitions' own documentation, shown under "How is this computed?"."""
    from apps.ml.scores import fused, mds_cbc, mds_image, vexas

    return {"vexas": vexas.__doc__ or "", "mds_image": mds_image.__doc__ or "",
            "mds_cbc": mds_cbc.__doc__ or "", "mds_fused": fused.__doc__ or ""}


SCORE_ORDER = ("vexas", "mds_cbc", "mds_image", "mds_fused")


def scores_pending(specimen: Specimen) -> bool:
    """Is a computation of the specimen's scores asked for and not yet begun (ScoresRequest):
    the scores shown are the previous ones."""
    try:  # one query, none when the specimen was read with select_related("scores_request")
        return specimen.scores_request.pending
    except ScoresRequest.DoesNotExist:
        return False


def scores_for_display(specimen: Specimen) -> list:  # type: ignore[type-arg]
    from .scores import scores_current

    current = {s.name: s for s in scores_current(specimen)}
    return [current[name] for name in SCORE_ORDER if name in current]
