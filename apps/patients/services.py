"""Writes for patients and specimens."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from apps.core.audit import audit_record, snapshot

from . import flag_reasons
from .models import (
    MIXUP_FLAG,
    MIXUP_SOURCE,
    RECORD_CORRECTED_FLAG,
    Patient,
    Sex,
    Specimen,
    SpecimenFlag,
    SpecimenStatus,
    flag_waits,
)
from .selectors import specimen_locked_reason
from .signals import specimen_changed

ACCESSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
PATIENT_FIELDS = ["external_id", "family_name", "given_name", "birth_date", "sex"]
SPECIMEN_FIELDS = ["accession", "patient", "collected_at", "status"]

User = AbstractBaseUser | AnonymousUser | None


def accession_clean(value: str) -> str:
    value = (value or "").strip()
    if not ACCESSION_RE.match(value):
        raise ValidationError(
            _("Accession number %(value)r: use 1 to 64 letters, digits, '.', '_' or '-'."),
            params={"value": value[:80]},
        )
    return value


@transaction.atomic
def patient_create(
    *,
    actor: User,
    external_id: str = "",
    family_name: str = "",
    given_name: str = "",
    birth_date: date | None = None,
    sex: str = Sex.UNKNOWN,
) -> Patient:
    patient = Patient(
        external_id=external_id.strip(), family_name=family_name.strip(),
        given_name=given_name.strip(), birth_date=birth_date, sex=sex or Sex.UNKNOWN,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    patient.full_clean()
    patient.save()
    audit_record(actor=actor, action="patient.create", obj=patient,
                 after=snapshot(patient, PATIENT_FIELDS))
    return patient


# What a correction of the patient's record may change: the hospital record number is the key
# that CBC rows and DICOM files are checked against, so it is not corrected here.
CORRECTABLE_FIELDS = ("family_name", "given_name", "birth_date", "sex")


@transaction.atomic
def patient_correct(*, actor: User, patient: Patient, reason: str,
                    **changes: object) -> tuple[str, ...]:
    """Correct a registered patient's name, birth date or sex, audited with what was checked
    (``reason``). Returns the fields that changed (none: nothing written). Signed cases keep
    the record as signed (their report is a snapshot); the caller re-reads what depends on
    sex and age for the others (apps.workflow.services.patient_correct)."""
    if not (reason or "").strip():
        raise ValidationError(_("Say why the record is corrected (what was checked)."))
    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    before = snapshot(locked, PATIENT_FIELDS)
    for name, value in changes.items():
        if name not in CORRECTABLE_FIELDS:
            raise ValueError(f"{name} cannot be corrected here")
        setattr(locked, name, value.strip() if isinstance(value, str) else value)
    if not locked.sex:
        locked.sex = Sex.UNKNOWN
    changed = tuple(name for name in CORRECTABLE_FIELDS
                    if getattr(locked, name) != before[name])
    if not changed:
        return ()
    locked.superseded = _superseded(locked.superseded or {}, before, locked, changed)
    locked.full_clean()
    locked.save()
    audit_record(actor=actor, action="patient.update", obj=locked, before=before,
                 after=snapshot(locked, PATIENT_FIELDS),
                 detail={"reason": reason.strip()[:500], "fields": list(changed)})
    return changed


def _superseded(kept: dict[str, list[str]], before: dict[str, object], patient: Patient,
                changed: tuple[str, ...]) -> dict[str, list[str]]:
    """The sex and birth dates the record held before this correction, added to those it held
    before earlier ones; a value corrected back to is current again, not superseded."""
    out = {name: list(values) for name, values in kept.items()}
    for name in ("sex", "birth_date"):
        if name not in changed:
            continue
        old, new = (v.isoformat() if isinstance(v, date) else v
                    for v in (before[name], getattr(patient, name)))
        values = [v for v in out.get(name, []) if v != new]
        if old not in (None, "", Sex.UNKNOWN) and old not in values:
            values.append(old)
        out[name] = values
    return {name: values for name, values in out.items() if values}


@transaction.atomic
def specimen_create(
    *,
    actor: User,
    accession: str,
    patient: Patient | None = None,
    collected_at: datetime | None = None,
) -> Specimen:
    specimen = Specimen(
        accession=accession_clean(accession), patient=patient, collected_at=collected_at,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    specimen.full_clean()
    specimen.save()
    audit_record(actor=actor, action="specimen.create", obj=specimen,
                 after=snapshot(specimen, SPECIMEN_FIELDS))
    return specimen


@transaction.atomic
def specimen_get_or_create(
    *, actor: User, accession: str, patient: Patient | None = None
) -> tuple[Specimen, bool]:
    accession = accession_clean(accession)
    # select_for_update serialises two imports creating the same specimen at once.
    existing = Specimen.objects.select_for_update().filter(accession=accession).first()
    if existing is not None:
        if patient is not None and existing.patient_id is None:
            specimen_update(actor=actor, specimen=existing, patient=patient)
        return existing, False
    return specimen_create(actor=actor, accession=accession, patient=patient), True


@transaction.atomic
def specimen_update(*, actor: User, specimen: Specimen, detail: dict | None = None,
                    **changes: object) -> Specimen:
    """Change a specimen's patient or collection time, audited; ``detail``: where the change
    came from, kept with the audit event (a CBC file's line and field)."""
    before = snapshot(specimen, SPECIMEN_FIELDS)
    for name, value in changes.items():
        if name not in {"patient", "collected_at"}:
            raise ValueError(f"{name} cannot be changed here")
        setattr(specimen, name, value)
    specimen.full_clean()
    specimen.save()
    audit_record(actor=actor, action="specimen.update", obj=specimen, before=before,
                 after=snapshot(specimen, SPECIMEN_FIELDS), detail=detail)
    specimen_changed.send(sender=Specimen, specimen=specimen)
    return specimen


@transaction.atomic
def specimen_collection_time_set(*, actor: User, specimen: Specimen,
                                 collected_at: datetime) -> Specimen:
    """Enter or correct a specimen's collection time (audited as ``specimen.update``), while
    the case is not signed: the signed report and the result message carry the time signed."""
    locked = Specimen.objects.select_for_update().get(pk=specimen.pk)
    if (reason := specimen_locked_reason(locked)) is not None:
        raise ValidationError(reason)
    if locked.collected_at == collected_at:
        return locked  # the same time saved again: nothing changed, nothing to audit
    return specimen_update(actor=actor, specimen=locked, collected_at=collected_at)


@transaction.atomic
def specimen_set_status(*, actor: User, specimen: Specimen, status: str) -> Specimen:
    if specimen.status == status:
        return specimen
    before = {"status": specimen.status}
    specimen.status = SpecimenStatus(status)
    specimen.save(update_fields=["status", "updated_at"])
    audit_record(actor=actor, action="specimen.status", obj=specimen, before=before,
                 after={"status": specimen.status})
    specimen.priority = specimen_priority_update(specimen=specimen)  # a signature changes it
    return specimen


@dataclass(frozen=True)
class FlagRaised:
    """A flag a rule raises: its name, the finding as recorded, its weight in the priority and
    the finding as a code with its parameters (apps.patients.flag_reasons)."""

    name: str
    rule: str
    weight: int = 1
    reason: Mapping[str, Any] = field(default_factory=dict)


def specimen_priority_update(*, specimen: Specimen) -> int:
    """The specimen's worklist priority: the sum of the weights of the flags it waits for
    (models.flag_waits; 0 without one), and its urgency, the largest of those weights (the
    worklist reads the urgency first). Read again when its flags or its status change."""
    status = Specimen.objects.values_list("status", flat=True).get(pk=specimen.pk)
    weights = [weight for name, weight in SpecimenFlag.objects.filter(specimen=specimen)
               .values_list("name", "weight") if flag_waits(status, name)]
    priority = sum(weights)
    Specimen.objects.filter(pk=specimen.pk).update(priority=priority,
                                                   urgency=max(weights, default=0))
    return priority


@transaction.atomic
def specimen_flags_replace(*, specimen: Specimen, source: str, rules_version: str,
                           flags: Iterable[FlagRaised]) -> int:
    """Replace the flags one source (the hemogram rules, the scores) raised on `specimen` and
    update its priority; returns the priority."""
    SpecimenFlag.objects.filter(specimen=specimen, source=source).delete()
    SpecimenFlag.objects.bulk_create([
        SpecimenFlag(specimen=specimen, name=f.name, source=source, rule=f.rule,
                     reason=dict(f.reason), weight=f.weight, rules_version=rules_version)
        for f in flags])
    return specimen_priority_update(specimen=specimen)


MIXUP_RULES_VERSION = "identity-2"  # 2: the flag weighs MIXUP_WEIGHT, not 1
# A possible sample mix-up comes before any finding: every result of both specimens may belong to
# another patient (signed ones included, which the worklist then lists again).
MIXUP_WEIGHT = 10
_RULE_MAX = 200  # SpecimenFlag.rule
_MORE = "…"


# Weighs as a blood count after signing: the signed report's patient record is out of date.
RECORD_CORRECTED_WEIGHT = 3


def specimen_record_corrected_flag(*, specimen: Specimen, fields: Iterable[str]) -> None:
    """Flag a signed case whose patient's record was corrected (``fields``, added to those
    of a correction before its amendment); no ``fields``: the flag goes (the amendment read the
    case again)."""
    fields = list(fields)
    if fields:
        earlier = SpecimenFlag.objects.filter(specimen=specimen,
                                              name=RECORD_CORRECTED_FLAG).first()
        before = ((earlier.reason or {}).get("params") or {}).get("fields") or [] \
            if earlier is not None else []
        fields = [f for f in CORRECTABLE_FIELDS if f in {*before, *fields}]
    specimen_flags_replace(
        specimen=specimen, source=RECORD_CORRECTED_FLAG, rules_version="patient-record-1",
        flags=[FlagRaised(RECORD_CORRECTED_FLAG, ", ".join(fields), RECORD_CORRECTED_WEIGHT,
                          {"code": flag_reasons.RECORD_CORRECTED, "params": {"fields": fields}})]
        if fields else [])


def mixup_accessions(rule: str) -> list[str]:
    """The other specimens a possible_mixup flag names (its rule is their accessions)."""
    return [a for a in rule.split(", ") if a and a != _MORE]


@transaction.atomic
def specimen_mixup_flag(*, actor: User, specimen: Specimen,
                        others: Iterable[str]) -> SpecimenFlag:
    """Flag a possible sample mix-up on `specimen`: the same material (identical images) is
    stored for the `others` specimens. The flag is kept until someone removes it; it names every
    other specimen seen so far and, like any flag, puts the specimen on the worklist."""
    flag = (SpecimenFlag.objects.select_for_update()
            .filter(specimen=specimen, name=MIXUP_FLAG, source=MIXUP_SOURCE).first())
    known = mixup_accessions(flag.rule) if flag is not None else []
    new = sorted(set(others) - set(known) - {specimen.accession})
    if flag is not None and not new:
        return flag
    names, rule = [*known, *new], ""
    for i in range(len(names), 0, -1):
        rule = ", ".join(names[:i]) + (f", {_MORE}" if i < len(names) else "")
        if len(rule) <= _RULE_MAX:
            break
    if flag is None:
        flag = SpecimenFlag.objects.create(specimen=specimen, name=MIXUP_FLAG,
                                           source=MIXUP_SOURCE, rule=rule, weight=MIXUP_WEIGHT,
                                           rules_version=MIXUP_RULES_VERSION)
        specimen_priority_update(specimen=specimen)
    else:
        flag.rule = rule
        flag.save(update_fields=["rule"])
    audit_record(actor=actor, action="specimen.possible_mixup", obj=specimen,
                 after={"with": new})
    return flag


@transaction.atomic
def specimen_mixup_clear(*, actor: User, specimen: Specimen, reason: str) -> SpecimenFlag:
    """Remove the possible_mixup flag of `specimen` once someone has checked the identity of the
    samples, with what they checked (`reason`, audited): the flag no longer puts the specimen on
    the worklist. New identical images imported later raise it again. The other specimens the
    flag named keep theirs until they are checked too."""
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("Say what was checked before clearing the flag."))
    flag = (SpecimenFlag.objects.select_for_update()
            .filter(specimen=specimen, name=MIXUP_FLAG, source=MIXUP_SOURCE).first())
    if flag is None:
        raise ValidationError(_("This specimen has no possible mix-up flag."))
    flag.delete()
    specimen_priority_update(specimen=specimen)
    audit_record(actor=actor, action="specimen.possible_mixup_cleared", obj=specimen,
                 before={"with": mixup_accessions(flag.rule)}, after={"reason": reason})
    return flag
