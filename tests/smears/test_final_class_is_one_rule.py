"""A cell's final class is the biologist's class when reviewed, else the newest prediction's:
one rule (`Cell.final_class`), so the specimen page groups cells as the case page does."""

from __future__ import annotations

import io

import pytest
from django.utils import timezone

from apps.analysis.models import AnalysisRun, CellPrediction, RunStatus
from apps.smears.models import Cell
from apps.smears.selectors import cells_grouped
from apps.smears.services import smear_read_upload
from apps.workflow.services import smear_import
from tests.helpers import export_zip


@pytest.fixture
def cells(technician, specimen, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)
    batch = smear_read_upload(name="e.zip", fileobj=io.BytesIO(
        export_zip({"neutrophil": 2, "lymphocyte": 1})))
    smear_import(actor=technician, specimen=specimen, batch=batch)
    return list(Cell.objects.filter(specimen=specimen).order_by("pk"))


def _predict(cell: Cell, cell_class: str, version: str = "1") -> None:
    run = AnalysisRun.objects.filter(specimen=cell.specimen).first()
    AnalysisRun.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED,
                                                 finished_at=timezone.now())
    CellPrediction.objects.create(
        cell=cell, run=run, model_name="fixture", model_version=version,
        model_sha256="0" * 64, cell_class=cell_class, cell_class_prob=0.9,
        class_probs={cell_class: 0.9})


def test_reviewed_class_wins_over_the_prediction(cells):
    cell = cells[0]
    assert cell.final_class == ""                          # not analysed, not reviewed
    _predict(cell, "monocyte")
    assert Cell.objects.get(pk=cell.pk).final_class == "monocyte"
    _predict(cell, "basophil", version="2")                # the newest prediction counts
    assert Cell.objects.get(pk=cell.pk).final_class == "basophil"
    Cell.objects.filter(pk=cell.pk).update(reviewed_class="eosinophil")
    assert Cell.objects.get(pk=cell.pk).final_class == "eosinophil"


def test_the_specimen_page_groups_a_reclassified_cell_under_its_reviewed_class(
        cells, specimen, biologist, client):
    for cell in cells:
        _predict(cell, cell.analyser_class)
    reclassified = cells[0]                                # a neutrophil by the model
    Cell.objects.filter(pk=reclassified.pk).update(reviewed_class="eosinophil")

    groups = {name: [c.pk for c in members] for name, members in cells_grouped(specimen).items()}
    assert groups == {"eosinophil": [reclassified.pk], "neutrophil": [cells[1].pk],
                      "lymphocyte": [cells[2].pk]}
    client.force_login(biologist)
    page = client.get(f"/specimens/{specimen.accession}/").content.decode()
    assert "<strong>Eosinophil</strong>" in page  # its label, not the class key


def test_cells_not_yet_analysed_are_grouped_by_the_analysers_pre_classification(
        cells, specimen):
    groups = {name: len(members) for name, members in cells_grouped(specimen).items()}
    assert groups == {"neutrophil": 2, "lymphocyte": 1}


def test_an_analysed_image_left_for_the_biologist_is_unclassified_not_its_folders_class(
        cells, specimen, biologist, client):
    """A neutrophil folder's image the domain check flags waits unclassified on the specimen
    page as on the case page: neither the scanner's folder nor the network names it."""
    for cell in cells:
        _predict(cell, cell.analyser_class)
    CellPrediction.objects.filter(cell=cells[0]).update(view="found", in_domain=False)
    CellPrediction.objects.filter(cell=cells[1]).update(view="no_stain", cell_class="erythroblast")
    groups = {name: [c.pk for c in members] for name, members in cells_grouped(specimen).items()}
    assert groups == {"unclassified": [cells[0].pk, cells[1].pk], "lymphocyte": [cells[2].pk]}
    client.force_login(biologist)
    page = client.get(f"/specimens/{specimen.accession}/").content.decode()
    assert "Erythroblast" not in page  # the network's class for an image without a white cell
