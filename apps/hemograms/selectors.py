from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils import timezone

from apps.patients.models import Patient, Specimen

from . import reference
from .flags import ABSOLUTE_OF_SHARE, COMPUTED_DECIMALS, computed_count, critical_low
from .models import (
    CBCResult,
    CBCValue,
    Flag,
    HeldCBCRecord,
    ReferenceInterval,
    ReferenceRangeSet,
)
from .wording import (
    record_differs_text,
    record_disagreement,
    record_explained_text,
    reported_decimals,
)


def cbc_latest(specimen: Specimen) -> CBCResult | None:
    return (CBCResult.objects.filter(specimen=specimen)
            .prefetch_related("values").order_by("-measured_at", "-created_at").first())


# The values that say most of a blood count, for a line about an earlier one.
KEY_CODES = ("WBC", "HGB", "MCV", "PLT", "NEUT#")


def cbc_earlier(specimen: Specimen, latest: CBCResult | None) -> list[dict[str, Any]]:
    """The specimen's other blood counts than ``latest`` (a rerun, a count attached after an
    amendment), newest first: when measured, by which analyser, and their key values (code,
    value, unit), so the count shown never hides the one it replaced."""
    if latest is None:
        return []
    others = (CBCResult.objects.filter(specimen=specimen).exclude(pk=latest.pk)
              .prefetch_related("values").order_by("-measured_at", "-created_at"))
    out = []
    for result in others:
        values = {v.code: v for v in result.values.all() if v.value is not None}
        out.append({"measured_at": result.measured_at, "analyser": result.analyser,
                    "values": [{"code": c, "value": values[c].value, "unit": values[c].unit,
                                "decimals": reported_decimals(c, values[c].raw_value,
                                                              values[c].raw_unit)}
                               for c in KEY_CODES if c in values],
                    # Its analyser alarms ("Blasts?"): the latest count may have none.
                    "ip_messages": result.ip_messages})
    return out


def cbc_results(specimen: Specimen) -> list[CBCResult]:
    """The specimen's counts, newest first."""
    return list(CBCResult.objects.filter(specimen=specimen)
                .order_by("-measured_at", "-created_at"))


def cbc_ip_messages(specimen: Specimen, results: list[CBCResult] | None = None) -> list[str]:
    """The analyser's IP messages of every count of the specimen (``results`` when the caller
    read them: cbc_results), each once, newest count first: a "Blasts?" on the first count
    stays a finding when a later count without it is attached. The worklist flags them; the
    CBC MDS model is not scored beside a blast one."""
    counts = cbc_results(specimen) if results is None else results
    return list(dict.fromkeys(text for r in counts for text in r.ip_messages))


def cbc_held(specimen: Specimen) -> list[HeldCBCRecord]:
    """The CBC rows received after the case was signed that wait for a biologist: neither attached
    nor left out (oldest first)."""
    return list(HeldCBCRecord.objects.filter(specimen=specimen, attached_result__isnull=True,
                                             left_out_reason="")
                .select_related("source", "source__imported_by"))


def cbc_subject(specimen: Specimen, cbc: CBCResult | None) -> reference.Subject:
    """Whom the specimen's blood count is read for (reference.subject_for), on the sample's
    day: the count's measurement, else the specimen's collection, else its registration."""
    patient = specimen.patient if specimen.patient_id else None
    when = (cbc.measured_at if cbc is not None and cbc.measured_at
            else specimen.collected_at or specimen.created_at)
    return reference.subject_for(
        patient_sex=patient.sex if patient else "",
        patient_birth_date=patient.birth_date if patient else None,
        record_sex=cbc.record_sex if cbc is not None else "",
        record_birth_date=cbc.record_birth_date if cbc is not None else None,
        day=timezone.localdate(when) if timezone.is_aware(when) else when.date())


# A file's collection time and the specimen's differ when they are not the same minute (both
# are entered and printed to the minute).
SAME_TIME_SECONDS = 60


def record_identity(patient: Patient | None, *, record_sex: str,
                    record_birth_date: date | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What an analyser's record gives otherwise than the registered patient
    (reference.disagreements), as (unexplained, explained): a field is explained when the file
    gives the value the patient's record held before a correction, which checked it (the
    laboratory system still sending the record as it was)."""
    if patient is None:
        return (), ()
    fields = reference.disagreements(
        patient_sex=patient.sex, patient_birth_date=patient.birth_date,
        record_sex=record_sex, record_birth_date=record_birth_date)
    given = {"sex": record_sex, "birth_date": record_birth_date}
    explained = tuple(f for f in fields if patient.was_superseded(f, given[f]))
    return tuple(f for f in fields if f not in explained), explained


def cbc_record_fields(specimen: Specimen, cbc: CBCResult | None) -> tuple[str, ...]:
    """What the count's file gives otherwise than the registered specimen and patient: of
    "collected_at" (a time not the specimen's, to the minute, or the specimen has none), "sex"
    and "birth_date" (record_identity's unexplained). The worklist flag and the case page read
    it."""
    if cbc is None:
        return ()
    patient = specimen.patient if specimen.patient_id else None
    file_time, registered = cbc.record_collected_at, specimen.collected_at
    differs = file_time is not None and (
        registered is None
        or abs((file_time - registered).total_seconds()) >= SAME_TIME_SECONDS)
    return (("collected_at",) if differs else ()) + record_identity(
        patient, record_sex=cbc.record_sex, record_birth_date=cbc.record_birth_date)[0]


def cbc_record_explained(specimen: Specimen, cbc: CBCResult | None) -> list[str]:
    """The case page's notes on what the count's file gives as the patient's record held it
    before a correction (record_identity's explained): not a disagreement to check, but the
    laboratory system still to correct."""
    if cbc is None or not specimen.patient_id:
        return []
    _, explained = record_identity(specimen.patient, record_sex=cbc.record_sex,
                                   record_birth_date=cbc.record_birth_date)
    return record_explained_text(explained, record_sex=cbc.record_sex,
                                 record_birth_date=cbc.record_birth_date)


def cbc_record_differs(specimen: Specimen, cbc: CBCResult | None) -> list[str]:
    """cbc_record_fields as the case page's sentences (wording.record_differs_text): the file's
    collection time against the specimen's, each patient field with both values. Reads nothing
    the page has not."""
    fields = cbc_record_fields(specimen, cbc)
    if cbc is None or not fields:
        return []
    patient = specimen.patient if specimen.patient_id else None
    identity = tuple(f for f in fields if f != "collected_at")
    return record_differs_text(
        file_collected_at=cbc.record_collected_at if "collected_at" in fields else None,
        registered_collected_at=specimen.collected_at,
        disagreement=record_disagreement(
            identity, record_sex=cbc.record_sex, record_birth_date=cbc.record_birth_date,
            patient_sex=patient.sex, patient_birth_date=patient.birth_date)
        if identity and patient is not None else "")


@dataclass(frozen=True)
class ComputedCount:
    """An absolute white-cell count the file left out, computed as the analyser computes it
    (``flags.computed_count``, the rule the flags and the scores read): a row of the CBC table
    marked as computed, never stored as a value the file gave. Its interval is the count's
    reference set's, for the same subject, and flagged as a stored value would be."""

    code: str
    value: float
    unit: str
    share_code: str  # the share (%) it was computed from with the WBC
    ref_low: float | None
    ref_high: float | None
    flag: str
    critical: bool
    decimals: int = COMPUTED_DECIMALS
    analyser_flag: str = ""  # the analyser gave no count, so no flag of its own

    def get_flag_display(self) -> str:
        return str(Flag(self.flag).label)


def cbc_computed(result: CBCResult, specimen: Specimen | None = None) -> list[ComputedCount]:
    """The counts ``result`` leaves out and gives the share and the WBC of (none when the file
    gave every count), in ABSOLUTE_OF_SHARE's order; its specimen (``specimen`` when the caller
    has it) is read only then."""
    # Read once per result object (the CBC table and the differential's intervals both ask; a
    # result's values never change once imported).
    cached: list[ComputedCount] | None = getattr(result, "_computed_counts", None)
    if cached is not None:
        return list(cached)
    values = {v.code: v.value for v in result.values.all()}
    counts = [(code, count) for code in ABSOLUTE_OF_SHARE
              if (count := computed_count(code, values)) is not None]
    if not counts:
        result._computed_counts = []  # type: ignore[attr-defined]
        return []
    table = _result_table(result)
    subject = cbc_subject(specimen or result.specimen, result)
    out = []
    for code, count in counts:
        interval = table.interval_for(code, subject.sex, subject.age) if table else None
        out.append(ComputedCount(
            code=code, value=count, unit="10^9/L", share_code=ABSOLUTE_OF_SHARE[code],
            ref_low=interval.low if interval else None,
            ref_high=interval.high if interval else None,
            flag=reference.flag_for(count, interval),
            critical=critical_low(code, count) is not None))
    result._computed_counts = out  # type: ignore[attr-defined]
    return out


WHITE_CELL_COUNTS = frozenset({*ABSOLUTE_OF_SHARE, "IG#"})


def count_intervals(result: CBCResult, specimen: Specimen | None = None
                    ) -> dict[str, tuple[float | None, float | None]]:
    """The reference interval of each absolute white-cell count of ``result`` (ABSOLUTE_OF_SHARE's
    codes and IG#): the one stored with the value the file gave, else the computed count's (a
    file that gave the share alone), else the count's interval in the result's reference set
    for the same subject (a file that gave neither: a monocytopenia on the smear is read
    against the interval the blood count would have used); a count with none is left out.
    What reads a smear's absolute count against the same interval as the blood count's own."""
    out: dict[str, tuple[float | None, float | None]] = {}
    for v in result.values.all():
        if v.code in WHITE_CELL_COUNTS and (v.ref_low is not None or v.ref_high is not None):
            out[v.code] = (v.ref_low, v.ref_high)
    if any(code not in out for code in ABSOLUTE_OF_SHARE):
        for c in cbc_computed(result, specimen):
            if c.code not in out and (c.ref_low is not None or c.ref_high is not None):
                out[c.code] = (c.ref_low, c.ref_high)
    missing = tuple(sorted(WHITE_CELL_COUNTS - set(out)))
    table = _result_table(result) if missing else None
    if table is not None:
        subject = cbc_subject(specimen or result.specimen, result)
        for code in missing:
            interval = table.interval_for(code, subject.sex, subject.age)
            if interval is not None and (interval.low is not None or interval.high is not None):
                out[code] = (interval.low, interval.high)
    return out


def cbc_rows(result: CBCResult, specimen: Specimen | None = None
             ) -> list[CBCValue | ComputedCount]:
    """The CBC table's rows: the values as the file gave them, each computed count right after
    the share it was computed from (at the end when that share is not a row)."""
    computed = {c.share_code: c for c in cbc_computed(result, specimen)}
    rows: list[CBCValue | ComputedCount] = []
    for v in result.values.all():
        rows.append(v)
        if (c := computed.pop(v.code, None)) is not None:
            rows.append(c)
    return rows + list(computed.values())


def _result_table(result: CBCResult) -> reference.RangeTable | None:
    """The reference set ``result`` was flagged with (reference_table), read once per result
    object: its computed counts and the differential's intervals both read it."""
    if not hasattr(result, "_reference_table"):
        result._reference_table = reference_table(  # type: ignore[attr-defined]
            result.reference_ranges_version)
    return result._reference_table  # type: ignore[attr-defined, no-any-return]


def reference_table(version: str) -> reference.RangeTable | None:
    """The reference set a count was flagged with (its ``reference_ranges_version``), its
    intervals in one query: the admin's set of that version, the built-in adult table for its
    version, else None."""
    intervals = ReferenceInterval.objects.filter(range_set__version=version)
    rules = tuple(reference.Rule(i.code, i.sex, i.age_min, i.age_max, i.low, i.high)
                  for i in intervals)
    if rules or ReferenceRangeSet.objects.filter(version=version).exists():
        return reference.RangeTable(version, rules)
    return reference.default_table() if version == reference.DEFAULT_VERSION else None


def _range_table(stored: ReferenceRangeSet) -> reference.RangeTable:
    return reference.RangeTable(stored.version, tuple(
        reference.Rule(i.code, i.sex, i.age_min, i.age_max, i.low, i.high)
        for i in stored.intervals.all()))


def reference_table_active() -> reference.RangeTable:
    """The admin's active set; the built-in adult table when none is active."""
    active = ReferenceRangeSet.objects.filter(is_active=True).prefetch_related("intervals").first()
    return reference.default_table() if active is None else _range_table(active)
