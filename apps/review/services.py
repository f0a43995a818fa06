"""Review writes: reclassification, status changes, signature, amendment."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from apps.analysis.models import RunStatus
from apps.analysis.selectors import run_latest
from apps.core import roles, throttle
from apps.core.audit import audit_record
from apps.patients.models import Specimen, SpecimenStatus
from apps.patients.selectors import SIGNED_STATUSES, specimen_locked_reason, specimen_mixup
from apps.patients.services import specimen_set_status
from apps.smears.differential import BAND, NOT_WBC, OTHER, is_neutrophil
from apps.smears.models import Cell

from .models import Meaning, Signature
from .selectors import report_content, scanner_differs

CELL_CLASSES = ("neutrophil", BAND, "lymphocyte", "monocyte", "eosinophil", "basophil", "ig",
                "erythroblast", "platelet", "smudge", "other", "artefact", "blast")
LOCKED = SIGNED_STATUSES  # the one rule: apps.patients.selectors
OTHER_NAME_MAX = 80  # Cell.reviewed_name


class ReviewError(Exception):
    """A review action that is not allowed now; the message is shown to the user."""


def content_hash(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _require_reviewer(actor: AbstractBaseUser) -> None:
    if not roles.has_any_role(actor, roles.CAN_REVIEW):
        raise ReviewError(_("Only a biologist can do this."))


def _require_unlocked(specimen: Specimen) -> None:
    reason = specimen_locked_reason(specimen)
    if reason:
        raise ReviewError(reason)


@transaction.atomic
def case_open(*, actor: AbstractBaseUser, specimen: Specimen) -> Specimen:
    """A biologist starts reviewing an analysed case (a POST, never a page being read)."""
    _require_reviewer(actor)
    specimen = Specimen.objects.select_for_update().get(pk=specimen.pk)
    if specimen.status == SpecimenStatus.ANALYSED:
        specimen_set_status(actor=actor, specimen=specimen, status=SpecimenStatus.IN_REVIEW)
    return specimen


@transaction.atomic
def cells_reclassify(*, actor: AbstractBaseUser, specimen: Specimen, cell_ids: list[int],
                     new_class: str, undo: bool = False, name: str = "") -> list[Cell]:
    """Give cells the biologist's class, audited cell by cell. An undo (Ctrl-Z on the case
    page) is one more reclassification, back to the class before, marked as an undo; a cell
    that had no biologist's class before the move undone gets none again (the model's class,
    not a class the biologist gave). ``name``: what the biologist calls a cell classed "other"
    (a plasma cell), kept with it; any other class clears it."""
    _require_reviewer(actor)
    specimen = Specimen.objects.select_for_update().get(pk=specimen.pk)
    _require_unlocked(specimen)
    if new_class not in CELL_CLASSES:
        raise ReviewError(_("Unknown class %(class)r.") % {"class": new_class})
    cells = list(Cell.objects.filter(specimen=specimen, pk__in=cell_ids)
                 .prefetch_related("predictions"))
    if len(cells) != len(set(cell_ids)):
        raise ReviewError(_("Some of these cells do not belong to this specimen."))
    now = timezone.now()
    restored = _undone_reviewed_classes(cells, new_class) if undo else {}
    named = " ".join(name.split())[:OTHER_NAME_MAX] if new_class == OTHER else ""
    changed = []
    for cell in cells:
        before = {"class": cell.final_class, "reviewed_class": cell.reviewed_class,
                  **({"name": cell.reviewed_name} if cell.reviewed_name else {})}
        reviewed, name_then = restored.get(cell.pk, (new_class, named))
        cell.reviewed_class = reviewed
        cell.reviewed_name = name_then if reviewed == OTHER else ""
        cell.reviewed_by, cell.reviewed_at = (actor, now) if reviewed else (None, None)
        changed.append(cell)
        audit_record(actor=actor, action="cell.reclassify", obj=cell, before=before,
                     after={"class": new_class, "reviewed_class": reviewed,
                            **({"name": cell.reviewed_name} if cell.reviewed_name else {})},
                     detail={"specimen": specimen.accession, **({"undo": True} if undo else {})})
    Cell.objects.bulk_update(changed, ["reviewed_class", "reviewed_name", "reviewed_by",
                                       "reviewed_at"])
    if specimen.status == SpecimenStatus.ANALYSED:
        specimen_set_status(actor=actor, specimen=specimen, status=SpecimenStatus.IN_REVIEW)
    return changed


@transaction.atomic
def cells_vacuoles_read(*, actor: AbstractBaseUser, specimen: Specimen, cell_ids: list[int],
                        seen: bool | None, undo: bool = False) -> list[Cell]:
    """The biologist's read of neutrophils' cytoplasmic vacuoles: ``seen`` True (vacuoles
    seen), False (none seen) or None (not read: the model's output counts again), audited cell
    by cell; the VEXAS rule counts it in place of the model's output (Cell.reviewed_vacuoles).
    Neutrophils only, band forms included, by their class now (Cell.final_class)."""
    _require_reviewer(actor)
    specimen = Specimen.objects.select_for_update().get(pk=specimen.pk)
    _require_unlocked(specimen)
    cells = list(Cell.objects.filter(specimen=specimen, pk__in=cell_ids)
                 .prefetch_related("predictions"))
    if len(cells) != len(set(cell_ids)):
        raise ReviewError(_("Some of these cells do not belong to this specimen."))
    others = sum(1 for c in cells if not is_neutrophil(c.final_class))
    if others:
        raise ReviewError(ngettext(
            "%(n)d of these cells is not a neutrophil: vacuoles are read on neutrophils only.",
            "%(n)d of these cells are not neutrophils: vacuoles are read on neutrophils only.",
            others) % {"n": others})
    for cell in cells:
        audit_record(actor=actor, action="cell.vacuoles", obj=cell,
                     before={"vacuoles": cell.reviewed_vacuoles}, after={"vacuoles": seen},
                     detail={"specimen": specimen.accession, **({"undo": True} if undo else {})})
        cell.reviewed_vacuoles = seen
    Cell.objects.bulk_update(cells, ["reviewed_vacuoles"])
    if specimen.status == SpecimenStatus.ANALYSED:
        specimen_set_status(actor=actor, specimen=specimen, status=SpecimenStatus.IN_REVIEW)
    return cells


def _undone_reviewed_classes(cells: list[Cell], new_class: str) -> dict[int, tuple[str, str]]:
    """For an undo back to ``new_class``: the biologist's class each cell had before the move
    being undone (its latest audited reclassification, when that move led from ``new_class`` to
    the cell's present class), '' when it had none; with the name it had then ("other")."""
    from apps.core.models import AuditEvent

    latest: dict[str, AuditEvent] = {}
    for event in (AuditEvent.objects.filter(action="cell.reclassify", object_type="smears.cell",
                                            object_id__in=[str(c.pk) for c in cells])
                  .order_by("at", "id")):  # one read; the newest per cell is kept
        latest[event.object_id] = event
    out: dict[int, tuple[str, str]] = {}
    for cell in cells:
        last = latest.get(str(cell.pk))
        if last is None or not isinstance(last.before, dict) or not isinstance(last.after, dict):
            continue
        if last.before.get("class") == new_class and \
                last.after.get("reviewed_class") == cell.reviewed_class:
            out[cell.pk] = (str(last.before.get("reviewed_class") or ""),
                            str(last.before.get("name") or ""))
    return out


def sign_blockers(specimen: Specimen, *, cells: list[Cell] | None = None,
                  meaning: str = Meaning.VALIDATED) -> list[str]:
    """Why the case cannot be signed now with ``meaning`` (empty when it can), in the active
    language (``sign_blockers_by_meaning``)."""
    return sign_blockers_by_meaning(specimen, cells=cells)[meaning]


def sign_blockers_by_meaning(specimen: Specimen, *, cells: list[Cell] | None = None
                             ) -> dict[str, list[str]]:
    """Per meaning (validated, rejected), why the case cannot be signed so now (empty when it
    can), in the active language. `cells`: the specimen's cells with their predictions, when
    the caller has read them already (the case page). An image in which no white cell was found
    has no class until a biologist gives it one (Cell.final_class): an artefact, or the cell it
    is. Those images stop a validation, not a rejection, which releases no count (a smear of an
    unknown stain is rejected without classifying its every image); so do the cells the model
    and the slide scanner class otherwise, and a case with no smear image at all (none made, a
    clotted sample: rejected at once)."""
    problems, no_images = [], []
    # Only the latest run counts: an older one is superseded, and a run whose worker is gone
    # (AnalysisRun.is_active) is being queued again or failed by the analysis sweep.
    latest = run_latest(specimen)
    if latest is not None and latest.is_active:
        problems.append(_("The analysis is still running."))
    elif latest is not None and latest.status == RunStatus.FAILED:
        problems.append(_("The analysis of the cells failed: start it again on the specimen "
                          "page."))
    elif latest is None and not (cells if cells is not None
                                 else Cell.objects.filter(specimen=specimen).exists()):
        # Nothing to validate; a rejection (no smear made, a clotted sample) releases nothing.
        no_images.append(_("No smear image has been uploaded: upload the export on the "
                           "specimen page."))
    elif latest is None or latest.status != RunStatus.SUCCEEDED:
        problems.append(_("The cells have not been analysed yet."))
    locked = [_("This case is already signed: amend it first.")] \
        if specimen.status in LOCKED else []
    return {Meaning.VALIDATED: [*problems, *no_images,
                                *([] if no_images else _image_blockers(specimen, cells)),
                                *locked],
            Meaning.REJECTED: [*problems, *locked]}


def _image_blockers(specimen: Specimen, cells: list[Cell] | None) -> list[str]:
    """The images that have no class yet (see ``sign_blockers``), by why."""
    problems = []
    if cells is None:
        cells = list(Cell.objects.filter(specimen=specimen).prefetch_related("predictions"))
    unclassified = [(c, c.latest_prediction()) for c in cells if not c.final_class]
    no_cell = sum(1 for _c, p in unclassified if p is not None and not p.shows_a_cell)
    outside = sum(1 for _c, p in unclassified if p is not None and p.shows_a_cell)
    if no_cell:
        problems.append(ngettext(
            "%(n)d image shows no white cell: classify it (X: artefact) before validating.",
            "%(n)d images show no white cell: classify them (X: artefact) before validating.",
            no_cell) % {"n": no_cell})
    if outside:
        # Those outside on their own and those of a smear outside as a whole (the banner
        # counts the first alone): all wait for the biologist's class.
        problems.append(ngettext(
            "%(n)d image waits for your class (outside the domain the model was validated on, "
            "on its own or as part of its smear): confirm or reclassify it before validating.",
            "%(n)d images wait for your class (outside the domain the model was validated on, "
            "on their own or as part of their smear): confirm or reclassify them before "
            "validating.", outside) % {"n": outside})
    differs = sum(scanner_differs(c, c.latest_prediction()) for c in cells)
    if differs:
        problems.append(ngettext(
            "%(n)d cell is classed otherwise by the model and by the slide scanner (marked ≠) "
            "and is not reviewed yet: confirm or reclassify it before validating.",
            "%(n)d cells are classed otherwise by the model and by the slide scanner (marked "
            "≠) and are not reviewed yet: confirm or reclassify them before validating.",
            differs) % {"n": differs})
    if len(unclassified) > no_cell + outside:
        rest = len(unclassified) - no_cell - outside
        problems.append(ngettext("%(n)d cell is still unclassified.",
                                 "%(n)d cells are still unclassified.", rest) % {"n": rest})
    if not unclassified and all(c.final_class in NOT_WBC for c in cells):
        # Every image classed, none a white cell (artefacts, platelets...): nothing to validate.
        problems.append(_("No white cell is counted: there is no differential to validate. "
                          "Reject the case or request a rescan."))
    return problems


DOMAIN_NOT_ACKNOWLEDGED = gettext_lazy(
    "The cell images are outside the domain the cell model was validated on: confirm that "
    "you reviewed the cells yourself before validating.")


SHORT_COUNT_NOT_ACKNOWLEDGED = gettext_lazy(
    "The differential counts fewer white cells than its target: confirm that you validate it "
    "on that count, with the intervals it shows, before validating.")


MIXUP_OPEN = gettext_lazy(
    "A possible sample mix-up is open: check both samples and clear it on the specimen page "
    "before validating (rejecting the case is allowed).")


def case_sign(*, actor: AbstractBaseUser, specimen: Specimen, password: str, meaning: str,
              comment: str = "", ip: str | None = None,
              on_signed: Callable[[Signature], None] | None = None,
              domain_acknowledged: bool = False, count_acknowledged: bool = False) -> Signature:
    """Sign with re-authentication. A wrong password counts toward the login throttle.

    `on_signed` runs inside the signing transaction once the signature is written (the
    workflow queues the result message there, so a rolled-back signature sends nothing).
    Validating a case whose cell images are outside the cell model's validated domain needs
    `domain_acknowledged` (the biologist confirms reviewing the cells); validating a
    differential short of its target count (DIFFERENTIAL_TARGET_WBC white cells) needs
    `count_acknowledged` (the biologist validates it on that count); the signed content records
    each."""
    _require_reviewer(actor)
    username = actor.get_username()
    if throttle.is_locked(username):
        raise ReviewError(_("Too many failed attempts: signing is locked for a while."))
    if not actor.check_password(password):
        # Written before (outside) the signing transaction so that it stays when we refuse.
        throttle.failure_record(username, ip, "signature")
        raise ReviewError(_("Wrong password."))
    throttle.failures_clear(username)
    try:
        return _sign(actor=actor, specimen=specimen, meaning=meaning, comment=comment,
                     on_signed=on_signed, domain_acknowledged=domain_acknowledged,
                     count_acknowledged=count_acknowledged)
    except ReviewError as refused:
        # Written after the signing transaction rolled back, so that it stays: a signature
        # refused (what still stopped it, what was asked) is in the audit trail too.
        audit_record(actor=actor, action="case.sign_refused", obj=specimen, detail={
            "specimen": specimen.accession, "meaning": meaning, "reason": str(refused)})
        raise


@transaction.atomic
def _sign(*, actor: AbstractBaseUser, specimen: Specimen, meaning: str,
          comment: str, on_signed: Callable[[Signature], None] | None,
          domain_acknowledged: bool = False, count_acknowledged: bool = False) -> Signature:
    specimen = Specimen.objects.select_for_update().get(pk=specimen.pk)
    if meaning not in Meaning.values:
        raise ReviewError(_("Choose validated or rejected."))
    blockers = sign_blockers(specimen, meaning=meaning)
    if blockers:
        raise ReviewError(" ".join(blockers))
    previous = specimen.signatures.aggregate(v=Max("version"))["v"] or 0
    amendment_reason = _pending_amendment_reason(specimen) if previous else ""
    content = report_content(specimen, comment=comment)
    if meaning == Meaning.VALIDATED and specimen_mixup(specimen) is not None:
        # A result that may be another patient's is not released; rejecting it is allowed.
        raise ReviewError(str(MIXUP_OPEN))
    outside = (content.get("domain") or {}).get("code") == "outside"
    short = bool((content.get("differential") or {}).get("short_of_target"))
    if meaning == Meaning.VALIDATED:
        # Every box missing is named at once, in the signer's language.
        missing = [str(text) for needed, ticked, text in (
            (outside, domain_acknowledged, DOMAIN_NOT_ACKNOWLEDGED),
            (short, count_acknowledged, SHORT_COUNT_NOT_ACKNOWLEDGED)) if needed and not ticked]
        if missing:
            raise ReviewError(" ".join(missing))
    acknowledged = {**({"domain_acknowledged": bool(domain_acknowledged)} if outside else {}),
                    **({"count_acknowledged": bool(count_acknowledged)} if short else {})}
    content["signature"] = {
        "version": previous + 1, "meaning": meaning,
        "signed_by": actor.get_full_name() or actor.get_username(),
        "username": actor.get_username(), "signed_at": timezone.now().isoformat(),
        "amendment_reason": amendment_reason, **acknowledged,
    }
    signature = Signature.objects.create(
        specimen=specimen, version=previous + 1, meaning=meaning, signed_by=actor,
        comment=comment, amendment_reason=amendment_reason, content=content,
        content_sha256=content_hash(content),
    )
    specimen_set_status(actor=actor, specimen=specimen, status=meaning)
    audit_record(actor=actor, action="case.sign", obj=signature, after={
        "specimen": specimen.accession, "version": signature.version, "meaning": meaning,
        "content_sha256": signature.content_sha256, "comment": comment, **acknowledged})
    if on_signed is not None:
        on_signed(signature)
    return signature


def _pending_amendment_reason(specimen: Specimen) -> str:
    from apps.core.models import AuditEvent

    event = (AuditEvent.objects.filter(action="case.amend", object_type="patients.specimen",
                                       object_id=str(specimen.pk)).order_by("-at", "-id").first())
    return (event.after or {}).get("reason", "") if event else ""


@transaction.atomic
def case_amend(*, actor: AbstractBaseUser, specimen: Specimen, reason: str) -> Specimen:
    """Unlock a signed case for an explicit, audited amendment (a new signature follows)."""
    _require_reviewer(actor)
    specimen = Specimen.objects.select_for_update().get(pk=specimen.pk)
    if specimen.status not in LOCKED:
        raise ReviewError(_("Only a signed case can be amended."))
    if not reason.strip():
        raise ReviewError(_("Say why the case is amended."))
    audit_record(actor=actor, action="case.amend", obj=specimen,
                 before={"status": specimen.status},
                 after={"status": SpecimenStatus.IN_REVIEW, "reason": reason.strip()})
    specimen_set_status(actor=actor, specimen=specimen, status=SpecimenStatus.IN_REVIEW)
    return specimen


@transaction.atomic
def case_request_rescan(*, actor: AbstractBaseUser, specimen: Specimen, reason: str) -> Specimen:
    _require_reviewer(actor)
    specimen = Specimen.objects.select_for_update().get(pk=specimen.pk)
    _require_unlocked(specimen)
    audit_record(actor=actor, action="case.rescan", obj=specimen,
                 before={"status": specimen.status}, after={"reason": reason.strip()})
    specimen_set_status(actor=actor, specimen=specimen, status=SpecimenStatus.RESCAN)
    return specimen
