"""Same sample and measurement time twice in one file: the first is kept, the copy reported."""

from __future__ import annotations

from apps.hemograms.parsers import parse_cbc


def test_duplicates_are_reported_and_differences_pointed_out():
    data = (
        b"Sample No.,Date,Time,WBC(10^9/L)\n"
        b"S1,2024/03/05,08:00:00,5.0\n"
        b"S1,2024/03/05,08:00:00,5.0\n"   # exact copy
        b"S1,2024/03/05,08:10:00,5.2\n"   # a rerun: another time, kept
        b"S1,2024/03/05,08:00:00,9.9\n"   # same key, other values
        b"S2,2024/03/05,08:00:00,5.0\n"
    )
    result = parse_cbc(data)
    assert [(r.line, r.accession) for r in result.records] == [(2, "S1"), (4, "S1"), (6, "S2")]
    assert [r.measurements[0].value for r in result.records] == [5.0, 5.2, 5.0]
    assert [(e.line, e.reason) for e in result.errors] == [
        (3, "line 3: duplicate of line 2 (sample 'S1', 2024-03-05 08:00:00); skipped"),
        (5, "line 5: duplicate of line 2 (sample 'S1', 2024-03-05 08:00:00); skipped although "
            "its values differ; check the file"),
    ]


def test_rows_without_a_time_are_duplicates_when_the_sample_repeats():
    data = b"accession,WBC(10^9/L)\nA1,5.0\nA1,5.0\n"
    result = parse_cbc(data)
    assert [r.line for r in result.records] == [2]
    assert [e.reason for e in result.errors] == [
        "line 3: duplicate of line 2 (sample 'A1', no time); skipped"]
