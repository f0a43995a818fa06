"""nn/nn/yyyy dates are day/month or month/day for the whole file, never row by row."""

from __future__ import annotations

from datetime import datetime

from apps.hemograms.parsers import parse_cbc

HEADER = "Sample No.,Date,Time,WBC(10^9/L)\n"


def _times(*dates: str):  # type: ignore[no-untyped-def]
    rows = "".join(f"S{i},{d},10:00,5.0\n" for i, d in enumerate(dates))
    return parse_cbc((HEADER + rows).encode())


def test_a_day_above_twelve_makes_the_file_day_first():
    result = _times("03/04/2024", "25/04/2024")
    assert [r.measured_at for r in result.records] == [
        datetime(2024, 4, 3, 10, 0), datetime(2024, 4, 25, 10, 0)]
    assert result.warnings == ()


def test_a_second_number_above_twelve_makes_the_file_month_first():
    result = _times("03/04/2024", "04/25/2024")
    assert [r.measured_at for r in result.records] == [
        datetime(2024, 3, 4, 10, 0), datetime(2024, 4, 25, 10, 0)]


def test_undecidable_files_are_read_day_first_with_a_warning():
    result = _times("03/04/2024")
    assert result.records[0].measured_at == datetime(2024, 4, 3, 10, 0)
    assert tuple(map(str, result.warnings)) == (
        "dates such as 03/04/2024 could be day/month or month/day; they were read as "
        "day/month/year",)


def test_year_first_and_dotted_dates_are_never_ambiguous():
    result = _times("2024-04-03", "2024.04.05", "06.04.2024")
    assert [r.measured_at.date().isoformat() for r in result.records] == [
        "2024-04-03", "2024-04-05", "2024-04-06"]
    assert result.warnings == ()


def test_an_impossible_date_is_a_row_error():
    result = _times("31/02/2024", "01/03/2024")
    assert [r.accession for r in result.records] == ["S1"]
    assert result.errors[0].reason == "line 2: Date '31/02/2024' is not a valid date"
