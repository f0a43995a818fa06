"""BOMs decide; without one, UTF-8 if valid, else Windows-1252, else Latin-1."""

from __future__ import annotations

import pytest

from apps.hemograms.parsers import parse_cbc

TEXT = "accession;analyser;WBC(10^9/L)\r\nÉ-001;Lab de Hématologie µ;5,5\r\n"


@pytest.mark.parametrize(
    "data",
    [
        TEXT.encode("utf-8"),
        b"\xef\xbb\xbf" + TEXT.encode("utf-8"),
        TEXT.encode("utf-16"),  # with BOM, native order
        b"\xff\xfe" + TEXT.encode("utf-16-le"),
        b"\xfe\xff" + TEXT.encode("utf-16-be"),
        TEXT.encode("cp1252"),
        TEXT.encode("latin-1"),
    ],
    ids=["utf8", "utf8-bom", "utf16", "utf16-le-bom", "utf16-be-bom", "cp1252", "latin1"],
)
def test_same_content_whatever_the_encoding(data: bytes):
    (record,) = parse_cbc(data).records
    assert record.accession == "É-001"
    assert record.analyser == "Lab de Hématologie µ"
    assert record.measurements[0].value == 5.5


def test_bytes_undefined_in_windows_1252_fall_back_to_latin_1():
    data = b"accession,analyser,WBC(10^9/L)\nA1,X\x81Y,5.5\n"
    assert parse_cbc(data).records[0].analyser == "X\x81Y"


@pytest.mark.parametrize("end", ["\r\n", "\n", "\r"])
def test_line_ends(end: str):
    data = end.join(["accession,WBC(10^9/L)", "A1,5.5", "A2,x", "A3,6.5", ""]).encode()
    result = parse_cbc(data)
    assert [r.line for r in result.records] == [2, 4]
    assert [e.line for e in result.errors] == [3]
    assert result.records[1].raw == "A3,6.5"


def test_a_trailing_ctrl_z_is_ignored():
    data = b"accession,WBC(10^9/L)\r\nA1,5.5\r\n\x1a"
    assert parse_cbc(data).records[0].accession == "A1"
