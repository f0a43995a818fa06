"""Pages and actions that start a chain of stages or show several of them; each calls one
function of apps.workflow.services or one selector per stage."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from apps.analysis.selectors import (
    run_latest,
    scores_for_display,
    scores_how,
    scores_pending,
    specimen_domain_latest,
)
from apps.core import roles
from apps.core.auth_views import client_ip
from apps.core.errors import ImportRefusedError
from apps.core.permissions import role_required
from apps.core.text import file_reason
from apps.hemograms import services as cbc_services
from apps.hemograms.forms import CBCUploadForm
from apps.hemograms.models import HeldCBCRecord
from apps.hemograms.parsers import MAX_CBC_BYTES
from apps.hemograms.selectors import (
    cbc_earlier,
    cbc_held,
    cbc_latest,
    cbc_record_differs,
    cbc_record_explained,
)
from apps.patients import selectors as patient_selectors
from apps.patients.flag_text import CORRECTED_FIELDS
from apps.patients.forms import CollectionTimeForm, MixupClearForm, PatientCorrectionForm
from apps.patients.models import Patient, Specimen
from apps.patients.services import CORRECTABLE_FIELDS
from apps.patients.views import specimen_collection_time, specimen_mixup_clear
from apps.review import selectors as review_selectors
from apps.review import services as review_services
from apps.review.display import (
    comment_changes_text,
    differential_table,
    scanner_bands_text,
)
from apps.review.views import REFUSED_SIGNATURE, reasoned_action, sign_blockers_context
from apps.smears.forms import SmearUploadForm
from apps.smears.models import VACUOLE_READS
from apps.smears.selectors import cells_grouped

from . import services


@role_required(roles.CAN_VIEW)
@require_http_methods(["GET", "POST"])
def specimen_detail(request: HttpRequest, accession: str) -> HttpResponse:
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "collection_time":
            return specimen_collection_time(request, accession)
        if action != "mixup_clear":
            return HttpResponseBadRequest()
        return specimen_mixup_clear(request, accession)
    specimen = get_object_or_404(Specimen.objects.select_related("patient"), accession=accession)
    cbc = cbc_latest(specimen)
    return render(request, "patients/specimen_detail.html", {
        "specimen": specimen,
        "cbc": cbc, "subject_note": review_selectors.case_subject_note(specimen, cbc),
        "record_differs": cbc_record_differs(specimen, cbc),
        "record_explained": cbc_record_explained(specimen, cbc),
        "held_cbc": cbc_held(specimen), "cbc_earlier": cbc_earlier(specimen, cbc),
        "groups": cells_grouped(specimen),
        "run": run_latest(specimen),
        "domain": specimen_domain_latest(specimen),
        "scores": scores_for_display(specimen), "scores_pending": scores_pending(specimen),
        "how": scores_how(),
        "smear_form": SmearUploadForm(),
        "cbc_form": CBCUploadForm(),
        "mixup": patient_selectors.specimen_mixup(specimen),
        "mixup_before_signing": patient_selectors.mixup_raised_before_signing(specimen),
        # Why the smear is to be scanned again, while it waits for it.
        "rescan": patient_selectors.specimen_rescan_request(specimen),
        "mixup_form": MixupClearForm(),
        # Filled with the time registered, to be corrected rather than typed again.
        "collection_form": CollectionTimeForm(initial={"collected_at": specimen.collected_at}),
        # A signed case takes no upload and no re-analysis: the forms give way to why.
        "locked": patient_selectors.specimen_locked_reason(specimen),
    })


@role_required(roles.CAN_IMPORT)
@require_POST
def smear_upload(request: HttpRequest, accession: str) -> HttpResponse:
    specimen = get_object_or_404(Specimen, accession=accession)
    files = request.FILES.getlist("files")
    if not files:
        messages.error(request, _("Choose a CellaVision export (zip or folder) or images."))
        return redirect("specimen_detail", accession=accession)
    # A folder picked in the browser sends each file's relative path; anything else is ignored.
    paths = json.loads(request.POST.get("paths") or "[]")
    folder = (paths if paths and len(paths) == len(files)
              and all(isinstance(p, str) for p in paths) else None)
    try:
        outcome = services.smear_upload(actor=request.user, specimen=specimen, files=files,
                                        folder_paths=folder)
    except ImportRefusedError as exc:
        messages.error(request, _("Upload refused, nothing was imported: %(reason)s")
                       % {"reason": exc})
        return redirect("specimen_detail", accession=accession)
    messages.success(request, _(
        "Images imported: %(n)d; duplicates ignored: %(d)d; files rejected: %(r)d.")
        % {"n": outcome.images_imported, "d": len(outcome.duplicates), "r": len(outcome.rejected)})
    for item in outcome.rejected[:20]:
        messages.warning(request, file_reason(item["file"], item["reason"]))
    if outcome.skipped:
        # Never opened (an export's side files, system files): named, so that no file of the
        # upload goes unaccounted for.
        names = [item["file"] for item in outcome.skipped]
        messages.info(request, ngettext(
            "%(n)d file not read, not an image: %(files)s.",
            "%(n)d files not read, not images: %(files)s.", len(names)) % {
            "n": len(names), "files": ", ".join(names[:10]) + (", …" if len(names) > 10 else "")})
    if outcome.cross_specimen_duplicates:
        others = sorted({d["specimen"] for d in outcome.cross_specimen_duplicates})
        messages.error(request, _(
            "Possible sample mix-up: images identical to images of other specimens (%(others)s): "
            "%(n)d. Both specimens are flagged; check their identity.")
            % {"n": len({d["file"] for d in outcome.cross_specimen_duplicates}),
               "others": ", ".join(others)})
    return redirect("specimen_detail", accession=accession)


def _run_import(request: HttpRequest, form: CBCUploadForm, specimen: Specimen | None):
    upload = form.cleaned_data["file"]
    if upload.size > MAX_CBC_BYTES:
        raise ImportRefusedError(_("The CBC file is too large (limit %(mb)d MB).")
                                 % {"mb": MAX_CBC_BYTES // 10**6})
    return services.cbc_import(actor=request.user, data=upload.read(), file_name=upload.name,
                               format=form.cleaned_data["format"] or None, specimen=specimen)


def _report(request: HttpRequest, outcome) -> None:  # type: ignore[no-untyped-def]
    # Nothing imported while rows were refused is no success: it reads as a warning.
    level = messages.warning if not outcome.results_created and outcome.errors \
        else messages.success
    level(request, _(
        "CBC results imported: %(n)d; already present: %(d)d; held for a signed case: %(h)d; "
        "rows with errors: %(e)d.")
        % {"n": outcome.results_created, "d": outcome.duplicates, "h": outcome.held,
           "e": len(outcome.errors) - outcome.held})
    for warning in outcome.warnings:
        # "Line 2: …", as the rows refused below it are worded.
        messages.info(request, capfirst(warning))
    for error in outcome.errors[:20]:
        messages.warning(request, _("Line %(line)s: %(reason)s")
                         % {"line": error["line"], "reason": error["reason"]})


@role_required(roles.CAN_IMPORT)
@require_POST
def cbc_upload(request: HttpRequest, accession: str) -> HttpResponse:
    specimen = get_object_or_404(Specimen, accession=accession)
    form = CBCUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        # A file chosen but refused (an empty one) says why; none chosen asks for one.
        refused = form.errors.get("file") if request.FILES.get("file") else None
        messages.error(request, _("CBC file refused, nothing was imported: %(reason)s")
                       % {"reason": " ".join(refused)} if refused else _("Choose a CBC file."))
        return redirect("specimen_detail", accession=accession)
    try:
        _report(request, _run_import(request, form, specimen))
    except ImportRefusedError as exc:
        messages.error(request, _("CBC file refused, nothing was imported: %(reason)s")
                       % {"reason": exc})
    return redirect("specimen_detail", accession=accession)


@role_required(roles.CAN_IMPORT)
@require_http_methods(["GET", "POST"])
def cbc_batch_import(request: HttpRequest) -> HttpResponse:
    form = CBCUploadForm(request.POST or None, request.FILES or None)
    outcome = None
    if request.method == "POST" and form.is_valid():
        try:
            outcome = _run_import(request, form, None)
            _report(request, outcome)
        except ImportRefusedError as exc:
            messages.error(request, _("CBC file refused, nothing was imported: %(reason)s")
                           % {"reason": exc})
    return render(request, "hemograms/cbc_import.html", {"form": form, "outcome": outcome})


@role_required(roles.CAN_IMPORT)
@require_POST
def analysis_rerun(request: HttpRequest, accession: str) -> HttpResponse:
    specimen = get_object_or_404(Specimen, accession=accession)
    try:
        services.analysis_rerun(actor=request.user, specimen=specimen)
    except services.SpecimenSignedError as exc:
        messages.error(request, _("Not analysed again: %(reason)s") % {"reason": exc})
    else:
        messages.success(request, _("The analysis was queued again."))
    return redirect("specimen_detail", accession=accession)


@role_required(roles.CAN_REVIEW)
@require_POST
def cbc_held_attach(request: HttpRequest, accession: str, held_id: int) -> HttpResponse:
    """Attach a CBC row that arrived while the case was signed (the case page's button)."""
    held = get_object_or_404(HeldCBCRecord.objects.select_related("specimen"), pk=held_id,
                             specimen__accession=accession)
    try:
        services.cbc_held_attach(actor=request.user, held=held)
    except ImportRefusedError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The blood count is now part of the case; its scores are "
                                    "being recomputed."))
    return redirect("review_case", accession=accession)


@role_required(roles.CAN_REVIEW)
@require_POST
def cbc_held_leave_out(request: HttpRequest, accession: str, held_id: int) -> HttpResponse:
    """Leave a held CBC row out of the case, with the reason (a signed case too: its result
    does not change)."""
    held = get_object_or_404(HeldCBCRecord.objects.select_related("specimen"), pk=held_id,
                             specimen__accession=accession)
    try:
        cbc_services.cbc_held_leave_out(actor=request.user, held=held,
                                        reason=request.POST.get("reason", ""))
    except ImportRefusedError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The blood count stays out of the case, with your reason."))
    return redirect("review_case", accession=accession)


def _json_review(request: HttpRequest, action) -> JsonResponse:  # type: ignore[no-untyped-def]
    """Run a review action posted as JSON by the case page's keys: its answer, or its refusal
    (400 for a malformed request, 409 with the reason for one the review does not allow)."""
    try:
        return action(json.loads(request.body or b"{}"))
    except (ValueError, TypeError) as exc:
        return JsonResponse({"error": f"Bad request: {exc}"}, status=400)
    except services.SpecimenSignedError as exc:
        return JsonResponse({"error": str(exc), "code": exc.code}, status=409)
    except review_services.ReviewError as exc:
        return JsonResponse({"error": str(exc)}, status=409)


@role_required(roles.CAN_REVIEW)
@require_POST
def reclassify(request: HttpRequest, accession: str) -> JsonResponse:
    specimen = get_object_or_404(Specimen, accession=accession)

    def action(body: dict) -> JsonResponse:  # type: ignore[type-arg]
        moved = services.cells_reclassify(
            actor=request.user, specimen=specimen,
            cell_ids=[int(i) for i in body.get("cells", [])],
            new_class=str(body.get("class", "")), undo=body.get("undo") is True,
            name=str(body.get("name") or ""))
        cells = review_selectors.case_cells(specimen)  # read once for both
        counted = review_selectors.differential(specimen, cells=cells)
        differential = differential_table(counted)
        # What still stops signing (an image left without a class, ...), as the page lists it.
        return JsonResponse({"ok": True, "differential": differential,
                             **sign_blockers_context(
                                 review_services.sign_blockers_by_meaning(specimen,
                                                                          cells=cells)),
                             # Which of the moved cells carry a biologist's class now (an undo
                             # can give a cell back the model's).
                             "reviewed": {str(c.pk): bool(c.reviewed_class) for c in moved},
                             # What the biologist named those now classed "other".
                             "names": {str(c.pk): c.reviewed_name for c in moved},
                             # Their vacuole output, shown while they are neutrophils.
                             "vacuole": review_selectors.vacuole_captions(moved),
                             # The scanner's band forms still waiting for the biologist.
                             "scanner_bands_text": scanner_bands_text(
                                 review_selectors.case_scanner_bands(cells)),
                             # In an amendment: what the differential changed since the
                             # version whose comment the sign form carries over.
                             "comment_changes": comment_changes_text(
                                 review_selectors.changes_since_signed(
                                     list(specimen.signatures.all()), counted))})

    return _json_review(request, action)


@role_required(roles.CAN_REVIEW)
@require_POST
def vacuoles(request: HttpRequest, accession: str) -> JsonResponse:
    """The biologist's read of the selected neutrophils' vacuoles: {"cells": [ids], "vacuoles":
    "seen" | "none" | "" (not read: the model's output counts), "undo": bool}."""
    specimen = get_object_or_404(Specimen, accession=accession)

    def action(body: dict) -> JsonResponse:  # type: ignore[type-arg]
        read = str(body.get("vacuoles", ""))
        if read not in VACUOLE_READS:
            raise ValueError(f"vacuoles must be one of {sorted(VACUOLE_READS)}")
        changed = services.cells_vacuoles_read(
            actor=request.user, specimen=specimen,
            cell_ids=[int(i) for i in body.get("cells", [])], seen=VACUOLE_READS[read],
            undo=body.get("undo") is True)
        return JsonResponse({"ok": True,
                             "vacuoles": {str(c.pk): c.vacuoles_read for c in changed}})

    return _json_review(request, action)


@role_required(roles.CAN_REVIEW)
@require_POST
def sign(request: HttpRequest, accession: str) -> HttpResponse:
    specimen = get_object_or_404(Specimen, accession=accession)
    try:
        services.case_sign(
            actor=request.user, specimen=specimen, password=request.POST.get("password", ""),
            meaning=request.POST.get("meaning", ""), comment=request.POST.get("comment", ""),
            ip=client_ip(request), languages=(request.LANGUAGE_CODE,),
            domain_acknowledged=request.POST.get("domain_acknowledged") == "yes",
            count_acknowledged=request.POST.get("count_acknowledged") == "yes")
    except review_services.ReviewError as exc:
        messages.error(request, _("The case was not signed. %(reason)s") % {"reason": exc})
        # The page that says why keeps the comment typed and the boxes ticked.
        request.session[REFUSED_SIGNATURE.format(accession=accession)] = {
            "comment": request.POST.get("comment", ""),
            # The decision too: a refused rejection must not come back as "Validated".
            "meaning": request.POST.get("meaning", ""),
            **{box: request.POST.get(box) == "yes"
               for box in ("domain_acknowledged", "count_acknowledged")}}
    else:
        messages.success(request, _("Signed. The report is being rendered."))
    return redirect("review_case", accession=accession)


@role_required(roles.CAN_REVIEW)
@require_POST
def amend(request: HttpRequest, accession: str) -> HttpResponse:
    """Open a signed case for amendment (posted to the case page)."""
    return reasoned_action(request, accession, services.case_amend,
                           _("The case is open for amendment; sign it again when done."))


def _correction_text(done: services.PatientCorrection) -> str:
    """What a correction of the patient's record changed and what it read again."""
    if not done.fields:
        return _("Nothing was changed: the record already reads so.")
    parts = [_("The patient's record was corrected (%(fields)s); the change is audited.") % {
        "fields": ", ".join(str(CORRECTED_FIELDS[f]) for f in done.fields)}]
    if done.read_again:
        parts.append(_("The blood counts and scores of %(accessions)s are read again for the "
                       "corrected sex and age.") % {"accessions": ", ".join(done.read_again)})
    if done.signed:
        parts.append(_("Signed cases keep the record as signed and wait on the worklist for a "
                       "biologist to amend them: %(accessions)s.") % {
                           "accessions": ", ".join(done.signed)})
    return " ".join(parts)


@role_required(roles.CAN_IMPORT)
@require_http_methods(["GET", "POST"])
def patient_correct(request: HttpRequest, pseudo_id: str) -> HttpResponse:
    """Correct a registered patient's name, birth date or sex, with what was checked."""
    patient = get_object_or_404(Patient, pseudo_id=pseudo_id)
    form = PatientCorrectionForm(request.POST or None, initial={
        name: getattr(patient, name) for name in CORRECTABLE_FIELDS})
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            done = services.patient_correct(actor=request.user, patient=patient,
                                            reason=data.pop("reason"), **data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _correction_text(done))
            return redirect("patient_detail", pseudo_id=patient.pseudo_id)
    return render(request, "patients/patient_correct.html", {"form": form, "patient": patient})
