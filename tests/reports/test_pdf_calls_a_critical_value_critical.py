"""A count past its critical limit (a value to call through) reads "Critical low" in the signed
report, as on the page (tests/core/test_measured_values_read_as_written.py); whether it is, is
signed with the value, and so are the decimals the analyser gave it."""

from __future__ import annotations


def test_the_report_calls_a_critical_value_critical(make_specimen, sign, settings):
    from apps.reports.document import report_html

    signature = sign(make_specimen())  # its CBC: NEUT# 1.20, past no critical limit
    content = signature.content
    content["cbc"]["values"].append({"code": "PLT", "value": 12.0, "raw_value": "12",
                                     "unit": "10^9/L", "ref_low": 150.0, "ref_high": 400.0,
                                     "flag": "L", "analyser_flag": "", "critical": True})
    signature.content = content
    english = report_html(signature=signature, language="en", media_root=settings.MEDIA_ROOT)
    assert english.count("Critical low") == 1
    assert all(v["critical"] is False for v in content["cbc"]["values"][:-1])
    # The analyser's decimals are signed with the value and printed: "3.10", "1.20".
    assert {v["code"]: v["decimals"] for v in content["cbc"]["values"][:-1]}["WBC"] == 2
    assert '<td class="num">3.10</td>' in english and '<td class="num">1.20</td>' in english
    french = report_html(signature=signature, language="fr", media_root=settings.MEDIA_ROOT)
    assert french.count("Critique (bas)") == 1
