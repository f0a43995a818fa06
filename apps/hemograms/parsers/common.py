"""Result types and the helpers every CBC format shares: decoding, CSV rows, values, dates."""

from __future__ import annotations

import csv
import io
import math
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from apps.core.text import Text

from .units import Parameter, conversion_factor

MAX_ID_LENGTH = 64  # accession and patient id; longer values are refused, not truncated


@dataclass(frozen=True)
class Measurement:
    code: str
    value: float | None
    unit: str
    raw_value: str
    raw_unit: str
    analyser_flag: str


@dataclass(frozen=True)
class AnalyserMessage:
    """A message the analyser (or its middleware) sent with the result, not about one value.

    kind "ip": an interpretive program message, the analyser's own flag (Sysmex 'Blasts?',
    'PLT Clumps?'); kind "note": a free-text comment (HL7 NTE after OBR or OBX).
    """

    kind: str
    text: str


@dataclass(frozen=True)
class CBCRecord:
    line: int
    accession: str
    measured_at: datetime | None
    analyser: str
    patient_id: str
    sex: str
    birth_date: date | None
    measurements: tuple[Measurement, ...]
    raw: str
    analyser_messages: tuple[AnalyserMessage, ...] = ()
    # When the sample was collected, where the file says it (HL7: SPM-17, else OBR-7).
    collected_at: datetime | None = None
    collected_at_field: str = ""  # where the file gives it ("SPM-17", "OBR-7"), for its audit


@dataclass(frozen=True)
class RowError:
    line: int
    problems: tuple[Text, ...]

    @property
    def reason(self) -> str:
        """In English, after its line: 'line 3: WBC value 'abc' is not a number'."""
        return f"line {self.line}: " + "; ".join(str(p) for p in self.problems)


@dataclass(frozen=True)
class ParseResult:
    format: str
    records: tuple[CBCRecord, ...]
    errors: tuple[RowError, ...]
    # File-level notes that reject nothing, e.g. columns or HL7 codes that were ignored.
    warnings: tuple[Text, ...] = ()


class CBCParseError(ValueError):
    """The whole file is refused: ``text`` says why (``str()`` in English)."""

    def __init__(self, message: Text) -> None:
        super().__init__(str(message))
        self.text = message


# ---------------------------------------------------------------------------------------------
# Bytes -> text

# C0 controls other than tab, LF, CR; VT (0x0b) and FS (0x1c) are MLLP framing bytes for HL7.
_CONTROL = re.compile(r"[\x00-\x08\x0c\x0e-\x1b\x1d-\x1f\x7f]")


def _is_workbook(data: bytes) -> bool:
    """Whether a zip archive is an Office Open XML workbook (.xlsx, .ods): it holds xl/ (or an
    OpenDocument spreadsheet's mimetype), not a folder of images."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if "mimetype" in names:
                with archive.open("mimetype") as member:
                    return b"spreadsheet" in member.read(200)
    except (zipfile.BadZipFile, OSError, KeyError):
        return True  # unreadable: the workbook advice is as good as any
    return any(n.startswith("xl/") for n in names)


def decode_text(data: bytes) -> str:
    """Decode a CBC file deterministically, or raise CBCParseError when it is not text.

    A UTF-8 BOM means UTF-8, a UTF-16 BOM means UTF-16; without a BOM the bytes are read as
    UTF-8 when they are valid UTF-8, else as Windows-1252, else as Latin-1.
    """
    if data.startswith(b"PK\x03\x04") and not _is_workbook(data):
        raise CBCParseError(Text.of(
            "the file is a zip archive, not a text CSV/HL7 file: a CBC file is the analyser's "
            "CSV or HL7 export (cell images go in the smear upload)"))
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise CBCParseError(Text.of(
            "the file is not a text CSV/HL7 file: it looks like an Excel workbook; save it as "
            "CSV first"))
    if data.startswith(b"\xef\xbb\xbf"):
        text = _decode_strict(data[3:], "utf-8")
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = _decode_strict(data, "utf-16")
    elif b"\x00" in data:
        raise CBCParseError(Text.of("the file is not a text CSV/HL7 file (it contains NUL bytes)"))
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                text = data.decode("latin-1")
    # A trailing Ctrl-Z is an old DOS end-of-file marker, not content.
    text = text.rstrip("\x1a")
    bad = _CONTROL.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        raise CBCParseError(Text.of(
            "the file is not a text CSV/HL7 file (control byte %(byte)s on line %(line)s)",
            byte=f"0x{ord(bad.group()):02x}", line=line))
    if not text.strip(" \t\r\n\x0b\x1c\ufeff"):
        raise CBCParseError(Text.of("the file is empty"))
    return text


def _decode_strict(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise CBCParseError(Text.of(
            "the file is not a text CSV/HL7 file: it starts with a %(encoding)s byte-order mark "
            "but byte %(byte)s is not valid %(encoding)s",
            encoding=encoding.upper(), byte=exc.start)) from None


def check_size(data: bytes, max_bytes: int) -> None:
    """Refuse a file larger than `max_bytes` before anything reads it."""
    if len(data) > max_bytes:
        raise CBCParseError(Text.of("the file is %(size)s bytes; the limit is %(limit)s bytes",
                                 size=f"{len(data):,}", limit=f"{max_bytes:,}"))


# ---------------------------------------------------------------------------------------------
# CSV rows

DELIMITERS = ("\t", ";", ",")
_SEP_LINE = re.compile(r"^\s*sep=(.)\s*$", re.IGNORECASE)
HEADER_SEARCH_LINES = 20


def leading_lines(text: str, count: int) -> list[str]:
    """The first `count` lines, split on CRLF, CR or LF (and nothing else), without ends."""
    lines: list[str] = []
    start = 0
    for match in re.finditer(r"\r\n|\r|\n", text):
        if len(lines) == count:
            return lines
        lines.append(text[start:match.start()])
        start = match.end()
    if len(lines) < count:
        lines.append(text[start:])
    return lines


def count_outside_quotes(line: str, char: str) -> int:
    """How many times `char` occurs outside double-quoted parts of a CSV line."""
    count, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == char and not quoted:
            count += 1
    return count


def sniff_delimiter(line: str) -> str:
    """The delimiter that splits a header line most; ties prefer tab, then ';', then ','."""
    best, best_count = ",", 0
    for delimiter in DELIMITERS:
        n = count_outside_quotes(line, delimiter)
        if n > best_count:
            best, best_count = delimiter, n
    return best


@dataclass(frozen=True)
class HeaderLocation:
    line: int  # 1-based
    delimiter: str
    cells: tuple[str, ...]


def find_header(text: str, is_header: Callable[[list[str]], bool]) -> HeaderLocation | None:
    """First of the leading lines whose cells satisfy `is_header(cells)`.

    An Excel 'sep=;' line fixes the delimiter; otherwise it is sniffed on each candidate line.
    """
    forced: str | None = None
    for number, line in enumerate(leading_lines(text, HEADER_SEARCH_LINES), start=1):
        sep = _SEP_LINE.match(line)
        if sep is not None and number == 1:
            forced = sep.group(1)
            continue
        if not line.strip():
            continue
        delimiter = forced or sniff_delimiter(line)
        try:
            cells = next(csv.reader([line], delimiter=delimiter))
        except (csv.Error, StopIteration):
            continue
        cells = [c.strip().lstrip("\ufeff") for c in cells]
        if is_header(cells):
            return HeaderLocation(number, delimiter, tuple(cells))
    return None


@dataclass(frozen=True)
class CsvRow:
    line: int
    cells: tuple[str, ...]
    raw: str
    error: Text | None = None


# Feeds lines to csv.reader and remembers them, so each row keeps its source text.
class _LineTap:

    def __init__(self, text: str) -> None:
        self._lines = iter(io.StringIO(text, newline=""))
        self.taken: list[str] = []

    def __iter__(self) -> _LineTap:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.taken.append(line)
        return line


def csv_rows(text: str, delimiter: str, after_line: int) -> Iterator[CsvRow]:
    """Data rows after the header line, skipping blank rows; malformed CSV becomes row.error."""
    tap = _LineTap(text)
    reader = csv.reader(tap, delimiter=delimiter, quotechar='"', doublequote=True)
    while True:
        start = reader.line_num + 1
        tap.taken.clear()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raw = "".join(tap.taken).rstrip("\r\n")
            if start > after_line:
                yield CsvRow(start, (), raw, Text.of("malformed CSV (%(detail)s)", detail=str(exc)))
            continue
        if start <= after_line:
            continue
        raw = "".join(tap.taken).rstrip("\r\n")
        if not any(c.strip() for c in cells):
            continue
        yield CsvRow(start, tuple(cells), raw)


def fit_row(row: CsvRow, width: int) -> tuple[str, ...] | Text:
    """The row's cells cut to the header width, or why the column count is wrong."""
    cells = row.cells
    if len(cells) > width and not any(c.strip() for c in cells[width:]):
        cells = cells[:width]
    if len(cells) == width:
        return cells
    if any("\n" in c or "\r" in c for c in cells):
        last = row.line + row.raw.count("\n") + row.raw.count("\r") - row.raw.count("\r\n")
        return Text.of("expected %(width)s columns as in the header, found %(found)s (a "
                          "quoted cell runs from line %(first)s to line %(last)s; check for an "
                          "unmatched quote)", width=width, found=len(cells), first=row.line,
                          last=last)
    return Text.of("expected %(width)s columns as in the header, found %(found)s",
                      width=width, found=len(cells))


def trim_header(cells: tuple[str, ...]) -> tuple[str, ...]:
    """Header cells without the empty ones a trailing delimiter leaves at the end."""
    end = len(cells)
    while end and not cells[end - 1].strip():
        end -= 1
    return cells[:end]


# ---------------------------------------------------------------------------------------------
# Values

# Sysmex cell markers; '!' is in XN exports' mark columns (outside the panic/critical limit).
ATTACHED_MARKERS = "*@!"
_WHOLE_MARKERS = {"ERROR": "ERROR", "DISCRETE": "DISCRETE"}
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_MAX_NUMBER_CHARS = 20


@dataclass(frozen=True)
class ParsedValue:
    value: Decimal | None
    flags: tuple[str, ...]
    # Why the cell has no usable number: a template over %(code)s (the parameter) and
    # %(value)s (the cell), which ``measurement`` fills.
    error: str = ""


def parse_value(raw: str, *, decimal_comma: bool) -> ParsedValue:
    """A cell's number and markers: '12.3*' -> (12.3, ('*',)), '----' -> (None, ('----',))."""
    text = raw.strip()
    if not text:
        return ParsedValue(None, ())
    flags: list[str] = []
    while text and text[0] in ATTACHED_MARKERS:
        flags.append(text[0])
        text = text[1:].strip()
    trailing: list[str] = []
    while text and text[-1] in ATTACHED_MARKERS:
        trailing.insert(0, text[-1])
        text = text[:-1].strip()
    flags.extend(trailing)
    whole = whole_marker(text)
    if whole:
        return ParsedValue(None, (whole, *flags))
    if not text:
        return ParsedValue(None, (), "%(code)s value %(value)s has markers but no number")
    number = text
    if decimal_comma:
        # In a file that writes decimals with ',', a '.' may be thousands grouping: refuse it.
        if "." in text:
            return ParsedValue(None, tuple(flags), "%(code)s value %(value)s uses '.' but this "
                               "file writes decimals with ','")
        if text.count(",") == 1:
            number = text.replace(",", ".")
    if len(number) > _MAX_NUMBER_CHARS or not _NUMBER.match(number):
        return ParsedValue(None, tuple(flags), "%(code)s value %(value)s is not a number")
    value = Decimal(number)
    if value < 0:
        return ParsedValue(None, tuple(flags), "%(code)s value %(value)s is negative")
    return ParsedValue(value, tuple(flags))


_DASHES = re.compile(r"-{3,}")
_PLUSES = re.compile(r"\+{3,}")


def whole_marker(text: str) -> str:
    """'----', '++++', 'ERROR' or 'DISCRETE' when the whole cell is that marker, else ''."""
    if _DASHES.fullmatch(text):
        return "----"
    if _PLUSES.fullmatch(text):
        return "++++"
    return _WHOLE_MARKERS.get(text.upper(), "")


_COMMA_DECIMAL = re.compile(r"\d,\d")


def uses_decimal_comma(delimiter: str, cells: Iterable[str]) -> bool:
    """Whether a ';'- or tab-delimited file writes its numbers with a decimal comma."""
    return delimiter in (";", "\t") and any(_COMMA_DECIMAL.search(c) for c in cells)


def join_flags(*groups: tuple[str, ...] | list[str]) -> str:
    """Markers in order of appearance, each once, separated by one space."""
    seen: dict[str, None] = {}
    for group in groups:
        for flag in group:
            if flag:
                seen.setdefault(flag, None)
    return " ".join(seen)


def measurement(
    parameter: Parameter,
    raw_value: str,
    raw_unit: str,
    *,
    decimal_comma: bool,
    extra_flags: tuple[str, ...] = (),
    force_none: bool = False,
) -> tuple[Measurement | None, Text | None]:
    """A Measurement in the canonical unit, or None and why the value cannot be imported."""
    parsed = parse_value(raw_value, decimal_comma=decimal_comma)
    flags = join_flags(parsed.flags, extra_flags)
    if force_none:
        return Measurement(parameter.code, None, parameter.kind.canonical, raw_value, raw_unit,
                           flags), None
    if parsed.error:
        return None, Text.of(parsed.error, code=parameter.code, value=repr(raw_value.strip()))
    if parsed.value is None:
        return Measurement(parameter.code, None, parameter.kind.canonical, raw_value, raw_unit,
                           flags), None
    factor = conversion_factor(parameter, raw_unit)
    if factor is None:
        return None, unit_error(parameter, raw_unit)
    value = float(parsed.value * factor)
    if not math.isfinite(value):
        return None, Text.of("%(code)s value %(value)s is out of range", code=parameter.code,
                          value=repr(raw_value.strip()))
    return Measurement(parameter.code, value, parameter.kind.canonical, raw_value, raw_unit,
                       flags), None


def unit_error(parameter: Parameter, raw_unit: str) -> Text:
    """Why `raw_unit` cannot be used for `parameter`, for a RowError or a refused header."""
    shown = raw_unit.strip()
    canonical = parameter.kind.canonical or Text.of("none")
    if not shown:
        return Text.of("%(code)s has no unit, which is not a known unit for it (canonical unit: "
                       "%(canonical)s)", code=parameter.code, canonical=canonical)
    return Text.of("%(code)s has unit %(unit)s, which is not a known unit for it (canonical "
                   "unit: %(canonical)s)", code=parameter.code, unit=repr(shown),
                   canonical=canonical)


def has_content(measurements: tuple[Measurement, ...] | list[Measurement]) -> bool:
    """Whether any measurement says something: a value, a marker, or a flag."""
    return any(m.raw_value.strip() or m.analyser_flag for m in measurements)


# ---------------------------------------------------------------------------------------------
# Identifiers and dates

SEXES = {"M": "M", "F": "F", "MALE": "M", "FEMALE": "F", "U": "", "UNKNOWN": "", "O": "",
         "X": "", "": ""}


def clean_sex(raw: str) -> tuple[str, Text | None]:
    """'M', 'F' or '' from a sex cell, or '' and why the cell is not understood."""
    key = raw.strip().upper()
    if key in SEXES:
        return SEXES[key], None
    return "", Text.of("sex %(value)s is not M, F or empty", value=repr(raw.strip()))


def check_identifier(label: str | Text, value: str, *, required: bool) -> Text | None:
    """Why a sample or patient id cannot be used (None when it can). ``label`` is the file's
    own column name, or a Text where the format has none (an HL7 field)."""
    if not value:
        return Text.of("%(label)s is empty", label=label) if required else None
    if len(value) > MAX_ID_LENGTH:
        return Text.of("%(label)s %(value)s... is longer than %(limit)s characters", label=label,
                    value=repr(value[:20]), limit=MAX_ID_LENGTH)
    return None


MIN_YEAR, MAX_YEAR = 1900, 2100


def plausible_year(year: int) -> bool:
    """Years outside 1900-2100 are typing or clock errors, not results."""
    return MIN_YEAR <= year <= MAX_YEAR


_ISO_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$"
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_iso_datetime(raw: str) -> tuple[datetime | None, Text | None]:
    """An ISO 8601 date-time with at least minutes (aware if it has an offset), or why not."""
    cell = raw.strip()
    if not cell:
        return None, None
    if not _ISO_DATETIME.match(cell):
        return None, Text.of("%(label)s %(value)s is not an ISO 8601 date and time "
                          "(YYYY-MM-DDTHH:MM)", label="measured_at", value=repr(cell))
    try:
        value = datetime.fromisoformat(cell)
    except ValueError:
        return None, Text.of("%(label)s %(value)s is not a valid date and time",
                          label="measured_at", value=repr(cell))
    if not plausible_year(value.year):
        return None, _implausible("measured_at", cell)
    return value, None


def parse_iso_date(label: str, raw: str) -> tuple[date | None, Text | None]:
    """A YYYY-MM-DD date, or why not."""
    cell = raw.strip()
    if not cell:
        return None, None
    if not _ISO_DATE.match(cell):
        return None, Text.of("%(label)s %(value)s is not an ISO 8601 date (YYYY-MM-DD)",
                          label=label, value=repr(cell))
    try:
        value = date.fromisoformat(cell)
    except ValueError:
        return None, invalid_date(label, cell)
    if not plausible_year(value.year):
        return None, _implausible(label, cell)
    return value, None


def invalid_date(label: str | Text, cell: str) -> Text:
    return Text.of("%(label)s %(value)s is not a valid date", label=label, value=repr(cell))


def implausible_date(label: str | Text, cell: str) -> Text:
    return Text.of("%(label)s %(value)s is not a plausible date", label=label, value=repr(cell))


def _implausible(label: str, cell: str) -> Text:
    return Text.of("%(label)s %(value)s is outside %(first)s-%(last)s", label=label,
                value=repr(cell), first=MIN_YEAR, last=MAX_YEAR)


# ---------------------------------------------------------------------------------------------
# Assembling the result


def finish(
    fmt: str,
    records: list[CBCRecord],
    errors: list[RowError],
    warnings: list[Text],
) -> ParseResult:
    """Drop same-file duplicates (same accession and measured_at): an exact copy is skipped and
    the first kept; rows that share the key but not the values are all refused, as neither can
    be told right (a correction sent in the same file is imported on its own).

    A file with neither a record nor an error has no data at all and is refused.
    """
    if not records and not errors:
        raise CBCParseError(Text.of("the file has no data: no result rows or messages were found"))
    first: dict[tuple[str, str | None], CBCRecord] = {}
    conflicting: set[tuple[str, str | None]] = set()
    for record in records:
        key = _key(record)
        original = first.setdefault(key, record)
        if original is record:
            continue
        if _values(original) == _values(record):
            errors.append(RowError(record.line, (_duplicate(original, record),)))
            continue
        if key not in conflicting:
            conflicting.add(key)
            errors.append(RowError(original.line, (_conflict(record, original),)))
        errors.append(RowError(record.line, (_conflict(original, record),)))
    kept = [r for r in records if first[_key(r)] is r and _key(r) not in conflicting]
    errors.sort(key=lambda e: e.line)
    return ParseResult(fmt, tuple(kept), tuple(errors), tuple(warnings))


def _key(record: CBCRecord) -> tuple[str, str | None]:
    return record.accession, record.measured_at.isoformat() if record.measured_at else None


def _duplicate(original: CBCRecord, record: CBCRecord) -> Text:
    line, sample = original.line, repr(record.accession)
    if record.measured_at is None:
        return Text.of("duplicate of line %(line)s (sample %(sample)s, no time); skipped",
                       line=line, sample=sample)
    return Text.of("duplicate of line %(line)s (sample %(sample)s, %(when)s); skipped",
                   line=line, sample=sample, when=record.measured_at.isoformat(sep=" "))


def _conflict(other: CBCRecord, record: CBCRecord) -> Text:
    """Why ``record`` is refused: ``other`` has its sample and time with other values."""
    line, sample = other.line, repr(record.accession)
    if record.measured_at is None:
        return Text.of("same sample %(sample)s (no time) as line %(line)s but other values: "
                       "neither was imported; check the file", line=line, sample=sample)
    return Text.of("same sample %(sample)s and time (%(when)s) as line %(line)s but other "
                   "values: neither was imported; check the file", line=line, sample=sample,
                   when=record.measured_at.isoformat(sep=" "))


def _values(record: CBCRecord) -> tuple[tuple[str, float | None, str], ...]:
    return tuple(sorted((m.code, m.value, m.analyser_flag) for m in record.measurements))


def row_error(line: int, problems: list[Text]) -> RowError:
    """One RowError for a rejected row, listing every problem found in it."""
    return RowError(line, tuple(problems))


def summarise(names: list[str], limit: int = 8) -> str | Text:
    """Quoted names for a message, cut after `limit`."""
    shown = ", ".join(repr(n) for n in names[:limit])
    if len(names) <= limit:
        return shown
    return Text.of("%(names)s and %(more)s more", names=shown, more=len(names) - limit)
