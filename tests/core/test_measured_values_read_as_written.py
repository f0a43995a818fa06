"""A measured value reads as the laboratory wrote it, on the page as in the signed report:
10.2 g/dL is "10.2" ("10,2" in French), never "10.20"; 50.0 is "50"; no float noise."""

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


def test_the_cbc_table_prints_no_padding_zeros():
    value = SimpleNamespace(code="HGB", value=10.2, raw_value="10.2", unit="g/dL", ref_low=13.0,
                            ref_high=17.0, flag="L", get_flag_display="Low", analyser_flag="")
    cbc = SimpleNamespace(analyser_messages=[], values=SimpleNamespace(all=[value]))
    with translation.override("en"):
        html = render_to_string("hemograms/cbc_table.html", {"cbc": cbc})
    assert '<td class="num">10.2</td>' in html and "10.20" not in html
    assert "13–17" in html
