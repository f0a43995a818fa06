"""A transient database error in a run (connection cut, server restarting, SQLite busy) is
retried with a doubling delay, a bounded number of times, within the same attempt; past that the
run fails with its reason. Every cell ends with one prediction."""

from __future__ import annotations

import io

import pytest
from django.db import InterfaceError, OperationalError
from django.utils import translation

from apps.analysis import pipeline, services
from apps.analysis.models import AnalysisRun, CellPrediction, RunStatus
from apps.analysis.services import analysis_run_execute
from apps.smears.services import smear_read_upload
from apps.workflow.services import smear_import
from tests.helpers import export_zip


@pytest.fixture
def imported(technician, specimen, settings, monkeypatch,  # type: ignore[no-untyped-def]
             django_capture_on_commit_callbacks):
    settings.ML_BATCH_SIZE = 2
    settings.ANALYSIS_DB_RETRIES = 3
    settings.ANALYSIS_DB_RETRY_SECONDS = 1
    pipeline.reset_runner()
    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)
    batch = smear_read_upload(name="export.zip", fileobj=io.BytesIO(
        export_zip({"neutrophil": 3, "monocyte": 3})))
    with django_capture_on_commit_callbacks(execute=True):
        outcome = smear_import(actor=technician, specimen=specimen, batch=batch)
    yield AnalysisRun.objects.get(pk=outcome.analysis_run_id)
    pipeline.reset_runner()


@pytest.fixture
def sleeps(monkeypatch):  # type: ignore[no-untyped-def]
    waited: list[float] = []
    monkeypatch.setattr(services.time, "sleep", waited.append)
    return waited


def _failing(monkeypatch, error: Exception, times: int) -> list[int]:  # type: ignore[no-untyped-def]
    """Make the runner's batch raise `error` on its first `times` calls."""
    runner = pipeline.get_runner()
    real_run = runner.run
    calls: list[int] = []

    def run(images, stage_seconds):  # type: ignore[no-untyped-def]
        calls.append(len(images))
        if len(calls) <= times:
            raise error
        return real_run(images, stage_seconds)

    monkeypatch.setattr(runner, "run", run)
    return calls


@pytest.mark.parametrize("error", [
    OperationalError("terminating connection due to administrator command"),
    InterfaceError("connection already closed"),
])
def test_a_transient_error_is_retried_and_the_run_resumes(imported, monkeypatch, sleeps, error,
                                                          caplog):
    # Second batch fails twice: the first batch stays stored, the rest is done on the retry.
    runner = pipeline.get_runner()
    real_run = runner.run
    calls: list[int] = []

    def run(images, stage_seconds):  # type: ignore[no-untyped-def]
        calls.append(len(images))
        if len(calls) in (2, 3):
            raise error
        return real_run(images, stage_seconds)

    monkeypatch.setattr(runner, "run", run)
    analysis_run_execute(run_id=imported.pk)
    imported.refresh_from_db()
    assert imported.status == RunStatus.SUCCEEDED, imported.error
    assert imported.attempts == 1  # retried within the attempt, not a new one
    assert sleeps == [1, 2]
    assert calls == [2, 2, 2, 2, 2]  # batch 1, batch 2 failing twice, batches 2 and 3
    predictions = CellPrediction.objects.filter(cell__specimen=imported.specimen)
    assert predictions.count() == 6 and {p.run_id for p in predictions} == {imported.pk}
    assert "retry 2 of 3 in 2 s" in caplog.text


def test_past_its_retries_the_run_fails_with_the_reason(imported, monkeypatch, sleeps):
    calls = _failing(monkeypatch, OperationalError("could not connect to server"), times=99)
    analysis_run_execute(run_id=imported.pk)
    imported.refresh_from_db()
    assert len(calls) == 4 and sleeps == [1, 2, 4]
    assert imported.status == RunStatus.FAILED
    assert imported.error_code == "database_unavailable"
    assert imported.error == ("The database could not be reached after 3 retries; run the "
                              "analysis again.")
    with translation.override("fr"):
        assert imported.error_text.startswith("La base de données est restée injoignable")
    assert not CellPrediction.objects.exists()


def test_any_other_error_fails_the_run_at_once(imported, monkeypatch, sleeps):
    calls = _failing(monkeypatch, ValueError("broken image"), times=99)
    analysis_run_execute(run_id=imported.pk)
    imported.refresh_from_db()
    assert len(calls) == 1 and sleeps == []
    assert imported.status == RunStatus.FAILED and imported.error == "ValueError: broken image"
    assert imported.error_text == imported.error
