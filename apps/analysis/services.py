"""Analysis runs: request one after an import, execute it in a worker, and never leave one
stuck.

A running run holds a lease that its worker renews before and after every batch. A run whose
worker is gone (the lease lapsed, or its process on this host is dead) is queued again by
analysis_runs_sweep, or failed once it has been started ANALYSIS_MAX_ATTEMPTS times. Only the
worker holding the lease writes: a run taken over elsewhere stops at its next batch.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone, translation

from apps.core.audit import audit_record
from apps.ml.domain import SPECIMEN_OUTSIDE
from apps.patients.models import Specimen, SpecimenStatus
from apps.patients.services import specimen_set_status
from apps.smears.models import Cell

from . import pipeline
from .models import RUN_ERROR_TEXTS, AnalysisRun, CellPrediction, RunStatus, ScoresRequest
from .selectors import run_domain

logger = logging.getLogger(__name__)
User = AbstractBaseUser | AnonymousUser | None

# Errors of the connection rather than of the work: the server restarted or cut the
# connection, SQLite stayed busy past its timeout. Worth another try on a new connection.
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)


class RunLostError(Exception):
    """This worker no longer holds the run: the sweep re-queued or failed it, or a newer run
    superseded it. The batch in hand is rolled back."""


def worker_identity() -> str:
    """Who executes a run: "host:pid" of the process running the task."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_gone(owner: str) -> bool:
    """The run's worker process ran on this host and is no longer alive. Only a sure answer
    counts: another host, or a pid in use again, leaves it to the lease."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) <= 0:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def _lease_end(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.ANALYSIS_LEASE_SECONDS)


def _run_lock(*, run_id: int, specimen_id: int, skip_locked: bool = False
              ) -> AnalysisRun | None:
    """Lock the run's specimen, then the run: the order of the requests, whose workflow locks
    the specimen first, so that a worker and a request never wait for each other in a circle.
    None when the run is gone, or held elsewhere with `skip_locked`."""
    specimen = (Specimen.objects.select_for_update(skip_locked=skip_locked)
                .filter(pk=specimen_id).first())
    if specimen is None:
        return None
    return (AnalysisRun.objects.select_for_update(skip_locked=skip_locked)
            .filter(pk=run_id, specimen_id=specimen_id).first())


def _dispatch_on_commit(run_id: int) -> None:
    from .tasks import analysis_run_execute

    transaction.on_commit(lambda: analysis_run_execute.delay(run_id))


@transaction.atomic
def analysis_request(*, actor: User, specimen: Specimen,
                     now: datetime | None = None) -> AnalysisRun:
    """Queue an analysis of every cell of the specimen (the task starts after commit). A run
    already queued for it is returned: it reads the cells when it starts. A running one is
    superseded by the new run and stops at its next batch."""
    now = now or timezone.now()
    Specimen.objects.select_for_update().filter(pk=specimen.pk).first()  # before its runs
    analysis_runs_sweep(now=now)
    active = list(AnalysisRun.objects.select_for_update()
                  .filter(specimen=specimen, status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
                  .order_by("pk"))
    queued = next((run for run in active if run.status == RunStatus.QUEUED), None)
    if queued is not None:
        return queued
    run = AnalysisRun.objects.create(
        specimen=specimen, pipeline=pipeline.PIPELINE_NAME,
        progress_total=Cell.objects.filter(specimen=specimen).count(),
        requested_by=actor if actor is not None and actor.is_authenticated else None,
        dispatched_at=now,
    )
    # A running run read its cells when it started: the new run covers them all, and the old
    # one must not write over the new one's predictions afterwards.
    for older in active:
        _run_fail(run=older, now=now, code="superseded", params={"run": run.pk})
    audit_record(actor=actor, action="analysis.request", obj=run,
                 after={"specimen": specimen.accession, "pipeline": run.pipeline})
    specimen_set_status(actor=actor, specimen=specimen, status=SpecimenStatus.ANALYSING)
    _dispatch_on_commit(run.pk)
    return run


@dataclass(frozen=True)
class SweepOutcome:
    requeued: tuple[int, ...] = ()
    failed: tuple[int, ...] = ()
    resent: tuple[int, ...] = ()


@transaction.atomic
def analysis_runs_sweep(*, now: datetime | None = None) -> SweepOutcome:
    """Queue again every running run whose worker is gone, or fail it when it has used its
    ANALYSIS_MAX_ATTEMPTS or a newer run of its specimen exists; send again the message of the
    runs queued for longer than a lease while nothing runs (their message was lost: a broker
    emptied, a worker killed as it took it).

    Safe anywhere, any time: rows another transaction holds (a live worker committing a batch)
    are skipped, and a message for a run that is running or finished does nothing."""
    now = now or timezone.now()
    requeued: list[int] = []
    failed: list[int] = []
    resent: list[int] = []
    for candidate in AnalysisRun.objects.filter(status=RunStatus.RUNNING).order_by("pk"):
        if not (candidate.is_stale(now) or _owner_gone(candidate.owner)):
            continue
        run = _run_lock(run_id=candidate.pk, specimen_id=candidate.specimen_id,
                        skip_locked=True)
        if run is None or not (run.is_stale(now) or _owner_gone(run.owner)):
            continue  # held by a live transaction, or renewed meanwhile
        logger.warning("analysis run %s: its worker %s is gone (lease until %s, attempt %s)",
                       run.pk, run.owner or "?", run.lease_until, run.attempts)
        if _run_end_if_it_cannot_go_on(run=run, now=now):
            failed.append(run.pk)
            continue
        before = {"status": run.status, "owner": run.owner, "attempts": run.attempts}
        run.status, run.owner, run.lease_until = RunStatus.QUEUED, "", None
        run.dispatched_at = now
        run.save(update_fields=["status", "owner", "lease_until", "dispatched_at"])
        audit_record(actor=None, action="analysis.requeue", obj=run, before=before,
                     after={"status": run.status})
        _dispatch_on_commit(run.pk)
        requeued.append(run.pk)
    if not AnalysisRun.objects.filter(status=RunStatus.RUNNING).exists():
        lapsed = now - timedelta(seconds=settings.ANALYSIS_LEASE_SECONDS)
        for run in (AnalysisRun.objects.select_for_update(skip_locked=True)
                    .filter(status=RunStatus.QUEUED)
                    .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lte=lapsed))
                    .order_by("pk")):
            run.dispatched_at = now
            run.save(update_fields=["dispatched_at"])
            _dispatch_on_commit(run.pk)
            resent.append(run.pk)
    if requeued or failed or resent:
        logger.warning("analysis sweep: re-queued %s, failed %s, sent again %s",
                       requeued, failed, resent)
    return SweepOutcome(tuple(requeued), tuple(failed), tuple(resent))


def _run_end_if_it_cannot_go_on(*, run: AnalysisRun, now: datetime) -> bool:
    """Fail a run about to start again when a newer run of its specimen exists, or when it has
    used its attempts: each start that did not finish lost its worker, and the message of a
    run that kills its worker must not come back for ever. The caller holds the row."""
    newer = (AnalysisRun.objects.filter(specimen_id=run.specimen_id, pk__gt=run.pk)
             .order_by("-pk").first())
    if newer is not None:
        _run_fail(run=run, now=now, code="superseded", params={"run": newer.pk})
        return True
    if run.attempts >= settings.ANALYSIS_MAX_ATTEMPTS:
        _run_fail(run=run, now=now, code="worker_lost", params={"attempts": run.attempts})
        return True
    return False


def _run_fail(*, run: AnalysisRun, now: datetime, error: str = "", code: str = "",
              params: dict[str, Any] | None = None) -> None:
    """Mark the run failed; the caller holds the row. `code` (RUN_ERROR_TEXTS) words the
    error in the reader's language; its English text is stored as `error` for logs and API."""
    params = params or {}
    if code:
        with translation.override("en"):
            error = str(RUN_ERROR_TEXTS[code]) % params
    run.status, run.finished_at, run.lease_until = RunStatus.FAILED, now, None
    run.error, run.error_code, run.error_params = error[:4000], code, params
    run.save(update_fields=["status", "finished_at", "lease_until", "error", "error_code",
                            "error_params"])
    audit_record(actor=None, action="analysis.fail", obj=run,
                 after={"error": run.error, "code": code})
    others = (AnalysisRun.objects.exclude(pk=run.pk)
              .filter(specimen_id=run.specimen_id,
                      status__in=[RunStatus.QUEUED, RunStatus.RUNNING]))
    if not others.exists():
        specimen = Specimen.objects.get(pk=run.specimen_id)
        if specimen.status == SpecimenStatus.ANALYSING:
            # Back to "imported": the cells are there, their analysis is not.
            specimen_set_status(actor=None, specimen=specimen, status=SpecimenStatus.IMPORTED)


def _run_claim(*, run_id: int, owner: str, now: datetime) -> AnalysisRun | None:
    """Take the run for this worker; None when the message has nothing to do (the run is
    unknown, finished, or running under a live worker: a duplicate message)."""
    specimen_id = AnalysisRun.objects.filter(pk=run_id).values_list("specimen_id",
                                                                    flat=True).first()
    with transaction.atomic():
        run = (None if specimen_id is None
               else _run_lock(run_id=run_id, specimen_id=specimen_id))
        if run is None:
            logger.error("analysis run %s does not exist; message dropped", run_id)
            return None
        if run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED):
            logger.info("analysis run %s is %s; message dropped", run_id, run.status)
            return None
        if (run.status == RunStatus.RUNNING and not run.is_stale(now)
                and not _owner_gone(run.owner)):
            logger.info("analysis run %s is running in %s; duplicate message dropped",
                        run_id, run.owner)
            return None
        if _run_end_if_it_cannot_go_on(run=run, now=now):
            return None
        run.status, run.started_at, run.attempts = RunStatus.RUNNING, now, run.attempts + 1
        run.owner, run.heartbeat_at, run.lease_until = owner, now, _lease_end(now)
        run.error, run.error_code, run.error_params = "", "", {}
        run.save(update_fields=["status", "started_at", "attempts", "owner", "heartbeat_at",
                                "lease_until", "error", "error_code", "error_params"])
        return run


def analysis_run_execute(*, run_id: int) -> None:
    """Run the pipeline over the specimen's cells: the work of one broker message.

    Safe to run again: a message for a run that is running elsewhere or finished does nothing,
    a retry resumes after the cells the run has stored, and predictions are unique per cell and
    model version. Transient database errors are retried ANALYSIS_DB_RETRIES times, waiting
    ANALYSIS_DB_RETRY_SECONDS, then twice as long each time."""
    owner = worker_identity()
    run: AnalysisRun | None = None
    retries = settings.ANALYSIS_DB_RETRIES
    for retry in range(retries + 1):
        try:
            if run is None:
                run = _run_claim(run_id=run_id, owner=owner, now=timezone.now())
                if run is None:
                    return
            _execute(run)
            return
        except RunLostError:
            logger.warning("analysis run %s is no longer this worker's (%s); it stops here",
                           run_id, owner)
            return
        except TRANSIENT_DB_ERRORS as exc:
            if retry == retries:
                if run is None:
                    raise  # not even read: the sweep sends its message again later
                logger.exception("analysis run %s: database error, no retry left", run_id)
                _run_fail_if_held(run=run, code="database_unavailable",
                                  params={"retries": retries})
                return
            delay = settings.ANALYSIS_DB_RETRY_SECONDS * 2 ** retry
            logger.warning("analysis run %s: database error (%s: %s); retry %s of %s in %s s",
                           run_id, type(exc).__name__, exc, retry + 1, retries, delay)
            _connection_drop()
            time.sleep(delay)
        except Exception as exc:
            logger.exception("analysis run %s failed", run_id)
            if run is None:
                raise
            _run_fail_if_held(run=run, error=f"{type(exc).__name__}: {exc}")
            return


def _connection_drop() -> None:
    # A connection the server cut stays broken: drop it, the next query opens a new one. Not
    # inside an outer transaction (a test's), which closing would end.
    if connection.in_atomic_block:
        return
    with contextlib.suppress(DatabaseError):  # closing a dead connection may complain too
        connection.close()


def _run_fail_if_held(*, run: AnalysisRun, error: str = "", code: str = "",
                      params: dict[str, Any] | None = None) -> None:
    with transaction.atomic():
        held = _run_lock(run_id=run.pk, specimen_id=run.specimen_id)
        if held is None or (held.status, held.attempts, held.owner) != (
                RunStatus.RUNNING, run.attempts, run.owner):
            logger.warning("analysis run %s is no longer this worker's; not marked failed",
                           run.pk)
            return
        _run_fail(run=held, now=timezone.now(), error=error, code=code, params=params)


def _lease_renew(run: AnalysisRun, **fields: Any) -> None:
    """Renew the run's lease, writing `fields` with it, if this worker still holds the run;
    raise RunLostError otherwise. First in a batch's transaction, so that the row is locked
    before a prediction is written."""
    now = timezone.now()
    held = (AnalysisRun.objects
            .filter(pk=run.pk, status=RunStatus.RUNNING, attempts=run.attempts, owner=run.owner)
            .update(**{"heartbeat_at": now, "lease_until": _lease_end(now), **fields}))
    if not held:
        raise RunLostError(run.pk)


def _execute(run: AnalysisRun) -> None:
    runner = pipeline.get_runner()
    provenance = runner.provenance()
    cells = list(Cell.objects.filter(specimen_id=run.specimen_id).order_by("id"))
    # A retry of this run resumes: what an earlier attempt committed, batch by batch, stays.
    stored = set(CellPrediction.objects.filter(
        run=run, model_name=provenance[0]["name"], model_version=provenance[0]["version"],
    ).values_list("cell_id", flat=True))
    todo = [cell for cell in cells if cell.pk not in stored]
    done = len(cells) - len(todo)
    _lease_renew(run, progress_total=len(cells), progress_done=done, models_used=provenance,
                 domain_max_outside=runner.domain_max_outside())
    started = time.perf_counter()
    stage_seconds: dict[str, float] = {}
    # The lease is renewed before each batch's inference (the next batch is decoded meanwhile).
    for batch, outputs in runner.run_batches(pipeline.batches(todo, runner.batch_size),
                                             stage_seconds, read=_cell_bytes,
                                             before=lambda: _lease_renew(run)):
        with transaction.atomic():
            done += len(batch)
            _lease_renew(run, progress_done=done)
            _predictions_store(run=run, batch=batch, outputs=outputs)
    elapsed = time.perf_counter() - started
    with transaction.atomic():
        specimen = Specimen.objects.select_for_update().get(pk=run.specimen_id)  # then the run
        _lease_renew(run, status=RunStatus.SUCCEEDED, finished_at=timezone.now(),
                     lease_until=None, timings={
                         "seconds": round(elapsed, 3),
                         "cells_per_second": round(len(todo) / elapsed, 1) if elapsed else None,
                         **{k: round(v, 3) for k, v in stage_seconds.items()}})
        run.refresh_from_db()
        # The smear's verdict, now that every cell is checked: outside as a whole, none of its
        # images is counted on the model's class (CellPrediction.smear_outside).
        CellPrediction.objects.filter(run=run).update(
            smear_outside=run_domain(run)["code"] == SPECIMEN_OUTSIDE)
        if specimen.status in (SpecimenStatus.ANALYSING, SpecimenStatus.IMPORTED):
            specimen_set_status(actor=None, specimen=specimen, status=SpecimenStatus.ANALYSED)
        audit_record(actor=None, action="analysis.complete", obj=run,
                     after={"cells": len(cells), "models": provenance,
                            "attempts": run.attempts})
    # Already in the worker: score now rather than through another message.
    from .scores import scores_compute

    scores_compute(specimen_id=run.specimen_id, trigger="analysis")


def _cell_bytes(cell: Cell) -> bytes:
    with cell.image.open("rb") as fh:
        return fh.read()


def _predictions_store(*, run: AnalysisRun, batch: Sequence[Cell],
                       outputs: Sequence[pipeline.CellOutput]) -> None:
    """The batch's predictions in one statement: each inserted, or overwriting the prediction
    the same model version made of that cell before (a re-run), never a second row."""
    rows = [CellPrediction(cell=cell, model_name=out.model["name"],
                           model_version=out.model["version"],
                           **_prediction_fields(run=run, out=out))
            for cell, out in zip(batch, outputs, strict=True)]
    CellPrediction.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["cell", "model_name", "model_version"],
        update_fields=PREDICTION_FIELDS)


# What a run writes on a prediction (never its cell, model or creation time).
PREDICTION_FIELDS = [
    "run", "model_sha256", "cell_class", "cell_class_prob", "class_probs", "subtype",
    "subtype_prob", "subtype_probs", "attributes", "attribute_probs", "anomalies", "view",
    "domain_score", "in_domain", "smear_outside", "cam_map", "cam_box", "vacuole_cam_map",
    "cam"]


def _prediction_fields(*, run: AnalysisRun, out: pipeline.CellOutput) -> dict[str, Any]:
    p = out.prediction
    return {
        "run": run, "model_sha256": out.model["sha256"],
        "cell_class": p.cell_class, "cell_class_prob": p.cell_class_prob,
        "class_probs": p.class_probs, "subtype": p.subtype or "",
        "subtype_prob": p.subtype_prob, "subtype_probs": p.subtype_probs,
        "attributes": p.attributes, "attribute_probs": p.attribute_probs,
        "anomalies": p.anomalies,
        "view": p.view, "domain_score": p.domain_score, "in_domain": p.in_domain,
        "smear_outside": False,  # the smear's verdict is the run's, written when it ends
        # The compact map only: no file is written per cell (overlays are drawn on demand).
        # An overlay PNG of an earlier run is no longer this row's, but its file stays: a signed
        # version's report may name it.
        "cam_map": out.cam.encode() if out.cam is not None else b"",
        "cam_box": list(out.cam.box) if out.cam is not None else None,
        # Same view, same box: only the map differs.
        "vacuole_cam_map": out.vacuole_cam.encode() if out.vacuole_cam is not None else b"",
        "cam": "",
    }


def scores_request(*, specimen: Specimen, trigger: str) -> None:
    """Recompute the specimen's scores in the worker once the current transaction commits; until
    it has, the pages say the scores shown are the previous ones (ScoresRequest)."""
    from .tasks import scores_compute_task

    specimen_id = specimen.pk
    ScoresRequest.objects.update_or_create(specimen_id=specimen_id,
                                           defaults={"requested_at": timezone.now()})
    transaction.on_commit(lambda: scores_compute_task.delay(specimen_id, trigger))


def scores_recompute_open() -> tuple[int, int]:
    """Recompute now the scores of every specimen not yet signed (after a change of a score's
    rules or model: a score stored before keeps its result until its specimen's next CBC,
    analysis or reclassification otherwise). A signed case is left as signed: its scores are
    changed by an amendment only. Returns (specimens read, score revisions stored)."""
    from apps.patients.models import SIGNED_STATUSES

    from .scores import scores_compute

    ids = list(Specimen.objects.exclude(status__in=SIGNED_STATUSES)
               .order_by("pk").values_list("pk", flat=True))
    stored = sum(len(scores_compute(specimen_id=pk, trigger="rules")) for pk in ids)
    return len(ids), stored


@transaction.atomic
def analysis_rerun(*, actor: User, run: AnalysisRun) -> AnalysisRun:
    if run.is_active:
        return run
    return analysis_request(actor=actor, specimen=run.specimen)
