"""Every page of the signed report names the patient (name and birth date), not only the first:
a page read apart from the others in the patient file is still that patient's."""

from __future__ import annotations

import subprocess

from tests.reports.pdfs import pdf_bytes


def _pages(data: bytes, tmp_path) -> list[str]:  # type: ignore[no-untyped-def]
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(data)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    return [" ".join(p.split()) for p in text.split("\f") if p.strip()]


def test_each_page_footer_names_the_patient(make_specimen, sign, rendered, tmp_path):
    signed = sign(make_specimen())
    english = _pages(pdf_bytes(rendered(signed, "en")), tmp_path)
    assert len(english) > 1
    for n, page in enumerate(english, 1):
        assert "DUPONT Jeanne (born 4 March 1951) · " in page, n
    french = _pages(pdf_bytes(rendered(signed, "fr")), tmp_path)
    for n, page in enumerate(french, 1):
        assert "DUPONT Jeanne (née le 4 mars 1951) · " in page, n  # agreed with her sex


def test_born_agrees_with_the_sex_in_french():
    from django.utils import translation

    from apps.reports.document import _born

    with translation.override("fr"):
        assert [_born(sex, "3 mars 1952") for sex in ("M", "F", "U")] == [
            "né le 3 mars 1952", "née le 3 mars 1952", "né(e) le 3 mars 1952"]
    with translation.override("en"):
        assert _born("F", "3 March 1952") == "born 3 March 1952"
