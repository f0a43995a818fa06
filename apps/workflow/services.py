"""Each function runs one stage's service, then starts the stages that follow it.

Background work is started by the stage services themselves on commit, with ids: a chain that is
rolled back starts nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.files.base import File
from django.db import transaction

from apps.analysis.models import AnalysisRun
from apps.analysis.services import analysis_request, scores_request
from apps.core.errors import ImportRefusedError
from apps.hemograms import services as cbc_services
from apps.hemograms.models import CBCResult, HeldCBCRecord
from apps.patients import services as patient_services
from apps.patients.models import Patient, Specimen
from apps.patients.selectors import SPECIMEN_SIGNED, specimen_locked_reason
from apps.reports.services import report_request, result_message_request
from apps.review import services as review_services
from apps.review.models import Signature
from apps.smears import services as smear_services
from apps.smears.models import Cell, UploadKind

User = AbstractBaseUser | AnonymousUser | None


class SpecimenSignedError(ImportRefusedError, review_services.ReviewError):
    """A change to a signed case was refused, nothing was written; the message says so in the
    reader's language. Both an import refusal and a review refusal, so the import paths and the
    review actions already report it as they report their own."""

    code = SPECIMEN_SIGNED


def _require_unsigned(specimen: Specimen) -> None:
    # Read under a row lock: a signature committed meanwhile is seen, and none can commit
    # until this chain does.
    current = Specimen.objects.select_for_update().get(pk=specimen.pk)
    reason = specimen_locked_reason(current)
    if reason is not None:
        raise SpecimenSignedError(reason)


@transaction.atomic
def smear_import(*, actor: User, specimen: Specimen, batch: smear_services.ImportBatch,
                 kind: str = UploadKind.ARCHIVE,
                 original_name: str = "") -> smear_services.SmearImportOutcome:
    """Store the batch's images as cells of `specimen` and queue their analysis, all or none;
    refused for a signed case."""
    _require_unsigned(specimen)
    outcome = smear_services.smear_import(actor=actor, specimen=specimen, batch=batch, kind=kind,
                                          original_name=original_name)
    if outcome.upload_id is None:  # nothing new: no analysis to run
        return outcome
    run = analysis_request(actor=actor, specimen=specimen)
    return replace(outcome, analysis_run_id=run.pk)


def smear_upload(*, actor: User, specimen: Specimen, files: Sequence[File],
                 folder_paths: Sequence[str] | None = None) -> smear_services.SmearImportOutcome:
    """The one upload path of the page, the API and import_cellavision: read the files (the
    kind comes from their content), import them and queue the analysis."""
    reason = specimen_locked_reason(specimen)  # before reading a byte; smear_import checks again
    if reason is not None:
        raise SpecimenSignedError(reason)
    read = smear_services.smear_upload_read(files=files, folder_paths=folder_paths)
    return smear_import(actor=actor, specimen=specimen, batch=read.batch, kind=read.kind,
                        original_name=read.original_name)


@transaction.atomic
def cbc_import(*, actor: User, data: bytes, file_name: str = "", format: str | None = None,
               specimen: Specimen | None = None) -> cbc_services.CBCImportOutcome:
    """Import a CBC file (its flags are derived on import), then recompute the scores of every
    specimen it gave a result to. A file for one signed specimen is refused whole; in a batch,
    each row for a signed specimen is refused with its line and the code "specimen_signed"."""
    if specimen is not None:
        _require_unsigned(specimen)
    outcome = cbc_services.cbc_import(actor=actor, data=data, file_name=file_name, format=format,
                                      specimen=specimen)
    for target in Specimen.objects.filter(accession__in=outcome.specimens).order_by("pk"):
        scores_request(specimen=target, trigger="cbc")
    return outcome


@transaction.atomic
def cbc_held_attach(*, actor: AbstractBaseUser, held: HeldCBCRecord) -> CBCResult:
    """Attach a CBC row held while the case was signed, once it is amended; then recompute the
    specimen's scores from it. Refused while the case is signed."""
    _require_unsigned(held.specimen)
    result = cbc_services.cbc_held_attach(actor=actor, held=held)
    scores_request(specimen=held.specimen, trigger="cbc")
    return result


@transaction.atomic
def cells_reclassify(*, actor: AbstractBaseUser, specimen: Specimen, cell_ids: list[int],
                     new_class: str, undo: bool = False, name: str = "") -> list[Cell]:
    """Reclassify cells (review), then recompute the specimen's scores from the new classes;
    refused for a signed case."""
    _require_unsigned(specimen)
    changed = review_services.cells_reclassify(actor=actor, specimen=specimen, cell_ids=cell_ids,
                                               new_class=new_class, undo=undo, name=name)
    scores_request(specimen=specimen, trigger="review")
    return changed


@transaction.atomic
def cells_vacuoles_read(*, actor: AbstractBaseUser, specimen: Specimen, cell_ids: list[int],
                        seen: bool | None, undo: bool = False) -> list[Cell]:
    """The biologist's read of neutrophils' vacuoles (review), then recompute the specimen's
    scores from it; refused for a signed case."""
    _require_unsigned(specimen)
    changed = review_services.cells_vacuoles_read(actor=actor, specimen=specimen,
                                                  cell_ids=cell_ids, seen=seen, undo=undo)
    scores_request(specimen=specimen, trigger="review")
    return changed


@transaction.atomic
def analysis_rerun(*, actor: User, specimen: Specimen) -> AnalysisRun:
    """Queue the analysis of the specimen's cells again (the page's action and the API);
    refused for a signed case."""
    _require_unsigned(specimen)
    return analysis_request(actor=actor, specimen=specimen)


def case_sign(*, actor: AbstractBaseUser, specimen: Specimen, password: str, meaning: str,
              comment: str = "", ip: str | None = None,
              languages: tuple[str, ...] = (), domain_acknowledged: bool = False,
              count_acknowledged: bool = False) -> Signature:
    """Sign the case (review), queue the result message for the laboratory system in the
    signing transaction, then queue the report in each of `languages`.

    Not one transaction: a wrong password is recorded by case_sign outside its own transaction
    and must stay when the signature is refused."""
    signature = review_services.case_sign(
        actor=actor, specimen=specimen, password=password, meaning=meaning, comment=comment,
        ip=ip, on_signed=lambda s: result_message_request(signature=s),
        domain_acknowledged=domain_acknowledged, count_acknowledged=count_acknowledged)
    with transaction.atomic():
        for language in languages:
            report_request(signature=signature, language=language, actor=actor)
    return signature


# The fields of a patient's record that the reading of a blood count and the scores depend on.
SUBJECT_FIELDS = frozenset({"sex", "birth_date"})


@dataclass(frozen=True)
class PatientCorrection:
    """fields: what changed (none: nothing written); read_again: the accessions whose blood
    counts and scores were read again for the corrected record; signed: the signed cases,
    kept as signed until an amendment (which reads them again)."""

    fields: tuple[str, ...]
    read_again: tuple[str, ...] = ()
    signed: tuple[str, ...] = ()


def _subject_read_again(specimen: Specimen) -> None:
    """The blood count's intervals and flags read again for the specimen's patient as now
    registered, and its scores recomputed (age and sex are inputs); a correction it waited
    for is then taken in."""
    cbc_services.cbc_intervals_reread(specimen=specimen)
    scores_request(specimen=specimen, trigger="patient")
    patient_services.specimen_record_corrected_flag(specimen=specimen, fields=())


@transaction.atomic
def patient_correct(*, actor: User, patient: Patient, reason: str,
                    **changes: object) -> PatientCorrection:
    """Correct the patient's record (audited), then read again, for every case not signed, what
    depends on sex and age: the blood counts' intervals and flags, the record-disagreement
    flag, the scores. A signed case keeps what was signed (its report carries the record as it
    was) and waits on the worklist for its amendment, which reads it again."""
    fields = patient_services.patient_correct(actor=actor, patient=patient, reason=reason,
                                              **changes)
    if not fields:
        return PatientCorrection(fields)
    read_again, signed = [], []
    for specimen in (Specimen.objects.select_for_update().filter(patient=patient)
                     .select_related("patient").order_by("collected_at", "pk")):
        if specimen_locked_reason(specimen) is not None:
            patient_services.specimen_record_corrected_flag(specimen=specimen, fields=fields)
            signed.append(specimen.accession)
        elif SUBJECT_FIELDS & set(fields):
            _subject_read_again(specimen)
            read_again.append(specimen.accession)
    return PatientCorrection(fields, tuple(read_again), tuple(signed))


@transaction.atomic
def case_amend(*, actor: AbstractBaseUser, specimen: Specimen, reason: str) -> Specimen:
    """Unlock a signed case for an amendment (review), then read its blood count and scores
    again for the patient as now registered: a record corrected since the signature reaches
    the amended report."""
    amended = review_services.case_amend(actor=actor, specimen=specimen, reason=reason)
    _subject_read_again(amended)
    return amended
