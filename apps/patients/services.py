"""Writes for patients and specimens."""

from __future__ import annotations

import re
from datetime import date, datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from apps.core.audit import audit_record, snapshot

from .models import Patient, Sex, Specimen, SpecimenStatus

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
def specimen_update(*, actor: User, specimen: Specimen, **changes: object) -> Specimen:
    before = snapshot(specimen, SPECIMEN_FIELDS)
    for name, value in changes.items():
        if name not in {"patient", "collected_at"}:
            raise ValueError(f"{name} cannot be changed here")
        setattr(specimen, name, value)
    specimen.full_clean()
    specimen.save()
    audit_record(actor=actor, action="specimen.update", obj=specimen, before=before,
                 after=snapshot(specimen, SPECIMEN_FIELDS))
    return specimen


@transaction.atomic
def specimen_set_status(*, actor: User, specimen: Specimen, status: str) -> Specimen:
    if specimen.status == status:
        return specimen
    before = {"status": specimen.status}
    specimen.status = SpecimenStatus(status)
    specimen.save(update_fields=["status", "updated_at"])
    audit_record(actor=actor, action="specimen.status", obj=specimen, before=before,
                 after={"status": specimen.status})
    return specimen
