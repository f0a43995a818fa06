"""The report prints the signed content: later changes to the record do not reach it."""

from __future__ import annotations

from apps.patients.models import Patient
from apps.smears.models import Cell
from tests.reports.pdfs import pdf_bytes, pdf_text


def test_changes_after_signing_do_not_reach_the_report(signed, rendered, tmp_path):
    Patient.objects.filter(pk=signed.specimen.patient_id).update(family_name="Durand",
                                                                given_name="Paul")
    Cell.objects.filter(specimen=signed.specimen).update(reviewed_class="basophil")
    flat = " ".join(pdf_text(pdf_bytes(rendered(signed, "en")), tmp_path).split())
    assert "DUPONT Jeanne" in flat and "DURAND" not in flat
    assert "Basophils 0 0.0" in flat and "Neutrophils 2 50.0" in flat
