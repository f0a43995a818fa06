"""Same sample and measurement time twice in one file: an exact copy is skipped and the first
kept; rows with other values are all refused (nothing tells which is right)."""

from __future__ import annotations

from apps.hemograms.parsers import parse_cbc


def test_duplicates_are_skipped_and_conflicting_rows_all_refused():
    data = (
        b"Sample No.,Date,Time,WBC(10^9/L)\n"
        b"S1,2024/03/05,08:00:00,5.0\n"
        b"S1,2024/03/05,08:00:00,5.0\n"   # exact copy
        b"S1,2024/03/05,08:10:00,5.2\n"   # a rerun: another time, kept
        b"S1,2024/03/05,08:00:00,9.9\n"   # same key, other values: line 2 is no longer kept
        b"S2,2024/03/05,08:00:00,5.0\n"
    )
    result = parse_cbc(data)
    assert [(r.line, r.accession) for r in result.records] == [(4, "S1"), (6, "S2")]
    assert [r.measurements[0].value for r in result.records] == [5.2, 5.0]
    assert [(e.line, e.reason) for e in result.errors] == [
        (2, "line 2: same sample 'S1' and time (2024-03-05 08:00:00) as line 5 but other "
            "values: neither was imported; check the file"),
        (3, "line 3: duplicate of line 2 (sample 'S1', 2024-03-05 08:00:00); skipped"),
        (5, "line 5: same sample 'S1' and time (2024-03-05 08:00:00) as line 2 but other "
            "values: neither was imported; check the file"),
    ]


def test_conflicting_rows_without_a_time_are_refused_too():
    result = parse_cbc(b"accession,WBC(10^9/L)\nA1,5.0\nA1,6.0\nA2,5.0\n")
    assert [r.line for r in result.records] == [4]
    assert [e.line for e in result.errors] == [2, 3]
    assert "(no time) as line 3 but other values: neither was imported" in result.errors[0].reason


def test_rows_without_a_time_are_duplicates_when_the_sample_repeats():
    data = b"accession,WBC(10^9/L)\nA1,5.0\nA1,5.0\n"
    result = parse_cbc(data)
    assert [r.line for r in result.records] == [2]
    assert [e.reason for e in result.errors] == [
        "line 3: duplicate of line 2 (sample 'A1', no time); skipped"]
