"""The report is printed in the language asked for, whatever the active language."""

from __future__ import annotations

from django.utils import translation

from tests.reports.pdfs import pdf_bytes, pdf_text


def test_french_and_english_reports_differ_as_expected(signed, rendered, tmp_path):
    with translation.override("en"):
        fr = " ".join(pdf_text(pdf_bytes(rendered(signed, "fr")), tmp_path).split())
    with translation.override("fr"):
        en = " ".join(pdf_text(pdf_bytes(rendered(signed, "en")), tmp_path).split())

    assert "Compte rendu de relecture du frottis sanguin" in fr
    assert "Blood smear review report" in en and "Blood smear review report" not in fr
    assert "relus et validés par Claire Martin, biologiste," in fr
    assert "reviewed and validated by the biologist Claire Martin" in en
    assert "Sorties que ce modèle ne donne pour aucune cellule" in fr and "does not give" not in fr
    assert "Outputs this model does not give" in en and "ne donne pas" not in en
    assert "Aucun score n'a été calculé pour ce prélèvement." in fr
    # Numbers and dates follow the language too.
    assert "9,8" in fr.split() and "104,5" in fr.split() and "9.8" in en.split()
    assert "4 mars 1951" in fr and "4 March 1951" in en  # day, month in words, year
    assert "Polynucléaire neutrophile" in fr and "Neutrophil" in en
    # The signed data itself is the same.
    assert signed.content_sha256 in "".join(fr.split())
    assert signed.content_sha256 in "".join(en.split())
