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


@pytest.fixture
def outside(analysed):  # type: ignore[no-untyped-def]
    """Of the 6 cells: the first with no white cell found, the next 3 unlike the validated
    images, the last 2 inside the domain."""
    AnalysisRun.objects.filter(specimen=analysed).update(domain_max_outside=0.2)
    rows = list(CellPrediction.objects.filter(cell__specimen=analysed).order_by("cell_id"))
    for i, p in enumerate(rows):
        p.view = "no_stain" if i == 0 else "found"
        p.in_domain = i >= 4
        p.domain_score = 0.5 if p.in_domain else 3.0
        p.save()
    return analysed
