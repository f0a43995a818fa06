"""Analysis runs: request one after an import, execute it in a worker."""

from __future__ import annotations

import logging
import time

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from apps.core.audit import audit_record
from apps.patients.models import Specimen, SpecimenStatus
from apps.patients.services import specimen_set_status
from apps.smears.models import Cell

from . import pipeline
from .models import AnalysisRun, CellPrediction, RunStatus

logger = logging.getLogger(__name__)
User = AbstractBaseUser | AnonymousUser | None


@transaction.atomic
def analysis_request(*, actor: User, specimen: Specimen) -> AnalysisRun:
    """Queue an analysis of every cell of the specimen (the task starts after commit)."""
    from .tasks import analysis_run_execute

    active = AnalysisRun.objects.filter(
        specimen=specimen, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).first()
    if active is not None and active.status == RunStatus.QUEUED:
        # The queued run reads the cells when it starts, so the new cells are included.
        return active
    run = AnalysisRun.objects.create(
        specimen=specimen, pipeline=pipeline.PIPELINE_NAME,
        progress_total=Cell.objects.filter(specimen=specimen).count(),
        requested_by=actor if actor is not None and actor.is_authenticated else None,
    )
    audit_record(actor=actor, action="analysis.request", obj=run,
                 after={"specimen": specimen.accession, "pipeline": run.pipeline})
    specimen_set_status(actor=actor, specimen=specimen, status=SpecimenStatus.ANALYSING)
    run_id = run.pk
    transaction.on_commit(lambda: analysis_run_execute.delay(run_id))
    return run


def analysis_run_execute(*, run_id: int) -> None:
    """Run the pipeline over the specimen's cells. Safe to run again: predictions are keyed by
    cell and model version, so a redelivered or repeated run overwrites, never duplicates."""
    with transaction.atomic():
        run = AnalysisRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None:
            logger.error("analysis run %s does not exist; message dropped", run_id)
            return
        if run.status == RunStatus.SUCCEEDED:
            return
        run.status = RunStatus.RUNNING
        run.started_at = timezone.now()
        run.attempts += 1
        run.error = ""
        run.save(update_fields=["status", "started_at", "attempts", "error"])

    try:
        _execute(run)
    except Exception as exc:
        logger.exception("analysis run %s failed", run_id)
        AnalysisRun.objects.filter(pk=run_id).update(
            status=RunStatus.FAILED, finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {exc}"[:4000])
        run.refresh_from_db()
        audit_record(actor=None, action="analysis.fail", obj=run, after={"error": run.error})
        specimen = Specimen.objects.get(pk=run.specimen_id)
        if specimen.status == SpecimenStatus.ANALYSING:
            # Back to "imported": the cells are there, their analysis is not.
            specimen_set_status(actor=None, specimen=specimen, status=SpecimenStatus.IMPORTED)
        return


def _execute(run: AnalysisRun) -> None:
    runner = pipeline.get_runner()
    cells = list(Cell.objects.filter(specimen_id=run.specimen_id).order_by("id"))
    provenance = runner.provenance()
    AnalysisRun.objects.filter(pk=run.pk).update(
        progress_total=len(cells), progress_done=0, models_used=provenance,
        domain_max_outside=runner.domain_max_outside())
    started = time.perf_counter()
    stage_seconds: dict[str, float] = {}
    done = 0
    for batch in pipeline.batches(cells, runner.batch_size):
        images = []
        for cell in batch:
            with cell.image.open("rb") as fh:
                images.append(fh.read())
        outputs = runner.run(images, stage_seconds)
        with transaction.atomic():
            for cell, out in zip(batch, outputs, strict=True):
                _prediction_store(run=run, cell=cell, out=out)
            done += len(batch)
            AnalysisRun.objects.filter(pk=run.pk).update(progress_done=done)
    elapsed = time.perf_counter() - started
    with transaction.atomic():
        AnalysisRun.objects.filter(pk=run.pk).update(
            status=RunStatus.SUCCEEDED, finished_at=timezone.now(),
            timings={"seconds": round(elapsed, 3),
                     "cells_per_second": round(len(cells) / elapsed, 1) if elapsed else None,
                     **{k: round(v, 3) for k, v in stage_seconds.items()}})
        run.refresh_from_db()
        specimen = Specimen.objects.get(pk=run.specimen_id)
        if specimen.status in (SpecimenStatus.ANALYSING, SpecimenStatus.IMPORTED):
            specimen_set_status(actor=None, specimen=specimen, status=SpecimenStatus.ANALYSED)
        audit_record(actor=None, action="analysis.complete", obj=run,
                     after={"cells": len(cells), "models": provenance})
    # Already in the worker: score now rather than through another message.
    from .scores import scores_compute

    scores_compute(specimen_id=run.specimen_id, trigger="analysis")


def _prediction_store(*, run: AnalysisRun, cell: Cell, out: pipeline.CellOutput) -> None:
    p = out.prediction
    defaults = {
        "run": run, "model_sha256": out.model["sha256"],
        "cell_class": p.cell_class, "cell_class_prob": p.cell_class_prob,
        "class_probs": p.class_probs, "subtype": p.subtype or "",
        "subtype_prob": p.subtype_prob, "subtype_probs": p.subtype_probs,
        "attributes": p.attributes, "attribute_probs": p.attribute_probs,
        "anomalies": p.anomalies,
        "view": p.view, "domain_score": p.domain_score, "in_domain": p.in_domain,
        # The compact map only: no file is written per cell (overlays are drawn on demand).
        # An overlay PNG of an earlier run is no longer this row's, but its file stays: a signed
        # version's report may name it.
        "cam_map": out.cam.encode() if out.cam is not None else b"",
        "cam_box": list(out.cam.box) if out.cam is not None else None,
        "cam": "",
    }
    CellPrediction.objects.update_or_create(
        cell=cell, model_name=out.model["name"], model_version=out.model["version"],
        defaults=defaults,
    )


def scores_request(*, specimen: Specimen, trigger: str) -> None:
    """Recompute the specimen's scores in the worker once the current transaction commits."""
    from .tasks import scores_compute_task

    specimen_id = specimen.pk
    transaction.on_commit(lambda: scores_compute_task.delay(specimen_id, trigger))


@transaction.atomic
def analysis_rerun(*, actor: User, run: AnalysisRun) -> AnalysisRun:
    if run.is_active:
        return run
    return analysis_request(actor=actor, specimen=run.specimen)
