"""A signed report whose specimen has no collection time gives the patient's age at the
specimen's registration, and says so, where it read "Age at collection"."""

from __future__ import annotations

from apps.patients.models import Specimen
from tests.reports.pdfs import pdf_bytes, pdf_text


def test_the_report_gives_the_age_at_registration(make_specimen, sign, rendered, tmp_path):
    specimen = make_specimen()
    Specimen.objects.filter(pk=specimen.pk).update(collected_at=None)
    specimen.refresh_from_db()
    english = " ".join(pdf_text(pdf_bytes(rendered(sign(specimen), "en")), tmp_path).split())
    # The heading wraps in its narrow column: "Age at registration 75 years (no collection
    # time)" as the text is extracted.
    assert "Age at registration 75 years (no collection time)" in english
    assert "Age at collection" not in english
