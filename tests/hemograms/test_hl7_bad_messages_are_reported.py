"""Each bad HL7 message is one error at its MSH line with every reason; good messages around
it still come back, and every message is accounted for."""

from __future__ import annotations

from apps.hemograms.parsers import parse_cbc

GOOD = (
    "MSH|^~\\&|XN|LAB|LIS|HOSP|20240305120000||ORU^R01|OK|P|2.5\r"
    "OBR|1||GOOD-{n}||||20240305115500\r"
    "OBX|1|NM|6690-2^WBC^LN||5.0|10*9/L||||F\r"
)
MSH = "MSH|^~\\&|XN|LAB|LIS|HOSP|20240305120000||{type}|X|P|2.5\r"

BAD = [
    # (segments after MSH, expected reason after "line N: ")
    ("ORU^R01", "OBR|1||B1||||20240305115500\rOBX|1|NM|6690-2^WBC^LN||5.0|cells/mm2||||F\r",
     "WBC has unit 'cells/mm2', which is not a known unit for it (canonical unit: 10^9/L) "
     "(line {l3})"),
    ("ORU^R01", "OBR|1||B2||||20240305115500\rOBX|1|ST|718-7^HGB^LN||13.5|g/dL||||F\r",
     "HGB (line {l3}) has value type 'ST'; only NM and SN are read"),
    ("ORU^R01", "OBR|1||B3||||20240305115500\rOBX|1|SN|718-7^HGB^LN||<^5|g/dL||||F\r",
     "HGB (line {l3}) structured value '<^5' is not a plain number"),
    ("ORU^R01", "OBR|1||||||20240305115500\rOBX|1|NM|6690-2^WBC^LN||5.0|10*9/L||||F\r",
     "specimen id (OBR-3, OBR-2 or SPM-2) is empty"),
    ("ORU^R01", "OBR|1||B5||||20240305\rOBX|1|NM|6690-2^WBC^LN||5.0|10*9/L||||F\r",
     "OBR-7 '20240305' has no time of day (YYYYMMDDHHMM at least)"),
    ("ORU^R01", "OBR|1||B5b||||2024-03-05T11:55\rOBX|1|NM|6690-2^WBC^LN||5.0|10*9/L||||F\r",
     "OBR-7 '2024-03-05T11:55' is not an HL7 date/time (YYYYMMDDHHMM[SS][+ZZZZ])"),
    ("ORU^R01", "OBR|1||B6||||20241305115500\rOBX|1|NM|6690-2^WBC^LN||5.0|10*9/L||||F\r",
     "OBR-7 '20241305115500' is not a valid date/time"),
    ("ORU^R01", "OBR|1||B7||||20240305115500\rOBX|1|NM|6690-2^WBC^LN||5.0|10*9/L||||F\r"
     "OBX|2|NM|6690-2^WBC^LN||5.5|10*9/L||||F\r",
     "WBC is reported twice with different results (lines {l3} and {l4})"),
    ("ORU^R01", "OBR|1||B8||||20240305115500\rOBR|2||B9||||20240305115500\r"
     "OBX|1|NM|6690-2^WBC^LN||5.0|10*9/L||||F\r",
     "the message has results for several samples: 'B8', 'B9'"),
    ("ORU^R01", "OBR|1||B10||||20240305115500\rOBX|1|NM|12345^GLUCOSE^L||5.0|mmol/L||||F\r",
     "no OBX segment with a CBC parameter"),
    ("ORU^R01", "OBR|1||B11||||20240305115500\rthis line was wrapped by a mail client\r"
     "OBX|1|NM|6690-2^WBC^LN||5.0|10*9/L||||F\r",
     "message rejected: line {l3} is not an HL7 segment ('this line was wrappe')"),
    ("ACK^R01", "MSA|AA|MSG1\r", "MSH-9 message type 'ACK^R01' is not a result message "
     "(ORU or OUL)"),
    ("ORU^R01", "PID|1||MRN||DOE^J||19800101|Q\rOBR|1||B12||||20240305115500\r"
     "OBX|1|NM|6690-2^WBC^LN||5.0|10*9/L||||F\r",
     "PID-8 sex 'Q' is not an HL7 administrative sex"),
    ("ORU^R01", "PID|1||MRN||DOE^J||19801301\rOBR|1||B13||||20240305115500\r"
     "OBX|1|NM|6690-2^WBC^LN||5.0|10*9/L||||F\r",
     "PID-7 birth date '19801301' is not a valid date"),
    ("ORU^R01", "OBR|1||B14||||20240305115500\rOBX|1|NM|6690-2^WBC^LN||5.0~6.0|10*9/L||||F\r",
     "WBC (line {l3}) has several values in OBX-5"),
]


def _build() -> tuple[bytes, list[tuple[int, str]], list[int]]:
    text, expected, good_lines, line = "", [], [], 1
    for n, (message_type, body, reason) in enumerate(BAD):
        good = GOOD.format(n=n)
        good_lines.append(line)
        text += good
        line += good.count("\r")
        text += MSH.format(type=message_type) + body
        expected.append((line, f"line {line}: " + reason.format(l3=line + 2, l4=line + 3)))
        line += 1 + body.count("\r")
    return text.encode(), expected, good_lines


def test_every_bad_message_is_one_precise_error():
    data, expected, good_lines = _build()
    result = parse_cbc(data)
    assert [(e.line, e.reason) for e in result.errors] == expected
    assert [r.line for r in result.records] == good_lines
    assert [r.accession for r in result.records] == [f"GOOD-{n}" for n in range(len(BAD))]


def test_segments_outside_a_message_are_errors_on_their_own_line():
    data = ("OBX|1|NM|6690-2^WBC^LN||5.0|10*9/L||||F\r\r" + GOOD.format(n=0)).encode()
    result = parse_cbc(data)
    assert [r.line for r in result.records] == [3]
    assert [(e.line, e.reason) for e in result.errors] == [
        (1, "line 1: 'OBX|1|NM|6690-2^WBC^' is outside any HL7 message (no MSH segment "
            "before it)")]


def test_a_truncated_msh_is_an_error():
    result = parse_cbc(b"MSH|\r" + GOOD.format(n=0).encode())
    assert [(e.line, e.reason) for e in result.errors] == [
        (1, "line 1: the MSH segment does not define a field separator")]
    assert [r.line for r in result.records] == [2]
