from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from apps.core.models import AuditEvent

from .models import (
    MIXUP_FLAG,
    MIXUP_SOURCE,
    SIGNED_STATUSES,
    Patient,
    Specimen,
    SpecimenFlag,
    SpecimenStatus,
)

SPECIMEN_SIGNED = "specimen_signed"


def patient_search(query: str = "") -> QuerySet[Patient]:
    qs = Patient.objects.annotate(specimen_count=Count("specimens")).order_by("-created_at")
    query = query.strip()
    if query:
        qs = qs.filter(
            Q(pseudo_id__iexact=query) | Q(external_id__iexact=query)
            | Q(family_name__icontains=query) | Q(given_name__icontains=query)
        )
    return qs


def specimen_search(query: str = "") -> QuerySet[Specimen]:
    qs = Specimen.objects.select_related("patient")
    query = query.strip()
    if query:
        qs = qs.filter(Q(accession__icontains=query) | Q(patient__pseudo_id__iexact=query))
    return qs


def specimen_mixup(specimen: Specimen) -> SpecimenFlag | None:
    """The specimen's possible sample mix-up flag, if it has one."""
    return specimen.flags.filter(name=MIXUP_FLAG, source=MIXUP_SOURCE).first()


def mixup_raised_before_signing(specimen: Specimen) -> bool:
    """Whether a signed specimen's possible mix-up flag was already open when the case was last
    signed (a rejection may be signed with it open; a validation may not), rather than raised
    after, by another specimen's identical images: the audited status change into a signed
    status that came last, against the flag's creation. No query for an open case."""
    if not specimen.is_signed:
        return False
    flag = next((f for f in specimen.flags.all()
                 if f.name == MIXUP_FLAG and f.source == MIXUP_SOURCE), None)
    if flag is None:
        return False
    signed = (AuditEvent.objects.filter(action="specimen.status",
                                        object_type=Specimen._meta.label_lower,
                                        object_id=str(specimen.pk),
                                        after__status__in=sorted(SIGNED_STATUSES))
              .order_by("-at").values_list("at", flat=True).first())
    return signed is not None and flag.created_at <= signed


def specimen_locked_reason(specimen: Specimen | None) -> str | None:
    """Why nothing may be added to or recomputed for this specimen now (new images, CBC rows,
    a re-analysis, a reclassification), in the reader's language; None when it is open.

    The one rule for "a signed case is immutable except through an amendment"; read the status
    under select_for_update when the answer guards a write."""
    if specimen is None or specimen.status not in SIGNED_STATUSES:
        return None
    return _("Specimen %(accession)s is signed (%(status)s) and locked: amend the case "
             "first.") % {"accession": specimen.accession,
                          "status": str(specimen.get_status_display()).lower()}


def patient_registered(external_id: str) -> Patient | None:
    """The patient registered under this hospital record number, if any."""
    external_id = external_id.strip()
    return Patient.objects.filter(external_id=external_id).first() if external_id else None


@dataclass(frozen=True)
class IdentityProblem:
    """Why a result that names a sample or a patient cannot be attached to a specimen.

    code: "sample_mismatch" (another sample id), "patient_mismatch" (another patient id),
    "patient_unverifiable" (the specimen's patient has no hospital record number to compare),
    "patient_unknown" (no registered patient has that id). Callers turn it into a sentence.
    """

    code: str
    accession: str
    patient_id: str


def specimen_identity_problem(
    *, specimen: Specimen | None, accession: str, patient_id: str = ""
) -> IdentityProblem | None:
    """The one rule for "does this sample id and patient id name this specimen".

    `specimen` is the specimen the result would be attached to (None: not registered yet).
    A blank patient id contradicts nothing; a specimen without a patient accepts a patient id
    only when that patient is registered (nothing is ever created from a result).
    """
    accession, patient_id = accession.strip(), patient_id.strip()
    if specimen is not None and accession != specimen.accession:
        return IdentityProblem("sample_mismatch", accession, patient_id)
    if not patient_id:
        return None
    patient = specimen.patient if specimen is not None else None
    if patient is None:
        if patient_registered(patient_id) is None:
            return IdentityProblem("patient_unknown", accession, patient_id)
        return None
    if not patient.external_id:
        return IdentityProblem("patient_unverifiable", accession, patient_id)
    if patient.external_id != patient_id:
        return IdentityProblem("patient_mismatch", accession, patient_id)
    return None


@dataclass(frozen=True)
class RescanRequest:
    """Why a biologist asked for the smear to be scanned again, who and when."""

    reason: str
    by: str
    at: datetime


def specimen_rescan_request(specimen: Specimen) -> RescanRequest | None:
    """The rescan a biologist asked for, while the specimen waits for it (its status): the
    reason, as recorded in the audit trail, for the technician who scans the slide again."""
    if specimen.status != SpecimenStatus.RESCAN:
        return None
    event = (AuditEvent.objects.filter(action="case.rescan", object_type="patients.specimen",
                                       object_id=str(specimen.pk))
             .select_related("actor").order_by("-at", "-id").first())
    if event is None:
        return None
    actor = event.actor
    by = (actor.get_full_name() or actor.get_username()) if actor else event.actor_username
    return RescanRequest(reason=str((event.after or {}).get("reason") or ""), by=by,
                         at=event.at)


def patient_specimens(patient: Patient) -> QuerySet[Specimen]:
    """A patient's specimens, the most recently collected first (a specimen without a collection
    time at its registration), as the case page's earlier specimens are ordered: a specimen
    registered late for an earlier sample does not read as the latest."""
    return (patient.specimens.annotate(when=Coalesce("collected_at", "created_at"))
            .order_by("-when", "-pk"))
