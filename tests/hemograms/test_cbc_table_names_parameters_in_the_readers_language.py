"""The CBC table names each parameter in the reader's language: its name beside the analyser's
code, and in the case page's narrow panel the short form a French laboratory writes (GB, GR,
VGM, CCMH, IDR, VPM), the code kept in the cell's title."""

from __future__ import annotations

from types import SimpleNamespace

from django.template.loader import render_to_string
from django.utils import translation


def _table(codes: list[str], language: str) -> str:
    values = [SimpleNamespace(code=c, value=1.0, raw_value="1.0", raw_unit="", unit="",
                              ref_low=None, ref_high=None, flag="", get_flag_display="",
                              analyser_flag="") for c in codes]
    cbc = SimpleNamespace(analyser_messages=[], values=SimpleNamespace(all=lambda: values))
    with translation.override(language):
        return render_to_string("hemograms/cbc_table.html", {"cbc": cbc})


def test_french_short_names_with_the_code_in_the_title():
    html = _table(["WBC", "RBC", "MCV", "MCHC", "RDW-CV", "MPV", "NE-WX"], "fr")
    for short in ("GB", "GR", "VGM", "CCMH", "IDR-CV", "VPM"):
        assert f'<span class="cbc-short nobreak">{short}</span>' in html
    assert "(WBC)" in html and '<span class="code nobreak">WBC</span>' in html
    # A research parameter has no short form: its code alone.
    assert '<span class="cbc-short nobreak">NE-WX</span>' not in html


def test_the_french_differential_rows_read_as_a_french_laboratory_writes_them():
    """Not "PNN" beside bare "LYMPH#", "EO#": every white-cell row has its French short
    form."""
    html = _table(["NEUT#", "NEUT%", "LYMPH#", "LYMPH%", "MONO#", "EO#", "EO%", "BASO#",
                   "IG#", "IG%"], "fr")
    for short in ("PNN", "PNN\u00a0%", "Lympho.", "Lympho.\u00a0%", "Mono.", "PNE",
                  "PNE\u00a0%", "PNB", "IG", "IG\u00a0%"):
        assert f'<span class="cbc-short nobreak">{short}</span>' in html, short


def test_english_keeps_the_codes_it_reads():
    html = _table(["WBC", "MCV", "LYMPH#", "EO#"], "en")
    assert 'class="cbc-short' not in html
