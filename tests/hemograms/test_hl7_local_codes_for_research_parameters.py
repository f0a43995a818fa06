"""Sysmex research parameters have no LOINC code: local codes (system L, 99xxx or the text
component) name them; LOINC-coded OBX never fall back to their text."""

from __future__ import annotations

import pytest

from apps.hemograms.parsers import parse_cbc


def _code_of(obx3: str, unit: str = "") -> str | None:
    data = (
        "MSH|^~\\&|XN|LAB|LIS|HOSP|20240305120000||ORU^R01|C1|P|2.5\r"
        "OBR|1||S1||||20240305115500\r"
        "OBX|1|NM|6690-2^WBC^LN||5.0|10*9/L|||||F\r"
        f"OBX|2|NM|{obx3}||42.5|{unit}|||||F\r"
    ).encode()
    result = parse_cbc(data)
    assert result.errors == ()
    codes = [m.code for m in result.records[0].measurements]
    return codes[1] if len(codes) > 1 else None


@pytest.mark.parametrize(
    ("obx3", "unit", "code"),
    [
        ("NE-WX^Neutrophil side scatter width^L", "", "NE-WX"),
        ("ne-wx^^L", "", "NE-WX"),
        ("99NEWX^NE-WX^99SYSMEX", "", "NE-WX"),
        ("99NEWX", "", "NE-WX"),
        ("12345^NE-WY^99SYS", "", "NE-WY"),
        ("[NE-SFL(ch)]^^L", "ch", "NE-SFL"),
        ("NE-SSC^^L", "ch", "NE-SSC"),
        ("LYMPH#^Lymphocytes^L", "10*9/L", "LYMPH#"),
        ("X-999^Local^L^718-7^Hemoglobin^LN", "g/dL", "HGB"),  # alternate LOINC identifier
        ("9999-9^NE-WX^LN", "", None),  # unknown LOINC: the text is not used
        ("NEUT^Neutrophils^L", "10*9/L", None),  # ambiguous compact code: # or %?
        ("IP_MSG^Blasts?^99SYS", "", None),
    ],
)
def test_code(obx3: str, unit: str, code: str | None):
    assert _code_of(obx3, unit) == code


def test_a_parameter_sent_twice_with_the_same_result_is_kept_once():
    data = (
        b"MSH|^~\\&|XN|LAB|LIS|HOSP|20240305120000||ORU^R01|C1|P|2.5\r"
        b"OBR|1||S1||||20240305115500\r"
        b"OBX|1|NM|6690-2^WBC^LN||5.0|10*9/L||||F\r"
        b"OBX|2|NM|6690-2^WBC^LN||5.0|10*3/uL||||F\r"
    )
    (record,) = parse_cbc(data).records
    assert [(m.code, m.value) for m in record.measurements] == [("WBC", 5.0)]
