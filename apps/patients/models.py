"""Patients and specimens: the only place where patient identifiers live.

Other apps refer to a Patient by its pseudonymous id; names, birth date and the hospital
record number stay here.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.dates import age_in_years
from apps.core.models import TimeStampedModel

# A collection time outside these bounds is a typing or clock error, not a specimen.
EARLIEST_COLLECTION = datetime(1900, 1, 1, tzinfo=UTC)
# A sample is not collected in the future: this much ahead of the server's clock is taken as
# another clock's drift (an analyser's, a ward's), no more.
COLLECTION_CLOCK_SKEW = timedelta(minutes=15)


def validate_collected_at(value: datetime | None) -> None:
    """The one rule for a specimen's collection time (model, form and API)."""
    if value is None:
        return
    if value < EARLIEST_COLLECTION or value > timezone.now() + COLLECTION_CLOCK_SKEW:
        raise ValidationError(_("The collection time must lie between 1900 and now."),
                              code="collected_at_out_of_range")


def new_pseudo_id() -> str:
    return "P-" + secrets.token_hex(5).upper()


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")
    UNKNOWN = "U", _("Unknown")


class Patient(TimeStampedModel):
    pseudo_id = models.CharField(_("pseudonymous id"), max_length=16, unique=True,
                                 default=new_pseudo_id, editable=False)
    # Identifying fields, kept together in this model only.
    external_id = models.CharField(_("hospital record number"), max_length=64, blank=True,
                                   db_index=True)
    family_name = models.CharField(_("family name"), max_length=120, blank=True)
    given_name = models.CharField(_("given name"), max_length=120, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    # The sex and birth dates the record held before a correction (services.patient_correct),
    # {"sex": ["M"], "birth_date": ["1958-04-12"]}: an analyser's file that still gives one
    # carries the record as it was, which the correction checked (was_superseded).
    superseded = models.JSONField(default=dict, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        constraints = [
            models.UniqueConstraint(fields=["external_id"], condition=~models.Q(external_id=""),
                                    name="patient_external_id_unique"),
        ]

    def __str__(self) -> str:
        return self.pseudo_id

    def age_on(self, day: date) -> int | None:
        return age_in_years(self.birth_date, day)

    def was_superseded(self, field: str, value: object) -> bool:
        """Did the record hold ``value`` for ``field`` ("sex", "birth_date") before a
        correction replaced it?"""
        shown = value.isoformat() if isinstance(value, date) else value
        return shown in (self.superseded or {}).get(field, [])


class SpecimenStatus(models.TextChoices):
    REGISTERED = "registered", _("Registered")
    IMPORTED = "imported", _("Imported")
    ANALYSING = "analysing", _("Analysing")
    ANALYSED = "analysed", _("Analysed")
    IN_REVIEW = "in_review", _("In review")
    VALIDATED = "validated", _("Validated")
    REJECTED = "rejected", _("Rejected")
    RESCAN = "rescan", _("Rescan requested")


# A signed case: its result went out under a signature, so nothing may change it but an amendment
# (apps.review case_amend), which puts it back in review.
SIGNED_STATUSES = (SpecimenStatus.VALIDATED, SpecimenStatus.REJECTED)


class Specimen(TimeStampedModel):
    accession = models.CharField(_("accession number"), max_length=64, unique=True)
    patient = models.ForeignKey(Patient, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="specimens", verbose_name=_("patient"))
    collected_at = models.DateTimeField(_("collected at"), null=True, blank=True,
                                        validators=[validate_collected_at])
    status = models.CharField(_("status"), max_length=16, choices=SpecimenStatus.choices,
                              default=SpecimenStatus.REGISTERED, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    # Worklist ordering, set by the flag rules (services.specimen_priority_update): the weight
    # of its most serious waiting flag first (urgency: a possible mix-up, blasts suspected or a
    # critical value before any number of milder findings), then the sum of their weights.
    priority = models.PositiveSmallIntegerField(default=0)
    urgency = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("specimen")
        indexes = [models.Index(fields=["status", "-urgency", "-priority", "created_at"],
                                name="specimen_worklist")]
        verbose_name_plural = _("specimens")

    def __str__(self) -> str:
        return self.accession

    @property
    def is_signed(self) -> bool:
        """Whether its result went out under a signature (SIGNED_STATUSES)."""
        return self.status in SIGNED_STATUSES


# The flag a possible sample mix-up raises (identical images stored for two specimens).
MIXUP_FLAG = "possible_mixup"
MIXUP_SOURCE = "identity"
# The flag a CBC row received for a signed case raises until it is attached or left out
# (apps.hemograms.services).
CBC_HELD_FLAG = "cbc_after_signing"
# The flag a blood count whose file disagrees with the registered specimen or patient raises
# (its collection time, the patient's sex or birth date: apps.hemograms.services), until they
# agree again.
RECORD_DIFFERS_FLAG = "cbc_record_differs"
# The flag of a signed case whose patient's record was corrected after its signature
# (apps.workflow.services.patient_correct): its report carries the record as it was, until an
# amendment reads the case again.
RECORD_CORRECTED_FLAG = "record_corrected"
# Flags that put a signed case back on the worklist: each waits for a biologist's decision.
SIGNED_CASE_FLAGS = (MIXUP_FLAG, CBC_HELD_FLAG, RECORD_CORRECTED_FLAG)


def flag_waits(status: str, name: str) -> bool:
    """Whether a flag named ``name`` keeps a specimen in ``status`` waiting (it counts in its
    worklist priority and is shown as its reason): every flag of a case not signed; of a signed
    case, only what its signature could not have decided (SIGNED_CASE_FLAGS), its other flags
    having been read when it was signed."""
    return status not in SIGNED_STATUSES or name in SIGNED_CASE_FLAGS


class SpecimenFlag(models.Model):
    """Why a specimen is on the worklist: a hemogram rule, a score or the identity check that
    fired. The specimen's worklist priority is the sum of its flags' weights, its urgency the
    largest of them.

    `rule` is the finding as the rule recorded it (for the audit trail and the admin; the
    analyser's own message, or the accessions of a possible mix-up); `reason` is the same finding
    as a code with its parameters (apps.patients.flag_reasons), which pages word in the reader's
    language (apps.patients.flag_text)."""

    specimen = models.ForeignKey(Specimen, on_delete=models.CASCADE, related_name="flags")
    name = models.CharField(max_length=32, db_index=True)
    source = models.CharField(max_length=16)  # "cbc" or "score"
    rule = models.CharField(max_length=200)
    reason = models.JSONField(default=dict, blank=True)
    weight = models.PositiveSmallIntegerField(default=1)  # its part of the specimen's priority
    rules_version = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["specimen", "name", "source"], name="flag_once"),
        ]

    def __str__(self) -> str:
        return f"{self.specimen}: {self.name}"
