from __future__ import annotations

from collections import OrderedDict

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.analysis.selectors import (
    run_latest,
    scores_for_display,
    scores_pending,
    specimen_domain_latest,
    specimens_domain_latest,
)
from apps.core import roles
from apps.core.permissions import role_required
from apps.hemograms.selectors import (
    cbc_earlier,
    cbc_held,
    cbc_latest,
    cbc_record_differs,
    cbc_record_explained,
)
from apps.patients.models import Specimen, SpecimenStatus
from apps.patients.selectors import mixup_raised_before_signing, specimen_rescan_request
from apps.smears.differential import BAND

from . import selectors, services
from .display import class_label, comment_changes_text, differential_table
from .models import Meaning

KEYS = OrderedDict([("n", "neutrophil"), ("s", BAND), ("l", "lymphocyte"), ("m", "monocyte"),
                    ("e", "eosinophil"), ("b", "basophil"), ("i", "ig"), ("a", "blast"),
                    ("r", "erythroblast"),
                    ("p", "platelet"), ("u", "smudge"), ("o", "other"), ("x", "artefact")])


def _date(value: str | None):  # type: ignore[no-untyped-def]
    try:
        return parse_date(value) if value else None
    except ValueError:
        return None


@role_required(roles.CAN_VIEW)
@require_GET
def worklist(request: HttpRequest) -> HttpResponse:
    params = {
        "flag": request.GET.get("flag", ""), "status": request.GET.get("status", ""),
        "date_from": _date(request.GET.get("from")), "date_to": _date(request.GET.get("to")),
        "include_unflagged": request.GET.get("all") == "1",
        "query": request.GET.get("q", "")[:100],
    }
    page = Paginator(selectors.worklist(**params), 50).get_page(request.GET.get("page"))
    # The domain verdict of each row's latest analysis, read for the whole page at once.
    domains = specimens_domain_latest([s.pk for s in page])
    return render(request, "review/worklist.html", {
        "page": page, "rows": [(s, domains.get(s.pk)) for s in page], "params": params,
        "counts": selectors.worklist_counts(),
        "flags": selectors.flag_names(), "statuses": SpecimenStatus.choices,
        "query": request.GET.urlencode(),
    })


@role_required(roles.CAN_VIEW)
@require_http_methods(["GET", "POST"])
def case(request: HttpRequest, accession: str) -> HttpResponse:
    """The case page. Reading it writes nothing; a biologist starts the review with a POST (the
    first reclassification starts it too)."""
    if request.method == "POST":
        return case_open(request, accession)
    specimen = get_object_or_404(Specimen.objects.select_related("patient", "scores_request"),
                                 accession=accession)
    # Read once for the gallery, the differential and the sign blockers.
    cells, cbc = selectors.case_cells(specimen), cbc_latest(specimen)
    diff = selectors.case_differential(specimen, cells=cells, cbc=cbc)
    signatures = list(specimen.signatures.select_related("signed_by")
                      .prefetch_related("reports", "result_messages"))
    return render(request, "review/case.html", {
        "specimen": specimen, "cbc": cbc, "run": run_latest(specimen),
        "mixup_before_signing": mixup_raised_before_signing(specimen),
        "subject_note": selectors.case_subject_note(specimen, cbc),
        "record_differs": cbc_record_differs(specimen, cbc),
        "record_explained": cbc_record_explained(specimen, cbc),
        "held_cbc": cbc_held(specimen), "cbc_earlier": cbc_earlier(specimen, cbc),
        "differential": differential_table(diff),
        "gallery": selectors.case_gallery(specimen, cells=cells),
        "keys": [(key, code, class_label(code)) for key, code in KEYS.items()],
        "key_classes": dict(KEYS),
        **sign_blockers_context(services.sign_blockers_by_meaning(specimen, cells=cells)),
        "signatures": signatures,
        # A signature refused a moment ago gives back what the biologist typed and ticked.
        "sign_kept": request.session.pop(
            REFUSED_SIGNATURE.format(accession=specimen.accession), None),
        "sign_comment": selectors.sign_comment_initial(specimen, signatures=signatures),
        # What the differential changed since the version that comment was written for.
        "comment_changes": comment_changes_text(selectors.changes_since_signed(signatures,
                                                                              diff)),
        "locked": specimen.status in services.LOCKED, "meanings": Meaning.choices,
        "scores": scores_for_display(specimen), "scores_pending": scores_pending(specimen),
        "domain": specimen_domain_latest(specimen),
        "rescan": specimen_rescan_request(specimen),
        # Read once for the page's two notes (a record corrected after signing, a mix-up).
        "specimen_flags": list(specimen.flags.all()),
    })


# What a signature just refused (wrong password, a box not ticked) was sent with: its comment
# its decision and its boxes, kept in the session for the page that says why, so that the
# biologist does not type the conclusion again nor find another decision chosen:
# {"comment": str, "meaning": str, "domain_acknowledged": bool, "count_acknowledged": bool}.
REFUSED_SIGNATURE = "sign-refused:{accession}"


def sign_blockers_context(by_meaning: dict[str, list[str]]) -> dict[str, list[str]]:
    """What stops signing, as the page and the reclassify endpoint give it: ``blockers`` stop
    a validation (the list shown), ``reject_blockers`` a rejection (the button follows the
    decision chosen)."""
    return {"blockers": by_meaning[Meaning.VALIDATED],
            "reject_blockers": by_meaning[Meaning.REJECTED]}


@role_required(roles.CAN_VIEW)
@require_GET
def case_scores(request: HttpRequest, accession: str) -> HttpResponse:
    """The case page's scores panel alone, read again by the page after a reclassification or a
    vacuole read: the worker recomputes the scores within seconds, and the biologist sees them
    without reloading the page (and losing the undo history)."""
    specimen = get_object_or_404(Specimen, accession=accession)
    # With the domain banner, whose count of cells waiting for the biologist's class the same
    # moves change.
    response = render(request, "review/case_live.html",
                      {"scores": scores_for_display(specimen),
                       "scores_pending": scores_pending(specimen),
                       "domain": specimen_domain_latest(specimen)})
    response["Cache-Control"] = "private, no-store"
    return response


@role_required(roles.CAN_VIEW)
@require_GET
def cell_detail(request: HttpRequest, accession: str, cell_id: int) -> JsonResponse:
    """What the case page's large-cell pane shows of one cell, read when the cell is shown."""
    specimen = get_object_or_404(Specimen, accession=accession)
    detail = selectors.case_cell_detail(specimen, cell_id=cell_id)
    if detail is None:
        raise Http404
    response = JsonResponse(detail)
    # Never from the browser's cache: a reclassification changes it.
    response["Cache-Control"] = "private, no-store"
    return response


@role_required(roles.CAN_REVIEW)
@require_POST
def case_open(request: HttpRequest, accession: str) -> HttpResponse:
    """Start reviewing an analysed case (posted to the case page)."""
    specimen = get_object_or_404(Specimen, accession=accession)
    services.case_open(actor=request.user, specimen=specimen)
    return redirect("review_case", accession=accession)


def reasoned_action(request: HttpRequest, accession: str, action, done: str) -> HttpResponse:  # type: ignore[no-untyped-def]
    """Run a review action that takes a reason; report its refusal or success."""
    specimen = get_object_or_404(Specimen, accession=accession)
    try:
        action(actor=request.user, specimen=specimen, reason=request.POST.get("reason", ""))
    except services.ReviewError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done)
    return redirect("review_case", accession=accession)


@role_required(roles.CAN_REVIEW)
@require_POST
def rescan(request: HttpRequest, accession: str) -> HttpResponse:
    return reasoned_action(request, accession, services.case_request_rescan,
                            _("Rescan requested."))
