"""The report prints the latest blood count and lists the specimen's other one (a count
attached after an amendment never silently replaces the earlier one), in both languages."""

from __future__ import annotations

from apps.workflow.services import cbc_import
from tests.reports.conftest import ACCESSION
from tests.reports.pdfs import pdf_bytes, pdf_text

LATER = ("Sample No.,Patient ID,Date,Time,WBC(10^9/L),HGB(g/dL),PLT(10^9/L)\r\n"
         f"{ACCESSION},MRN-77,2026/11/20,15:40:00,3.2,9.1,91\r\n").encode()


def test_the_earlier_count_is_listed(make_specimen, sign, rendered, technician, tmp_path):
    specimen = make_specimen()
    assert cbc_import(actor=technician, data=LATER, specimen=specimen).results_created == 1
    signature = sign(specimen)
    en = " ".join(pdf_text(pdf_bytes(rendered(signature, "en")), tmp_path).split())
    assert "Other blood counts of this specimen (the table shows the latest):" in en
    # The 09:15 count, under the 15:40: short names, the analyser's decimals (WBC 3.10).
    assert "WBC 3.10 ×10⁹/L" in en and "Hb 9.8 g/dL" in en and "Platelets 90 ×10⁹/L" in en
    fr = " ".join(pdf_text(pdf_bytes(rendered(signature, "fr")), tmp_path).split())
    assert "Autres hémogrammes de ce prélèvement (le tableau montre le plus récent) : mesuré " \
           "le 20 novembre 2026" in fr
    assert "GB 3,10 ×10⁹/L" in fr and "Hb 9,8 g/dL" in fr and "PNN 1,20 ×10⁹/L" in fr
