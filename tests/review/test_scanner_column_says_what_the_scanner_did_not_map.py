"""The scanner's column never shows a zero that means 'unknown': with class folders that name no
class (another lab's export), it shows '—' and says how many cells were not mapped, in English
and in French; a class it did map keeps its figure."""

from __future__ import annotations

import re

import pytest

from apps.smears.models import Cell
from tests.helpers import case_page_html


def _page(client, user, specimen, language):  # type: ignore[no-untyped-def]
    return case_page_html(client, user, specimen, language)


def _scanner_column(page: str) -> dict[str, str]:
    body = page.split('id="diff-body"', 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r'<tr data-class="(\w+)">(.*?)</tr>', body)
    return {cls: re.findall(r"<td[^>]*>(.*?)</td>", cells)[3] for cls, cells in rows}


@pytest.fixture
def foreign(analysed):  # type: ignore[no-untyped-def]
    """The 6 cells of `analysed`, all in the foreign scanner's one folder 'unclassified'."""
    Cell.objects.filter(specimen=analysed).update(analyser_class="unclassified")
    return analysed


@pytest.mark.parametrize(("language", "note"), [
    ("en", "Scanner: 6 cells not mapped to a class (folders: unclassified); no "
           "pre-classification to compare."),
    ("fr", "Pré-classement\u00a0: 6 cellules non rattachées à une classe (dossiers\u00a0: "
     "unclassified)\u00a0; "
           "aucun pré-classement à comparer."),
])
def test_unmapped_folders_give_a_dash_and_a_note(client, biologist, foreign, language, note):
    page = _page(client, biologist, foreign, language)
    column = _scanner_column(page)
    assert column["neutrophil"] == "—" and column["monocyte"] == "—"
    assert column["erythroblast"] == "—"
    assert set(column.values()) == {"—"}, column
    assert note in page
    assert "100.0" not in page and "100,0" not in page


def test_a_partly_mapped_scanner_keeps_what_it_mapped(client, biologist, analysed):
    Cell.objects.filter(specimen=analysed, analyser_class="monocyte").update(
        analyser_class="Variants")
    Cell.objects.filter(specimen=analysed, analyser_class="neutrophil").update(
        analyser_class="Segmented neutrophils")
    column = _scanner_column(_page(client, biologist, analysed, "en"))
    # 3 neutrophils and 2 lymphocytes mapped; the monocyte's folder 'Variants' names no class.
    assert (column["neutrophil"], column["lymphocyte"]) == ("60.0", "40.0")
    assert column["monocyte"] == "—" and column["eosinophil"] == "—"
    page = _page(client, biologist, analysed, "en")
    assert "Scanner: 1 cell not mapped to a class (folders: Variants); its figures are per 100 " \
           "of the 5 white cells it mapped" in page


def test_a_fully_mapped_scanner_has_real_zeros_and_no_note(client, biologist, analysed):
    page = _page(client, biologist, analysed, "en")
    column = _scanner_column(page)
    assert column["eosinophil"] == "0.0" and column["neutrophil"] == "50.0"
    assert 'id="scanner-note"' not in page
