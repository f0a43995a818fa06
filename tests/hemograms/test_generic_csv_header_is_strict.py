"""The generic CSV is our own format: a header we do not fully understand refuses the file."""

from __future__ import annotations

import pytest

from apps.hemograms.parsers import CBCParseError, parse_cbc


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("accession,WCB(10^9/L)",
         "CSV header refused: column 'WCB(10^9/L)' is neither one of accession, measured_at, "
         "analyser, patient_id, sex, birth_date nor a known parameter code with its unit, "
         "such as 'WBC(10^9/L)'"),
        ("accession,WBC(cells/mm2)",
         "CSV header refused: column 'WBC(cells/mm2)': WBC has unit 'cells/mm2', which is not "
         "a known unit for it (canonical unit: 10^9/L)"),
        ("accession,WBC",
         "CSV header refused: column 'WBC': WBC has no unit, which is not a known unit for it "
         "(canonical unit: 10^9/L)"),
        ("accession,HGB(g/dL),HGB(g/L)",
         "CSV header refused: columns 'HGB(g/dL)' and 'HGB(g/L)' both give HGB"),
        ("accession,accession,WBC(10^9/L)",
         "CSV header refused: column 'accession' appears twice"),
        ("accession,,WBC(10^9/L)", "CSV header refused: column 2 has no name"),
        ("accession,measured_at",
         "CSV header refused: there is no parameter column, such as 'WBC(10^9/L)'"),
        ("accession,NE-WX(ch)",
         "CSV header refused: column 'NE-WX(ch)': NE-WX has unit 'ch', which is not a known "
         "unit for it (canonical unit: none)"),
    ],
)
def test_header_refused(header: str, message: str):
    data = (header + "\nA1," + ",".join(["1"] * header.count(",")) + "\n").encode()
    with pytest.raises(CBCParseError) as refused:
        parse_cbc(data, format="csv")
    assert str(refused.value) == message


def test_missing_accession_with_explicit_format():
    with pytest.raises(CBCParseError, match="expected an 'accession' column"):
        parse_cbc(b"sample,WBC(10^9/L)\nA1,5\n", format="csv")


def test_missing_sample_no_with_explicit_sysmex_format():
    with pytest.raises(CBCParseError, match="expected a 'Sample No.' column"):
        parse_cbc(b"accession,WBC(10^9/L)\nA1,5\n", format="sysmex")


def test_sysmex_header_with_an_unknown_unit_is_refused():
    with pytest.raises(CBCParseError) as refused:
        parse_cbc(b"Sample No.,WBC(10^9/L),HGB(mg/dL)\nS1,5,140\n")
    assert str(refused.value) == (
        "Sysmex header refused: column 'HGB(mg/dL)': HGB has unit 'mg/dL', which is not a "
        "known unit for it (canonical unit: g/dL)")


def test_sysmex_header_without_parameters_is_refused():
    with pytest.raises(CBCParseError, match="no CBC parameter column"):
        parse_cbc(b"Sample No.,Date,Q-Flag(Blasts?)\nS1,2024/01/01,100\n")
