"""A count the CBC file left out is printed in the signed report's CBC table after its share,
marked as computed, in English and in French (the page's rows: hemograms.selectors.cbc_rows)."""

from __future__ import annotations

from tests.reports.conftest import ACCESSION

SHARES_ONLY = (
    "accession,measured_at,WBC(10^9/L),NEUT%(%),MONO%(%)\r\n"
    f"{ACCESSION},2026-11-20 10:00,1.60,25.0,15.0\r\n").encode()


def test_the_report_marks_a_computed_count(make_specimen, sign, technician, settings):
    from apps.reports.document import report_html
    from apps.workflow.services import cbc_import

    specimen = make_specimen()
    outcome = cbc_import(actor=technician, data=SHARES_ONLY, specimen=specimen)
    assert outcome.results_created == 1, outcome.errors
    signature = sign(specimen)
    assert [c["code"] for c in signature.content["cbc"]["computed"]] == ["NEUT#", "MONO#"]
    english = report_html(signature=signature, language="en", media_root=settings.MEDIA_ROOT)
    assert english.count('<tr class="flagged computed">') == 1  # NEUT# 0.40, below 1.8
    assert english.count("the file gave no count") == 2
    neut = english.index("computed: NEUT% × WBC (the file gave no count)")
    assert english.index("NEUT%") < neut < english.index("computed: MONO% × WBC")
    assert '<td class="num">0.40</td>' in english and "Critical low" in english
    french = report_html(signature=signature, language="fr", media_root=settings.MEDIA_ROOT)
    assert "calculé\u00a0: NEUT% × leucocytes (le fichier ne donnait pas le nombre)" in french
