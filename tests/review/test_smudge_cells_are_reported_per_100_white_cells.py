"""Smudge cells (Gumprecht shadows) are a class the biologist gives (key U): broken cells, out of
the white cells' denominator, reported per 100 of them on the page, in the report and in the
HL7 result (LOINC 34992-8), as a CLL smear is read. Before, only a scanner folder knew them."""

from __future__ import annotations

from django.utils import translation

from apps.review.display import differential_table
from apps.review.selectors import differential
from apps.review.services import cells_reclassify
from apps.smears.models import Cell
from tests.helpers import case_page_html
from tests.reports.hl7_messages import result_message


def test_smudge_cells_are_a_biologists_class_reported_per_100_white_cells(client, biologist,
                                                                         analysed):
    """Smudge cells (Gumprecht shadows, key U) are broken cells: out of the white cells'
    denominator, reported per 100 of them (LOINC 34992-8), as in a CLL smear."""
    from apps.reports.hl7_result import SMUDGE_CELLS

    lymphocyte = Cell.objects.filter(specimen=analysed, analyser_class="lymphocyte").first()
    cells_reclassify(actor=biologist, specimen=analysed, cell_ids=[lymphocyte.pk],
                     new_class="smudge")
    diff = differential(analysed)
    assert diff["excluded"] == {"smudge": 1}
    with translation.override("en"):
        rows = {r["class"]: r for r in differential_table(diff)["rows"]}
    assert rows["smudge"]["label"] == "Smudge cells (not white cells)"
    assert rows["smudge"]["percent"] == f"{100 / diff['wbc_counted']:.1f}"
    assert "<kbd>U</kbd> Smudge cell" in case_page_html(client, biologist, analysed, "en")
    msg = result_message(diff)
    values = {str(o[3][0][0]): str(o[5]) for o in msg.segments("OBX")}
    assert values[SMUDGE_CELLS[0]] == f"{100 / diff['wbc_counted']:.1f}"
