"""The stored copy of a CBC file (`CBCImport.raw`) is decoded by the parsers' own rule, so a
Windows-1252 export reads back as written, whatever the parity of its length."""

from __future__ import annotations

import pytest

from apps.hemograms import parsers
from apps.hemograms.models import CBCImport
from apps.workflow.services import cbc_import

TEXT = "accession;analyser;WBC(10^9/L)\r\nS-0001;Hématologie µ;5,5\r\n"


@pytest.mark.parametrize("pad", ["", " "], ids=["even-length", "odd-length"])
def test_a_cp1252_file_is_stored_as_written(technician, specimen, pad):
    data = (TEXT + pad).encode("cp1252")
    cbc_import(actor=technician, data=data, file_name="lab.csv")
    stored = CBCImport.objects.get()
    assert stored.raw == TEXT + pad
    assert stored.raw == parsers.decode_text(data)


@pytest.mark.parametrize("data", [
    TEXT.encode("utf-8"), b"\xef\xbb\xbf" + TEXT.encode("utf-8"), TEXT.encode("utf-16"),
], ids=["utf8", "utf8-bom", "utf16-bom"])
def test_unicode_files_are_stored_without_their_byte_order_mark(technician, specimen, data):
    cbc_import(actor=technician, data=data, file_name="lab.csv")
    assert CBCImport.objects.get().raw == TEXT
