"""The generic CSV exactly as docs/cbc-formats.md shows it, and its variations."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from apps.hemograms.parsers import parse_cbc

DOC_EXAMPLE = (
    b"accession,measured_at,analyser,patient_id,sex,birth_date,WBC(10^9/L),RBC(10^12/L),"
    b"HGB(g/dL),HCT(%),MCV(fL),PLT(10^9/L),NEUT#(10^9/L),NE-WX\n"
    b"S-2024-0001,2024-03-05T14:30:00+01:00,Sysmex XN-1000 (11036),H123456,F,1980-02-12,"
    b"6.52,4.51,13.5,41.2,91.4,251,3.91,310\n"
    b"S-2024-0002,2024-03-05 14:41,,,,,,4.02,11.8*,36.0,89.6,++++,,\n"
)


def test_the_documented_example():
    result = parse_cbc(DOC_EXAMPLE)
    assert result.format == "csv"
    assert (result.errors, result.warnings) == ((), ())
    first, second = result.records
    assert (first.line, first.accession, first.patient_id, first.sex) == (
        2, "S-2024-0001", "H123456", "F")
    assert first.measured_at == datetime(2024, 3, 5, 14, 30, tzinfo=timezone(timedelta(hours=1)))
    assert first.birth_date == date(1980, 2, 12)
    assert first.analyser == "Sysmex XN-1000 (11036)"
    assert [(m.code, m.value, m.unit) for m in first.measurements] == [
        ("WBC", 6.52, "10^9/L"), ("RBC", 4.51, "10^12/L"), ("HGB", 13.5, "g/dL"),
        ("HCT", 41.2, "%"), ("MCV", 91.4, "fL"), ("PLT", 251.0, "10^9/L"),
        ("NEUT#", 3.91, "10^9/L"), ("NE-WX", 310.0, ""),
    ]
    assert second.line == 3
    assert second.measured_at == datetime(2024, 3, 5, 14, 41)
    assert (second.analyser, second.patient_id, second.sex, second.birth_date) == (
        "CSV", "", "", None)
    assert [(m.code, m.value, m.analyser_flag) for m in second.measurements] == [
        ("WBC", None, ""), ("RBC", 4.02, ""), ("HGB", 11.8, "*"), ("HCT", 36.0, ""),
        ("MCV", 89.6, ""), ("PLT", None, "++++"), ("NEUT#", None, ""), ("NE-WX", None, ""),
    ]
    assert first.raw == DOC_EXAMPLE.decode().splitlines()[1]


def test_semicolon_decimal_comma_any_column_order_and_case():
    data = (
        b"sep=;\r\n"
        b"WBC(10^3/\xb5L);Accession;HGB(g/L);Measured_At;SEX;rdw-cv(%);NE-SFL(ch);\r\n"
        b"7,5;A1;132;2024-01-31T23:59:59Z;m;13,1;51,2;\r\n"
    )  # Windows-1252: 0xb5 is the micro sign
    (record,) = parse_cbc(data).records
    assert record.accession == "A1"
    assert record.sex == "M"
    assert record.measured_at == datetime(2024, 1, 31, 23, 59, 59, tzinfo=UTC)
    assert [(m.code, m.value, m.raw_unit) for m in record.measurements] == [
        ("WBC", 7.5, "10^3/µL"), ("HGB", 13.2, "g/L"), ("RDW-CV", 13.1, "%"),
        ("NE-SFL", 51.2, "ch")]


def test_tab_delimited_with_quotes():
    data = b'accession\tanalyser\tWBC(10^9/L)\n"A\t1"\t"XN ""lab"" 2"\t"5,5"\n'
    (record,) = parse_cbc(data).records
    assert (record.accession, record.analyser) == ("A\t1", 'XN "lab" 2')
    assert record.measurements[0].value == 5.5
