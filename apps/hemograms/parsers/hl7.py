"""HL7 v2.x result messages (ORU^R01, also OUL^R22) carrying a CBC as OBX segments.

A file may hold one message or a batch, with segments ended by CR, LF or CRLF, optionally in
MLLP frames (0x0b ... 0x1c) and FHS/BHS/BTS/FTS batch envelopes. Separators and escapes come
from each message's MSH-1 and MSH-2. Each message becomes one record or one RowError at the
line of its MSH segment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

from apps.core.hl7 import SENDING_APPLICATION
from apps.core.text import Text, Value

from .common import (
    AnalyserMessage,
    CBCRecord,
    Measurement,
    ParseResult,
    RowError,
    check_identifier,
    decode_text,
    finish,
    implausible_date,
    invalid_date,
    measurement,
    plausible_year,
    row_error,
    summarise,
)
from .units import (
    BY_LOINC,
    Parameter,
    conversion_factor,
    parameter_for,
    parameter_for_compact,
)

FORMAT = "hl7"
DEFAULT_ANALYSER = "HL7"
RESULT_MESSAGE_TYPES = ("ORU", "OUL")
_ENVELOPE = ("FHS", "BHS", "BTS", "FTS")
_SEGMENT_NAME = re.compile(r"^[A-Z][A-Z0-9]{2}$")
_LOINC = re.compile(r"^\d{1,7}-\d$")
# OBX-11 statuses with no usable result: X cannot be obtained, D deleted, W wrong, I pending.
NO_RESULT_STATUSES = ("X", "D", "W", "I")
# An OBX whose code starts with IP (IP_MSG, IP_SUS, IP-ABN...) carries an analyser interpretive
# program message, e.g. 'IP_MSG^Left Shift?^99SYSMEX'; these values mean it was not raised.
_IP_CODE = re.compile(r"^IP(?:[_ -].*)?$", re.IGNORECASE)
_IP_NOT_RAISED = ("", "0", "N", "NEG", "NEGATIVE")
# PID-8 values that mean "not M or F" in HL7 table 0001.
_OTHER_SEXES = ("", "U", "O", "A", "N", "X")


@dataclass(frozen=True)
class Encoding:
    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"


@dataclass(frozen=True)
class Segment:
    line: int
    name: str
    fields: tuple[str, ...]  # fields[n] is SEG-n, still escaped

    def field(self, n: int) -> str:
        return self.fields[n] if n < len(self.fields) else ""


@dataclass(frozen=True)
class _Message:
    line: int
    segments: tuple[tuple[int, str], ...]
    raw: str


def is_hl7(text: str) -> bool:
    """Whether a decoded file starts with an MSH or batch header segment, or has an MSH segment
    in its first lines (stray lines before it are then reported as errors)."""
    head = _strip_mllp(text[:8192])
    start = head.lstrip("\ufeff \t\r\n")
    if len(start) > 3 and start[:3] in ("MSH", *_ENVELOPE) and not start[3].isalnum():
        return True
    return any(
        len(line) > 3 and line.startswith("MSH") and not line[3].isalnum()
        for _n, _s, _e, line in _lines(head)[:20]
    )


def parse(data: bytes) -> ParseResult:
    """Parse HL7 v2 result messages; each message becomes a record or a RowError."""
    text = _strip_mllp(decode_text(data))
    messages, errors = _messages(text)
    records: list[CBCRecord] = []
    unknown: list[str] = []
    for message in messages:
        record, problems, ignored = _record(message)
        unknown.extend(ignored)
        if record is None:
            errors.append(row_error(message.line, problems))
        else:
            records.append(record)
    warnings: list[Text] = []
    if unknown:
        warnings.append(Text.of(
            "%(n)s OBX segments with codes outside the CBC parameter table were ignored: "
            "%(names)s", n=len(unknown), names=summarise(sorted(set(unknown)))))
    return finish(FORMAT, records, errors, warnings)


def _strip_mllp(text: str) -> str:
    # Deleting (not replacing) the frame bytes keeps every segment on its line number.
    return text.replace("\x0b", "").replace("\x1c", "")


def _lines(text: str) -> list[tuple[int, int, int, str]]:
    out: list[tuple[int, int, int, str]] = []
    position, number = 0, 1
    for match in re.finditer(r"\r\n|\r|\n", text):
        out.append((number, position, match.start(), text[position:match.start()]))
        position, number = match.end(), number + 1
    out.append((number, position, len(text), text[position:]))
    return out


def _messages(text: str) -> tuple[list[_Message], list[RowError]]:
    messages: list[_Message] = []
    errors: list[RowError] = []
    current: list[tuple[int, str]] = []
    start = end = 0

    def close() -> None:
        if current:
            messages.append(_Message(current[0][0], tuple(current), text[start:end]))
            current.clear()

    for number, line_start, line_end, line in _lines(text):
        segment = line.lstrip("\ufeff").rstrip(" \t")
        if not segment.strip():
            continue
        name = segment[:3]
        if name == "MSH":
            close()
            start = line_start
        elif name in _ENVELOPE:
            close()
            continue
        elif not current:
            errors.append(RowError(number, (Text.of(
                "%(segment)s is outside any HL7 message (no MSH segment before it)",
                segment=repr(segment[:20])),)))
            continue
        current.append((number, segment))
        end = line_end
    close()
    return messages, errors


def _encoding(msh: str) -> Encoding | Text:
    if len(msh) < 5 or msh[3].isalnum() or msh[3].isspace():
        return Text.of("the MSH segment does not define a field separator")
    field = msh[3]
    chars = msh[4:].split(field, 1)[0]
    defaults = Encoding()
    component = chars[0] if len(chars) > 0 else defaults.component
    repetition = chars[1] if len(chars) > 1 else defaults.repetition
    escape = chars[2] if len(chars) > 2 else defaults.escape
    sub = chars[3] if len(chars) > 3 else defaults.subcomponent
    all_chars = (field, component, repetition, escape, sub)
    if len(set(all_chars)) != 5 or any(c.isalnum() or c.isspace() for c in all_chars):
        return Text.of("MSH-2 encoding characters %(chars)s are not valid", chars=repr(chars))
    return Encoding(field, component, repetition, escape, sub)


def _segment(number: int, text: str, enc: Encoding) -> Segment | None:
    name = text[:3]
    if not _SEGMENT_NAME.match(name) or (len(text) > 3 and text[3] != enc.field):
        return None
    if name == "MSH":
        parts = text.split(enc.field)
        return Segment(number, name, ("MSH", enc.field, *parts[1:]))
    return Segment(number, name, tuple(text.split(enc.field)))


def unescape(text: str, enc: Encoding) -> str:
    """Resolve \\F\\ \\S\\ \\T\\ \\R\\ \\E\\ and \\Xhh..\\ escapes; others stay as written."""
    if enc.escape not in text:
        return text
    known = {"F": enc.field, "S": enc.component, "T": enc.subcomponent,
             "R": enc.repetition, "E": enc.escape, "H": "", "N": ""}
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] != enc.escape:
            out.append(text[i])
            i += 1
            continue
        j = text.find(enc.escape, i + 1)
        if j < 0:
            out.append(text[i:])
            break
        sequence = text[i + 1:j]
        if sequence in known:
            out.append(known[sequence])
        elif re.fullmatch(r"X(?:[0-9A-Fa-f]{2})+", sequence):
            raw = bytes.fromhex(sequence[1:])
            try:
                out.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                out.append(raw.decode("latin-1"))
        else:
            out.append(text[i:j + 1])
        i = j + 1
    return "".join(out)


def part(field: str, enc: Encoding, component: int = 1, sub: int = 1, rep: int = 0) -> str:
    """One unescaped, stripped piece of a field: repetition `rep`, 1-based component/sub."""
    repetitions = field.split(enc.repetition)
    if rep >= len(repetitions):
        return ""
    components = repetitions[rep].split(enc.component)
    if component > len(components):
        return ""
    subs = components[component - 1].split(enc.subcomponent)
    if sub > len(subs):
        return ""
    return unescape(subs[sub - 1], enc).strip()


def _record(message: _Message) -> tuple[CBCRecord | None, list[Text], list[str]]:
    first_line, msh_text = message.segments[0]
    enc = _encoding(msh_text)
    if isinstance(enc, Text):
        return None, [enc], []
    segments: list[Segment] = []
    bad: list[Text] = []
    for number, text in message.segments:
        segment = _segment(number, text, enc)
        if segment is None:
            bad.append(Text.of("line %(line)s is not an HL7 segment (%(start)s)", line=number,
                               start=repr(text[:20])))
        else:
            segments.append(segment)
    if bad:
        return None, [Text.of("message rejected: %(problems)s", problems=tuple(bad))], []
    msh = segments[0]
    message_type = part(msh.field(9), enc)
    if message_type.upper() not in RESULT_MESSAGE_TYPES:
        shown = unescape(msh.field(9), enc) or "empty"
        return None, [Text.of("MSH-9 message type %(type)s is not a result message (ORU or OUL)",
                              type=repr(shown))], []

    if part(msh.field(3), enc).upper() == SENDING_APPLICATION:
        # HemaClinic's own result, sent back by a system that echoes what it receives.
        return None, [Text.of("the message is a smear differential that HemaClinic sent (MSH-3 "
                              "%(sender)s), validated by a biologist, not an analyser's blood "
                              "count", sender=SENDING_APPLICATION)], []

    problems: list[Text] = []
    pid = next((s for s in segments if s.name == "PID"), None)
    patient_id = sex = ""
    birth_date: date | None = None
    if pid is not None:
        patient_id = part(pid.field(3), enc) or part(pid.field(2), enc)
        problem = check_identifier(Text.of("patient id (PID-3)"), patient_id, required=False)
        if problem:
            problems.append(problem)
        birth_date, problem = _birth_date(part(pid.field(7), enc))
        if problem:
            problems.append(problem)
        sex_code = part(pid.field(8), enc).upper()
        if sex_code in ("M", "F"):
            sex = sex_code
        elif sex_code not in _OTHER_SEXES:
            problems.append(Text.of("PID-8 sex %(value)s is not an HL7 administrative sex",
                                    value=repr(sex_code)))

    # An OBR's order numbers name the sample; SPM-2 is only the fallback when OBR has none.
    obr_ids = _distinct(part(x.field(3), enc) or part(x.field(2), enc)
                        for x in segments if x.name == "OBR")
    spm_ids = _distinct(part(x.field(2), enc) or part(x.field(2), enc, component=2)
                        for x in segments if x.name == "SPM")
    candidates = obr_ids or spm_ids
    if len(obr_ids) > 1 and len(spm_ids) == 1:
        # Several orders (CBC, reticulocytes...) on one tube: the specimen segment decides.
        candidates = spm_ids
    accession = candidates[0] if candidates else ""
    if len(candidates) > 1:
        problems.append(Text.of("the message has results for several samples: %(names)s",
                                names=summarise(candidates)))
    problem = check_identifier(Text.of("specimen id (OBR-3, OBR-2 or SPM-2)"), accession,
                               required=True)
    if problem:
        problems.append(problem)

    # By HL7 v2, OBR-7 (and OBX-14) of a specimen's observation is when the specimen was
    # collected, the only time many senders give; OBX-19 (v2.5) is when the analyser ran it.
    observed_at: datetime | None = None
    observed_field = ""
    times = [("OBR-7", part(x.field(7), enc)) for x in segments if x.name == "OBR"]
    times += [("OBX-14", part(x.field(14), enc)) for x in segments if x.name == "OBX"]
    for label, value in times:
        if value:
            observed_at, problem = _timestamp(label, value)
            observed_field = label
            if problem:
                problems.append(problem)
            break
    measured_at = observed_at
    if analysed := next((t for x in segments if x.name == "OBX"
                         and (t := part(x.field(19), enc))), ""):
        measured_at, problem = _timestamp("OBX-19", analysed)
        if problem:
            problems.append(problem)
    # SPM-17 (the specimen's collection date/time, the start of the range) says it where the
    # sender fills it.
    collected_at, collected_field = observed_at, observed_field
    spm_times = [part(x.field(17), enc) for x in segments if x.name == "SPM"]
    if spm_time := next((t for t in spm_times if t), ""):
        collected_at, problem = _timestamp("SPM-17", spm_time)
        collected_field = "SPM-17"
        if problem:
            problems.append(problem)

    measurements, measurement_problems, unknown, equipment = _observations(segments, enc)
    messages = _analyser_messages(segments, enc)
    problems.extend(measurement_problems)
    if not problems and not measurements:
        problems.append(Text.of("no OBX segment with a CBC parameter"))
    if problems:
        return None, problems, unknown
    analyser = equipment or _label(msh.field(3), enc) or _label(msh.field(4), enc)
    return CBCRecord(
        line=first_line,
        accession=accession,
        measured_at=measured_at,
        collected_at=collected_at,
        collected_at_field=collected_field,
        analyser=analyser or DEFAULT_ANALYSER,
        patient_id=patient_id,
        sex=sex,
        birth_date=birth_date,
        measurements=tuple(measurements),
        raw=message.raw,
        analyser_messages=messages,
    ), [], unknown


def _observations(
    segments: list[Segment], enc: Encoding
) -> tuple[list[Measurement], list[Text], list[str], str]:
    found: dict[str, tuple[int, Measurement]] = {}
    problems: list[Text] = []
    unknown: list[str] = []
    equipment = ""
    observations = [s for s in segments if s.name == "OBX"]
    # A sender that gives its observations a result status (OBX-11, after the value) gives each
    # one: an OBX without it is cut short, the results after it lost in transit, and the message
    # is not read at all. (Some senders give none; their messages are read as they are.)
    with_status = any(part(obx.field(11), enc) for obx in observations)
    for obx in observations:
        if with_status and not part(obx.field(11), enc):
            problems.append(Text.of("the observation on line %(line)s (%(code)s) has no result "
                                    "status (OBX-11), which the others have: the message may "
                                    "have been cut short", line=obx.line,
                                    code=_code_label(obx.field(3), enc) or "?"))
            continue
        parameter = identify(obx.field(3), enc)
        if parameter is None:
            if not _IP_CODE.match(part(obx.field(3), enc)):
                unknown.append(_code_label(obx.field(3), enc))
            continue
        equipment = equipment or _label(obx.field(18), enc)
        where: dict[str, Value] = {"code": parameter.code, "line": obx.line}
        value_type = part(obx.field(2), enc).upper()
        value_field = obx.field(5)
        if value_type not in ("NM", "SN", ""):
            problems.append(Text.of("%(code)s (line %(line)s) has value type %(type)s; only NM "
                                    "and SN are read", type=repr(value_type), **where))
            continue
        if enc.repetition in value_field:
            problems.append(Text.of("%(code)s (line %(line)s) has several values in OBX-5",
                                    **where))
            continue
        number_text = unescape(value_field, enc)
        if value_type == "SN" or enc.component in value_field:
            plain = _structured_numeric(value_field, enc)
            if plain is None:
                problems.append(Text.of("%(code)s (line %(line)s) structured value %(value)s is "
                                        "not a plain number",
                                        value=repr(unescape(value_field, enc)), **where))
                continue
            number_text = plain
        status = part(obx.field(11), enc).upper()
        flags = [status] if status in NO_RESULT_STATUSES else []
        flags += [f for r in range(len(obx.field(8).split(enc.repetition)))
                  if (f := part(obx.field(8), enc, rep=r)) and f.upper() != "N"]
        unit = _unit(obx.field(6), enc, parameter)
        m, problem = measurement(parameter, number_text, unit, decimal_comma=False,
                                 extra_flags=tuple(flags),
                                 force_none=status in NO_RESULT_STATUSES)
        if m is None:
            assert problem is not None  # measurement gives one or the other
            problems.append(Text.of("%(problem)s (line %(line)s)", problem=problem,
                                    line=obx.line))
            continue
        m = replace(m, raw_value=value_field)
        earlier = found.get(parameter.code)
        if earlier is None:
            found[parameter.code] = (obx.line, m)
        elif (earlier[1].value, earlier[1].analyser_flag) != (m.value, m.analyser_flag):
            problems.append(Text.of("%(code)s is reported twice with different results (lines "
                                    "%(first)s and %(second)s)", code=parameter.code,
                                    first=earlier[0], second=obx.line))
    return [m for _line, m in found.values()], problems, unknown, equipment


def _analyser_messages(segments: list[Segment], enc: Encoding) -> tuple[AnalyserMessage, ...]:
    """IP-message observations and the NTE comments that follow an OBR or an OBX, in order.

    An NTE after an OBX of a known parameter is prefixed with its code ('PLT: clumps seen');
    NTEs after PID or ORC are about the patient or the order, not the result, and are skipped.
    """
    found: list[AnalyserMessage] = []
    previous: Segment | None = None
    for segment in segments:
        if segment.name == "OBX" and _IP_CODE.match(part(segment.field(3), enc)):
            value = " ".join(p for c in (1, 2) if (p := part(segment.field(5), enc, c)))
            text = part(segment.field(3), enc, 2) or value
            if value.upper() not in _IP_NOT_RAISED and text:
                found.append(AnalyserMessage("ip", text))
        elif segment.name == "NTE" and previous is not None and previous.name in ("OBR", "OBX"):
            repetitions = segment.field(3).split(enc.repetition)
            text = " ".join(t for r in range(len(repetitions))
                            if (t := part(segment.field(3), enc, rep=r)))
            if text:
                parameter = identify(previous.field(3), enc) if previous.name == "OBX" else None
                found.append(AnalyserMessage(
                    "note", f"{parameter.code}: {text}" if parameter else text))
        if segment.name != "NTE":
            previous = segment
    return tuple(dict.fromkeys(found))


def _distinct(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _unit(field: str, enc: Encoding, parameter: Parameter) -> str:
    unit = part(field, enc) or part(field, enc, component=2)
    if conversion_factor(parameter, unit) is not None:
        return unit
    # An unescaped '^' in '10^9/L' splits the unit into components; the whole field, put back
    # together, is what the sender wrote (and what an error message should show).
    return unescape(field.split(enc.repetition)[0], enc).strip()


def _structured_numeric(field: str, enc: Encoding) -> str | None:
    """The number of an SN value that is a plain number ('=^5.2' or '^5.2'), else None."""
    comparator = part(field, enc, 1)
    number = part(field, enc, 2)
    separator = part(field, enc, 3)
    second = part(field, enc, 4)
    if comparator not in ("", "=") or separator or second:
        return None
    return number


# A batch repeats the same few OBX-3 codes thousands of times.
@lru_cache(maxsize=4096)
def identify(field: str, enc: Encoding) -> Parameter | None:
    """The CBC parameter an OBX-3 names: a LOINC code, or a local code such as NE-WX/99NEWX."""
    for offset in (0, 3):
        identifier = part(field, enc, 1 + offset)
        text = part(field, enc, 2 + offset)
        system = part(field, enc, 3 + offset).upper()
        if not identifier and not text:
            continue
        if system in ("LN", "LOINC") or (not system and _LOINC.match(identifier)):
            parameter = BY_LOINC.get(identifier)
            if parameter is not None:
                return parameter
            continue
        for candidate in (identifier, text):
            parameter = _local(candidate)
            if parameter is not None:
                return parameter
    return None


def _local(candidate: str) -> Parameter | None:
    name = re.sub(r"\([^()]*\)$", "", candidate.strip().strip("[]")).strip()
    if not name:
        return None
    parameter = parameter_for(name) or parameter_for_compact(name)
    if parameter is None and name.startswith("99"):
        parameter = parameter_for_compact(name[2:])
    return parameter


def _code_label(field: str, enc: Encoding) -> str:
    pieces = [part(field, enc, c) for c in (1, 2, 3)]
    return "^".join(pieces).strip("^") or "(empty OBX-3)"


def _label(field: str, enc: Encoding) -> str:
    pieces = [p for c in (1, 2, 3) if (p := part(field, enc, c))]
    if not pieces:
        return ""
    return pieces[0] + (f" ({', '.join(pieces[1:])})" if len(pieces) > 1 else "")


_TS = re.compile(
    r"^(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})(?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2})?"
    r"(?:\.(?P<f>\d{1,4}))?(?P<tz>[+-]\d{4})?$"
)


def _timestamp(label: str, raw: str) -> tuple[datetime | None, Text | None]:
    match = _TS.match(raw)
    if match is None:
        if re.fullmatch(r"\d{8}(\d{2})?([+-]\d{4})?", raw):
            return None, Text.of("%(label)s %(value)s has no time of day (YYYYMMDDHHMM at "
                                 "least)", label=label, value=repr(raw))
        return None, Text.of("%(label)s %(value)s is not an HL7 date/time "
                             "(YYYYMMDDHHMM[SS][+ZZZZ])", label=label, value=repr(raw))
    g = match.groupdict()
    tzinfo = None
    if g["tz"]:
        sign = -1 if g["tz"][0] == "-" else 1
        hours, minutes = int(g["tz"][1:3]), int(g["tz"][3:5])
        if hours > 14 or minutes > 59:
            return None, Text.of("%(label)s %(value)s has an invalid UTC offset", label=label,
                                 value=repr(raw))
        tzinfo = timezone(sign * timedelta(hours=hours, minutes=minutes))
    fraction = int((g["f"] or "0").ljust(6, "0"))
    try:
        value = datetime(int(g["y"]), int(g["mo"]), int(g["d"]), int(g["h"]), int(g["mi"]),
                         int(g["s"] or 0), fraction, tzinfo=tzinfo)
    except ValueError:
        return None, Text.of("%(label)s %(value)s is not a valid date/time", label=label,
                             value=repr(raw))
    if not plausible_year(value.year):
        return None, implausible_date(label, raw)
    return value, None


def _birth_date(raw: str) -> tuple[date | None, Text | None]:
    if not raw:
        return None, None
    label = Text.of("PID-7 birth date")
    match = re.match(r"^(\d{4})(\d{2})?(\d{2})?(\d*)([.+-].*)?$", raw)
    if match is None:
        return None, Text.of("%(label)s %(value)s is not an HL7 date", label=label,
                             value=repr(raw))
    if match.group(3) is None:
        return None, None  # year or year-month precision: not a full date, left empty
    try:
        value = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None, invalid_date(label, raw)
    if not plausible_year(value.year):
        return None, implausible_date(label, raw)
    return value, None
