"""Storing imported smear images as cells (apps.workflow queues their analysis)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from apps.core.audit import audit_record
from apps.core.errors import ImportRefusedError
from apps.core.text import file_reason, translated
from apps.patients.models import Specimen, SpecimenStatus
from apps.patients.selectors import IdentityProblem, specimen_identity_problem
from apps.patients.services import specimen_mixup_flag, specimen_set_status

from .importers import (
    DEFAULT_LIMITS,
    ImportBatch,
    ImportedImage,
    ImportRefused,
    Limits,
    is_archive,
    read_folder,
    read_upload,
)
from .models import Cell, SmearUpload, UploadKind
from .selectors import cells_stored_elsewhere

User = AbstractBaseUser | AnonymousUser | None


@dataclass(frozen=True)
class SmearImportOutcome:
    specimen: str
    upload_id: int | None
    images_imported: int
    duplicates: list[str] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    analysis_run_id: int | None = None
    # Imported images identical (sha256) to cells of another specimen: a possible sample mix-up,
    # warned about on both specimens; [{"file": name, "specimen": other accession}].
    cross_specimen_duplicates: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "specimen": self.specimen, "upload": self.upload_id,
            "images_imported": self.images_imported, "duplicates": len(self.duplicates),
            "duplicate_files": self.duplicates, "rejected": self.rejected,
            "skipped": self.skipped, "analysis_run": self.analysis_run_id,
            "cross_specimen_duplicates": self.cross_specimen_duplicates,
        }


def upload_limits() -> Limits:
    return Limits(**{**DEFAULT_LIMITS.__dict__, "max_upload_bytes": settings.UPLOAD_MAX_BYTES})


def batches_merge(batches: list[ImportBatch]) -> ImportBatch:
    """One batch from several uploads (files picked together in one form)."""
    return ImportBatch(
        images=tuple(i for b in batches for i in b.images),
        rejected=tuple(r for b in batches for r in b.rejected),
        duplicates=tuple(d for b in batches for d in b.duplicates),
        skipped=tuple(s for b in batches for s in b.skipped),
    )


def smear_read_upload(*, name: str, fileobj: BinaryIO) -> ImportBatch:
    try:
        return read_upload(name, fileobj, limits=upload_limits())
    except ImportRefused as exc:
        raise ImportRefusedError(translated(exc.text)) from exc


def smear_read_folder(*, path: Path) -> ImportBatch:
    try:
        return read_folder(path, limits=upload_limits())
    except ImportRefused as exc:
        raise ImportRefusedError(translated(exc.text)) from exc


@dataclass(frozen=True)
class UploadRead:
    kind: str
    original_name: str
    batch: ImportBatch


def smear_upload_read(*, files: Sequence[File],
                      folder_paths: Sequence[str] | None = None) -> UploadRead:
    """Read what a user sent: a CellaVision export (a zip, or a folder's files with their
    relative paths), images or DICOM files. Writes nothing.

    The kind recorded comes from the content (zip archives or not), never from the number or the
    names of the files.
    """
    total = sum(f.size or 0 for f in files)
    if total > settings.UPLOAD_MAX_BYTES:
        raise ImportRefusedError(
            _("The upload is %(size).0f MB; the limit is %(limit).0f MB.")
            % {"size": total / 1e6, "limit": settings.UPLOAD_MAX_BYTES / 1e6})
    if folder_paths:
        if len(folder_paths) != len(files):
            raise ValueError("one relative path per file of the folder")
        name = folder_paths[0].split("/")[0]
        batch = smear_read_upload(name=f"{name}.zip", fileobj=_folder_as_zip(files, folder_paths))
        return UploadRead(kind=UploadKind.FOLDER, original_name=name, batch=batch)
    archives = [is_archive(f) for f in files]
    batch = batches_merge([smear_read_upload(name=f.name or "", fileobj=f) for f in files])
    return UploadRead(
        kind=UploadKind.ARCHIVE if all(archives) else UploadKind.IMAGES,
        original_name=(files[0].name or "") if len(files) == 1 else f"{len(files)} files",
        batch=batch)


def _folder_as_zip(files: Sequence[File], paths: Sequence[str]) -> io.BytesIO:
    # A folder picked in the browser arrives as files plus their relative paths; packing them as
    # a zip in memory sends them through exactly the same checks as an exported archive.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for upload, path in zip(files, paths, strict=True):
            archive.writestr(path, upload.read())
    buffer.seek(0)
    return buffer


def smear_import(
    *,
    actor: User,
    specimen: Specimen,
    batch: ImportBatch,
    kind: str = UploadKind.ARCHIVE,
    original_name: str = "",
) -> SmearImportOutcome:
    """Store the batch's images as cells of `specimen` (all or none).

    An image whose own identifiers (DICOM AccessionNumber, PatientID) name another sample or
    another patient is refused with its reason; nothing of it is stored."""
    # Every reason in the active language (apps.core.text); file names as the export wrote them.
    rejected = [{"file": r.file, "reason": translated(r.message)} for r in batch.rejected]
    batch, refused = _identity_checked(specimen=specimen, batch=batch)
    rejected += refused
    skipped = [{"file": s.file, "reason": translated(s.message)}
               for s in getattr(batch, "skipped", ())]
    in_upload_dups = list(getattr(batch, "duplicates", ()))
    if not batch.images:
        if rejected:
            listed = pgettext("between the items of a list", "; ").join(
                file_reason(r["file"], r["reason"]) for r in rejected[:10])
            if len(rejected) > 10:
                listed = _("%(files)s (and %(n)d more)") % {"files": listed,
                                                            "n": len(rejected) - 10}
            raise ImportRefusedError(_("No image in this upload could be imported: %(files)s")
                                     % {"files": listed})
        raise ImportRefusedError(_("The upload holds no cell image."))

    written: list[str] = []
    try:
        with transaction.atomic():
            outcome = _store(actor=actor, specimen=specimen, batch=batch, kind=kind,
                             original_name=original_name, rejected=rejected, skipped=skipped,
                             in_upload_dups=in_upload_dups, written=written)
    except BaseException:
        # The rows are rolled back; remove the files written for them so nothing partial stays.
        for name in written:
            default_storage.delete(name)
        raise
    return outcome


def image_identity_problem(*, specimen: Specimen, image: ImportedImage) -> IdentityProblem | None:
    """Whether the sample and patient an image names itself (DICOM AccessionNumber and
    PatientID, kept in its metadata) are `specimen` and its patient, by the one identity rule
    (patients.selectors.specimen_identity_problem). An image that names no sample (no
    AccessionNumber, every non-DICOM image) contradicts nothing on that count."""
    accession = image.metadata.get("AccessionNumber", "").strip()
    return specimen_identity_problem(specimen=specimen, accession=accession or specimen.accession,
                                     patient_id=image.metadata.get("PatientID", ""))


def _identity_reason(problem: IdentityProblem, specimen: Specimen) -> str:
    """Why an image was refused for its identity, in the active language."""
    # Only what the file itself says is echoed, never the stored patient's record number.
    params = {"sample": repr(problem.accession), "patient": repr(problem.patient_id),
              "accession": specimen.accession}
    reasons = {
        "sample_mismatch": _("DICOM AccessionNumber %(sample)s is not specimen %(accession)s; "
                             "refused, nothing of this file was imported (possible sample "
                             "mix-up)"),
        "patient_mismatch": _("DICOM PatientID %(patient)s is not the patient of specimen "
                              "%(accession)s; refused, nothing of this file was imported "
                              "(possible sample mix-up)"),
        "patient_unverifiable": _("DICOM PatientID %(patient)s cannot be checked: the patient of "
                                  "specimen %(accession)s has no hospital record number; "
                                  "refused"),
        "patient_unknown": _("DICOM PatientID %(patient)s is not a registered patient; refused "
                             "(register the patient and link specimen %(accession)s to it "
                             "first)"),
    }
    return reasons[problem.code] % params


def _identity_checked(*, specimen: Specimen,
                      batch: ImportBatch) -> tuple[ImportBatch, list[dict[str, str]]]:
    """The batch without the images that name another sample or patient, and those refused."""
    specimen = Specimen.objects.select_related("patient").get(pk=specimen.pk)
    kept: list[ImportedImage] = []
    refused: list[dict[str, str]] = []
    for image in batch.images:
        problem = image_identity_problem(specimen=specimen, image=image)
        if problem is None:
            kept.append(image)
        else:
            refused.append({"file": image.name, "code": problem.code,
                            "reason": _identity_reason(problem, specimen)})
    if not refused:
        return batch, []
    return replace(batch, images=tuple(kept)), refused


def _store(*, actor: User, specimen: Specimen, batch: ImportBatch, kind: str, original_name: str,
           rejected: list[dict[str, str]], skipped: list[dict[str, str]],
           in_upload_dups: list[str], written: list[str]) -> SmearImportOutcome:
    specimen = Specimen.objects.select_for_update().get(pk=specimen.pk)
    known = set(Cell.objects.filter(specimen=specimen).values_list("sha256", flat=True))
    duplicates = list(in_upload_dups)
    new_images = []
    for image in batch.images:
        if image.sha256 in known:
            duplicates.append(image.name)
            continue
        known.add(image.sha256)
        new_images.append(image)
    if not new_images:
        return SmearImportOutcome(specimen=specimen.accession, upload_id=None, images_imported=0,
                                  duplicates=duplicates, rejected=rejected, skipped=skipped)

    upload = SmearUpload.objects.create(
        specimen=specimen, kind=kind, original_name=original_name[:255],
        uploaded_by=actor if actor is not None and actor.is_authenticated else None,
        images_imported=len(new_images), duplicates=duplicates, rejected=rejected,
        skipped=skipped,
    )
    cells = []
    for image in new_images:
        cell = Cell(
            specimen=specimen, upload=upload, sha256=image.sha256, source_name=image.name[:255],
            source_format=image.format, width=image.width, height=image.height,
            size_bytes=len(image.content), analyser_class=image.analyser_class[:64],
            metadata=image.metadata,
        )
        cell.image.save("cell", ContentFile(image.content), save=False)
        written.append(cell.image.name)
        cells.append(cell)
    elsewhere = cells_stored_elsewhere(specimen=specimen,
                                       sha256s=[image.sha256 for image in new_images])
    cross = [{"file": image.name, "specimen": other}
             for image in new_images for other in elsewhere.get(image.sha256, ())]
    Cell.objects.bulk_create(cells)
    audit_record(actor=actor, action="smear.import", obj=upload, after={
        "specimen": specimen.accession, "images_imported": len(new_images),
        "duplicates": len(duplicates), "rejected": len(rejected),
        "sha256": [image.sha256 for image in new_images],
        "cross_specimen_duplicates": cross,
    })
    # A warning, not a refusal: both specimens are flagged, the import goes on.
    others = sorted({c["specimen"] for c in cross})
    if others:
        specimen_mixup_flag(actor=actor, specimen=specimen, others=others)
        for other in Specimen.objects.filter(accession__in=others):
            specimen_mixup_flag(actor=actor, specimen=other, others=[specimen.accession])
    specimen_set_status(actor=actor, specimen=specimen, status=SpecimenStatus.IMPORTED)
    return SmearImportOutcome(
        specimen=specimen.accession, upload_id=upload.pk, images_imported=len(new_images),
        duplicates=duplicates, rejected=rejected, skipped=skipped,
        cross_specimen_duplicates=cross,
    )
