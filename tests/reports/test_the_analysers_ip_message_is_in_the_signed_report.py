"""The analyser's own suspicion ("Blasts?" as a Sysmex IP message) is part of what is signed:
printed above the blood count in the report, in both languages, and sent as a note in the HL7
result, so a reader of either does not see a released smear without the flag the case page
showed."""

from __future__ import annotations

from apps.hemograms.models import CBCResult
from apps.reports.hl7_result import limits
from tests.reports.pdfs import pdf_bytes, pdf_text


def test_the_report_and_the_result_message_carry_the_ip_message(make_specimen, sign, rendered,
                                                                 tmp_path):
    specimen = make_specimen()
    CBCResult.objects.filter(specimen=specimen).update(
        analyser_messages=[{"kind": "ip", "text": "Blasts/Abn Lympho?"}])
    signature = sign(specimen)
    assert signature.content["cbc"]["analyser_messages"] == [
        {"kind": "ip", "text": "Blasts/Abn Lympho?"}]
    en = " ".join(pdf_text(pdf_bytes(rendered(signature, "en")), tmp_path).split())
    assert "Analyser flag (IP message): Blasts/Abn Lympho?" in en
    fr = " ".join(pdf_text(pdf_bytes(rendered(signature, "fr")), tmp_path).split())
    assert "Alarme de l'automate (message IP) : Blasts/Abn Lympho?" in fr
    assert "Analyser flag (IP message) on the blood count: Blasts/Abn Lympho?" in limits(
        signature.content)


def test_the_french_notes_name_the_message_in_french(make_specimen, sign):
    from django.utils import translation

    from apps.hemograms.wording import ip_message

    specimen = make_specimen()
    CBCResult.objects.filter(specimen=specimen).update(
        analyser_messages=[{"kind": "ip", "text": "Blasts/Abn Lympho?"}])
    signature = sign(specimen)
    with translation.override("fr"):
        notes = limits(signature.content, gettext=translation.gettext, ip_text=ip_message)
    # As the analyser wrote it, then named in the notes' language, as the French report does.
    assert ("Alarme de l'automate (message IP) sur l'hémogramme\u00a0: Blasts/Abn Lympho? "
            "(blastes/lymphocytes anormaux\u00a0?)") in notes
