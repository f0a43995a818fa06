"""The unit table: every accepted spelling converts exactly, boundary values survive, and a
unit that is not listed is refused instead of guessed."""

from __future__ import annotations

import pytest

from apps.hemograms.parsers import parse_cbc
from apps.hemograms.parsers.units import PARAMETERS, conversion_factor, normalise_unit


def _hl7_value(code_loinc: str, value: str, unit: str):  # type: ignore[no-untyped-def]
    data = (
        "MSH|^~\\&|XN|LAB|LIS|HOSP|20240305120000||ORU^R01|C1|P|2.5\r"
        "OBR|1||S1||||20240305115500\r"
        f"OBX|1|NM|{code_loinc}||{value}|{unit}||||F\r"
    ).encode()
    return parse_cbc(data)


@pytest.mark.parametrize(
    ("loinc", "value", "unit", "expected", "canonical"),
    [
        # counts in 10^9/L
        ("6690-2", "6.5", "10*9/L", 6.5, "10^9/L"),
        ("6690-2", "6.5", "10*3/uL", 6.5, "10^9/L"),
        ("6690-2", "6.5", "10^3/uL", 6.5, "10^9/L"),  # unescaped '^' put back together
        ("6690-2", "6.5", "10^3/µL", 6.5, "10^9/L"),
        ("6690-2", "6.5", "10^3/μL", 6.5, "10^9/L"),  # Greek mu
        ("6690-2", "6.5", "x10^3/uL", 6.5, "10^9/L"),
        ("6690-2", "6.5", "×10E9/L", 6.5, "10^9/L"),
        ("6690-2", "6.5", "G/L", 6.5, "10^9/L"),
        ("6690-2", "6.5", "/nL", 6.5, "10^9/L"),
        ("6690-2", "6.5", "K/uL", 6.5, "10^9/L"),
        ("6690-2", "6.5", "10^3/mm³", 6.5, "10^9/L"),
        ("6690-2", "65", "10^2/uL", 6.5, "10^9/L"),
        ("6690-2", "6500", "/uL", 6.5, "10^9/L"),
        ("6690-2", "6500", "cells/uL", 6.5, "10^9/L"),
        ("6690-2", "6500", "{cells}/uL", 6.5, "10^9/L"),
        ("6690-2", "6500", "/mm3", 6.5, "10^9/L"),
        ("777-3", "25.1", "10^4/uL", 251.0, "10^9/L"),
        ("60474-4", "0.0523", "10*6/uL", 52.3, "10^9/L"),
        ("60474-4", "0.0523", "10^12/L", 52.3, "10^9/L"),
        ("60474-4", "0.0523", "T/L", 52.3, "10^9/L"),
        # counts in 10^12/L
        ("789-8", "4.51", "10*12/L", 4.51, "10^12/L"),
        ("789-8", "4.51", "10*6/uL", 4.51, "10^12/L"),
        ("789-8", "4.51", "T/L", 4.51, "10^12/L"),
        ("789-8", "4.51", "M/uL", 4.51, "10^12/L"),
        ("789-8", "4.51", "/pL", 4.51, "10^12/L"),
        ("789-8", "451", "10^4/uL", 4.51, "10^12/L"),
        # haemoglobin and MCHC
        ("718-7", "13.5", "g/dL", 13.5, "g/dL"),
        ("718-7", "135", "g/L", 13.5, "g/dL"),
        ("718-7", "8.4", "mmol/L", 13.5324, "g/dL"),  # x 1.611
        ("786-4", "332", "g/L", 33.2, "g/dL"),
        ("786-4", "20.6", "mmol/L", 33.1866, "g/dL"),
        # haematocrit, volumes, masses, percentages
        ("4544-3", "0.412", "L/L", 41.2, "%"),
        ("4544-3", "41.2", "%", 41.2, "%"),
        ("787-2", "91.4", "fL", 91.4, "fL"),
        ("787-2", "91.4", "um3", 91.4, "fL"),
        ("787-2", "91.4", "µm³", 91.4, "fL"),
        ("785-6", "29.9", "pg", 29.9, "pg"),
        ("785-6", "1.86", "fmol", 29.9646, "pg"),  # x 16.11
        ("770-8", "60", "%", 60.0, "%"),
        ("58413-6", "1.5", "/100{WBCs}", 1.5, "/100WBC"),
        ("58413-6", "1.5", "%", 1.5, "/100WBC"),
    ],
)
def test_conversion(loinc: str, value: str, unit: str, expected: float, canonical: str):
    result = _hl7_value(loinc, value, unit)
    assert result.errors == ()
    (m,) = result.records[0].measurements
    assert (m.value, m.unit, m.raw_value, m.raw_unit) == (expected, canonical, value, unit)


def test_an_escaped_caret_in_the_unit():
    (m,) = _hl7_value("6690-2", "6.5", "10\\S\\3/uL^^UCUM").records[0].measurements
    assert (m.value, m.raw_unit) == (6.5, "10^3/uL")


def test_a_coded_unit_uses_its_identifier():
    (m,) = _hl7_value("718-7", "135", "g/L^gram per litre^UCUM").records[0].measurements
    assert (m.value, m.raw_unit) == (13.5, "g/L")


@pytest.mark.parametrize("value", ["0", "0.00", "0.001", ".5", "5.", "+5", "999999.999",
                                   "00012.5"])
def test_boundary_values_are_exact(value: str):
    (m,) = _hl7_value("6690-2", value, "10*9/L").records[0].measurements
    assert m.value == float(value)


def test_boundary_conversions_are_exact_decimals():
    assert _hl7_value("718-7", "0.1", "g/L").records[0].measurements[0].value == 0.01
    assert _hl7_value("6690-2", "1", "/uL").records[0].measurements[0].value == 0.001
    assert _hl7_value("6690-2", "999999", "10^6/uL").records[0].measurements[0].value == (
        999999000.0)


@pytest.mark.parametrize(
    ("loinc", "unit"),
    [("6690-2", "mmol/L"), ("6690-2", "10^9"), ("718-7", "mg/dL"), ("718-7", "G/dL2"),
     ("789-8", "10^9/L"), ("4544-3", "mL/L"), ("787-2", "pL"), ("785-6", "g"),
     ("770-8", "L/L"), ("6690-2", "")],
)
def test_unknown_unit_for_a_known_parameter_rejects_the_message(loinc: str, unit: str):
    result = _hl7_value(loinc, "5.0", unit)
    assert result.records == ()
    (error,) = result.errors
    code = next(p.code for p in PARAMETERS.values() if loinc in p.loinc)
    what = f"unit {unit!r}" if unit else "no unit"
    assert error.reason.startswith(f"line 1: {code} has {what}, which is not a known unit")


def test_without_a_value_the_unit_is_not_needed():
    (m,) = _hl7_value("6690-2", "", "").records[0].measurements
    assert (m.value, m.unit, m.raw_unit) == (None, "10^9/L", "")


def test_normalised_spellings():
    assert normalise_unit(" 10*9 / L ") == "10^9/l"
    assert normalise_unit("x 10^3/µL") == "10^3/ul"
    assert normalise_unit("10E12/L") == "10^12/l"
    assert normalise_unit("/100{WBCs}") == "/100wbcs"
    assert normalise_unit("Cells/mm^3") == "/mm3"


def test_every_parameter_accepts_its_own_canonical_unit():
    for parameter in PARAMETERS.values():
        assert conversion_factor(parameter, parameter.kind.canonical) == 1, parameter.code
