"""A measured value reads as the laboratory wrote it, on the page as in the signed report:
10.2 g/dL is "10.2" ("10,2" in French) and never float noise; the analyser's decimals are its
precision and are kept (MCHC "32.0", LYMPH# "1.30"), also through a unit converted by a power
of ten (98 g/L is 9.8 g/dL). A number with no written form to read is printed plainly."""

from __future__ import annotations

from types import SimpleNamespace

from django.template.loader import render_to_string
from django.utils import translation

from apps.core.numbers import plain_number


def test_plain_number_in_english_and_french():
    with translation.override("en"):
        assert [plain_number(v) for v in (10.2, 108.1, 50.0, 0.1 + 0.2, 112, None)] == [
            "10.2", "108.1", "50", "0.3", "112", ""]
    with translation.override("fr"):
        assert plain_number(10.2) == "10,2" and plain_number(3.9) == "3,9"
    assert plain_number("n/a") == "n/a" and plain_number(True) == ""


def _table(language: str, **fields: object) -> str:
    """The CBC table of one value (HGB 10.2 g/dL, flagged low, unless ``fields`` say)."""
    value = SimpleNamespace(**{
        "code": "HGB", "value": 10.2, "raw_value": "10.2", "raw_unit": "", "unit": "g/dL",
        "ref_low": 13.0, "ref_high": 17.0, "flag": "L", "get_flag_display": "Low",
        "analyser_flag": "", **fields})
    cbc = SimpleNamespace(analyser_messages=[], values=SimpleNamespace(all=lambda: [value]))
    with translation.override(language):
        return render_to_string("hemograms/cbc_table.html", {"cbc": cbc})


def test_the_cbc_table_prints_no_padding_zeros():
    html = _table("en")
    assert '<td class="num">10.2</td>' in html and "10.20" not in html
    assert "13–17" in html


def test_a_value_past_its_critical_limit_reads_critical_on_the_page():
    html = _table("fr", value=6.5, raw_value="6.5", ref_low=12.0, ref_high=16.0)
    assert '<strong class="flag critical">Critique (bas)</strong>' in html
    html = _table("fr", value=9.5, raw_value="9.5", ref_low=12.0, ref_high=16.0)
    assert "Critique" not in html and '<strong class="flag">Low</strong>' in html


def test_the_analysers_decimals_are_kept_on_the_page():
    from apps.core.numbers import measured_value
    from apps.hemograms.wording import reported_decimals

    rows = [("MCHC", 32.0, "32.0", "g/dL", "32.0", "32,0"),
            ("LYMPH#", 1.3, "1.30", "10^9/L", "1.30", "1,30"),
            ("HGB", 9.8, "98", "g/L", "9.8", "9,8"),
            ("RET#", 52.3, "0.0523", "10^6/uL", "52.3", "52,3"),
            ("WBC", 3.1, "3100", "/uL", "3.10", "3,10"),
            ("HGB", 9.99, "6.2", "mmol/L", "9.99", "9,99")]  # not a power of ten: plain
    for code, value, raw, unit, english, french in rows:
        decimals = reported_decimals(code, raw, unit)
        with translation.override("en"):
            assert measured_value(value, decimals) == english, code
        with translation.override("fr"):
            assert measured_value(value, decimals) == french, code
    html = _table("fr", code="MCHC", value=32.0, raw_value="32.0", raw_unit="g/dL",
                  ref_low=32.0, ref_high=36.0, flag="", get_flag_display="")
    assert '<td class="num">32,0</td>' in html
