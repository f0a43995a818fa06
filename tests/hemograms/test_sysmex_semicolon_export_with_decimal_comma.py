"""A French Excel-style Sysmex export: ';' delimiter, decimal comma, day/month dates,
Windows-1252 text, g/L haemoglobin and a trailing delimiter on every line."""

from __future__ import annotations

from datetime import date, datetime

from apps.hemograms.parsers import parse_cbc

DATA = (
    "Nickname;Analyzer ID;Date;Time;Sample No.;Patient ID;Patient Name;Sex;Birth;"
    "WBC(10^9/L);RBC(10^12/L);HGB(g/L);MCHC(g/L);HCT(%);PLT(10^9/L);NEUT#(10^9/L);"
    "[NE-SFL(ch)];[NE-WY];\r\n"
    "XN-1000;XN-1000^11001;05/03/2024;09:15;24-0311;IPP889;Hélène Dupré;Female;"
    "17/11/1956;5,40;4,12;118;321;36,8;190;3,05;47,5*;655;\r\n"
    "XN-1000;XN-1000^11001;13/03/2024;09:17;24-0312;;;;;"
    "7,90;4,80;149;338;44,0;@1002;4,40;;;\r\n"
).encode("cp1252")


def test_rows_are_read_with_decimal_comma():
    result = parse_cbc(DATA)
    assert result.format == "sysmex"
    assert result.errors == ()
    assert [r.line for r in result.records] == [2, 3]
    first, second = result.records
    assert {m.code: m.value for m in first.measurements} == {
        "WBC": 5.4, "RBC": 4.12, "HGB": 11.8, "MCHC": 32.1, "HCT": 36.8, "PLT": 190.0,
        "NEUT#": 3.05, "NE-SFL": 47.5, "NE-WY": 655.0,
    }
    by_code = {m.code: m for m in first.measurements}
    assert by_code["NE-SFL"].raw_value == "47,5*"
    assert by_code["NE-SFL"].analyser_flag == "*"
    assert by_code["HGB"].raw_unit == "g/L" and by_code["HGB"].unit == "g/dL"
    plt = {m.code: m for m in second.measurements}["PLT"]
    assert (plt.value, plt.analyser_flag, plt.raw_value) == (1002.0, "@", "@1002")


def test_day_first_dates_and_patient_fields():
    first, second = parse_cbc(DATA).records
    assert first.measured_at == datetime(2024, 3, 5, 9, 15)
    assert second.measured_at == datetime(2024, 3, 13, 9, 17)
    assert first.birth_date == date(1956, 11, 17)
    assert (first.sex, first.patient_id) == ("F", "IPP889")
    assert first.analyser == "Sysmex XN-1000 (11001)"
    assert "Hélène" in first.raw  # Windows-1252 decoded, provenance kept


def test_routine_metadata_columns_are_ignored_without_a_warning():
    assert parse_cbc(DATA).warnings == ()


def test_a_dot_in_a_decimal_comma_file_is_refused_not_guessed():
    # '1.002' could be 1002 written with a thousands dot: a platelet count off by 1000.
    data = (b"Sample No.;WBC(10^9/L);PLT(10^9/L)\n"
            b"S1;5,40;190\nS2;5,40;1.002\nS3;5,40;12,3,4\n")
    result = parse_cbc(data)
    assert [(r.accession, r.measurements[1].value) for r in result.records] == [("S1", 190.0)]
    assert [e.reason for e in result.errors] == [
        "line 3: PLT value '1.002' uses '.' but this file writes decimals with ','",
        "line 4: PLT value '12,3,4' is not a number",
    ]


def test_a_semicolon_file_without_decimal_commas_reads_dots():
    data = b"Sample No.;WBC(10^9/L);PLT(10^9/L)\nS1;5.40;190\n"
    (record,) = parse_cbc(data).records
    assert [m.value for m in record.measurements] == [5.4, 190.0]
