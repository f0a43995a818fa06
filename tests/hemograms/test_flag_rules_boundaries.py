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
    assert RULES_VERSION == "cbc-flags-5"
