"""CBC file parsers: bytes in, frozen dataclasses out. Pure Python, no Django.

Formats: "sysmex" (Sysmex XN CSV export), "hl7" (HL7 v2 ORU/OUL), "csv" (HemaClinic generic
CSV). The accepted layouts, units and markers are documented in docs/cbc-formats.md.
"""

from __future__ import annotations

from apps.core.text import Text

from . import generic_csv, hl7, sysmex
from .common import (
    AnalyserMessage,
    CBCParseError,
    CBCRecord,
    Measurement,
    ParseResult,
    RowError,
    check_size,
    decode_text,
    find_header,
)
from .units import PARAMETERS, Parameter

FORMATS = ("sysmex", "hl7", "csv")
# The one size limit for a CBC file: the pages and the command check it before reading.
MAX_CBC_BYTES = 20 * 1024 * 1024

__all__ = [
    "FORMATS",
    "MAX_CBC_BYTES",
    "PARAMETERS",
    "AnalyserMessage",
    "CBCParseError",
    "CBCRecord",
    "Measurement",
    "Parameter",
    "ParseResult",
    "RowError",
    "decode_text",
    "detect_format",
    "parse_cbc",
]

_PARSERS = {"sysmex": sysmex.parse, "hl7": hl7.parse, "csv": generic_csv.parse}


def detect_format(data: bytes) -> str:
    """'hl7', 'sysmex' or 'csv' from the file's content; CBCParseError when none fits."""
    text = decode_text(data)
    if hl7.is_hl7(text):
        return "hl7"
    if find_header(text, sysmex.is_sysmex_header) is not None:
        return "sysmex"
    if find_header(text, generic_csv.is_generic_header) is not None:
        return "csv"
    raise CBCParseError(Text.of(
        "unknown CBC file format: expected HL7 v2 messages starting with MSH, a Sysmex XN "
        "export with a 'Sample No.' column, or a CSV with an 'accession' column"))


def parse_cbc(
    data: bytes, *, format: str | None = None, max_bytes: int = MAX_CBC_BYTES
) -> ParseResult:
    """Parse a CBC file; good records and line-numbered errors come back together.

    Raises CBCParseError (and nothing else) when the whole file is refused: too large, not
    text, empty, of unknown format, or without a usable header.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CBCParseError(Text.of("the CBC file must be given as bytes"))
    data = bytes(data)
    check_size(data, max_bytes)
    if format is None:
        format = detect_format(data)
    parser = _PARSERS.get(format)
    if parser is None:
        raise CBCParseError(Text.of("unknown CBC format %(format)s; expected one of %(formats)s",
                                    format=repr(format), formats=", ".join(FORMATS)))
    return parser(data)
