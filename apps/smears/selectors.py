from __future__ import annotations

from collections import OrderedDict

from apps.patients.models import Specimen

from .models import Cell


def cells_grouped(specimen: Specimen) -> OrderedDict[str, list[Cell]]:
    """The specimen's cells by their final class (`Cell.final_class`); a cell neither analysed
    nor reviewed by the analyser's pre-classification, else 'unclassified'. Largest first."""
    groups: dict[str, list[Cell]] = {}
    cells = Cell.objects.filter(specimen=specimen).prefetch_related("predictions")
    for cell in cells:
        key = cell.final_class or cell.analyser_class or "unclassified"
        groups.setdefault(key, []).append(cell)
    return OrderedDict(sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])))
