"""A CBC file that names no analyser (a generic CSV, an HL7 message without one) is printed as
such: "CSV" or "HL7" is the file's format, not an instrument a biologist could look up."""

from __future__ import annotations

from django.utils import translation

from apps.hemograms.wording import analyser_name


def test_a_format_is_not_shown_as_an_analyser():
    with translation.override("en"):
        assert analyser_name("CSV") == analyser_name("HL7") == analyser_name("") == \
            "analyser not named in the file"
        assert analyser_name("Sysmex XN-10^12345") == "Sysmex XN-10^12345"
    with translation.override("fr"):
        assert analyser_name("CSV") == "automate non précisé dans le fichier"


def test_the_specimen_page_says_so(client, biologist, technician, specimen):
    from apps.workflow.services import cbc_import

    cbc_import(actor=technician, specimen=specimen, data=(
        b"accession,measured_at,HGB (g/dL),WBC (10^9/L)\n"
        + specimen.accession.encode() + b",2026-11-20T08:00:00,13.1,6.2\n"))
    client.force_login(biologist)
    page = client.get(f"/specimens/{specimen.accession}/", HTTP_ACCEPT_LANGUAGE="en").content
    assert b"analyser not named in the file" in page
    assert b'<p class="hint">CSV' not in page
