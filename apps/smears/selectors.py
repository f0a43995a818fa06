from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from apps.patients.models import Specimen

from .models import Cell


def cells_grouped(specimen: Specimen) -> OrderedDict[str, list[Cell]]:
    """The specimen's cells by their final class (`Cell.final_class`); a cell neither analysed
    nor reviewed by the class its scanner folder names (`Cell.scanner_class`); else (an image
    the analysis left for the biologist: no white cell, outside the validated domain)
    'unclassified'. Largest first; keys are class codes."""
    groups: dict[str, list[Cell]] = {}
    cells = Cell.objects.filter(specimen=specimen).prefetch_related("predictions")
    for cell in cells:
        analysed = cell.latest_prediction() is not None
        key = cell.final_class or (not analysed and cell.scanner_class) or "unclassified"
        groups.setdefault(key, []).append(cell)
    return OrderedDict(sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])))


_IN_CHUNK = 500  # well under SQLite's bound-parameter limit


def cells_stored_elsewhere(*, specimen: Specimen,
                           sha256s: Sequence[str]) -> dict[str, list[str]]:
    """For each of these image hashes already stored for another specimen, the accessions of
    those specimens (sorted): identical images on two specimens suggest a sample mix-up."""
    found: dict[str, set[str]] = {}
    unique = list(dict.fromkeys(sha256s))
    for start in range(0, len(unique), _IN_CHUNK):
        rows = (Cell.objects.filter(sha256__in=unique[start:start + _IN_CHUNK])
                .exclude(specimen=specimen).values_list("sha256", "specimen__accession"))
        for sha256, accession in rows:
            found.setdefault(sha256, set()).add(accession)
    return {sha256: sorted(accessions) for sha256, accessions in found.items()}
