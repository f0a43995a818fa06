"""The analysis job: per-cell predictions with model provenance (the compact Grad-CAM map is
tested in test_analysis_stores_the_compact_cam_and_no_png);
idempotent re-runs; a failed run shows its error and can be run again."""

from __future__ import annotations

import io

import pytest

from apps.analysis import pipeline
from apps.analysis.models import AnalysisRun, CellPrediction, RunStatus
from apps.analysis.services import analysis_request, analysis_run_execute
from apps.ml.cards import load_card
from apps.ml.cells import default_model_dir
from apps.smears.services import smear_read_upload
from apps.workflow.services import smear_import
from tests.helpers import export_zip


@pytest.fixture(autouse=True)
def _fresh_runner():
    pipeline.reset_runner()
    yield
    pipeline.reset_runner()


def _import(technician, specimen, classes, django_capture_on_commit_callbacks):
    batch = smear_read_upload(name="export.zip", fileobj=io.BytesIO(export_zip(classes)))
    with django_capture_on_commit_callbacks(execute=True):
        return smear_import(actor=technician, specimen=specimen, batch=batch)


def test_import_runs_the_models_and_stores_provenance_and_views(
        technician, specimen, settings, django_capture_on_commit_callbacks):
    outcome = _import(technician, specimen, {"neutrophil": 3, "eosinophil": 2},
                      django_capture_on_commit_callbacks)
    run = AnalysisRun.objects.get(pk=outcome.analysis_run_id)
    assert run.status == RunStatus.SUCCEEDED, run.error
    card = load_card(default_model_dir(settings.MODELS_ONNX_DIR))
    assert run.models_used == [card.provenance]
    assert run.domain_max_outside == (
        None if card.domain is None else card.domain.specimen_max_outside)
    predictions = list(CellPrediction.objects.filter(run=run))
    assert len(predictions) == 5
    for p in predictions:
        assert p.model_sha256 == card.sha256
        assert abs(sum(p.class_probs.values()) - 1) < 1e-4
        assert p.anomalies["hypogranulation"] is None and p.anomalies["barr_body"] is None
        # The registered model crops the centre and has no domain check: nothing is claimed.
        assert p.view == ("crop" if card.input.view is None else "found")
        if card.domain is None:
            assert p.domain_score is None and p.in_domain is None and p.domain_flag == ""
    assert {"decode", "inference", "cam"} <= set(run.timings)


def test_running_again_overwrites_instead_of_duplicating(
        technician, specimen, django_capture_on_commit_callbacks):
    _import(technician, specimen, {"lymphocyte": 3}, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        second = analysis_request(actor=technician, specimen=specimen)
    second.refresh_from_db()
    assert second.status == RunStatus.SUCCEEDED
    assert CellPrediction.objects.filter(cell__specimen=specimen).count() == 3
    assert set(CellPrediction.objects.values_list("run", flat=True)) == {second.pk}
    # A redelivered message for a finished run does nothing.
    analysis_run_execute(run_id=second.pk)
    assert AnalysisRun.objects.get(pk=second.pk).attempts == 1


def test_a_failed_run_keeps_its_error_and_can_be_run_again(
        technician, specimen, settings, tmp_path, django_capture_on_commit_callbacks):
    real_models = settings.MODELS_ONNX_DIR
    settings.MODELS_ONNX_DIR = tmp_path / "no-models"
    outcome = _import(technician, specimen, {"monocyte": 2}, django_capture_on_commit_callbacks)
    failed = AnalysisRun.objects.get(pk=outcome.analysis_run_id)
    assert failed.status == RunStatus.FAILED
    assert "No cell model is installed" in failed.error
    assert not CellPrediction.objects.exists()

    settings.MODELS_ONNX_DIR = real_models
    pipeline.reset_runner()
    with django_capture_on_commit_callbacks(execute=True):
        rerun = analysis_request(actor=technician, specimen=specimen)
    rerun.refresh_from_db()
    assert rerun.status == RunStatus.SUCCEEDED
    assert CellPrediction.objects.count() == 2


def test_a_message_for_an_unknown_run_is_dropped(db, caplog, monkeypatch):
    def must_not_run(run):  # type: ignore[no-untyped-def]
        raise AssertionError(f"the pipeline ran for {run!r}")

    monkeypatch.setattr("apps.analysis.services._execute", must_not_run)
    with caplog.at_level("ERROR", logger="apps.analysis.services"):
        assert analysis_run_execute(run_id=987654) is None
    assert [r.getMessage() for r in caplog.records] == [
        "analysis run 987654 does not exist; message dropped"]
    assert not AnalysisRun.objects.exists()
    assert not CellPrediction.objects.exists()
