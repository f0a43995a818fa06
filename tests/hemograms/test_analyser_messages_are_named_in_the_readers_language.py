"""The analyser's IP messages are shown as it wrote them, and in a French page or report followed
by their French name: 'Left Shift? (déviation à gauche ?)'. The text it sent stays first (the
lab's procedures and the analyser's manual name it so); a message not listed is shown as it
came; an English reader sees the message alone."""

from __future__ import annotations

from types import SimpleNamespace

from django.template.loader import render_to_string
from django.utils import translation

from apps.hemograms.wording import ip_message


def test_known_messages_are_named_in_french_and_left_alone_in_english():
    with translation.override("fr"):
        assert ip_message("Left Shift?") == "Left Shift? (déviation à gauche\u00a0?)"
        assert ip_message("IG Present") == "IG Present (présence de granuleux immatures)"
        assert ip_message("Blasts/Abn Lympho?") == \
            "Blasts/Abn Lympho? (blastes/lymphocytes anormaux\u00a0?)"
        assert ip_message("Some Local Message") == "Some Local Message"
    with translation.override("en"):
        assert ip_message("Left Shift?") == "Left Shift?"


def test_the_cbc_table_shows_both():
    cbc = SimpleNamespace(analyser_messages=[{"kind": "ip", "text": "PLT Clumps?"},
                                             {"kind": "comment", "text": "Neutrophilia"}],
                          values=SimpleNamespace(all=lambda: []))
    with translation.override("fr"):
        html = render_to_string("hemograms/cbc_table.html", {"cbc": cbc})
    assert "PLT Clumps? (agrégats plaquettaires\u00a0?)" in html
    # A free comment is the analyser's or the operator's text, not an IP message: as it came.
    assert "Neutrophilia (" not in html
