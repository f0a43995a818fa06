"""Several messages in one file: MLLP frames, batch envelopes, CR / LF / CRLF segment ends.
Each record's line is the line of its MSH segment."""

from __future__ import annotations

from datetime import datetime

from apps.hemograms.parsers import parse_cbc


def _message(control_id: str, sample: str, wbc: str, end: str) -> str:
    segments = [
        f"MSH|^~\\&|XN|LAB|LIS|HOSP|20240305120000||ORU^R01|{control_id}|P|2.3.1",
        f"PID|1||MRN-{sample}",
        f"OBR|1||{sample}||||20240305115500",
        f"OBX|1|NM|6690-2^WBC^LN||{wbc}|10*9/L||||F",
        "OBX|2|NM|718-7^HGB^LN||14.1|g/dL||||F",
    ]
    return end.join(segments) + end


def test_mllp_frames_with_cr_segments():
    data = "".join(
        f"\x0b{_message(f'M{i}', f'S{i}', f'{i}.5', chr(13))}\x1c\r" for i in range(1, 4)
    ).encode()
    result = parse_cbc(data)
    assert result.errors == ()
    # Five segments then the CR after 0x1c: each message takes six lines.
    assert [(r.line, r.accession) for r in result.records] == [(1, "S1"), (7, "S2"), (13, "S3")]
    assert [r.measurements[0].value for r in result.records] == [1.5, 2.5, 3.5]
    assert [r.patient_id for r in result.records] == ["MRN-S1", "MRN-S2", "MRN-S3"]
    assert {r.measured_at for r in result.records} == {datetime(2024, 3, 5, 11, 55)}
    assert result.records[0].raw == _message("M1", "S1", "1.5", "\r").rstrip("\r")


def test_batch_envelope_and_mixed_line_ends():
    data = (
        "FHS|^~\\&|XN|LAB\r\n"
        "BHS|^~\\&|XN|LAB\r\n"
        + _message("M1", "S1", "4.0", "\r\n")
        + _message("M2", "S2", "5.0", "\n")
        + "\n"
        + _message("M3", "S3", "6.0", "\r")
        + "BTS|3\r\nFTS|1\r\n"
    ).encode()
    result = parse_cbc(data)
    assert result.errors == ()
    assert [(r.line, r.accession) for r in result.records] == [(3, "S1"), (8, "S2"), (14, "S3")]


def test_a_bad_message_in_a_batch_does_not_hide_the_others():
    bad = _message("M2", "S2", "abc", "\r")
    data = (_message("M1", "S1", "4.0", "\r") + bad + _message("M3", "S3", "6.0", "\r")).encode()
    result = parse_cbc(data)
    assert [(r.line, r.accession) for r in result.records] == [(1, "S1"), (11, "S3")]
    assert [(e.line, e.reason) for e in result.errors] == [
        (6, "line 6: WBC value 'abc' is not a number (line 9)"),
    ]


def test_the_same_message_sent_twice_is_reported_once_as_a_duplicate():
    one = _message("M1", "S1", "4.0", "\r")
    result = parse_cbc((one + one).encode())
    assert [r.line for r in result.records] == [1]
    assert [e.reason for e in result.errors] == [
        "line 6: duplicate of line 1 (sample 'S1', 2024-03-05 11:55:00); skipped"]
