"""A blast the biologist named was left out of the signed report's 12 key cells when more than
12 cells were reclassified and the model had been sure of it (the least confident came
first), although the conclusion rested on it. A class abnormal whenever counted (a blast) and a
cell the biologist named ("other") now lead the key cells."""

from __future__ import annotations

from apps.analysis.models import CellPrediction
from apps.review.selectors import KEY_CELLS, report_content
from apps.smears.models import Cell


def test_a_named_blast_and_plasma_cell_lead_the_key_cells(make_specimen):
    specimen = make_specimen(classes={"lymphocyte": 14, "neutrophil": 2})
    blast, plasma = Cell.objects.filter(specimen=specimen, analyser_class="neutrophil")
    for cell, cls, name in ((blast, "blast", ""), (plasma, "other", "plasma cell")):
        Cell.objects.filter(pk=cell.pk).update(reviewed_class=cls, reviewed_name=name)
        # The model was sure of its neutrophil: the least typical cells no longer come first.
        CellPrediction.objects.filter(cell=cell).update(cell_class_prob=0.99)
    key = report_content(specimen)["key_cells"]
    assert len(key) == KEY_CELLS < Cell.objects.filter(specimen=specimen).count()
    assert {c["cell_id"] for c in key[:2]} == {blast.pk, plasma.pk}
    assert {c["class"] for c in key[:2]} == {"blast", "other"}
