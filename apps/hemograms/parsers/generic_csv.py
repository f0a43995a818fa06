"""HemaClinic's documented generic CBC CSV (docs/cbc-formats.md).

    accession,measured_at,analyser,patient_id,sex,birth_date,WBC(10^9/L),HGB(g/dL),...

Only `accession` and at least one parameter column are required. Because this format is ours,
the header is strict: an unknown or repeated column refuses the file rather than losing data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from apps.core.text import Text

from .common import (
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
    measurement,
    parse_iso_date,
    parse_iso_datetime,
    row_error,
    trim_header,
    unit_error,
    uses_decimal_comma,
)
from .units import Parameter, conversion_factor, parameter_for

FORMAT = "csv"
DEFAULT_ANALYSER = "CSV"
META_COLUMNS = ("accession", "measured_at", "analyser", "patient_id", "sex", "birth_date")
_PARAM_HEADER = re.compile(r"^(?P<code>[^()]+?)\s*(?:\((?P<unit>[^()]*)\))?$")


@dataclass(frozen=True)
class _Column:
    index: int
    parameter: Parameter
    raw_unit: str


def is_generic_header(cells: list[str]) -> bool:
    """Whether a CSV line is a generic CBC header (it has an 'accession' column)."""
    return any(c.strip().lower() == "accession" for c in cells)


def _layout(header: tuple[str, ...]) -> tuple[int, dict[str, int], tuple[_Column, ...]]:
    cells = trim_header(header)
    meta: dict[str, int] = {}
    columns: list[_Column] = []
    problems: list[Text] = []
    seen: dict[str, str] = {}
    for index, name in enumerate(cells):
        label = name.strip()
        if not label:
            problems.append(Text.of("column %(n)s has no name", n=index + 1))
            continue
        key = label.lower()
        if key in META_COLUMNS:
            if key in meta:
                problems.append(Text.of("column %(column)s appears twice", column=repr(label)))
            meta[key] = index
            continue
        match = _PARAM_HEADER.match(label)
        parameter = parameter_for(match.group("code")) if match else None
        if match is None or parameter is None:
            problems.append(Text.of(
                "column %(column)s is neither one of %(names)s nor a known parameter code with "
                "its unit, such as 'WBC(10^9/L)'", column=repr(label),
                names=", ".join(META_COLUMNS)))
            continue
        unit = match.group("unit") or ""
        if conversion_factor(parameter, unit) is None:
            problems.append(Text.of("column %(column)s: %(problem)s", column=repr(label),
                                    problem=unit_error(parameter, unit)))
            continue
        if parameter.code in seen:
            problems.append(Text.of("columns %(first)s and %(second)s both give %(code)s",
                                    first=repr(seen[parameter.code]), second=repr(label),
                                    code=parameter.code))
            continue
        seen[parameter.code] = label
        columns.append(_Column(index, parameter, unit))
    if "accession" not in meta:
        problems.append(Text.of("the required column 'accession' is missing"))
    if not columns and not problems:
        problems.append(Text.of("there is no parameter column, such as 'WBC(10^9/L)'"))
    if problems:
        raise CBCParseError(Text.of("CSV header refused: %(problems)s", problems=tuple(problems)))
    return len(cells), meta, tuple(columns)


def parse(data: bytes) -> ParseResult:
    """Parse a generic CBC CSV; each data row becomes a record or a RowError."""
    text = decode_text(data)
    header = find_header(text, is_generic_header)
    if header is None:
        raise CBCParseError(Text.of(
            "no CSV header found: expected an 'accession' column in the first lines"))
    width, meta, columns = _layout(header.cells)
    warnings: list[Text] = []
    if header.line > 1:
        warnings.append(Text.of("lines 1-%(last)s before the CSV header were ignored",
                                last=header.line - 1))

    records: list[CBCRecord] = []
    errors: list[RowError] = []
    fitted: list[tuple[int, tuple[str, ...], str]] = []
    for row in csv_rows(text, header.delimiter, header.line):
        if row.error:
            errors.append(row_error(row.line, [row.error]))
            continue
        cells = fit_row(row, width)
        if isinstance(cells, Text):
            errors.append(row_error(row.line, [cells]))
            continue
        fitted.append((row.line, cells, row.raw))
    decimal_comma = uses_decimal_comma(
        header.delimiter, (cells[c.index] for _l, cells, _r in fitted for c in columns)
    )
    for line, cells, raw in fitted:
        record, problems = _record(meta, columns, line, cells, raw, decimal_comma)
        if record is None:
            errors.append(row_error(line, problems))
        else:
            records.append(record)
    return finish(FORMAT, records, errors, warnings)


def _record(
    meta: dict[str, int],
    columns: tuple[_Column, ...],
    line: int,
    cells: tuple[str, ...],
    raw: str,
    decimal_comma: bool,
) -> tuple[CBCRecord | None, list[Text]]:
    def cell(key: str) -> str:
        return cells[meta[key]].strip() if key in meta else ""

    problems: list[Text] = []
    accession = cell("accession")
    patient_id = cell("patient_id")
    for label, value, required in (("accession", accession, True),
                                   ("patient_id", patient_id, False)):
        problem = check_identifier(label, value, required=required)
        if problem:
            problems.append(problem)
    measured_at, problem = parse_iso_datetime(cell("measured_at"))
    if problem:
        problems.append(problem)
    sex, problem = clean_sex(cell("sex"))
    if problem:
        problems.append(problem)
    birth_date, problem = parse_iso_date("birth_date", cell("birth_date"))
    if problem:
        problems.append(problem)

    measurements: list[Measurement] = []
    for column in columns:
        m, problem = measurement(column.parameter, cells[column.index], column.raw_unit,
                                 decimal_comma=decimal_comma)
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
        analyser=cell("analyser") or DEFAULT_ANALYSER,
        patient_id=patient_id,
        sex=sex,
        birth_date=birth_date,
        measurements=tuple(measurements),
        raw=raw,
    ), []
