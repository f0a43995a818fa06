"""Fault tests with a real worker process over the configured broker (filesystem on a laptop,
Redis in CI): the whole worker killed mid-analysis (SIGKILL to its process group, as an OOM
kill, a crash or systemd's stop timeout does) and restarted, three times; a run that kills its
pool process each time it starts; the database connection cut mid-run (PostgreSQL)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.db.models import Count

from apps.analysis.models import AnalysisRun, CellPrediction, RunStatus
from apps.core.models import AuditEvent
from apps.patients.models import SpecimenStatus
from apps.patients.services import specimen_create
from apps.smears.models import Cell
from apps.smears.services import smear_read_upload
from apps.workflow.services import smear_import
from tests.helpers import export_zip, worker_database_url

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.worker
LEASE = 4  # seconds; Redis hands an unacknowledged message back after twice that


class Workers:
    """Starts the worker in its own process group, as systemd or bin/start do, so that the
    whole group (main process and pool) can be killed at once."""

    def __init__(self, settings, tmp_path: Path, **env: str) -> None:  # type: ignore[no-untyped-def]
        self.queue = f"test-{uuid.uuid4().hex[:10]}"  # no leftover message of another run
        self.log = tmp_path / "worker.log"
        self.env = {**os.environ, "DATABASE_URL": worker_database_url(),
                    "MEDIA_ROOT": str(settings.MEDIA_ROOT), "CELERY_QUEUE": self.queue,
                    "CELERY_TASK_ALWAYS_EAGER": "0", "ML_THREADS": "1", "ML_BATCH_SIZE": "1",
                    "ANALYSIS_LEASE_SECONDS": str(LEASE), "ANALYSIS_SWEEP_SECONDS": "1",
                    **env}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as fh:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "hemaclinic", "worker", "--loglevel",
                 "INFO", "--concurrency", "1", "--queues", self.queue, "--without-gossip",
                 "--without-mingle", "--without-heartbeat", "--hostname", f"{self.queue}@%h"],
                cwd=ROOT, env=self.env, stdout=fh, stderr=subprocess.STDOUT,
                start_new_session=True)

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # a warm shutdown: the task in hand ends first
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@contextmanager
def _workers(settings, tmp_path: Path, **env: str) -> Iterator[Workers]:  # type: ignore[no-untyped-def]
    from hemaclinic.celery import app

    workers = Workers(settings, tmp_path, **env)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    previous_queue = app.conf.task_default_queue
    app.conf.task_default_queue = workers.queue
    try:
        yield workers
    finally:
        app.conf.task_default_queue = previous_queue
        workers.stop()


def _import(technician, accession: str, cells: int):  # type: ignore[no-untyped-def]
    specimen = specimen_create(actor=technician, accession=accession)
    classes = {"neutrophil": cells // 2, "lymphocyte": cells - cells // 2}
    batch = smear_read_upload(name="export.zip", fileobj=io.BytesIO(export_zip(classes)))
    # Committed (transactional test): the message goes to the broker as in production.
    outcome = smear_import(actor=technician, specimen=specimen, batch=batch)
    return AnalysisRun.objects.get(pk=outcome.analysis_run_id)


def _wait(what: str, check: Callable[[], bool], workers: Workers, timeout: float = 120) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}\n{workers.tail()}")


def _run(pk: int) -> AnalysisRun:
    return AnalysisRun.objects.get(pk=pk)


def _assert_every_cell_predicted_once_by(run: AnalysisRun) -> None:
    cells = Cell.objects.filter(specimen_id=run.specimen_id)
    per_cell = (CellPrediction.objects.filter(cell__in=cells).values("cell")
                .annotate(n=Count("id")).values_list("n", flat=True))
    assert sorted(per_cell) == [1] * cells.count()
    assert set(CellPrediction.objects.filter(cell__in=cells)
               .values_list("run_id", flat=True)) == {run.pk}


def _media_files() -> set[str]:
    root = Path(django_settings.MEDIA_ROOT)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_a_run_survives_its_whole_worker_being_killed_three_times(
        transactional_db, technician, settings, tmp_path):
    cells = 40
    with _workers(settings, tmp_path, ANALYSIS_MAX_ATTEMPTS="5") as workers:
        workers.start()
        run = _import(technician, "KILL-1", cells)
        last_done = 0
        for attempt in (1, 2, 3):
            # Killed mid-batch-sequence: some cells stored by this attempt, not all.
            _wait(f"attempt {attempt} to store a cell", lambda a=attempt, d=last_done: (
                (r := _run(run.pk)).status == RunStatus.RUNNING and r.attempts == a
                and d < r.progress_done < cells), workers)
            workers.kill()
            killed = _run(run.pk)
            assert killed.status == RunStatus.RUNNING and killed.progress_done < cells
            last_done = killed.progress_done
            workers.start()
            # The restart finds the run's worker dead and queues it again at once.
            seconds = _wait(f"attempt {attempt + 1} to start", lambda a=attempt: (
                _run(run.pk).attempts == a + 1), workers, timeout=90)
            assert seconds < 60, seconds
        _wait("the run to finish", lambda: _run(run.pk).status in (
            RunStatus.SUCCEEDED, RunStatus.FAILED), workers)
        run.refresh_from_db()
        assert run.status == RunStatus.SUCCEEDED, (run.error, workers.tail())
        assert run.attempts == 4 and run.progress_done == run.progress_total == cells
        _assert_every_cell_predicted_once_by(run)
        assert AuditEvent.objects.filter(action="analysis.complete",
                                         object_id=str(run.pk)).count() == 1
        assert AuditEvent.objects.filter(action="analysis.requeue",
                                         object_id=str(run.pk)).count() == 3
        # No file left behind by the killed attempts: the media folder holds the cell images.
        assert _media_files() == set(Cell.objects.values_list("image", flat=True))
        specimen = run.specimen
        specimen.refresh_from_db()
        assert specimen.status == SpecimenStatus.ANALYSED


def test_a_run_that_kills_its_worker_is_failed_after_its_attempts_and_the_queue_moves_on(
        transactional_db, technician, settings, tmp_path):
    with _workers(settings, tmp_path, ANALYSIS_MAX_ATTEMPTS="2") as workers:
        workers.start()
        poison = _import(technician, "POISON-1", 30)
        behind = _import(technician, "BEHIND-1", 4)
        for attempt in (1, 2):
            # As the kernel's OOM killer would: the pool process running it, each time.
            _wait(f"attempt {attempt}", lambda a=attempt: (
                (r := _run(poison.pk)).status == RunStatus.RUNNING and r.attempts == a),
                workers)
            pid = int(_run(poison.pk).owner.rpartition(":")[2])
            assert pid != workers.process.pid  # type: ignore[union-attr]
            os.kill(pid, signal.SIGKILL)
        _wait("both runs to end", lambda: all(_run(pk).status in (
            RunStatus.SUCCEEDED, RunStatus.FAILED) for pk in (poison.pk, behind.pk)), workers)
        poison.refresh_from_db()
        behind.refresh_from_db()
        assert poison.status == RunStatus.FAILED and poison.attempts == 2
        assert poison.error_code == "worker_lost"
        assert "stopped after 2 attempts" in poison.error
        assert behind.status == RunStatus.SUCCEEDED, (behind.error, workers.tail())
        _assert_every_cell_predicted_once_by(behind)
        assert workers.process.poll() is None  # type: ignore[union-attr]


def test_a_database_connection_cut_mid_run_is_retried(
        transactional_db, technician, settings, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("cuts a PostgreSQL server connection (pg_terminate_backend)")
    with _workers(settings, tmp_path, ANALYSIS_DB_RETRY_SECONDS="1") as workers:
        workers.start()
        run = _import(technician, "CUT-1", 40)
        _wait("the run to store a cell", lambda: 0 < _run(run.pk).progress_done < 30, workers)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            assert any(terminated for (terminated,) in cursor.fetchall())
        _wait("the run to finish", lambda: _run(run.pk).status in (
            RunStatus.SUCCEEDED, RunStatus.FAILED), workers)
        run.refresh_from_db()
        assert run.status == RunStatus.SUCCEEDED, (run.error, workers.tail())
        assert run.attempts == 1  # retried within the attempt
        assert f"analysis run {run.pk}: database error" in workers.log.read_text()
        _assert_every_cell_predicted_once_by(run)
