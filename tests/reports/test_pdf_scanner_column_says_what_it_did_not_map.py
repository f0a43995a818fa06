"""The PDF's scanner column never prints a zero for 'unknown': an export whose class folders name
no class prints '—' and says how many cells were not mapped, in English and in French."""

from __future__ import annotations

from apps.smears.models import Cell
from tests.reports.pdfs import pdf_bytes, pdf_text


def test_unmapped_scanner_folders_print_a_dash_and_a_note(make_specimen, sign, rendered,
                                                           tmp_path):
    specimen = make_specimen()
    Cell.objects.filter(specimen=specimen).update(analyser_class="unclassified")
    signed = sign(specimen)
    assert signed.content["differential"]["scanner"]["per_100_wbc"] == {}
    english = " ".join(pdf_text(pdf_bytes(rendered(signed, "en")), tmp_path).split())
    # The analyser's column: its NEUT% computed from the NEUT# the file gave (1.20 of 3.10).
    assert "Neutrophils 2 50.0 1.55 (0.47–2.63) 38.7 —" in english
    assert "Monocytes 1 25.0 0.78 (0.14–2.17) —" in english
    assert "NRBC (per 100 WBC) 0 0.0 0.00 —" in english
    assert "Scanner: 4 cells not mapped to a class (folders: unclassified); no " \
           "pre-classification to compare." in english
    french = " ".join(pdf_text(pdf_bytes(rendered(signed, "fr")), tmp_path).split())
    assert "Polynucléaires neutrophiles 2 50,0 1,55 (0,47–2,63) 38,7 —" in french
    assert "Pré-classement : 4 cellules non rattachées à une classe (dossiers : unclassified) ; " \
           "aucun pré-classement à comparer." in french
    # A class the scanner mapped no cell to is "—" too, never a zero.
    assert "Polynucléaires éosinophiles 0 0,0 0,00 (0,00–1,52) —" in french
