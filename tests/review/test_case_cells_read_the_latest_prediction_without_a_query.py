"""The case page reads each cell's latest prediction four times (gallery, differential, sign
blockers): case_cells reads them with the cells once, and Cell.latest_prediction (so
Cell.final_class) takes the newest of those rows without another query."""

from __future__ import annotations

from apps.analysis.models import CellPrediction
from apps.review.selectors import case_cells
from apps.smears.models import Cell


def test_the_newest_prediction_of_each_cell_without_a_query(analysed,
                                                            django_assert_num_queries):
    cell = Cell.objects.filter(specimen=analysed).order_by("pk").first()
    older = CellPrediction.objects.get(cell=cell)
    CellPrediction.objects.create(
        cell=cell, run=older.run, model_name="fixture", model_version="1", model_sha256="1" * 64,
        cell_class="basophil", cell_class_prob=0.7, class_probs={"basophil": 0.7})
    with django_assert_num_queries(2):     # the cells, then their predictions
        cells = case_cells(analysed)
    with django_assert_num_queries(0):
        latest = {c.pk: c.latest_prediction() for c in cells}
        finals = {c.pk: c.final_class for c in cells}
    assert latest[cell.pk].model_version == "1" and finals[cell.pk] == "basophil"
    for other in Cell.objects.filter(specimen=analysed).exclude(pk=cell.pk):
        assert latest[other.pk].pk == other.latest_prediction().pk
        assert finals[other.pk] == other.analyser_class
