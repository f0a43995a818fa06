"""The signed report flags the erythroblasts counted in an adult's blood "Abnormal", as the case
page and the result message do (tests/review/test_erythroblasts_read_abnormal_past_the_newborn_
age.py)."""

from __future__ import annotations

from apps.smears.models import Cell
from tests.reports.pdfs import pdf_bytes, pdf_text


def test_the_signed_report_flags_them(make_specimen, sign, rendered, tmp_path):
    specimen = make_specimen()           # a woman born in 1951
    cell = Cell.objects.filter(specimen=specimen, analyser_class="eosinophil").first()
    Cell.objects.filter(pk=cell.pk).update(reviewed_class="erythroblast")
    signed = sign(specimen)
    assert signed.content["differential"]["nrbc_abnormal"] is True
    english = " ".join(pdf_text(pdf_bytes(rendered(signed, "en")), tmp_path).split())
    assert "NRBC (per 100 WBC) 1 33.3 1.03 Abnormal" in english
