"""CBC imports: parse a file, store its results with reference ranges and flags."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.audit import audit_record
from apps.core.errors import ImportRefusedError
from apps.core.text import translated
from apps.core.written_dates import written_date
from apps.patients import flag_reasons
from apps.patients.models import CBC_HELD_FLAG, RECORD_DIFFERS_FLAG, Specimen
from apps.patients.selectors import (
    SPECIMEN_SIGNED,
    IdentityProblem,
    patient_registered,
    specimen_identity_problem,
    specimen_locked_reason,
)
from apps.patients.services import (
    FlagRaised,
    accession_clean,
    specimen_flags_replace,
    specimen_get_or_create,
    specimen_update,
)

from . import flags as flag_rules
from . import reference
from .models import (
    CBCImport,
    CBCResult,
    CBCValue,
    HeldCBCRecord,
    ReferenceInterval,
    ReferenceRangeSet,
)
from .parsers import CBCParseError, CBCRecord, decode_text, parse_cbc
from .selectors import (
    KEY_CODES,
    cbc_ip_messages,
    cbc_latest,
    cbc_record_fields,
    cbc_results,
    cbc_subject,
    record_identity,
    reference_table,
    reference_table_active,
)
from .wording import record_disagreement, record_explained_text, reported_decimals

User = AbstractBaseUser | AnonymousUser | None


@dataclass(frozen=True)
class CBCImportOutcome:
    format: str
    records: int
    results_created: int
    duplicates: int
    errors: list[dict[str, object]] = field(default_factory=list)
    specimens: list[str] = field(default_factory=list)
    import_id: int | None = None
    # What the file's reading assumed or left out without refusing a row (ignored columns, a
    # date order chosen for the whole file), in the active language.
    warnings: list[str] = field(default_factory=list)

    @property
    def held(self) -> int:
        """Rows kept for a signed case (in ``errors`` with ``held``: not part of it yet)."""
        return sum(1 for e in self.errors if e.get("held"))


def _dedup_key(record: CBCRecord) -> str:
    payload = {
        "accession": record.accession,
        "measured_at": record.measured_at.isoformat() if record.measured_at else None,
        "analyser": record.analyser,
        "values": sorted((m.code, m.raw_value, m.raw_unit) for m in record.measurements),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _identity_reason(problem: IdentityProblem, specimen: Specimen | None) -> str:
    """Why a CBC row was refused for its identity, in the active language (a possible sample
    mix-up must read in the technician's language)."""
    # The stored patient's record number is never echoed: only what the file itself says.
    where = (_("specimen %(accession)s") % {"accession": specimen.accession}
             if specimen is not None else _("the specimen"))
    params = {"sample": repr(problem.accession), "patient": repr(problem.patient_id),
              "where": where}
    reasons = {
        "sample_mismatch": _("sample %(sample)s is not %(where)s; nothing was attached (import "
                             "the file from the CBC import page to create it)"),
        "patient_mismatch": _("patient id %(patient)s is not the patient of %(where)s; refused, "
                              "nothing was attached (possible sample mix-up)"),
        "patient_unverifiable": _("patient id %(patient)s cannot be checked: the patient of "
                                  "%(where)s has no hospital record number; refused"),
        "patient_unknown": _("patient id %(patient)s is not a registered patient; refused (a "
                             "CBC result never creates a patient: register the patient first)"),
    }
    return reasons[problem.code] % params


def _disagreement_note(line: int, disagreement: str) -> str:
    """Why a result's intervals may not be the analyser's, in the active language;
    ``disagreement``: wording.record_disagreement (each field with both values)."""
    return _("line %(line)s: the analyser's record and the registered patient disagree "
             "(%(fields)s); the registered patient's values are used for the reference intervals "
             "(check the sample's identity)") % {"line": line, "fields": disagreement}


def _collection_time_take(actor: User, record: CBCRecord, specimen: Specimen) -> str | None:
    """The collection time the file gives (HL7: SPM-17, else OBR-7) becomes the specimen's when
    it has none (audited as any change of the specimen); a different one already registered is
    kept, and the returned warning says so. None when there is nothing to say."""
    collected = _aware(record.collected_at)
    if collected is None or specimen.collected_at == collected:
        return None
    if specimen.collected_at is None:
        try:
            specimen_update(actor=actor, specimen=specimen, collected_at=collected,
                            detail={"from": "cbc_file", "field": record.collected_at_field,
                                    "line": record.line})
        except ValidationError as exc:
            return _("line %(line)s: the collection time %(time)s was not taken: "
                     "%(reason)s") % {"line": record.line, "time": _when(collected),
                                      "reason": " ".join(exc.messages)}
        return _("line %(line)s: specimen %(accession)s takes the sample's collection time "
                 "from the file (%(field)s): %(time)s") % {
                     "line": record.line, "accession": specimen.accession,
                     "field": record.collected_at_field or _("the file"),
                     "time": _when(collected)}
    return _("line %(line)s: the file gives the sample's collection time as %(time)s; "
             "specimen %(accession)s keeps its registered one, %(registered)s (check which "
             "is right)") % {"line": record.line, "time": _when(collected),
                             "accession": specimen.accession,
                             "registered": _when(specimen.collected_at)}


def _when(value: datetime) -> str:
    """A time as the import's messages print it: the laboratory's local time, to the minute,
    in the language's own format, as the pages print it."""
    return written_date(timezone.localtime(value), "DATETIME_FORMAT")


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


@transaction.atomic
def cbc_import(
    *,
    actor: User,
    data: bytes,
    file_name: str = "",
    format: str | None = None,
    specimen: Specimen | None = None,
) -> CBCImportOutcome:
    """Import every good record of a CBC file; report each bad one with its line.

    A record is attached only to the specimen its sample id names, and only when its patient id
    (if any) is that specimen's patient (patients.selectors.specimen_identity_problem); any
    other record is refused with its line and a reason code. With `specimen`, only records for
    that accession are imported. Without it, specimens are created as needed, linked to a
    registered patient when the record names one; a CBC record never creates a patient.
    """
    try:
        parsed = parse_cbc(data, format=format)
    except CBCParseError as exc:
        raise ImportRefusedError(translated(exc.text)) from exc

    # Every reason in the active language, without the "line 3: " the line's own field says.
    errors: list[dict[str, object]] = [{"line": e.line, "reason": translated(*e.problems)}
                                       for e in parsed.errors]
    to_store: list[tuple[CBCRecord, Specimen, str]] = []
    to_hold: list[tuple[CBCRecord, Specimen, str]] = []
    duplicates = 0
    touched: list[str] = []
    for record in parsed.records:
        existing = specimen if specimen is not None else (
            Specimen.objects.select_related("patient").filter(accession=record.accession).first())
        problem = specimen_identity_problem(specimen=existing, accession=record.accession,
                                            patient_id=record.patient_id)
        if problem is not None:
            errors.append({"line": record.line, "code": problem.code,
                           "sample": record.accession,
                           "reason": _identity_reason(problem, existing)})
            continue
        locked = specimen_locked_reason(existing)
        if existing is not None and locked is not None:
            # A signed case takes new results only through an amendment: the row is held
            # with its file, for a biologist to attach once the case is amended.
            key = _dedup_key(record)
            if CBCResult.objects.filter(specimen=existing, dedup_key=key).exists():
                duplicates += 1  # the signed case already holds this very result
                continue
            held_before = HeldCBCRecord.objects.filter(specimen=existing, dedup_key=key).exists(
                ) or any(k == key and s.pk == existing.pk for _r, s, k in to_hold)
            errors.append({"line": record.line, "code": SPECIMEN_SIGNED, "held": True,
                           "sample": record.accession, "reason": locked + " " + (
                               _("The row was already kept with the case, to attach after an "
                                 "amendment.") if held_before else
                               _("The row is kept with the case, to attach after an "
                                 "amendment."))})
            if not held_before:
                to_hold.append((record, existing, key))
            continue
        try:
            accession_clean(record.accession)
        except ValidationError as exc:
            errors.append({"line": record.line, "reason": "; ".join(exc.messages)})
            continue
        target, _created = specimen_get_or_create(
            actor=actor, accession=record.accession,
            patient=patient_registered(record.patient_id))
        key = _dedup_key(record)
        if CBCResult.objects.filter(specimen=target, dedup_key=key).exists() or any(
            k == key and s.pk == target.pk for _r, s, k in to_store
        ):
            duplicates += 1
            continue
        to_store.append((record, target, key))

    errors.sort(key=lambda e: int(e["line"]))  # the file's order, whichever check found them
    warnings = [translated(w) for w in parsed.warnings]  # the rows' own notes join below
    outcome_kwargs = {"format": parsed.format, "records": len(parsed.records),
                      "duplicates": duplicates, "errors": errors, "warnings": warnings}
    if not to_store and not to_hold:
        return CBCImportOutcome(results_created=0, **outcome_kwargs)  # type: ignore[arg-type]

    source = CBCImport.objects.create(
        file_name=file_name[:255], file_sha256=hashlib.sha256(data).hexdigest(),
        # The parsers' decoding rule: the text stored is the text the records were read from.
        format=parsed.format, raw=decode_text(data),
        imported_by=actor if actor is not None and actor.is_authenticated else None,
        results_created=len(to_store), duplicates=duplicates, errors=errors,
    )
    for record, target, key in to_store:
        result = _result_store(record=record, specimen=target, source=source, key=key)
        touched.append(target.accession)
        patient = target.patient if target.patient_id else None
        disagree, explained = record_identity(patient, record_sex=record.sex,
                                              record_birth_date=record.birth_date)
        if disagree and patient is not None:
            warnings.append(_disagreement_note(record.line, record_disagreement(
                disagree, record_sex=record.sex, record_birth_date=record.birth_date,
                patient_sex=patient.sex, patient_birth_date=patient.birth_date)))
        warnings.extend(_("line %(line)s: %(note)s") % {"line": record.line, "note": note}
                        for note in record_explained_text(
                            explained, record_sex=record.sex,
                            record_birth_date=record.birth_date))
        if (note := _collection_time_take(actor, record, target)) is not None:
            warnings.append(note)
        if result.measured_at is not None and CBCResult.objects.filter(
                specimen=target, measured_at=result.measured_at).exclude(pk=result.pk).exists():
            # The same sample measured at the same time with other values: a correction, or
            # an earlier file cut short. Both are kept; the biologist is told to check.
            warnings.append(_("line %(line)s: specimen %(accession)s already has a count "
                              "measured at the same time with other values; both are kept, "
                              "this one in the table and the other under the specimen's other "
                              "counts (check which is right: a correction, or a file cut "
                              "short)") % {"line": record.line, "accession": target.accession})
        audit_record(actor=actor, action="cbc.import", obj=result, after={
            "specimen": target.accession, "source": source.pk, "line": record.line,
            "values": {m.code: m.value for m in record.measurements},
            **({"record_disagrees_with_patient": list(disagree)} if disagree else {}),
        })
    for record, target, key in to_hold:
        held = HeldCBCRecord.objects.create(
            specimen=target, source=source, source_line=record.line, dedup_key=key,
            measured_at=_aware(record.measured_at),
            # With the decimals the analyser gave each ("17.90"), as the CBC table prints them.
            key_values=[{"code": m.code, "value": m.value, "unit": m.unit,
                         "decimals": reported_decimals(m.code, m.raw_value, m.raw_unit)}
                        for code in KEY_CODES for m in record.measurements
                        if m.code == code and m.value is not None])
        audit_record(actor=actor, action="cbc.hold", obj=held, after={
            "specimen": target.accession, "source": source.pk, "line": record.line})
    for target in {t.pk: t for _r, t, _k in to_hold}.values():
        _held_flag_update(target)
    return CBCImportOutcome(results_created=len(to_store), import_id=source.pk,
                            specimens=sorted(set(touched)), **outcome_kwargs)  # type: ignore[arg-type]


HELD_RULES_VERSION = "cbc-held-1"
HELD_SOURCE = "cbc_held"
HELD_WEIGHT = 3  # a signed case waits again; the held values themselves are not read yet


def _held_flag_update(specimen: Specimen) -> None:
    """The worklist flag of the rows waiting for the signed case (none when none waits)."""
    n = HeldCBCRecord.objects.filter(specimen=specimen, attached_result__isnull=True,
                                     left_out_reason="").count()
    specimen_flags_replace(specimen=specimen, source=HELD_SOURCE, rules_version=HELD_RULES_VERSION,
                           flags=[FlagRaised(
                               name=CBC_HELD_FLAG, rule=f"{n} CBC row(s) held", weight=HELD_WEIGHT,
                               reason={"code": flag_reasons.CBC_HELD, "params": {"n": n}})]
                           if n else [])


def _held_waiting(held: HeldCBCRecord) -> HeldCBCRecord:
    """``held`` read again under a row lock; refused when it no longer waits."""
    held = HeldCBCRecord.objects.select_for_update().select_related("source", "specimen").get(
        pk=held.pk)
    if held.attached_result_id is not None:
        raise ImportRefusedError(_("This blood count is already part of the case."))
    if held.left_out_reason:
        raise ImportRefusedError(_("This blood count was left out of the case."))
    return held


@transaction.atomic
def cbc_held_leave_out(*, actor: User, held: HeldCBCRecord, reason: str) -> HeldCBCRecord:
    """A biologist decides a held row stays out of the case (a repeat, another request): kept
    with its file and the reason, audited; the signed result does not change, so a signed case
    may take this decision."""
    if not reason.strip():
        raise ImportRefusedError(_("Say why the blood count is left out of the case."))
    held = _held_waiting(held)
    held.left_out_reason = reason.strip()
    held.save(update_fields=["left_out_reason", "updated_at"])
    audit_record(actor=actor, action="cbc.held_left_out", obj=held, after={
        "specimen": held.specimen.accession, "source": held.source_id,
        "line": held.source_line, "reason": held.left_out_reason})
    _held_flag_update(held.specimen)
    return held


@transaction.atomic
def cbc_held_attach(*, actor: User, held: HeldCBCRecord) -> CBCResult:
    """Attach a row held for a signed case (cbc_import) to its specimen, read again from its
    stored file, with today's reference table as any import; the caller checks that the case
    was amended (workflow.services.cbc_held_attach)."""
    held = _held_waiting(held)
    stored = CBCResult.objects.filter(specimen=held.specimen, dedup_key=held.dedup_key).first()
    if stored is None:  # not imported again since it was held
        parsed = parse_cbc(held.source.raw.encode("utf-8"), format=held.source.format)
        record = next((r for r in parsed.records if r.line == held.source_line), None)
        if record is None or _dedup_key(record) != held.dedup_key:
            raise ImportRefusedError(_("The held row can no longer be read from its file; "
                                       "nothing was attached."))
        stored = _result_store(record=record, specimen=held.specimen, source=held.source,
                               key=held.dedup_key)
    held.attached_result = stored
    held.save(update_fields=["attached_result", "updated_at"])
    audit_record(actor=actor, action="cbc.attach_held", obj=stored, after={
        "specimen": held.specimen.accession, "source": held.source_id,
        "line": held.source_line, "held": held.pk})
    _held_flag_update(held.specimen)
    return stored


def _result_store(*, record: CBCRecord, specimen: Specimen, source: CBCImport,
                  key: str) -> CBCResult:
    table = reference_table_active()
    result = CBCResult.objects.create(
        specimen=specimen, source=source, source_line=record.line, source_format=source.format,
        analyser=record.analyser[:120], measured_at=_aware(record.measured_at), raw=record.raw,
        reference_ranges_version=table.version, dedup_key=key,
        analyser_messages=[{"kind": m.kind, "text": m.text[:200]}
                           for m in record.analyser_messages],
        record_sex=record.sex, record_birth_date=record.birth_date,
        record_collected_at=_aware(record.collected_at),
    )
    subject = cbc_subject(specimen, result)
    values = []
    for position, m in enumerate(record.measurements):
        interval = table.interval_for(m.code, subject.sex, subject.age)
        values.append(CBCValue(
            result=result, code=m.code, value=m.value, unit=m.unit, raw_value=m.raw_value[:64],
            raw_unit=m.raw_unit[:32], analyser_flag=m.analyser_flag[:16],
            ref_low=interval.low if interval else None,
            ref_high=interval.high if interval else None,
            flag=reference.flag_for(m.value, interval), position=position,
        ))
    CBCValue.objects.bulk_create(values)
    specimen_flags_update(specimen=specimen)
    return result


def cbc_intervals_reread(*, specimen: Specimen) -> int:
    """Read every blood count of ``specimen`` again for whom it is now known to be (the
    patient's sex or birth date corrected, patients.services.patient_correct): each value's
    interval and Low/High flag in the count's own reference set, then the specimen's CBC flags
    and worklist priority. Returns how many values changed."""
    changed: list[CBCValue] = []
    for result in CBCResult.objects.filter(specimen=specimen).prefetch_related("values"):
        table = reference_table(result.reference_ranges_version)
        if table is None:
            continue
        subject = cbc_subject(specimen, result)
        for v in result.values.all():
            interval = table.interval_for(v.code, subject.sex, subject.age)
            now = (interval.low if interval else None, interval.high if interval else None,
                   reference.flag_for(v.value, interval))
            if (v.ref_low, v.ref_high, v.flag) != now:
                v.ref_low, v.ref_high, v.flag = now
                changed.append(v)
    CBCValue.objects.bulk_update(changed, ["ref_low", "ref_high", "flag"])
    specimen_flags_update(specimen=specimen)
    return len(changed)


RECORD_RULES_VERSION = "cbc-record-1"
RECORD_SOURCE = "cbc_record"
# As a possible mix-up (patients.services.MIXUP_WEIGHT): the count may be another patient's.
RECORD_WEIGHT = 10


def record_differs_flag_update(specimen: Specimen, *, latest: CBCResult | None = None) -> None:
    """The worklist flag of a latest blood count whose file gives another collection time, sex
    or birth date than the registered specimen and patient (selectors.cbc_record_fields); none
    once they agree. Read again at each count and each change of the specimen
    (patients.signals.specimen_changed); ``latest``: the count when the caller has read it."""
    fields = cbc_record_fields(specimen, latest if latest is not None else cbc_latest(specimen))
    specimen_flags_replace(specimen=specimen, source=RECORD_SOURCE,
                           rules_version=RECORD_RULES_VERSION, flags=[FlagRaised(
                               name=RECORD_DIFFERS_FLAG, rule=", ".join(fields),
                               weight=RECORD_WEIGHT,
                               reason={"code": flag_reasons.CBC_RECORD_DIFFERS,
                                       "params": {"fields": list(fields)}})]
                           if fields else [])


def specimen_flags_update(*, specimen: Specimen) -> list[flag_rules.Finding]:
    """Re-derive the specimen's CBC flags from its latest CBC (and so its worklist priority)."""
    results = cbc_results(specimen)
    latest = results[0] if results else None
    # The values of the latest count; the analyser's alarms of every count of the specimen.
    ip_messages = cbc_ip_messages(specimen, results)
    findings = [] if latest is None else flag_rules.cbc_findings(
        [flag_rules.Value(v.code, v.value, v.ref_low, v.ref_high,
                          reported_decimals(v.code, v.raw_value, v.raw_unit))
         for v in latest.values.all()],
        ip_messages=ip_messages)
    specimen_flags_replace(
        specimen=specimen, source="cbc", rules_version=flag_rules.RULES_VERSION,
        flags=[FlagRaised(f.name, f.rule, f.weight, f.reason.as_dict() if f.reason else {})
               for f in findings])
    record_differs_flag_update(specimen, latest=latest)
    return findings


@transaction.atomic
def reference_ranges_copy(*, actor: User, source: ReferenceRangeSet) -> ReferenceRangeSet:
    """A new, inactive, editable version holding the same intervals as `source`."""
    n = 2
    while ReferenceRangeSet.objects.filter(version=f"{source.version}-v{n}").exists():
        n += 1
    copy = ReferenceRangeSet.objects.create(
        version=f"{source.version}-v{n}", note=f"Copied from {source.version}.",
        created_by=actor if actor is not None and actor.is_authenticated else None)
    ReferenceInterval.objects.bulk_create([
        ReferenceInterval(range_set=copy, code=i.code, sex=i.sex, age_min=i.age_min,
                          age_max=i.age_max, low=i.low, high=i.high)
        for i in source.intervals.all()])
    audit_record(actor=actor, action="reference_ranges.copy", obj=copy,
                 after={"version": copy.version, "source": source.version})
    return copy
