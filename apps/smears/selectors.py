from __future__ import annotations

from collections import OrderedDict

from apps.patients.models import Specimen

from .models import Cell


def cells_grouped(specimen: Specimen) -> OrderedDict[str, list[Cell]]:
    """The specimen's cells by class: the model's prediction when there is one, else the
    analyser's pre-classification, else 'unclassified'. Largest groups first."""
    groups: dict[str, list[Cell]] = {}
    cells = Cell.objects.filter(specimen=specimen).prefetch_related("predictions")
    for cell in cells:
        prediction = cell.latest_prediction()
        key = prediction.cell_class if prediction else (cell.analyser_class or "unclassified")
        groups.setdefault(key, []).append(cell)
    return OrderedDict(sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])))
