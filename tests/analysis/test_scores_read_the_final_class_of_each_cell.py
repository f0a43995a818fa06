"""The scores read a cell's class from the one rule (`Cell.final_class`): the biologist's class
wins over the model's, both ways."""

from __future__ import annotations

from apps.analysis.models import CellPrediction, Score
from apps.analysis.scores import scores_compute
from apps.smears.models import Cell
from apps.workflow.services import cbc_import
from tests.analysis.test_scores import CBC, neutrophil_specimen  # noqa: F401 (fixture)


def test_a_cell_reviewed_as_neutrophil_counts_and_one_reviewed_away_does_not(
        technician, biologist, neutrophil_specimen):  # noqa: F811
    cbc_import(actor=technician, data=CBC)
    cells = list(Cell.objects.filter(specimen=neutrophil_specimen).order_by("pk"))
    # The model called the first a lymphocyte, the biologist a neutrophil; the second the
    # other way round. The stored reviewed_class is what Cell.final_class returns first.
    CellPrediction.objects.filter(cell=cells[0]).update(cell_class="lymphocyte")
    Cell.objects.filter(pk=cells[0].pk).update(reviewed_class="neutrophil")
    Cell.objects.filter(pk=cells[1].pk).update(reviewed_class="monocyte")
    assert Cell.objects.get(pk=cells[0].pk).final_class == "neutrophil"

    scores_compute(specimen_id=neutrophil_specimen.pk, trigger="test")
    vexas = Score.objects.get(specimen=neutrophil_specimen, name="vexas")
    assert vexas.inputs["n_neutrophils"] == 29
    evidence = {c["cell_id"] for c in vexas.evidence["cells"]}
    assert cells[0].pk in evidence and cells[1].pk not in evidence
