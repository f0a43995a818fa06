"""The format comes from the content, never from the file name."""

from __future__ import annotations

import pytest

from apps.hemograms.parsers import CBCParseError, detect_format


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (b"MSH|^~\\&|XN|LAB\rPID|1\r", "hl7"),
        (b"\xef\xbb\xbf\x0bMSH|^~\\&|XN\r", "hl7"),
        (b"\r\n  FHS|^~\\&|XN\r", "hl7"),
        (b"garbage line\rMSH|^~\\&|XN\r", "hl7"),
        (b"Sample No.,WBC(10^9/L)\r\n", "sysmex"),
        (b"Nickname;Analyzer ID;Sample No;WBC(10^9/L)\n", "sysmex"),
        (b"ID Instrument XN-1000\nExported 2024-03-05\n\n\"Sample No.\"\t\"WBC(10^9/L)\"\n",
         "sysmex"),
        (b"accession,WBC(10^9/L)\n", "csv"),
        (b"sep=;\nAccession;WBC(10^9/L)\n", "csv"),
        (b"Sample No.,accession,WBC(10^9/L)\n", "sysmex"),
    ],
)
def test_detected(data: bytes, fmt: str):
    assert detect_format(data) == fmt


@pytest.mark.parametrize("data", [b"MSHx|^~\\&", b"WBC,HGB\n5,13\n", b"{\"accession\": 1}"])
def test_not_detected(data: bytes):
    with pytest.raises(CBCParseError, match="unknown CBC file format"):
        detect_format(data)
