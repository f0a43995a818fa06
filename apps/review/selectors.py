"""Reads for the review: the differential from the cells, the content of a report, the
specimen document with its validation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from apps.analysis.domain_text import cell_flag_text
from apps.analysis.models import CellPrediction
from apps.analysis.overlays import overlay_name
from apps.analysis.selectors import (
    cell_anomalies,
    score_entry,
    scores_for_display,
    specimen_domain_latest,
)
from apps.analysis.selectors import specimen_document as analysis_document
from apps.hemograms.flags import COUNT_OF_SHARE, computed_share, critical_low
from apps.hemograms.models import CBCResult
from apps.hemograms.selectors import (
    cbc_computed,
    cbc_earlier,
    cbc_latest,
    cbc_subject,
    count_intervals,
)
from apps.hemograms.wording import CBC_SHORT_NAMES, reported_decimals, subject_note
from apps.ml.scores import vexas
from apps.patients.models import Specimen
from apps.patients.selectors import SIGNED_STATUSES
from apps.smears.differential import (
    ABNORMAL_WHEN_PRESENT,
    BAND,
    CBC_COUNT_OF_CLASS,
    OTHER,
    differential_count,
    is_neutrophil,
    names_in_order,
    nrbc_abnormal,
    scanner_differential,
    wbc_class,
)
from apps.smears.models import PREDICTIONS_READ, Cell

from .display import (
    Phrases,
    cell_detail,
    class_label,
    differential_changes,
    group_label,
    scanner_bands_text,
    signed_differential,
)
from .models import Meaning, Signature
from .trend import Point, trend_panel

REPORT_SCHEMA = "hemaclinic-report/1"
KEY_CELLS = 12
# The classes whose cells lead the key cells whatever else there is to show.
KEY_FIRST = ABNORMAL_WHEN_PRESENT | {OTHER}
# The analyser's automated differential (Sysmex XN and the like), per 100 white cells: CBC code
# of each smear class, and the NRBC per 100 WBC.
ANALYSER_DIFFERENTIAL: tuple[tuple[str, str], ...] = (
    ("neutrophil", "NEUT%"), ("lymphocyte", "LYMPH%"), ("monocyte", "MONO%"),
    ("eosinophil", "EO%"), ("basophil", "BASO%"), ("ig", "IG%"))
ANALYSER_NRBC = "NRBC%"


# The gallery's order: the review keys' classes, then the cells without a class yet.
GALLERY_ORDER = ("neutrophil", BAND, "lymphocyte", "monocyte", "eosinophil", "basophil", "ig",
                 "blast", "erythroblast", "platelet", "smudge", "other", "artefact",
                 "unclassified")


# What the case page reads of a cell and of its predictions (Cell.final_class, the gallery,
# the differential, the sign blockers); the rest (file names, sizes, DICOM metadata,
# provenance, the compact map's box, and what only the large-cell pane shows: the class and
# attribute probabilities, read per cell by case_cell_detail) is left unread. A field read that
# is not listed here would cost a query per cell: tests/review pins the page's query count.
CASE_CELL_FIELDS = ("id", "specimen_id", "reviewed_class", "reviewed_name", "reviewed_vacuoles",
                    "analyser_class")
CASE_PREDICTION_FIELDS = (
    "id", "cell_id", "created_at", "cell_class", "cell_class_prob", "anomalies", "view",
    "in_domain", "smear_outside", "cam", "cam_map", "vacuole_cam_map")


def case_cells(specimen: Specimen) -> list[Cell]:
    """The specimen's cells with their predictions, read once for the whole case page (gallery,
    differential, sign blockers): two queries whatever the number of cells."""
    predictions = CellPrediction.objects.only(*CASE_PREDICTION_FIELDS)
    return list(Cell.objects.filter(specimen=specimen).only(*CASE_CELL_FIELDS)
                .prefetch_related(Prefetch("predictions", queryset=predictions,
                                           to_attr=PREDICTIONS_READ)))


def _url_of_each(name: str) -> Callable[[int], str]:
    """reverse(name, args=[pk]) for many cells at the cost of one reverse(): the URL of a
    marker id, cut around it. Falls back to reverse() when the marker is not found once."""
    marker = "918273645"
    head, found, tail = reverse(name, args=[int(marker)]).partition(marker)
    if not found or marker in tail:
        return lambda pk: reverse(name, args=[pk])
    return lambda pk: f"{head}{pk}{tail}"


def _caption_outputs(final_class: str, prediction: CellPrediction | None) -> dict[str, Any]:
    """The neutrophil outputs a cell's caption shows (cell_anomalies): figures only where they
    hold, not for an image outside the validated domain."""
    if prediction is None or not prediction.figures_hold:
        return {}
    return cell_anomalies(final_class=final_class, anomalies=prediction.anomalies)


def _vacuole_caption(value: Any, phrases: Phrases) -> dict[str, Any]:
    """A caption's vacuole output: its figure ('' for none) and whether it reaches the VEXAS
    rule's cut-off (marked high)."""
    return {"vacuole": "" if value is None else phrases.probability(value),
            "vacuole_high": isinstance(value, int | float)
            and value >= vexas.VACUOLE_PROB_CUTOFF}


def vacuole_captions(cells: Sequence[Cell]) -> dict[str, dict[str, Any]]:
    """The vacuole output each cell's caption shows now (by cell id), as the gallery words it:
    the case page's script rewrites a moved cell's caption with it."""
    phrases = Phrases()
    return {str(cell.pk): _vacuole_caption(
        _caption_outputs(cell.final_class, cell.latest_prediction()).get("vacuole"), phrases)
        for cell in cells}


def scanner_band(cell: Cell, prediction: Any) -> bool:
    """A neutrophil not yet reviewed, its model class counted, that the slide scanner put in
    its band folder: counted among the neutrophils (the model has no band class) until the
    biologist reads it."""
    return (prediction is not None and prediction.shows_a_cell and prediction.figures_hold
            and not cell.reviewed_class and cell.scanner_class == BAND
            and prediction.cell_class == "neutrophil")


def scanner_differs(cell: Cell, prediction: Any) -> bool:
    """A cell not yet reviewed whose counted model class is not the slide scanner's
    pre-classification (a band folder names a neutrophil, as the model does): one of the two
    is wrong, and the biologist reads it before validating (review.services.sign_blockers).
    Outside the validated domain the model's class is a suggestion and the cell waits anyway."""
    counted = (prediction is not None and prediction.shows_a_cell and prediction.figures_hold
               and not cell.reviewed_class)
    return counted and bool(cell.scanner_class) \
        and wbc_class(cell.scanner_class) != prediction.cell_class


def case_scanner_bands(cells: list[Cell]) -> int:
    """How many of ``cells`` are a scanner_band (as case_cells reads them)."""
    return sum(scanner_band(c, c.latest_prediction()) for c in cells)


def case_gallery(specimen: Specimen, *, cells: list[Cell] | None = None) -> dict[str, Any]:
    """The case page's cells: grouped by final class (Cell.final_class) in the keys' order,
    each group with its label; per cell what its figure prints, worded here once per page: its
    URLs, its prediction's label and probability, the vacuole and lobation outputs of a
    neutrophil (cell_anomalies), its domain flag. The large-cell pane reads the rest per cell
    when it is shown (case_cell_detail). `cells` as case_cells reads them."""
    cells = case_cells(specimen) if cells is None else cells
    phrases = Phrases()
    image_url, cam_url = _url_of_each("cell_image"), _url_of_each("cell_cam")
    flag_texts: dict[str, str] = {}
    groups: dict[str, list[dict[str, Any]]] = {name: [] for name in GALLERY_ORDER}
    disagreements = scanner_bands = 0
    for cell in cells:
        final, prediction = cell.final_class, cell.latest_prediction()
        flag = prediction.domain_flag if prediction else ""
        if flag not in flag_texts:
            flag_texts[flag] = cell_flag_text(flag)
        # Figures only where they hold: not for an image outside the validated domain.
        outputs = _caption_outputs(final, prediction)
        vacuole, lobation = outputs.get("vacuole"), outputs.get("pseudo_pelger")
        # An image without a white cell carries no class: its flag says why, the network's
        # class for it (a field of red cells called an erythroblast) is not shown as one. An
        # image outside the validated domain waits unclassified with the network's class
        # shown as a suggestion beside its flag.
        named = prediction is not None and prediction.shows_a_cell
        # The scanner pre-classified it otherwise: one of the two is wrong, read it first.
        differs = scanner_differs(cell, prediction)
        disagreements += differs
        # ... but a band only the biologist counts (the model has no band class): a neutrophil
        # the scanner put in its band folder is shown so, for the biologist to read.
        band = scanner_band(cell, prediction)
        scanner_bands += band
        groups.setdefault(final or "unclassified", []).append({
            "pk": str(cell.pk), "reviewed": bool(cell.reviewed_class),
            # What the biologist named a cell classed "other" (a plasma cell), shown with it.
            "other_name": cell.reviewed_name if final == OTHER else "",
            # The biologist's read of its vacuoles (shown while it is a neutrophil).
            "vacuoles_read": cell.vacuoles_read,
            "label": phrases.class_label(prediction.cell_class) if named else "",
            "scanner_label": phrases.class_label(cell.scanner_class) if differs else "",
            "scanner_band": band,
            "prob": phrases.probability(prediction.cell_class_prob)
            if named and prediction.figures_hold else "",
            **_vacuole_caption(vacuole, phrases),
            "lobation": "" if lobation is None else phrases.probability(lobation),
            "image_url": image_url(cell.pk),
            "cam_url": cam_url(cell.pk) if prediction and prediction.has_cam else "",
            # The vacuole output's map, where its value is shown: neutrophils.
            "cam_vacuole_url": f"{cam_url(cell.pk)}?map=vacuole"
            if prediction and prediction.vacuole_cam_map and vacuole is not None else "",
            "domain_flag": flag, "domain_flag_text": flag_texts[flag]})
    return {"groups": [{"code": code, "label": group_label(code), "cells": members}
                       for code, members in groups.items() if members],
            "labels": {code: class_label(code) for code in GALLERY_ORDER},
            # The headings of groups the page adds as cells are reclassified.
            "group_labels": {code: group_label(code) for code in GALLERY_ORDER},
            # Cells not yet reviewed whose model class is not the scanner's pre-classification.
            "disagreements": disagreements,
            # Neutrophils not yet reviewed the scanner pre-classified as band forms.
            "scanner_bands": scanner_bands, "scanner_bands_text": scanner_bands_text(scanner_bands),
            # The legend names the lobation proxy only where a cell shows it (earlier models).
            "has_lobation": any(c["lobation"] for members in groups.values() for c in members)}


def case_cell_detail(specimen: Specimen, *, cell_id: int) -> dict[str, Any] | None:
    """What the large-cell pane shows of one of the specimen's cells (display.cell_detail), in
    the active language, by the gallery's rules: its final class (Cell.final_class), its latest
    prediction, the anomaly outputs of a neutrophil only, the domain flag's words. None when the
    specimen has no such cell."""
    cell = (Cell.objects.filter(specimen=specimen, pk=cell_id).only(*CASE_CELL_FIELDS)
            .prefetch_related("predictions").first())
    if cell is None:
        return None
    final, prediction = cell.final_class, cell.latest_prediction()
    return cell_detail(
        cell_id=cell.pk, final_class=final, reviewed=bool(cell.reviewed_class),
        other_name=cell.reviewed_name if final == OTHER else "", prediction=prediction,
        anomalies=cell_anomalies(final_class=final, anomalies=prediction.anomalies)
        if prediction else {},
        domain_flag=cell_flag_text(prediction.domain_flag if prediction else ""))


def analyser_differential(cbc: CBCResult | None) -> dict[str, Any] | None:
    """The analyser's automated differential from a CBC (NEUT%, LYMPH%, ... IG%, NRBC%), or
    None when the CBC has none of them. A share the file left out and gave the count of (a
    CSV with absolute counts only) is computed from it and the WBC (flags.computed_share),
    and ``computed`` names the count it came from."""
    if cbc is None:
        return None
    values = {v.code: v for v in cbc.values.all()}
    given = {code: v.value for code, v in values.items()}
    per_100: dict[str, float] = {}
    computed: dict[str, str] = {}
    for cls, code in ANALYSER_DIFFERENTIAL:
        share = given.get(code)
        if share is None and (share := computed_share(code, given)) is not None:
            computed[cls] = COUNT_OF_SHARE[code]
        if share is not None:
            per_100[cls] = share
    nrbc = values.get(ANALYSER_NRBC)
    nrbc_value = nrbc.value if nrbc is not None else None
    if not per_100 and nrbc_value is None:
        return None
    return {"analyser": cbc.analyser,
            "measured_at": cbc.measured_at.isoformat() if cbc.measured_at else None,
            "codes": {cls: code for cls, code in ANALYSER_DIFFERENTIAL if cls in per_100},
            "per_100_wbc": per_100, "nrbc_per_100_wbc": nrbc_value,
            **({"computed": computed} if computed else {}),
            "analyser_flags": {cls: values[code].analyser_flag
                               for cls, code in ANALYSER_DIFFERENTIAL
                               if cls in per_100 and code in values
                               and values[code].analyser_flag}}


_LATEST = object()  # differential(cbc=...) not given: read the latest CBC


def differential(specimen: Specimen, *, cells: list[Cell] | None = None,
                 cbc: CBCResult | None | object = _LATEST) -> dict[str, Any]:
    """The smear differential per 100 white cells from the cells' final classes
    (apps.smears.differential), with beside it the analyser's automated differential (CBC) and
    the scanner's pre-classification (Cell.analyser_class), each named for what it is.
    `cells` (as case_cells reads them) and `cbc` (cbc_latest's, None for none) when the caller
    has them already."""
    cells = case_cells(specimen) if cells is None else cells
    latest = cbc_latest(specimen) if cbc is _LATEST else cbc
    wbc = next((v for v in latest.values.all() if v.code == "WBC"), None) \
        if isinstance(latest, CBCResult) else None
    intervals = count_intervals(latest, specimen) if wbc is not None else {}
    target = settings.DIFFERENTIAL_TARGET_WBC
    counted = differential_count([c.final_class for c in cells], target=target)
    scanner_folders = [c.analyser_class for c in cells if c.analyser_class]
    scanner = scanner_differential(scanner_folders, target=target) if scanner_folders else None
    return {
        **counted.as_dict(),
        "cells": len(cells),
        "reviewed": sum(1 for c in cells if c.reviewed_class),
        # What the biologist named the cells classed "other" ('': not named), most first, then
        # by name (apps.smears.differential.names_in_order).
        "other_names": dict(names_in_order(Counter(c.reviewed_name for c in cells
                                                   if c.final_class == OTHER))),
        "analyser": analyser_differential(latest),
        # The analyser's white cell count (x10^9/L), for the absolute counts beside the shares,
        # and the decimals it gave it (printed "1.40" as the CBC table prints it).
        "analyser_wbc": None if wbc is None else wbc.value,
        "analyser_wbc_decimals": None if wbc is None
        else reported_decimals(wbc.code, wbc.raw_value, wbc.raw_unit),
        # The reference interval of the blood count's own count of each class (NEUT#...), as
        # [code, low, high]: the smear's absolute count is read against it.
        "absolute_reference": {cls: [code, *intervals[code]]
                               for cls, code in CBC_COUNT_OF_CLASS.items() if code in intervals},
        "scanner": None if scanner is None else scanner.as_dict(),
        # Erythroblasts counted in the blood of a patient past the newborn age: abnormal.
        "nrbc_abnormal": counted.nrbc > 0 and nrbc_abnormal(counted.nrbc, cbc_subject(
            specimen, latest if isinstance(latest, CBCResult) else None).age),
    }


def case_differential(specimen: Specimen, *, cells: list[Cell] | None = None,
                      cbc: CBCResult | None | object = _LATEST) -> dict[str, Any]:
    """The differential the case page shows: while the case is signed, the one signed (what its
    report and result message say, whatever a later version of the counting rule would make of
    the same cells, as specimen_document gives it), marked with its version; else the current
    one (differential)."""
    if specimen.status in SIGNED_STATUSES:
        latest = specimen.signatures.order_by("-version").first()
        signed = (latest.content.get("differential") or {}) if latest is not None else {}
        if "per_100_wbc" in signed:
            return {**signed, "signature_version": latest.version}
    return differential(specimen, cells=cells, cbc=cbc)


def case_subject_note(specimen: Specimen, cbc: CBCResult | None) -> str:
    """Whom the blood count's intervals are read for ("Reference intervals for a man aged 66
    years."): while the case is signed, as signed, beside the values read then (a patient's
    record corrected since waits for the amendment); else for the patient as registered."""
    if cbc is None:
        return ""
    if specimen.status in SIGNED_STATUSES:
        latest = specimen.signatures.order_by("-version").first()
        signed = ((latest.content or {}).get("cbc") or {}) if latest is not None else {}
        if signed.get("subject"):
            return subject_note(signed["subject"])
    return subject_note(cbc_subject(specimen, cbc))


def _domain_models(models: object) -> list[dict[str, Any]]:
    """The cell model(s) of the analysis the domain verdict comes from (AnalysisRun.models_used)."""
    return [{k: m.get(k) for k in ("name", "version", "sha256")}
            for m in (models if isinstance(models, list) else []) if isinstance(m, dict)]


def report_content(specimen: Specimen, *, comment: str = "") -> dict[str, Any]:
    """Everything the printed report shows (schema hemaclinic-report/1), as plain JSON values.

    Signed as is (its sha256 over canonical JSON is the signature's content hash) and rendered to
    PDF from the stored copy, so the PDF shows exactly what was signed.
    """
    patient = specimen.patient
    cbc = cbc_latest(specimen)
    cells = list(Cell.objects.filter(specimen=specimen).prefetch_related("predictions"))
    models: dict[tuple[str, str], dict[str, str]] = {}
    key_cells = []
    for cell in cells:
        prediction = cell.latest_prediction()
        if prediction is None:
            continue
        models[(prediction.model_name, prediction.model_version)] = {
            "name": prediction.model_name, "version": prediction.model_version,
            "sha256": prediction.model_sha256}
        if cell.final_class == "artefact":
            continue  # not a white cell: nothing for the reader of the report to look at
        key_cells.append({
            "cell_id": cell.pk, "class": cell.final_class,
            "predicted_class": prediction.cell_class,
            "probability": round(prediction.cell_class_prob, 4),
            "reviewed": bool(cell.reviewed_class),
            # What the biologist named a cell classed "other" (absent otherwise).
            **({"name": cell.reviewed_name} if cell.reviewed_name else {}),
            # The biologist's read of a neutrophil's vacuoles, "seen" or "none" (absent when
            # not read): the VEXAS rule counted it in place of the model's output.
            **({"vacuoles_read": cell.vacuoles_read}
               if cell.vacuoles_read and is_neutrophil(cell.final_class) else {}),
            "image": cell.image.name, "cam": overlay_name(prediction),
            # Neutrophils only: on any other cell these outputs mean nothing.
            "anomalies": cell_anomalies(final_class=cell.final_class,
                                        anomalies=prediction.anomalies),
            "domain_flag": prediction.domain_flag,
            # The slide scanner's pre-classification, where its folder names a class.
            **({"scanner_class": cell.scanner_class} if cell.scanner_class else {}),
        })
    scores = scores_for_display(specimen)
    domain = specimen_domain_latest(specimen)
    # Key cells: first a class abnormal whenever counted (a blast) and a cell the biologist
    # named ("other": a plasma cell), which a conclusion rests on; then those a score rests
    # on (the VEXAS rule's vacuolated neutrophils, the image evidence's dysplastic ones, in
    # the score's own order); then the least typical (images outside the validated domain,
    # counted on a biologist's word; reclassified; then lowest model confidence).
    behind = [e.get("cell_id") for s in scores for e in ((s.evidence or {}).get("cells") or [])
              if isinstance(e, dict)]
    rank: dict[Any, int] = {}
    for i, cell_id in enumerate(behind):
        rank.setdefault(cell_id, i)  # a cell behind two scores keeps its first place
    key_cells.sort(key=lambda c: (c["class"] not in KEY_FIRST,
                                  rank.get(c["cell_id"], len(rank)), not c["domain_flag"],
                                  c["class"] == c["predicted_class"], c["probability"]))
    return {
        "schema": REPORT_SCHEMA,
        "lab": {"name": settings.LAB_NAME},
        "patient": None if patient is None else {
            "pseudo_id": patient.pseudo_id, "external_id": patient.external_id,
            "family_name": patient.family_name, "given_name": patient.given_name,
            "birth_date": patient.birth_date.isoformat() if patient.birth_date else None,
            "sex": patient.sex,
        },
        "specimen": {
            "accession": specimen.accession,
            "collected_at": specimen.collected_at.isoformat() if specimen.collected_at else None,
        },
        "cbc": None if cbc is None else {
            "analyser": cbc.analyser,
            "measured_at": cbc.measured_at.isoformat() if cbc.measured_at else None,
            "dated_by_collection": cbc.dated_by_collection,
            "reference_ranges_version": cbc.reference_ranges_version,
            # Whom the intervals are for (sex, age and where each was read), as signed.
            "subject": asdict(cbc_subject(specimen, cbc)),
            # The analyser's own messages (Sysmex IP messages such as "Blasts?", HL7 notes).
            "analyser_messages": [{"kind": m.get("kind"), "text": m.get("text")}
                                  for m in cbc.analyser_messages or []],
            # The specimen's other counts (a rerun, a count attached after an amendment).
            "earlier": [{**r, "measured_at": r["measured_at"].isoformat()
                         if r["measured_at"] else None} for r in cbc_earlier(specimen, cbc)],
            "values": [{"code": v.code, "value": v.value, "raw_value": v.raw_value,
                        "unit": v.unit, "ref_low": v.ref_low, "ref_high": v.ref_high,
                        "flag": v.flag, "analyser_flag": v.analyser_flag,
                        # The decimals the analyser gave it (1.30 is not 1.3), as signed.
                        "decimals": reported_decimals(v.code, v.raw_value, v.raw_unit),
                        # Past a critical limit (a value to call through), as signed.
                        "critical": critical_low(v.code, v.value) is not None}
                       for v in cbc.values.all()],
            # The white-cell counts the file left out, computed from their share and the WBC
            # as the page shows them (hemograms.selectors.cbc_computed), marked as computed.
            "computed": [asdict(c) for c in cbc_computed(cbc, specimen)],
        },
        "differential": differential(specimen),
        # Age and sex at collection, earlier specimens and the CBC trend, as the case page shows.
        "patient_context": patient_context_entry(specimen),
        # Are the images inside the domain the cell model was validated on (latest analysis)?
        # With the cell model(s) of that analysis, so that what is signed names what was checked.
        "domain": None if domain is None else {
            **{k: domain[k] for k in ("code", "cells", "outside", "waiting", "max_outside")},
            "models": _domain_models(domain.get("models"))},
        "scores": [score_entry(s) for s in scores],
        "key_cells": key_cells[:KEY_CELLS],
        "models": sorted([*models.values(), *(
            {"name": s.definition, "version": s.version, "sha256": s.sha256}
            for s in scores if s.sha256)],
            key=lambda m: (m["name"], m["version"])),
        "comment": comment,
    }


WORKLIST_STATUSES = ("registered", "imported", "analysing", "analysed", "in_review", "rescan")


def worklist(*, flag: str = "", status: str = "", date_from=None, date_to=None,  # type: ignore[no-untyped-def]
             include_unflagged: bool = False, query: str = ""):
    """Specimens waiting for a biologist: flagged first (urgency, then priority: the most
    serious flag, then all of them), then the oldest first.

    A search (`query`: part of the accession, the patient's pseudo-id or hospital number, or
    part of a name) looks at every specimen, flagged or not, in any status unless one is
    chosen: the case looked for is found even when it is not waiting. A status chosen lists
    every specimen in it, flagged or not."""
    from django.db.models import Prefetch, Q

    from apps.patients.models import SIGNED_CASE_FLAGS, SpecimenFlag

    qs = Specimen.objects.select_related("patient").prefetch_related(
        Prefetch("flags", queryset=SpecimenFlag.objects.order_by("name")))
    query = query.strip()
    if status:
        qs = qs.filter(status=status)
    elif not query:
        # A signed case waits again when it is found later to share images with another
        # specimen (its released result may be another patient's) or a blood count arrives
        # for it: only an amendment can change it, and a biologist decides.
        qs = qs.filter(Q(status__in=WORKLIST_STATUSES) | Q(flags__name__in=SIGNED_CASE_FLAGS))
    if query:
        qs = qs.filter(Q(accession__icontains=query) | Q(patient__pseudo_id__iexact=query)
                       | Q(patient__external_id__iexact=query)
                       | Q(patient__family_name__icontains=query)
                       | Q(patient__given_name__icontains=query))
    if flag:
        qs = qs.filter(flags__name=flag)
    elif not include_unflagged and not query and not status:
        # A status chosen is every specimen in it: the cases whose rescan was requested, the
        # validated ones, are looked for whether or not a flag put them first.
        qs = qs.filter(priority__gt=0)
    if date_from:
        qs = qs.filter(created_at__date__gte=date_from)
    if date_to:
        qs = qs.filter(created_at__date__lte=date_to)
    # The most serious finding first, whatever the number of milder ones beside another.
    return qs.order_by("-urgency", "-priority", "created_at", "id").distinct()


def worklist_counts() -> dict[str, int]:
    from django.db.models import Count

    # A signed case has a priority only while it waits again (patients.models.flag_waits), as
    # the worklist lists it.
    rows = (Specimen.objects.filter(priority__gt=0)
            .values("status").annotate(n=Count("id")))
    return {row["status"]: row["n"] for row in rows}


def flag_names() -> list[str]:
    from apps.patients.models import SpecimenFlag

    return list(SpecimenFlag.objects.values_list("name", flat=True).distinct().order_by("name"))


def signature_entry(signature: Signature) -> dict[str, Any]:
    """A signature as plain JSON (export, API): who signed, when, what it means, and the hash
    of the content signed."""
    signed = signature.content.get("signature") or {}
    user = signature.signed_by
    return {
        "version": signature.version, "meaning": signature.meaning,
        "signed_by": signed.get("signed_by") or user.get_full_name() or user.get_username(),
        "username": user.get_username(),
        "signed_at": signed.get("signed_at") or signature.signed_at.isoformat(),
        "amendment_reason": signature.amendment_reason or None,
        "content_sha256": signature.content_sha256,
        "schema": signature.content.get("schema"),
    }


def sign_comment_initial(specimen: Specimen, *,
                         signatures: Sequence[Signature] | None = None) -> str:
    """The comment a new signature of the case starts with: the latest signed version's, so
    that amending one cell does not silently drop the conclusion from the new report and its
    result message; empty before the first signature. Only a starting value: the biologist may
    edit or clear it, and what is signed is what they send. `signatures`: the specimen's
    signatures, when the caller has read them already (the case page)."""
    if signatures is None:
        latest = specimen.signatures.order_by("-version").only("version", "comment").first()
    else:
        latest = max(signatures, key=lambda s: s.version, default=None)
    return "" if latest is None else latest.comment


def changes_since_signed(signatures: Sequence[Signature],
                         current: dict[str, Any]) -> dict[str, Any] | None:
    """What the current differential changes from the latest signed version's (the figures an
    amendment would change: display.differential_changes), with that version: the comment
    carried over was written for it. None before a first signature or without a change."""
    latest = max(signatures, key=lambda s: s.version, default=None)
    if latest is None:
        return None
    changes = differential_changes(latest.content.get("differential") or {}, current)
    return {"version": latest.version, "changes": changes} if changes else None


def specimen_document(specimen: Specimen) -> dict[str, Any]:
    """The specimen document of apps.analysis with its validation: the differential (the one
    signed when the case is signed, else the current one, not validated), the conclusion and
    the signature (latest version; every version under "signatures")."""
    document = analysis_document(specimen)
    signatures = list(specimen.signatures.select_related("signed_by").order_by("version"))
    latest = signatures[-1] if signatures else None
    if latest is not None and "per_100_wbc" in (latest.content.get("differential") or {}):
        diff = {**latest.content["differential"], "signed": True,
                "validated": latest.meaning == "validated", "signature_version": latest.version}
    else:
        diff = {**differential(specimen), "signed": False, "validated": False,
                "signature_version": None}
    document.update({
        "differential": diff,
        "conclusion": None if latest is None else latest.comment,
        "signature": None if latest is None else signature_entry(latest),
        "signatures": [signature_entry(s) for s in signatures],
    })
    return document


# The patient context of the case page: which CBC values, in this order, and how many earlier
# specimens are listed.
CONTEXT_CBC: tuple[tuple[str, Any], ...] = tuple(
    (code, CBC_SHORT_NAMES[code]) for code in ("HGB", "MCV", "PLT", "NEUT#", "WBC"))
CONTEXT_PREVIOUS = 10


def same_day(a: datetime, b: datetime) -> bool:
    """Whether two times fall on one day of the laboratory's calendar: an earlier specimen of
    the case's own day is dated to the minute (which came first), the others to the day."""
    return timezone.localdate(a) == timezone.localdate(b)


def _context_specimens(queryset):  # type: ignore[no-untyped-def]
    # Model orderings pick the latest CBC (CBCResult.Meta, as cbc_latest) and the latest
    # signature version (Signature.Meta): [0] of each list.
    return (queryset.annotate(when=Coalesce("collected_at", "created_at"))
            .prefetch_related(
                Prefetch("cbc_results", queryset=CBCResult.objects.prefetch_related("values"),
                         to_attr="context_cbcs"),
                Prefetch("signatures", queryset=Signature.objects.all(),
                         to_attr="context_signatures")))


def _context_values(specimen: Specimen) -> dict[str, Any]:
    cbc = specimen.context_cbcs[0] if specimen.context_cbcs else None
    return {} if cbc is None else {v.code: v for v in cbc.values.all() if v.value is not None}


def patient_context(specimen: Specimen) -> dict[str, Any] | None:
    """The patient around a case: age and sex at collection, the earlier specimens (newest
    first, at most CONTEXT_PREVIOUS) with their date, latest signature (meaning, conclusion,
    validated differential) and key CBC values, and a trend of those values over the earlier
    specimens and this one. None for a specimen without a patient."""
    patient = specimen.patient
    if patient is None:
        return None
    # This specimen and the earlier ones in one read: the newest collected before this one,
    # and this one. A specimen collected at the same time (or later) is not an earlier one.
    when = (Specimen.objects.filter(pk=specimen.pk)
            .annotate(when=Coalesce("collected_at", "created_at")).values("when"))
    around = list(_context_specimens(Specimen.objects.filter(patient=patient))
                  .filter(Q(pk=specimen.pk) | Q(when__lt=Subquery(when)))
                  .order_by("-when", "-pk")[:CONTEXT_PREVIOUS + 1])
    current = next((s for s in around if s.pk == specimen.pk), None)
    if current is None:
        current = _context_specimens(Specimen.objects.filter(pk=specimen.pk)).get()
    previous = [s for s in around if s.pk != specimen.pk][:CONTEXT_PREVIOUS]
    values_of = {s.pk: _context_values(s) for s in [current, *previous]}
    rows = []
    for other in previous:
        values = values_of[other.pk]
        signature = other.context_signatures[0] if other.context_signatures else None
        signed_diff = ((signature.content or {}).get("differential") or {}) \
            if signature is not None else {}
        per_100 = signed_diff.get("per_100_wbc")
        nrbc = signed_diff.get("nrbc_per_100_wbc")
        rows.append({
            "accession": other.accession, "when": other.when,
            "same_day": same_day(other.when, current.when),
            "status": other.get_status_display(),
            "status_code": other.status,
            "signature": None if signature is None else {
                "meaning": signature.get_meaning_display(), "meaning_code": signature.meaning,
                "version": signature.version, "per_100_wbc": per_100 or {},
                "nrbc_per_100_wbc": nrbc,
                "signed_at": signature.signed_at, "conclusion": signature.comment,
                # A rejection released no count: none is shown under it.
                "differential": signed_differential(per_100, nrbc)
                if signature.meaning != Meaning.REJECTED else []},
            "values": [(label, values[code]) for code, label in CONTEXT_CBC if code in values],
        })
    current_values = values_of[current.pk]
    trends = []
    for code, label in CONTEXT_CBC:
        points = [Point(at=s.when, value=v.value, current=s.pk == specimen.pk,
                        decimals=reported_decimals(v.code, v.raw_value, v.raw_unit))
                  for s in [current, *previous] if (v := values_of[s.pk].get(code))]
        reference = current_values.get(code) or next(
            (v for s in previous if (v := values_of[s.pk].get(code))), None)
        panel = trend_panel(points, ref_low=reference.ref_low if reference else None,
                            ref_high=reference.ref_high if reference else None)
        if panel is not None and len(points) > 1:
            trends.append({"code": code, "label": label, "panel": panel,
                           # The time the plot spans, as the report's axis prints it.
                           "first": min(p.at for p in points), "last": max(p.at for p in points),
                           "unit": reference.unit if reference else "", "points": points,
                           "ref_low": reference.ref_low if reference else None,
                           "ref_high": reference.ref_high if reference else None})
    when = current.when
    return {
        "age": patient.age_on(when.date()), "sex": patient.get_sex_display(),
        "sex_code": patient.sex, "when": when,
        "previous": rows, "trends": trends,
    }


def patient_context_entry(specimen: Specimen) -> dict[str, Any] | None:
    """The patient context (patient_context) as plain JSON values, for the signed content: codes
    and numbers, no words, so the report words them in its own language and redraws the same
    trend (apps.review.trend) from the same points."""
    context = patient_context(specimen)
    if context is None:
        return None
    return {
        "age": context["age"], "sex": context["sex_code"], "at": context["when"].isoformat(),
        "previous": [{
            "accession": row["accession"], "at": row["when"].isoformat(),
            "status": row["status_code"],
            # Past a critical limit, as signed (the CBC table's "Critical low").
            "values": {v.code: {"value": v.value, "unit": v.unit, "flag": v.flag,
                                "critical": critical_low(v.code, v.value) is not None,
                                # Printed with the decimals the analyser gave it ("5.20").
                                "decimals": reported_decimals(v.code, v.raw_value, v.raw_unit)}
                       for _label, v in row["values"]},
            "signature": None if row["signature"] is None else {
                "meaning": row["signature"]["meaning_code"],
                "version": row["signature"]["version"],
                "signed_at": row["signature"]["signed_at"].isoformat(),
                "conclusion": row["signature"]["conclusion"],
                "per_100_wbc": row["signature"]["per_100_wbc"],
                "nrbc_per_100_wbc": row["signature"]["nrbc_per_100_wbc"]},
        } for row in context["previous"]],
        "trends": [{
            "code": t["code"], "unit": t["unit"], "ref_low": t["ref_low"],
            "ref_high": t["ref_high"],
            "points": [{"at": p.at.isoformat(), "value": p.value, "current": p.current,
                        "decimals": p.decimals}
                       for p in sorted(t["points"], key=lambda p: p.at)],
        } for t in context["trends"]],
    }
