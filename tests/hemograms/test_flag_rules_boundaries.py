"""Each hemogram rule on its boundary: at the limit it does not fire, just past it it does."""

from __future__ import annotations

import pytest

from apps.hemograms.flags import RULES_VERSION, Value, cbc_findings


def _names(**values: float) -> set[str]:
    ranges = {"HGB": (13.0, 17.0), "PLT": (150.0, 400.0), "WBC": (4.0, 10.0),
              "MCV": (80.0, 100.0), "NEUT#": (1.8, 7.5)}
    return {f.name for f in cbc_findings([
        Value(code, v, *ranges[code]) for code, v in values.items()])}


@pytest.mark.parametrize(("code", "at", "past", "flag"), [
    ("HGB", 13.0, 12.9, "anaemia"),
    ("MCV", 100.0, 100.1, "macrocytosis"),
    ("NEUT#", 1.5, 1.49, "neutropenia"),
    ("PLT", 150.0, 149.0, "thrombocytopenia"),
    ("PLT", 400.0, 401.0, "thrombocytosis"),
    ("WBC", 10.0, 10.1, "leukocytosis"),
    ("WBC", 4.0, 3.9, "leukopenia"),
])
def test_rule_fires_only_past_its_limit(code, at, past, flag):
    assert flag not in _names(**{code: at})
    assert flag in _names(**{code: past})


def test_missing_values_fire_nothing_and_the_rule_says_what_fired():
    assert cbc_findings([Value("HGB", None, 13.0, 17.0)]) == []
    finding = cbc_findings([Value("MCV", 112.0, 80.0, 100.0)])[0]
    assert finding.rule == "MCV 112 fL > 100"
    # The same finding as a code with its figures, for pages to word in the reader's language.
    assert finding.reason.as_dict() == {"code": "cbc_limit", "params": {
        "analyte": "MCV", "value": 112.0, "unit": "fL", "op": ">", "limit": 100.0}}
    assert RULES_VERSION == "cbc-flags-6"


def test_an_anc_the_file_left_out_is_computed_from_its_share_and_the_wbc():
    """A generic CSV with NEUT% and the WBC but no NEUT#: the neutropenia, critical here, is
    flagged on the ANC the analyser would have computed, and the reason says it was computed.
    A NEUT# given wins; a share without the WBC computes nothing."""
    from django.utils import translation

    from apps.hemograms.flags import computed_count
    from apps.patients.flag_text import flag_reason

    values = [Value("WBC", 1.6, 4.0, 10.0), Value("NEUT%", 25.0, 40.0, 75.0)]
    anc = next(f for f in cbc_findings(values) if f.name == "neutropenia")
    assert anc.rule == "NEUT# 0.40 x10^9/L < 1.5 (critical < 0.5) (computed: NEUT% x WBC)"
    assert anc.weight == 4
    assert anc.reason.as_dict()["params"]["computed_from"] == "NEUT%"

    class Flag:
        reason = anc.reason.as_dict()
        rule = anc.rule

    with translation.override("en"):
        assert flag_reason(Flag()) == ("critical value: NEUT# 0.40 ×10⁹/L < 0.5 "
                                       "(computed: NEUT% × WBC)")
    with translation.override("fr"):
        assert flag_reason(Flag()).endswith("(calculé\u00a0: NEUT% × leucocytes)")
    given = cbc_findings([*values, Value("NEUT#", 1.2, 1.8, 7.5)])
    assert next(f for f in given if f.name == "neutropenia").rule == "NEUT# 1.2 x10^9/L < 1.5"
    assert computed_count("NEUT#", {"NEUT%": 25.0}) is None
    assert computed_count("MONO#", {"MONO%": 7.5, "WBC": 3.4}) == 0.26
    assert computed_count("HGB", {"WBC": 3.4}) is None
