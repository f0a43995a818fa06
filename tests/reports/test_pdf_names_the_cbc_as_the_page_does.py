"""The report names the blood count as the case page does ("Numération formule sanguine (NFS)"
in French), not with a second name for the same table."""

from __future__ import annotations


def test_the_cbc_heading_is_the_pages(make_specimen, sign, settings):
    from apps.reports.document import report_html

    signature = sign(make_specimen())
    french = report_html(signature=signature, language="fr", media_root=settings.MEDIA_ROOT)
    assert "<h2>Numération formule sanguine (NFS)</h2>" in french
    assert "Hémogramme (NFS)" not in french
    english = report_html(signature=signature, language="en", media_root=settings.MEDIA_ROOT)
    assert "<h2>Hemogram (CBC)</h2>" in english


def test_a_file_that_names_no_analyser_is_not_given_its_format_as_one(make_specimen, sign,
                                                                       settings):
    from apps.reports.document import report_html

    signature = sign(make_specimen())
    signature.content["cbc"]["analyser"] = "CSV"  # what the generic CSV reader records
    english = report_html(signature=signature, language="en", media_root=settings.MEDIA_ROOT)
    assert "<td>analyser not named in the file</td>" in english
    assert "<td>CSV</td>" not in english
