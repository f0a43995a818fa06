"""Domain services do their own app's work and return; apps.workflow chains them: an import
queues the analysis, a CBC import and a reclassification queue the scores, a signature queues
its report. The same calls through the domain services start nothing."""

from __future__ import annotations

import io

import pytest

from apps.analysis.models import AnalysisRun
from apps.hemograms import services as cbc_services
from apps.reports.models import Report
from apps.review import services as review_services
from apps.smears import services as smear_services
from apps.smears.models import Cell
from apps.workflow import services as workflow
from tests.helpers import export_zip

PASSWORD = "correct-horse-battery"
CBC = (b"Sample No.,Date,Time,WBC(10^9/L),HGB(g/dL),MCV(fL),PLT(10^9/L)\r\n"
       b"S-0001,2026/11/20,08:00:00,3.0,9.5,106.0,90\r\n")


def _batch():  # type: ignore[no-untyped-def]
    return smear_services.smear_read_upload(
        name="e.zip", fileobj=io.BytesIO(export_zip({"neutrophil": 2})))


@pytest.fixture
def scores_queued(monkeypatch):  # type: ignore[no-untyped-def]
    queued: list[tuple[int, str]] = []
    monkeypatch.setattr("apps.analysis.tasks.scores_compute_task.delay",
                        lambda pk, trigger: queued.append((pk, trigger)))
    return queued


def test_smear_import_stores_cells_and_only_the_workflow_queues_the_analysis(
        technician, specimen, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)
    outcome = smear_services.smear_import(actor=technician, specimen=specimen, batch=_batch())
    assert outcome.images_imported == 2 and outcome.analysis_run_id is None
    assert not AnalysisRun.objects.filter(specimen=specimen).exists()

    Cell.objects.filter(specimen=specimen).delete()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        outcome = workflow.smear_import(actor=technician, specimen=specimen, batch=_batch())
    assert outcome.analysis_run_id == AnalysisRun.objects.get(specimen=specimen).pk
    assert len(callbacks) == 1  # the analysis task, after commit


def test_cbc_import_queues_the_scores_only_through_the_workflow(
        technician, specimen, scores_queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        outcome = cbc_services.cbc_import(actor=technician, data=CBC, specimen=specimen)
    assert outcome.results_created == 1 and scores_queued == []

    with django_capture_on_commit_callbacks(execute=True):
        workflow.cbc_import(actor=technician, data=CBC.replace(b"08:00:00", b"09:00:00"),
                            specimen=specimen)
    assert scores_queued == [(specimen.pk, "cbc")]


def test_reclassify_and_sign_chain_scores_and_report_only_through_the_workflow(
        biologist, analysed, scores_queued, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr("apps.reports.tasks.report_render_task.delay", lambda *_: None)
    cell = Cell.objects.filter(specimen=analysed).first()
    assert cell is not None
    with django_capture_on_commit_callbacks(execute=True):
        review_services.cells_reclassify(actor=biologist, specimen=analysed, cell_ids=[cell.pk],
                                         new_class="lymphocyte")
    assert scores_queued == []
    with django_capture_on_commit_callbacks(execute=True):
        workflow.cells_reclassify(actor=biologist, specimen=analysed, cell_ids=[cell.pk],
                                  new_class="monocyte")
    assert scores_queued == [(analysed.pk, "review")]

    signature = review_services.case_sign(actor=biologist, specimen=analysed, password=PASSWORD,
                                          meaning="validated", count_acknowledged=True)
    assert not Report.objects.filter(signature=signature).exists()
    review_services.case_amend(actor=biologist, specimen=analysed, reason="typo")
    signature = workflow.case_sign(actor=biologist, specimen=analysed, password=PASSWORD,
                                   meaning="validated", count_acknowledged=True, languages=("fr",))
    assert list(Report.objects.filter(signature=signature).values_list("language", flat=True)) \
        == ["fr"]
