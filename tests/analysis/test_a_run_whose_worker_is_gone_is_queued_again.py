"""No analysis stays stuck: a running run whose worker is gone (its lease lapsed, or its process
on this host is dead) is queued again, or failed with its reason once it has used its attempts
or a newer run exists; a lost message is sent again; a duplicate message does nothing; a worker
that lost its run stops writing. Time is passed in (now=), not waited for."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone, translation

from apps.analysis import pipeline, services
from apps.analysis.models import AnalysisRun, CellPrediction, RunStatus
from apps.analysis.services import analysis_request, analysis_run_execute, analysis_runs_sweep
from apps.core.models import AuditEvent
from apps.patients.models import SpecimenStatus
from apps.patients.services import specimen_create
from apps.smears.services import smear_read_upload
from apps.workflow.services import smear_import
from tests.helpers import export_zip

LEASE = 180


@pytest.fixture(autouse=True)
def _settings(settings):  # type: ignore[no-untyped-def]
    settings.ANALYSIS_LEASE_SECONDS = LEASE
    settings.ANALYSIS_MAX_ATTEMPTS = 3


@pytest.fixture
def sent(monkeypatch):  # type: ignore[no-untyped-def]
    """The run ids whose message is sent (instead of running them)."""
    ids: list[int] = []
    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", ids.append)
    return ids


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _running(specimen, *, owner="worker-host-elsewhere:4242", lease_until=None, attempts=1):  # type: ignore[no-untyped-def]
    now = timezone.now()
    return AnalysisRun.objects.create(
        specimen=specimen, pipeline="cells-v1", status=RunStatus.RUNNING, attempts=attempts,
        owner=owner, started_at=now, heartbeat_at=now,
        lease_until=lease_until or now + timedelta(seconds=LEASE))


def test_a_run_is_queued_again_once_its_lease_has_lapsed_and_not_before(
        specimen, sent, django_capture_on_commit_callbacks):
    run = _running(specimen)
    with django_capture_on_commit_callbacks(execute=True):
        early = analysis_runs_sweep(now=run.lease_until - timedelta(seconds=1))
    assert early.requeued == () and sent == []
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING and run.is_active

    assert run.is_stale(run.lease_until + timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        late = analysis_runs_sweep(now=run.lease_until + timedelta(seconds=1))
    assert late.requeued == (run.pk,) and sent == [run.pk]
    run.refresh_from_db()
    assert (run.status, run.owner, run.lease_until, run.attempts) == (
        RunStatus.QUEUED, "", None, 1)
    event = AuditEvent.objects.get(action="analysis.requeue")
    assert event.before["owner"] == "worker-host-elsewhere:4242"


def test_a_run_whose_worker_died_on_this_host_is_taken_back_without_waiting(
        specimen, sent, django_capture_on_commit_callbacks):
    host = socket.gethostname()
    dead = _running(specimen, owner=f"{host}:{_dead_pid()}")
    other = specimen_create(actor=None, accession="S-LIVE")
    alive = _running(other, owner=services.worker_identity())
    with django_capture_on_commit_callbacks(execute=True):
        outcome = analysis_runs_sweep()
    assert outcome.requeued == (dead.pk,) and sent == [dead.pk]
    alive.refresh_from_db()
    assert alive.status == RunStatus.RUNNING


def test_a_run_that_used_its_attempts_fails_with_its_reason(
        specimen, sent, django_capture_on_commit_callbacks):
    specimen.status = SpecimenStatus.ANALYSING
    specimen.save()
    run = _running(specimen, attempts=3, lease_until=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        outcome = analysis_runs_sweep()
    assert outcome.failed == (run.pk,) and outcome.requeued == () and sent == []
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.finished_at is not None
    assert run.error_code == "worker_lost" and run.error_params == {"attempts": 3}
    assert run.error.startswith("The analysis stopped after 3 attempts")
    with translation.override("fr"):
        assert run.error_text.startswith("L'analyse s'est arrêtée après 3 tentatives")
    specimen.refresh_from_db()
    assert specimen.status == SpecimenStatus.IMPORTED  # its cells are there, not their analysis
    assert AuditEvent.objects.filter(action="analysis.fail", object_id=str(run.pk)).exists()


def test_a_stale_run_with_a_newer_run_is_failed_as_superseded(
        specimen, sent, django_capture_on_commit_callbacks):
    old = _running(specimen, lease_until=timezone.now() - timedelta(seconds=1))
    new = AnalysisRun.objects.create(specimen=specimen, pipeline="cells-v1",
                                     status=RunStatus.SUCCEEDED)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = analysis_runs_sweep()
    assert outcome.failed == (old.pk,) and sent == []
    old.refresh_from_db()
    assert old.error_code == "superseded" and old.error_params == {"run": new.pk}
    with translation.override("fr"):
        assert str(new.pk) in old.error_text and "Remplacée" in old.error_text


def test_a_queued_run_is_sent_again_only_when_nothing_runs(
        specimen, sent, django_capture_on_commit_callbacks):
    now = timezone.now()
    waiting = AnalysisRun.objects.create(specimen=specimen, pipeline="cells-v1",
                                         dispatched_at=now - timedelta(seconds=LEASE + 1))
    busy = _running(specimen_create(actor=None, accession="S-BUSY"))
    with django_capture_on_commit_callbacks(execute=True):
        assert analysis_runs_sweep(now=now).resent == ()  # the worker is busy: it waits
    AnalysisRun.objects.filter(pk=busy.pk).update(status=RunStatus.SUCCEEDED)
    recent = AnalysisRun.objects.create(
        specimen=specimen_create(actor=None, accession="S-RECENT"), pipeline="cells-v1",
        dispatched_at=now - timedelta(seconds=LEASE - 10))
    with django_capture_on_commit_callbacks(execute=True):
        outcome = analysis_runs_sweep(now=now)
    assert outcome.resent == (waiting.pk,) and sent == [waiting.pk]
    waiting.refresh_from_db()
    recent.refresh_from_db()
    assert waiting.dispatched_at == now and waiting.status == RunStatus.QUEUED
    assert recent.dispatched_at == now - timedelta(seconds=LEASE - 10)


def test_each_analysis_request_sweeps(specimen, technician, sent,
                                      django_capture_on_commit_callbacks):
    stale = _running(specimen_create(actor=None, accession="S-STALE"),
                     lease_until=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        run = analysis_request(actor=technician, specimen=specimen)
    assert sent == [stale.pk, run.pk]
    stale.refresh_from_db()
    assert stale.status == RunStatus.QUEUED


def test_a_new_request_supersedes_the_running_run_of_its_specimen(
        specimen, technician, sent, django_capture_on_commit_callbacks):
    running = _running(specimen, owner=services.worker_identity())
    with django_capture_on_commit_callbacks(execute=True):
        run = analysis_request(actor=technician, specimen=specimen)
    assert run.pk != running.pk and sent == [run.pk]
    running.refresh_from_db()
    assert running.status == RunStatus.FAILED and running.error_params == {"run": run.pk}
    specimen.refresh_from_db()
    assert specimen.status == SpecimenStatus.ANALYSING  # the new run is on its way


def test_the_command_sweeps(specimen, sent):
    run = _running(specimen, lease_until=timezone.now() - timedelta(seconds=1))
    out = io.StringIO()
    call_command("analysis_sweep", stdout=out)
    assert f"re-queued: 1 [{run.pk}]" in out.getvalue()
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED


# The message side, with the real pipeline.

@pytest.fixture
def imported(technician, specimen, sent, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """6 cells imported; their run queued and its message sent (not yet run)."""
    pipeline.reset_runner()
    batch = smear_read_upload(name="export.zip", fileobj=io.BytesIO(
        export_zip({"neutrophil": 3, "lymphocyte": 3})))
    with django_capture_on_commit_callbacks(execute=True):
        outcome = smear_import(actor=technician, specimen=specimen, batch=batch)
    yield AnalysisRun.objects.get(pk=outcome.analysis_run_id)
    pipeline.reset_runner()


def test_a_message_for_a_run_running_under_a_live_worker_does_nothing(imported, monkeypatch):
    AnalysisRun.objects.filter(pk=imported.pk).update(
        status=RunStatus.RUNNING, attempts=1, owner=services.worker_identity(),
        lease_until=timezone.now() + timedelta(seconds=LEASE))
    monkeypatch.setattr(services, "_execute", lambda run: pytest.fail("ran twice"))
    analysis_run_execute(run_id=imported.pk)
    imported.refresh_from_db()
    assert imported.status == RunStatus.RUNNING and imported.attempts == 1


def test_a_redelivered_message_takes_over_from_a_dead_worker_and_resumes(imported):
    # The first attempt stored 2 cells before its process was killed (lease still running).
    first = imported.specimen.cells.order_by("pk")[:2]
    for cell in first:
        CellPrediction.objects.create(
            cell=cell, run=imported, model_name=pipeline.get_runner().provenance()[0]["name"],
            model_version=pipeline.get_runner().provenance()[0]["version"], model_sha256="x",
            cell_class="kept", cell_class_prob=1.0)
    AnalysisRun.objects.filter(pk=imported.pk).update(
        status=RunStatus.RUNNING, attempts=1, owner=f"{socket.gethostname()}:{_dead_pid()}",
        lease_until=timezone.now() + timedelta(seconds=LEASE))
    analysis_run_execute(run_id=imported.pk)
    imported.refresh_from_db()
    assert imported.status == RunStatus.SUCCEEDED, imported.error
    assert imported.attempts == 2 and imported.owner == services.worker_identity()
    assert imported.progress_done == imported.progress_total == 6
    predictions = CellPrediction.objects.filter(cell__specimen=imported.specimen)
    assert predictions.count() == 6 and {p.run_id for p in predictions} == {imported.pk}
    assert predictions.filter(cell_class="kept").count() == 2  # resumed, not redone


def test_a_redelivered_message_past_the_attempts_fails_the_run_and_moves_on(imported):
    AnalysisRun.objects.filter(pk=imported.pk).update(
        status=RunStatus.RUNNING, attempts=3, owner=f"{socket.gethostname()}:{_dead_pid()}",
        lease_until=timezone.now() + timedelta(seconds=LEASE))
    analysis_run_execute(run_id=imported.pk)
    imported.refresh_from_db()
    assert imported.status == RunStatus.FAILED and imported.attempts == 3
    assert "stopped after 3 attempts" in imported.error
    assert not CellPrediction.objects.exists()


def test_a_worker_that_lost_its_run_stops_without_writing(imported, monkeypatch):
    runner = pipeline.get_runner()
    real_run = runner.run

    def taken_over(images, stage_seconds):  # type: ignore[no-untyped-def]
        # Meanwhile the sweep gave the run to another worker.
        AnalysisRun.objects.filter(pk=imported.pk).update(owner="another-host:1", attempts=2)
        return real_run(images, stage_seconds)

    monkeypatch.setattr(runner, "run", taken_over)
    analysis_run_execute(run_id=imported.pk)
    imported.refresh_from_db()
    assert (imported.status, imported.owner, imported.attempts) == (
        RunStatus.RUNNING, "another-host:1", 2)
    assert imported.progress_done == 0
    assert not CellPrediction.objects.exists()
