from __future__ import annotations

import io

import pytest
from django.utils import timezone

from apps.analysis.models import AnalysisRun, CellPrediction, RunStatus
from apps.smears.models import Cell
from apps.smears.services import smear_read_upload
from apps.workflow.services import smear_import
from tests.helpers import export_zip


@pytest.fixture
def analysed(technician, specimen, monkeypatch):  # type: ignore[no-untyped-def]
    """A specimen with 6 real cells and a finished run.

    The stored predictions are written here (the analyser's class with p=0.9) so that review
    rules can be tested without running the network; the network is tested in tests/analysis.
    """
    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)
    batch = smear_read_upload(name="e.zip", fileobj=io.BytesIO(
        export_zip({"neutrophil": 3, "lymphocyte": 2, "monocyte": 1})))
    smear_import(actor=technician, specimen=specimen, batch=batch)
    run = AnalysisRun.objects.get(specimen=specimen)
    AnalysisRun.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED,
                                                 finished_at=timezone.now(), progress_done=6)
    for cell in Cell.objects.filter(specimen=specimen):
        CellPrediction.objects.create(
            cell=cell, run=run, model_name="fixture", model_version="0", model_sha256="0" * 64,
            cell_class=cell.analyser_class, cell_class_prob=0.9,
            class_probs={cell.analyser_class: 0.9}, anomalies={"vacuole": 0.1, "barr_body": None})
    specimen.status = "analysed"
    specimen.save()
    return specimen
