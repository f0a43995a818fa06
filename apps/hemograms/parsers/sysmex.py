"""Sysmex XN-series CSV exports (IPU/XN-L 'Sample' export and XN_SAMPLE.csv).

One row per analysis. Parameter columns carry their unit in parentheses ('WBC(10^9/L)'),
research parameters are bracketed ('[NE-SFL(ch)]', '[NE-WX]') or have an empty unit
('NE-WX()'), and a parameter may have a mark column ('WBC/M') holding the same markers
that can also be attached to the value itself ('12.3*', '@0.05', '----', '++++', 'ERROR').
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time

from apps.core.text import Text

from .common import (
    ATTACHED_MARKERS,
    AnalyserMessage,
    CBCParseError,
    CBCRecord,
    Measurement,
    ParseResult,
    RowError,
    check_identifier,
    clean_sex,
    csv_rows,
    decode_text,
    find_header,
    finish,
    fit_row,
    has_content,
    implausible_date,
    invalid_date,
    measurement,
    plausible_year,
    row_error,
    summarise,
    trim_header,
    unit_error,
    uses_decimal_comma,
    whole_marker,
)
from .units import Parameter, conversion_factor, parameter_for

FORMAT = "sysmex"
DEFAULT_ANALYSER = "Sysmex XN"

_META = {
    "sample no.": "accession", "sample no": "accession", "sample number": "accession",
    "patient id": "patient_id", "date": "date", "time": "time",
    "analyzer id": "analyzer_id", "analyser id": "analyzer_id", "nickname": "nickname",
    "birth": "birth", "birth date": "birth", "date of birth": "birth", "sex": "sex",
}
# Columns every XN export has that carry nothing the import needs; not worth a warning.
_KNOWN_UNUSED = {
    "rack", "position", "sample inf.", "order type", "measurement mode", "discrete",
    "analysis info.", "judgment", "order info.", "wbc info.", "plt info.", "rbc info.",
    "rule result", "validate", "validator", "sample comment", "patient name",
    "patient comment", "ward name", "doctor name", "output", "sequence no.", "unclassified()",
}
# Sample numbers the analyser gives to controls, background checks and calibrations; 'ERR'
# plus digits is what it assigns when the barcode could not be read.
_TECHNICAL = re.compile(r"^(QC-|BACKGROUNDCHECK|CAL-|PRE-CHK-|OPT-AXIS|XNCAL)", re.IGNORECASE)
_UNREAD_BARCODE = re.compile(r"^ERR\d*$", re.IGNORECASE)
_PARAM_HEADER = re.compile(r"^(?P<code>.*?)(?:\((?P<unit>[^()]*)\))?$")
# IP (interpretive program) messages, one column each: 'IP ABN(WBC)Neutrophilia',
# 'IP SUS(PLT)PLT Clumps?'. A cell holding anything but blank or 0 means the analyser raised it.
_IP_COLUMN = re.compile(r"^\[?\s*IP\s*(?:ABN|SUS)\s*\([^()]*\)\s*(?P<text>[^\]]+?)\s*\]?$",
                        re.IGNORECASE)
# A free-text column some IPU/middleware exports write instead: 'Blasts?;Left Shift?'.
_IP_TEXT_COLUMNS = ("ip message", "ip messages", "ip message(s)")
_IP_NOT_RAISED = ("", "0")


@dataclass(frozen=True)
class _Column:
    index: int
    parameter: Parameter
    raw_unit: str
    mark_index: int | None


@dataclass(frozen=True)
class _Layout:
    width: int
    meta: dict[str, int]
    columns: tuple[_Column, ...]
    warnings: tuple[Text, ...]
    ip_columns: tuple[tuple[int, str], ...] = ()
    ip_text: int | None = None


def is_sysmex_header(cells: list[str]) -> bool:
    """Whether a CSV line is a Sysmex header (it has a 'Sample No.' column)."""
    return any(_norm(c) in ("sample no.", "sample no") for c in cells)


def _norm(name: str) -> str:
    return re.sub(r"\s+", " ", name.strip()).lower()


def _split_param(name: str) -> tuple[str, str | None]:
    inner = name.strip()
    if inner.startswith("[") and inner.endswith("]"):
        inner = inner[1:-1].strip()
    match = _PARAM_HEADER.match(inner)
    if match is None:  # the pattern matches any single-line name; this is a multi-line one
        return inner, None
    return match.group("code").strip(), match.group("unit")


def _layout(header: tuple[str, ...]) -> _Layout:
    cells = trim_header(header)
    meta: dict[str, int] = {}
    marks: dict[str, int] = {}
    found: list[tuple[int, Parameter, str]] = []
    ignored: list[str] = []
    duplicates: list[str] = []
    problems: list[Text] = []
    ip_columns: list[tuple[int, str]] = []
    ip_text: int | None = None
    for index, name in enumerate(cells):
        key = _norm(name)
        if key in _META:
            meta.setdefault(_META[key], index)
            continue
        ip = _IP_COLUMN.match(name.strip())
        if ip is not None:
            ip_columns.append((index, re.sub(r"\s+", " ", ip.group("text"))))
            continue
        if key in _IP_TEXT_COLUMNS:
            ip_text = index if ip_text is None else ip_text
            continue
        bare = name.strip().strip("[]").strip()
        if bare.upper().endswith("/M"):
            parameter = parameter_for(_split_param(bare[:-2])[0])
            if parameter is not None:
                marks.setdefault(parameter.code, index)
            continue
        code, unit = _split_param(name)
        parameter = parameter_for(code)
        if parameter is None:
            if key and key not in _KNOWN_UNUSED:
                ignored.append(name.strip())
            continue
        if conversion_factor(parameter, unit or "") is None:
            problems.append(Text.of("column %(column)s: %(problem)s", column=repr(name.strip()),
                                    problem=unit_error(parameter, unit or "")))
            continue
        if any(p.code == parameter.code for _i, p, _u in found):
            duplicates.append(name.strip())
            continue
        found.append((index, parameter, unit or ""))
    if problems:
        raise CBCParseError(Text.of("Sysmex header refused: %(problems)s",
                                    problems=tuple(problems)))
    if "accession" not in meta:
        raise CBCParseError(Text.of("the Sysmex export has no 'Sample No.' column"))
    if not found:
        raise CBCParseError(Text.of(
            "the Sysmex export has no CBC parameter column (such as 'WBC(10^9/L)')"))
    warnings: list[Text] = []
    if ignored:
        warnings.append(Text.of(
            "Sysmex columns that are not CBC parameters were ignored (%(n)s): %(names)s",
            n=len(ignored), names=summarise(ignored)))
    if duplicates:
        warnings.append(Text.of(
            "repeated parameter columns were ignored (the first one is used): %(names)s",
            names=summarise(duplicates)))
    columns = tuple(_Column(i, p, u, marks.get(p.code)) for i, p, u in found)
    return _Layout(len(cells), meta, columns, tuple(warnings), tuple(ip_columns), ip_text)


def parse(data: bytes) -> ParseResult:
    """Parse a Sysmex XN CSV export; each data row becomes a record or a RowError."""
    text = decode_text(data)
    header = find_header(text, is_sysmex_header)
    if header is None:
        raise CBCParseError(Text.of(
            "no Sysmex header found: expected a 'Sample No.' column in the first lines"))
    layout = _layout(header.cells)
    warnings = list(layout.warnings)
    if header.line > 1:
        warnings.append(Text.of("lines 1-%(last)s before the Sysmex header were ignored",
                                last=header.line - 1))

    rows = list(csv_rows(text, header.delimiter, header.line))
    fitted: list[tuple[int, tuple[str, ...], str]] = []
    errors: list[RowError] = []
    for row in rows:
        if row.error:
            errors.append(row_error(row.line, [row.error]))
            continue
        cells = fit_row(row, layout.width)
        if isinstance(cells, Text):
            errors.append(row_error(row.line, [cells]))
            continue
        fitted.append((row.line, cells, row.raw))

    decimal_comma = uses_decimal_comma(
        header.delimiter, (cells[c.index] for _l, cells, _r in fitted for c in layout.columns)
    )
    date_columns = [layout.meta[k] for k in ("date", "birth") if k in layout.meta]
    day_first, note = _day_first([cells[i] for _l, cells, _r in fitted for i in date_columns])
    if note is not None:
        warnings.append(note)

    records: list[CBCRecord] = []
    for line, cells, raw in fitted:
        record, problems = _record(layout, line, cells, raw, day_first, decimal_comma)
        if record is None:
            errors.append(row_error(line, problems))
        else:
            records.append(record)
    return finish(FORMAT, records, errors, warnings)


def _cell(layout: _Layout, cells: tuple[str, ...], key: str) -> str:
    index = layout.meta.get(key)
    return cells[index].strip() if index is not None else ""


def _record(
    layout: _Layout,
    line: int,
    cells: tuple[str, ...],
    raw: str,
    day_first: bool,
    decimal_comma: bool,
) -> tuple[CBCRecord | None, list[Text]]:
    problems: list[Text] = []
    accession = _cell(layout, cells, "accession")
    problem = check_identifier("Sample No.", accession, required=True)
    if problem:
        problems.append(problem)
    elif _TECHNICAL.match(accession):
        problems.append(Text.of("Sample No. %(sample)s is a control/technical sample, not "
                                "imported", sample=repr(accession)))
    elif _UNREAD_BARCODE.match(accession):
        problems.append(Text.of("Sample No. %(sample)s means the analyser could not read the "
                                "barcode", sample=repr(accession)))
    patient_id = _cell(layout, cells, "patient_id")
    problem = check_identifier("Patient ID", patient_id, required=False)
    if problem:
        problems.append(problem)
    sex, problem = clean_sex(_cell(layout, cells, "sex"))
    if problem:
        problems.append(problem)

    measured_at: datetime | None = None
    day_text = _cell(layout, cells, "date")
    day, problem = parse_date("Date", day_text, day_first)
    if problem:
        problems.append(problem)
    clock, problem = _parse_time(_cell(layout, cells, "time"))
    if problem:
        problems.append(problem)
    if day is not None:
        measured_at = datetime.combine(day, clock or time(0, 0))
    elif clock is not None and not day_text:
        problems.append(Text.of("Time is given but Date is empty"))
    birth_date, problem = parse_date("Birth", _cell(layout, cells, "birth"), day_first)
    if problem:
        problems.append(problem)

    measurements: list[Measurement] = []
    for column in layout.columns:
        mark = cells[column.mark_index] if column.mark_index is not None else ""
        m, problem = measurement(
            column.parameter, cells[column.index], column.raw_unit,
            decimal_comma=decimal_comma, extra_flags=_mark_flags(mark),
        )
        if problem:
            problems.append(problem)
        elif m is not None:
            measurements.append(m)
    if not problems and not has_content(measurements):
        problems.append(Text.of("no result in any parameter column"))
    if problems:
        return None, problems
    return CBCRecord(
        line=line,
        accession=accession,
        measured_at=measured_at,
        analyser=_analyser(_cell(layout, cells, "analyzer_id"), _cell(layout, cells, "nickname")),
        patient_id=patient_id,
        sex=sex,
        birth_date=birth_date,
        measurements=tuple(measurements),
        raw=raw,
        analyser_messages=_ip_messages(layout, cells),
    ), []


def _ip_messages(layout: _Layout, cells: tuple[str, ...]) -> tuple[AnalyserMessage, ...]:
    texts = [text for index, text in layout.ip_columns
             if cells[index].strip() not in _IP_NOT_RAISED]
    if layout.ip_text is not None:
        texts += [t.strip() for t in cells[layout.ip_text].split(";") if t.strip()]
    return tuple(AnalyserMessage("ip", text) for text in dict.fromkeys(texts))


def _mark_flags(mark: str) -> tuple[str, ...]:
    text = mark.strip()
    if not text:
        return ()
    whole = whole_marker(text)
    if whole:
        return (whole,)
    # Anything else in a mark column that is not a known marker carries no meaning we know.
    return tuple(c for c in text if c in ATTACHED_MARKERS)


def _analyser(analyzer_id: str, nickname: str) -> str:
    name = analyzer_id or nickname
    if not name:
        return DEFAULT_ANALYSER
    # XN analyser ids read 'model^serial', e.g. 'XN-10^11036'.
    model, _sep, serial = name.partition("^")
    label = model.strip() + (f" ({serial.strip()})" if serial.strip() else "")
    return label if label.lower().startswith("sysmex") else f"Sysmex {label}"


_YMD = re.compile(r"^(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})$")
_DMY_DOTS = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_AMBIGUOUS = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4})$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


# Whether nn/nn/yyyy dates are day-first is decided once from the whole file, so two rows of
# one export are never read with different orders.
def _day_first(values: list[str]) -> tuple[bool, Text | None]:
    day_first_seen = month_first_seen = ambiguous = False
    for value in values:
        match = _AMBIGUOUS.match(value.strip())
        if match is None:
            continue
        first, second = int(match.group(1)), int(match.group(2))
        day_first_seen |= first > 12
        month_first_seen |= second > 12
        ambiguous |= first <= 12 and second <= 12 and first != second
    if month_first_seen and not day_first_seen:
        return False, None
    if ambiguous and not day_first_seen:
        return True, Text.of("dates such as 03/04/2024 could be day/month or month/day; they "
                             "were read as day/month/year")
    return True, None


def parse_date(label: str, raw: str, day_first: bool) -> tuple[date | None, Text | None]:
    """A Sysmex Date/Birth cell as a date, or why it cannot be read."""
    text = raw.strip()
    if not text:
        return None, None
    match = _YMD.match(text)
    if match is not None:
        year, month, day = (int(g) for g in match.groups())
    elif (match := _DMY_DOTS.match(text)) is not None:
        day, month, year = (int(g) for g in match.groups())
    elif (match := _AMBIGUOUS.match(text)) is not None:
        a, b, year = (int(g) for g in match.groups())
        day, month = (a, b) if day_first else (b, a)
    else:
        return None, Text.of("%(label)s %(value)s is not a date", label=label, value=repr(text))
    try:
        value = date(year, month, day)
    except ValueError:
        return None, invalid_date(label, text)
    if not plausible_year(value.year):
        return None, implausible_date(label, text)
    return value, None


def _parse_time(raw: str) -> tuple[time | None, Text | None]:
    text = raw.strip()
    if not text:
        return None, None
    match = _TIME.match(text)
    if match is None:
        return None, Text.of("Time %(value)s is not a time of day (HH:MM[:SS])",
                             value=repr(text))
    hour, minute, second = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    try:
        return time(hour, minute, second), None
    except ValueError:
        return None, Text.of("Time %(value)s is not a valid time of day", value=repr(text))
