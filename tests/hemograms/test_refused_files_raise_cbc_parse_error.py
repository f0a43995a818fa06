"""Whole-file refusals: each raises CBCParseError with a message that says why."""

from __future__ import annotations

import pytest

from apps.hemograms.parsers import CBCParseError, parse_cbc

CSV = b"accession,WBC(10^9/L)\nA1,5.0\n"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b" \r\n\t\n", "the file is empty"),
        (b"\xef\xbb\xbf", "the file is empty"),
        (b"\x0b\x1c\r", "the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "the file is not a text CSV/HL7 file (it "
                                                 "contains NUL bytes)"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n\x01\x02", "the file is not a text CSV/HL7 file "
                                                   "(control byte 0x01 on line 3)"),
        (b"PK\x03\x04\x14\x00\x06\x00", "the file is not a text CSV/HL7 file: it looks like an "
                                        "Excel workbook; save it as CSV first"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "the file is not a text CSV/HL7 file: it looks "
                                              "like an Excel workbook; save it as CSV first"),
        ("accession,WBC(10^9/L)\n".encode("utf-16-le"), "the file is not a text CSV/HL7 file "
                                                         "(it contains NUL bytes)"),
        (b"\xff\xfea\x00\x00\xd8", "the file is not a text CSV/HL7 file: it starts with a "
                                   "UTF-16 byte-order mark but byte 4 is not valid UTF-16"),
        (b"accession,WBC(10^9/L)\r\n", "the file has no data: no result rows or messages "
                                       "were found"),
        (b"Sample No.,Date,WBC(10^9/L)\n\n,,\n", "the file has no data: no result rows or "
                                                 "messages were found"),
        (b"FHS|^~\\&|XN\rBHS|^~\\&|XN\rBTS|0\rFTS|1\r", "the file has no data: no result "
                                                      "rows or messages were found"),
        (b"just,a,header\r\n", "unknown CBC file format: expected HL7 v2 messages starting "
                               "with MSH, a Sysmex XN export with a 'Sample No.' column, or a "
                               "CSV with an 'accession' column"),
        (b"hello", "unknown CBC file format: expected HL7 v2 messages starting with MSH, a "
                   "Sysmex XN export with a 'Sample No.' column, or a CSV with an 'accession' "
                   "column"),
    ],
)
def test_refused(data: bytes, message: str):
    with pytest.raises(CBCParseError) as refused:
        parse_cbc(data)
    assert str(refused.value) == message


def test_too_large():
    with pytest.raises(CBCParseError) as refused:
        parse_cbc(CSV, max_bytes=len(CSV) - 1)
    assert str(refused.value) == f"the file is {len(CSV)} bytes; the limit is {len(CSV) - 1} bytes"
    assert parse_cbc(CSV, max_bytes=len(CSV)).records[0].accession == "A1"


def test_unknown_explicit_format():
    with pytest.raises(CBCParseError, match="unknown CBC format 'xlsx'; expected one of "
                                            "sysmex, hl7, csv"):
        parse_cbc(CSV, format="xlsx")


def test_not_bytes():
    with pytest.raises(CBCParseError, match="must be given as bytes"):
        parse_cbc("accession,WBC(10^9/L)\nA1,5\n")  # type: ignore[arg-type]


def test_cbc_parse_error_is_a_value_error():
    assert issubclass(CBCParseError, ValueError)


def _zip(members: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(("members", "message"), [
    # A CellaVision export (a zip of cell images) dropped on the CBC upload.
    ({"export/Neutrophil/1.jpg": b"\xff\xd8\xff", "export/Lymphocyte/2.jpg": b"\xff\xd8\xff"},
     "the file is a zip archive, not a text CSV/HL7 file: a CBC file is the analyser's CSV or "
     "HL7 export (cell images go in the smear upload)"),
    # A workbook (.xlsx, .ods) is one: save it as CSV.
    ({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"},
     "the file is not a text CSV/HL7 file: it looks like an Excel workbook; save it as CSV "
     "first"),
    ({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"},
     "the file is not a text CSV/HL7 file: it looks like an Excel workbook; save it as CSV "
     "first"),
])
def test_a_zip_says_what_it_is(members: dict[str, bytes], message: str):
    with pytest.raises(CBCParseError) as refused:
        parse_cbc(_zip(members))
    assert str(refused.value) == message
