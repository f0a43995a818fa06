"""How the review's data reads on a page or a report: class names and the differential table.

One number format for the differential: one decimal, localised ("16,7" in French). The case
page, its live update after a reclassification and the PDF all build their table here.
"""

from __future__ import annotations

from typing import Any

from django.utils.formats import number_format
from django.utils.functional import Promise
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext, pgettext_lazy

from apps.analysis.score_text import probability_percent
from apps.core.numbers import measured_value, probability, probability_end
from apps.hemograms.flags import count_reading
from apps.hemograms.wording import analyser_name
from apps.smears.differential import (
    ABNORMAL_WHEN_PRESENT,
    ABSOLUTE_DECIMALS,
    BAND,
    OTHER,
    OTHER_NAMES,
    REVIEW_ONLY_WBC,
    SMUDGE,
    WBC_CLASSES,
    absolute_bounds,
    absolute_figure,
    adjusted_shares,
    names_in_order,
    outside_interval,
    per_100_interval,
    per_100_of,
)

# How an absolute count reads against its interval (hemograms.flags.count_reading), worded as
# the CBC table words the analyser's.
READINGS: dict[str, Promise] = {"LL": gettext_lazy("Critical low"), "L": gettext_lazy("Low"),
                                "H": gettext_lazy("High"),
                                # A class abnormal whenever counted (a blast).
                                "A": pgettext_lazy("a count's flag", "Abnormal")}


CELL_CLASSES: dict[str, Promise] = {
    "neutrophil": gettext_lazy("Neutrophil"),
    BAND: gettext_lazy("Band neutrophil"),
    "lymphocyte": gettext_lazy("Lymphocyte"),
    "monocyte": gettext_lazy("Monocyte"),
    "eosinophil": gettext_lazy("Eosinophil"),
    "basophil": gettext_lazy("Basophil"),
    "ig": gettext_lazy("Immature granulocyte"),
    "blast": gettext_lazy("Blast"),
    "erythroblast": gettext_lazy("Erythroblast"),
    "platelet": gettext_lazy("Platelet"),
    "smudge": gettext_lazy("Smudge cell"),
    "other": gettext_lazy("Other"),
    "artefact": gettext_lazy("Artefact"),
    "unclassified": gettext_lazy("Unclassified"),
}


# A differential's row names the cells it counts, in the plural, as a laboratory's report does
# ("Polynucléaires neutrophiles 45", not "Polynucléaire neutrophile 45"); a cell is named by
# CELL_CLASSES.
ROW_LABELS: dict[str, Promise] = {
    "neutrophil": pgettext_lazy("differential row", "Neutrophils"),
    "lymphocyte": pgettext_lazy("differential row", "Lymphocytes"),
    "monocyte": pgettext_lazy("differential row", "Monocytes"),
    "eosinophil": pgettext_lazy("differential row", "Eosinophils"),
    "basophil": pgettext_lazy("differential row", "Basophils"),
    "ig": pgettext_lazy("differential row", "Immature granulocytes"),
    "blast": pgettext_lazy("differential row", "Blasts"),
    "erythroblast": pgettext_lazy("differential row", "Erythroblasts"),
    "platelet": pgettext_lazy("differential row", "Platelets"),
    "smudge": pgettext_lazy("differential row", "Smudge cells"),
    "other": pgettext_lazy("differential row", "Other"),
    "artefact": pgettext_lazy("differential row", "Artefacts"),
    "unclassified": pgettext_lazy("differential row", "Unclassified"),
}


def row_label(code: str | None) -> str:
    """A differential row's label (ROW_LABELS), else the class's own name."""
    said = ROW_LABELS.get(code or "")
    return str(said) if said is not None else class_label(code)


# A gallery group's heading names the cells under it, in the plural, as a differential row
# does ("Non classées 40", not "Non classée 40"); band neutrophils are a group, not a row.
BAND_GROUP = pgettext_lazy("gallery group", "Band neutrophils")


def group_label(code: str | None) -> str:
    """The heading of the gallery's group of cells of a class (ROW_LABELS; BAND_GROUP)."""
    return str(BAND_GROUP) if code == BAND else row_label(code)


def class_label(code: str | None) -> str:
    if not code:
        return ""
    return str(CELL_CLASSES.get(code, code.replace("_", " ")))


def one_decimal(value: Any) -> str:
    """A per-100 figure as printed everywhere: one decimal, localised; '' for None."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    return number_format(round(float(value), 1), decimal_pos=1)


# Erythroblasts beside a differential: outside its denominator, named so (one label for the
# differential table and an earlier specimen's signed line).
NRBC_LABEL = gettext_lazy("NRBC (per 100 WBC)")
# Band neutrophils beside the neutrophils' row: already counted in it.
BAND_LABEL = gettext_lazy("of which band forms")


def in_differential_order(codes: Any) -> list[str]:
    """White-cell class codes in the differential's order (WBC_CLASSES, then the classes only a
    biologist names), any other after them: never the order a stored mapping keeps (a JSON
    column may sort its keys)."""
    order = [*WBC_CLASSES, *REVIEW_ONLY_WBC]
    return sorted(codes, key=lambda c: order.index(c) if c in order else len(order))


def signed_differential(per_100_wbc: dict[str, Any] | None,
                        nrbc_per_100_wbc: Any = None) -> list[dict[str, str]]:
    """An earlier specimen's signed differential in one line of the patient context, per 100
    white cells: the classes counted, then the erythroblasts as NRBC per 100 WBC (outside the
    denominator, named so). The page and the report print the same list."""
    counted = per_100_wbc or {}
    rows = [{"label": row_label(code), "value": one_decimal(counted[code])}
            for code in in_differential_order(counted) if counted[code]]
    if nrbc_per_100_wbc:
        rows.append({"label": str(NRBC_LABEL),
                     "value": one_decimal(nrbc_per_100_wbc)})
    return rows


def differential_table(diff: dict[str, Any]) -> dict[str, Any]:
    """The rows of a differential (apps.review.selectors.differential, or as signed) in the
    active language. Per row: class code, label, cells counted, per 100 WBC, and beside them
    the analyser's automated differential (CBC) and the scanner's pre-classification.

    `analyser_count` (the key the page's script reads) is the scanner's per 100 WBC: "—" where
    the scanner gave no figure (apps.smears.differential.scanner_differential: a class it
    mapped no cell to while some of its cells are not mapped), never a zero."""
    per_100 = diff.get("per_100_wbc") or {}
    analyser = diff.get("analyser") or {}
    analyser_per_100 = analyser.get("per_100_wbc") or {}
    scanner = diff.get("scanner") or {}
    scanner_per_100 = scanner.get("per_100_wbc") or {}

    def scanner_figure(value: Any) -> str:
        return (one_decimal(value) or "—") if scanner else ""

    wbc = diff.get("wbc_counted", 0)
    # Short of the target, each white-cell share with its 95 % interval on the count made.
    short = bool(diff.get("short_of_target")) and wbc > 0

    def bounds_of(count: Any) -> tuple[float, float] | None:
        return per_100_interval(count, wbc) if short and isinstance(count, int) else None

    def interval(count: Any, marked: bool = False) -> str:
        """The share's 95 % interval: short of the target, and on a row whose analyser share
        is marked outside it (the mark points at it, so it is shown)."""
        bounds = bounds_of(count) or (per_100_interval(count, wbc)
                                      if marked and wbc > 0 and isinstance(count, int) else None)
        return "" if bounds is None else f"{one_decimal(bounds[0])}–{one_decimal(bounds[1])}"

    # Beside the analyser's white cell count (absent from content signed before it was kept),
    # each share's absolute count.
    analyser_wbc = diff.get("analyser_wbc") if wbc > 0 else None

    def figure(value: float | None) -> str:
        return "" if value is None else number_format(value, decimal_pos=ABSOLUTE_DECIMALS)

    def absolute(count: Any) -> str:
        """The class's absolute count: its count of the white cells counted times the WBC."""
        return figure(absolute_figure(count, wbc, analyser_wbc)) \
            if isinstance(count, int) and not isinstance(count, bool) else ""

    references = diff.get("absolute_reference") or {}

    def reading(cls: str, count: Any) -> str:
        """The absolute count read against the blood count's interval for the same count, on
        its 95 % interval (hemograms.flags.count_reading); "A" for a class abnormal whenever
        counted (a blast)."""
        if cls in ABNORMAL_WHEN_PRESENT and isinstance(count, int) and count > 0:
            return "A"
        reference = references.get(cls)
        value = absolute_figure(count, wbc, analyser_wbc) if isinstance(count, int) else None
        if not reference or value is None:
            return ""
        return count_reading(reference[0], value, reference[1], reference[2],
                             bounds=absolute_bounds(count, wbc, analyser_wbc))

    def withheld(cls: str, count: Any, read: str) -> bool:
        """The count itself lies outside its reference interval, its 95 % interval does not
        (``read``: its ``reading``, empty): no flag, and the interval is printed to show why."""
        reference = references.get(cls)
        value = absolute_figure(count, wbc, analyser_wbc) if isinstance(count, int) else None
        return bool(reference) and value is not None and not read \
            and count_reading(reference[0], value, reference[1], reference[2]) != ""

    def absolute_interval(count: Any, held: bool = False) -> str:
        """The absolute count's 95 % interval (the share's, times the WBC): short of the target
        (a count on 3 cells is not read as the patient's neutrophil count), and where it keeps
        a count outside its reference interval from being flagged (``held``)."""
        if not isinstance(count, int) or not (short or held):
            return ""
        bounds = absolute_bounds(count, wbc, analyser_wbc)
        return "" if bounds is None else "–".join(figure(b) for b in bounds)

    def differs(count: Any, share: Any) -> bool:
        """The analyser's share outside the 95 % interval of the smear's."""
        return isinstance(count, int) and isinstance(share, int | float) \
            and not isinstance(share, bool) and outside_interval(count, wbc, float(share))

    rows = []
    counts = diff.get("counts") or {}
    for cls in in_differential_order(counts):
        count = counts[cls]
        marked = differs(count, analyser_per_100.get(cls))
        read = reading(cls, count)
        held = withheld(cls, count, read)
        rows.append({"class": cls, "label": row_label(cls), "count": count,
                     "percent": one_decimal(per_100.get(cls)),
                     "interval": interval(count, marked),
                     "absolute": absolute(count),
                     # Worded as the CBC table words it.
                     "absolute_flag": str(READINGS.get(read, "")),
                     "absolute_withheld": held,
                     "absolute_interval": absolute_interval(count, held),
                     "analyser": one_decimal(analyser_per_100.get(cls)),
                     "analyser_differs": marked,
                     "analyser_count": scanner_figure(scanner_per_100.get(cls))})
        if cls == "neutrophil" and (diff.get("bands") or scanner.get("bands")):
            # Band forms, already among the neutrophils: a left shift, beside their share.
            # None classified by the biologist (the cell model has no band class): no figure,
            # not a zero, beside the scanner's.
            bands = diff.get("bands") or 0
            rows.append({"class": BAND, "sub": True, "label": str(BAND_LABEL),
                         "count": bands if bands else "—",
                         "percent": one_decimal(diff.get("bands_per_100_wbc")) if bands else "—",
                         "interval": interval(bands) if bands else "",
                         "absolute": absolute(bands) if bands else "",
                         "absolute_interval": absolute_interval(bands) if bands else "",
                         "analyser": "", "analyser_differs": False,
                         "analyser_count": scanner_figure(scanner.get("bands_per_100_wbc"))})
    rows.append({"class": "erythroblast", "label": str(NRBC_LABEL),
                 "count": diff.get("nrbc", 0),
                 "percent": one_decimal(diff.get("nrbc_per_100_wbc")),
                 "absolute": absolute(diff.get("nrbc", 0)),
                 # Past the newborn age, erythroblasts in the blood read abnormal (the
                 # differential's nrbc_abnormal, as the result message flags them).
                 "absolute_flag": str(READINGS["A"]) if diff.get("nrbc_abnormal") else "",
                 "analyser": one_decimal(analyser.get("nrbc_per_100_wbc")),
                 # A ratio to the white cells, not a share of them: no binomial interval.
                 "analyser_differs": False,
                 "analyser_count": scanner_figure(scanner.get("nrbc_per_100_wbc"))})
    # Counted apart, never in the denominator: platelets and cells without a class yet.
    for cls, count in (diff.get("excluded") or {}).items():
        # Smudge cells are reported per 100 white cells (not among them); platelets are not.
        rows.append({"class": cls, "label": _("%(class)s (not white cells)")
                     % {"class": row_label(cls)}, "count": count,
                     "percent": one_decimal(per_100_of(count, wbc)) if cls == SMUDGE else "",
                     "analyser": "", "analyser_count": ""})
    if diff.get("unclassified"):
        rows.append({"class": "unclassified", "label": row_label("unclassified"),
                     "count": diff["unclassified"], "percent": "", "analyser": "",
                     "analyser_count": ""})
    target = diff.get("target", 0)
    warning = ""
    if diff.get("short_of_target") and not wbc:
        # Signed (a rejection: no validation has none), nothing is to come any more.
        warning = _("No white cell was counted: there is no differential.") \
            if diff.get("signature_version") else \
            _("No white cell classified: there is no differential yet.")
    elif diff.get("short_of_target"):
        warning = ngettext(
            "Only %(counted)s white cell classified, fewer than the %(target)s the laboratory "
            "counts: the percentages rest on a smaller count.",
            "Only %(counted)s white cells classified, fewer than the %(target)s the "
            "laboratory counts: the percentages rest on a smaller count.", wbc) % {
            "counted": wbc, "target": target}
    # The WBC as the CBC table prints it: with the decimals the analyser gave it.
    wbc_text = measured_value(analyser_wbc, diff.get("analyser_wbc_decimals"))
    absolute_note = _("×10⁹/L: each share times the analyser's white cell count (WBC %(wbc)s "
                      "×10⁹/L).") % {"wbc": wbc_text} if analyser_wbc is not None else ""
    if absolute_note and short:
        absolute_note += " " + _("In brackets: its 95%% interval on the %(n)s white cells "
                                 "counted (the share's, times the WBC).") % {"n": wbc}
    if absolute_note and any(r.get("absolute_withheld") for r in rows):
        absolute_note += " " + _("A count is marked low, high or critical only when its "
                                 "whole 95% interval lies past the limit: a count whose "
                                 "interval reaches into it (in brackets) is not, as one "
                                 "basophil among 100 cells is not a basophilia; the analyser's "
                                 "counts (blood count) measure them on thousands of cells.")
    discrepancy_note = _(
        "≠: the analyser's share lies outside the 95%% interval of the smear's share on the "
        "%(n)s white cells counted, a difference the size of the count does not explain: one "
        "of the two counts misses cells (read the smear again, and the analyser's flags).") % {
        "n": wbc} if any(r.get("analyser_differs") for r in rows) else ""
    return {"rows": rows, "total": wbc, "wbc_counted": wbc, "target": target,
            "other_note": other_note(diff.get("other_names")),
            # The column is there as soon as the analyser's WBC is (empty while no cell is
            # counted), so that the page's live update has it to fill.
            "absolute_note": absolute_note, "has_absolute": diff.get("analyser_wbc") is not None,
            "discrepancy_note": discrepancy_note,
            "rounding_note": rounding_note(diff.get("counts") or {}, per_100),
            "interval_note": _("In brackets: the 95%% interval of each share on the %(n)s "
                               "white cells counted (Wilson); it narrows as more are counted.")
            % {"n": wbc} if short else "",
            "interval_summary": _interval_summary(wbc, rows) if short else "",
            "short_of_target": bool(diff.get("short_of_target")), "warning": warning,
            "reviewed": diff.get("reviewed", 0), "unclassified": diff.get("unclassified", 0),
            # Every cell classified by the biologist: no class of the model is counted.
            "all_reviewed": bool(diff.get("cells")) and diff.get("reviewed") == diff.get("cells"),
            # Images counted on the model's class: none when every image was either classified
            # by the biologist or left without a class (not counted).
            "model_classes": max(0, int(diff.get("cells") or 0) - int(diff.get("reviewed") or 0)
                                 - int(diff.get("unclassified") or 0)),
            "analyser": analyser or None, "has_analyser": bool(analyser),
            "analyser_name": analyser_name(analyser.get("analyser")) if analyser else "",
            # The analyser's parameters this CBC has (NEUT%, ... NRBC%), none it lacks; a
            # share computed from its count is named by that count (NEUT#).
            "analyser_codes": ", ".join([
                *((analyser.get("computed") or {}).get(cls, code)
                  for cls, code in (analyser.get("codes") or {}).items()),
                *(["NRBC%"] if analyser.get("nrbc_per_100_wbc") is not None else [])]),
            "analyser_note": analyser_note(analyser),
            "has_scanner": bool(scanner), "scanner_note": scanner_note(scanner),
            "signature_version": diff.get("signature_version")}


def rounding_note(counts: dict[str, int], per_100: dict[str, Any]) -> str:
    """Why a share may read 0.1 from its own count rounded (apps.smears.differential.
    adjusted_shares), naming the classes it concerns; '' when none."""
    moved = adjusted_shares(counts, {c: float(v) for c, v in per_100.items()
                                     if isinstance(v, int | float)})
    total = sum(counts.values())
    if not moved or total <= 0:
        return ""
    exact = {c: number_format(round(100 * counts[c] / total, 2), decimal_pos=2) for c in moved}
    return _("Rounded so that the shares add up to 100.0: %(classes)s.") % {
        "classes": pgettext("between the items of a list", "; ").join(
            _("%(label)s %(shown)s (%(exact)s to two decimals)") % {
                "label": row_label(c), "shown": one_decimal(per_100.get(c)), "exact": exact[c]}
            for c in moved)}


def other_note(names: dict[str, int] | None) -> str:
    """What the cells classed "other" are, as the biologist named them: 'Other: plasma cell 2,
    reactive lymphocyte 1, not named 1.' ('' without any)."""
    if not names:
        return ""
    parts = [f"{name or _('not named')} {count}" for name, count in names_in_order(names)]
    return _("Other: %(names)s.") % {
        "names": pgettext("between the items of a list", ", ").join(parts)}


def analyser_note(analyser: dict[str, Any]) -> str:
    """What the analyser's column means beside the smear's: its neutrophil percentage counts
    the immature granulocytes too (Sysmex XN: NEUT% includes IG%, also given apart), where
    the smear counts them apart; and which of its shares were computed from counts."""
    codes = analyser.get("codes") or {}
    notes = []
    if codes.get("neutrophil") == "NEUT%" and codes.get("ig") == "IG%":
        notes.append(_("On a Sysmex XN as usually set up, NEUT% includes the immature "
                       "granulocytes (IG%, also given apart; check the analyser's setting); the "
                       "smear counts them apart."))
    if computed := analyser.get("computed"):
        notes.append(_("The file gave counts without their shares: %(codes)s per 100 WBC "
                       "computed as the count ÷ WBC × 100.") % {
            "codes": ", ".join(codes[cls] for cls in computed if cls in codes)})
    return " ".join(notes)


def _interval_summary(wbc: int, rows: list[dict[str, Any]]) -> SafeString:
    """The intervals as one sentence (the report: its table keeps its columns), each class
    with its interval unbroken across a line end."""
    head, _mark, tail = (_("95%% interval of each share on the %(n)s white cells counted "
                           "(Wilson), per 100 WBC: %(intervals)s. It narrows as more are "
                           "counted.") % {"n": wbc, "intervals": "\x00"}).partition("\x00")
    items = format_html_join(" · ", '<span class="nobreak">{} {}</span>',
                             ((r["label"], r["interval"]) for r in rows if r.get("interval")))
    return format_html("{}{}{}", head, items, tail)


def scanner_note(scanner: dict[str, Any]) -> str:
    """What the scanner's column cannot say: its cells whose class folder names no class."""
    unmapped = scanner.get("unmapped") or 0
    if not unmapped:
        return ""
    names = list(scanner.get("unmapped_folders") or {})
    folders = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
    values = {"n": unmapped, "folders": folders, "wbc": scanner.get("wbc_counted") or 0}
    if not scanner.get("wbc_counted"):
        return ngettext(
            "Scanner: %(n)s cell not mapped to a class (folders: %(folders)s); no "
            "pre-classification to compare.",
            "Scanner: %(n)s cells not mapped to a class (folders: %(folders)s); no "
            "pre-classification to compare.", unmapped) % values
    return ngettext(
        "Scanner: %(n)s cell not mapped to a class (folders: %(folders)s); its figures are "
        "per 100 of the %(wbc)s white cells it mapped, and — marks a class that may be among "
        "the cells not mapped.",
        "Scanner: %(n)s cells not mapped to a class (folders: %(folders)s); its figures are "
        "per 100 of the %(wbc)s white cells it mapped, and — marks a class that may be among "
        "the cells not mapped.", unmapped) % values


SUBTYPES: dict[str, Promise] = {
    "band_neutrophil": gettext_lazy("band neutrophil"),
    "segmented_neutrophil": gettext_lazy("segmented neutrophil"),
    "promyelocyte": gettext_lazy("promyelocyte"), "myelocyte": gettext_lazy("myelocyte"),
    "metamyelocyte": gettext_lazy("metamyelocyte"), "eosinophil": gettext_lazy("eosinophil"),
    "basophil": gettext_lazy("basophil"), "lymphocyte": gettext_lazy("lymphocyte"),
    "monocyte": gettext_lazy("monocyte"), "erythroblast": gettext_lazy("erythroblast"),
    "platelet": gettext_lazy("platelet"),
}

# The cell model's morphology attributes (WBCAtt) and their values, as its card names them.
ATTRIBUTES: dict[str, Promise] = {
    "cell_size": gettext_lazy("cell size"), "cell_shape": gettext_lazy("cell shape"),
    "nucleus_shape": gettext_lazy("nucleus shape"),
    "nuclear_cytoplasmic_ratio": gettext_lazy("nuclear-cytoplasmic ratio"),
    "chromatin_density": gettext_lazy("chromatin"),
    # Not the vacuole output (ANOMALIES): the WBCAtt attribute, a yes/no read of the cytoplasm.
    "cytoplasm_vacuole": gettext_lazy("cytoplasm vacuoles (attribute)"),
    "cytoplasm_texture": gettext_lazy("cytoplasm texture"),
    "cytoplasm_colour": gettext_lazy("cytoplasm colour"),
    "granule_type": gettext_lazy("granules"), "granule_colour": gettext_lazy("granule colour"),
    "granularity": gettext_lazy("granularity"),
}
ATTRIBUTE_VALUES: dict[str, Promise] = {
    "big": gettext_lazy("large"), "small": gettext_lazy("small"),
    "irregular": gettext_lazy("irregular"), "round": gettext_lazy("round"),
    "segmented-bilobed": gettext_lazy("segmented, two lobes"),
    "segmented-multilobed": gettext_lazy("segmented, several lobes"),
    "unsegmented-band": gettext_lazy("not segmented, band"),
    "unsegmented-indented": gettext_lazy("not segmented, indented"),
    "unsegmented-round": gettext_lazy("not segmented, round"),
    "high": gettext_lazy("high"), "low": gettext_lazy("low"),
    "densely": gettext_lazy("dense"), "loosely": gettext_lazy("loose"),
    "no": gettext_lazy("no"), "yes": gettext_lazy("yes"),
    "clear": gettext_lazy("clear"), "frosted": gettext_lazy("frosted"),
    "blue": gettext_lazy("blue"), "light blue": gettext_lazy("light blue"),
    "purple blue": gettext_lazy("purple-blue"),
    "coarse": gettext_lazy("coarse"), "nil": gettext_lazy("none"),
    "pink": gettext_lazy("pink"), "purple": gettext_lazy("purple"), "red": gettext_lazy("red"),
}
# Where a value reads differently for one attribute (granules: "fines", not "petites").
ATTRIBUTE_VALUES_OF: dict[tuple[str, str], Promise] = {
    ("granule_type", "small"): pgettext_lazy("granules", "small"),
    ("granule_type", "round"): pgettext_lazy("granules", "round"),
    ("granule_type", "coarse"): pgettext_lazy("granules", "coarse"),
    ("granule_type", "nil"): pgettext_lazy("granules", "none"),
    ("granule_colour", "nil"): pgettext_lazy("granules", "none"),
}
ANOMALIES: dict[str, Promise] = {
    "vacuole": gettext_lazy("vacuole output (probability)"),
    "pseudo_pelger": gettext_lazy("non-segmented nucleus (lobation proxy)"),
    "hypogranulation": gettext_lazy("hypogranulation"),
    "barr_body": pgettext_lazy("in a list of lower-case outputs", "Barr body"),
}
# An output the model does not give, named for what is missing: the nucleus output of earlier
# models was a lobation proxy, but "non-segmented nucleus: not available" beside a band
# neutrophil's subtype and nuclear shape would deny what the page shows; what no installed model
# gives is the dysplasia finding.
ANOMALIES_NOT_AVAILABLE: dict[str, Promise] = {
    **ANOMALIES, "pseudo_pelger": gettext_lazy("pseudo-Pelger nucleus (dysplasia)")}


def _word(words: dict[str, Promise], code: object) -> str:
    text = str(code or "")
    return str(words.get(text, text.replace("_", " ")))


def _attribute_value(name: str, value: object) -> str:
    return str(ATTRIBUTE_VALUES_OF.get((name, str(value)), "") or _word(ATTRIBUTE_VALUES, value))


class Phrases:
    """The words and figures of a page of cells (the case page's gallery, cell_detail), each
    worded once.

    A 200-cell case prints the same few hundred phrases (class names, attribute values, whole
    percentages, probabilities to two decimals) many times; translating and formatting each
    occurrence was most of the case page's time. One instance per request: the language and
    number format are the request's, and nothing outlives it.
    """

    def __init__(self) -> None:
        self._classes: dict[str | None, str] = {}
        self._words: dict[tuple[int, object], str] = {}
        self._values: dict[tuple[str, object], str] = {}
        self._percents: dict[int, str] = {}
        self._probabilities: dict[str, str] = {}
        self._not_available = ""

    def class_label(self, code: str | None) -> str:
        said = self._classes.get(code)
        if said is None:
            said = self._classes[code] = class_label(code)
        return said

    def word(self, words: dict[str, Promise], code: object) -> str:
        if not isinstance(code, str):  # codes are text; anything else is worded, not kept
            return _word(words, code)
        key = (id(words), code)
        said = self._words.get(key)
        if said is None:
            said = self._words[key] = _word(words, code)
        return said

    def attribute_value(self, name: str, value: object) -> str:
        if not isinstance(value, str):
            return _attribute_value(name, value)
        key = (name, value)
        said = self._values.get(key)
        if said is None:
            said = self._values[key] = _attribute_value(name, value)
        return said

    def percent(self, value: Any) -> str:
        """A model's probability as a whole percentage, never a certainty."""
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            return ""
        # All that probability_percent() prints of the value: its whole percent, or an end.
        whole = probability_end(float(value)) * 1000 or round(100 * float(value))
        said = self._percents.get(whole)
        if said is None:
            said = self._percents[whole] = probability_percent(value)
        return said

    def probability(self, value: Any) -> str:
        """A model's probability with two decimals, never a certainty (``core.numbers``)."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return ""
        end = probability_end(float(value))
        key = str(end) if end else f"{float(value):.2f}"  # all that probability() prints
        said = self._probabilities.get(key)
        if said is None:
            said = self._probabilities[key] = probability(float(value))
        return said

    def not_available(self) -> str:
        if not self._not_available:
            self._not_available = _("not available in this model")
        return self._not_available


def subtype_disagrees(subtype: str, attributes: dict[str, Any] | None) -> bool:
    """Whether the model's neutrophil subtype and its nucleus-shape attribute (two heads of
    one network) contradict each other: a segmented neutrophil with a nucleus "not segmented",
    or a band with a segmented one. The pane then says so rather than show both as findings."""
    shape = str((attributes or {}).get("nucleus_shape") or "")
    return ((subtype == "segmented_neutrophil" and shape.startswith("unsegmented"))
            or (subtype == "band_neutrophil" and shape.startswith("segmented")))


def subtype_counted_note(subtype: str, final_class: str, reviewed: bool) -> str:
    """What a neutrophil's model subtype does not change in the count: only a biologist's band
    is counted among the band forms, so a model's band counted as a neutrophil, or a model's
    segmented neutrophil the biologist called a band, says how it is counted. '' otherwise."""
    if subtype == "band_neutrophil" and final_class == "neutrophil":
        return str(_("Counted among the neutrophils, not among the band forms (the "
                     "biologist's class).") if reviewed else
                   _("Counted among the neutrophils, not among the band forms: only the "
                     "biologist classes a band (key S)."))
    if subtype == "segmented_neutrophil" and final_class == BAND:
        return str(_("Counted as a band form (the biologist's class), not as the model's "
                     "segmented neutrophil."))
    return ""


def cell_detail(*, cell_id: int, final_class: str, reviewed: bool, prediction: Any,
                anomalies: dict[str, float | None], domain_flag: str,
                phrases: Phrases | None = None, other_name: str = "") -> dict[str, Any]:
    """What the large-cell pane shows of one cell, in the active language: its class (after
    review), the model's class probabilities (highest first), subtype, attributes and the
    neutrophil outputs (`anomalies`, already limited to neutrophils). Pass the page's
    `phrases` when wording many cells. `other_name`: what the biologist named a cell classed
    "other", printed with its class ("Other: plasma cell")."""
    say = phrases or Phrases()
    label = say.class_label(final_class or "unclassified")
    if other_name:
        label = _("%(class)s: %(name)s") % {"class": label, "name": other_name}
    detail: dict[str, Any] = {"id": cell_id, "final": final_class or "unclassified",
                              "final_label": label, "other_name": other_name,
                              "reviewed": reviewed, "domain": domain_flag,
                              "probs": [], "subtype": "", "attributes": [], "anomalies": []}
    if prediction is None or not prediction.shows_a_cell:
        return detail  # no white cell in the image: no class probabilities either (its flag)
    # Outside the validated domain the network's ranking is a suggestion: its figures (often
    # near 1) do not hold for the image, and are not shown (CellPrediction.figures_hold).
    hold = prediction.figures_hold
    probs = sorted((prediction.class_probs or {}).items(), key=lambda kv: -float(kv[1] or 0))
    detail["predicted_label"] = say.class_label(prediction.cell_class)
    detail["probs"] = [{"label": say.class_label(c), "value": say.percent(p) if hold else "",
                        "width": round(100 * p) if hold else 0}
                       for c, p in probs[:5 if hold else 3] if isinstance(p, int | float)]
    if not hold:
        detail["probs_caption"] = str(_("Model: classes (a suggestion)"))
        detail["probs_note"] = str(_("Outside the validated domain: the model's classes in its "
                                     "order, without probabilities, which do not hold for this "
                                     "image."))
    # A subtype that only repeats the class (a lymphocyte's "lymphocyte") would give the
    # same cell a second, different figure: shown where it refines the class.
    if prediction.subtype and prediction.subtype != prediction.cell_class:
        shown = say.percent(prediction.subtype_prob) if hold else ""
        detail["subtype"] = f"{say.word(SUBTYPES, prediction.subtype)} " \
                            f"({shown})".replace(" ()", "")
        notes = []
        if subtype_disagrees(prediction.subtype, prediction.attributes):
            notes.append(str(_(
                "The subtype and the nucleus-shape output disagree (%(shape)s): read the "
                "nucleus on the image.") % {"shape": say.attribute_value(
                    "nucleus_shape", (prediction.attributes or {}).get("nucleus_shape"))}))
        if counted := subtype_counted_note(prediction.subtype, final_class, reviewed):
            notes.append(counted)
        if notes:
            detail["subtype_note"] = " ".join(notes)
    probs_of = prediction.attribute_probs or {}
    # A neutrophil's vacuole output is its vacuole attribute read as a probability: listed once,
    # among the outputs.
    repeated = {"cytoplasm_vacuole"} if hold and anomalies.get("vacuole") is not None else set()
    detail["attributes"] = [
        {"name": say.word(ATTRIBUTES, name),
         "value": say.attribute_value(name, value),
         "prob": say.percent((probs_of.get(name) or {}).get(value)) if hold else ""}
        for name, value in (prediction.attributes or {}).items() if name not in repeated]
    detail["anomalies"] = [
        {"name": say.word(ANOMALIES if value is not None else ANOMALIES_NOT_AVAILABLE, name),
         "value": say.not_available() if value is None else say.percent(value)}
        for name, value in anomalies.items()] if hold else []
    return detail


def scanner_bands_text(n: int) -> str:
    """What the gallery says of the neutrophils not yet reviewed that the scanner put in its
    band folder (selectors.scanner_band); '' for none."""
    if not n:
        return ""
    return ngettext(
        '%(n)s neutrophil not yet reviewed was pre-classified as a band form by the slide '
        'scanner (marked "scanner: band"): the model has no band class and counts it among the '
        'neutrophils, not among the band forms. Only you count a band (key S).',
        '%(n)s neutrophils not yet reviewed were pre-classified as band forms by the slide '
        'scanner (marked "scanner: band"): the model has no band class and counts them among '
        'the neutrophils, not among the band forms. Only you count a band (key S).', n) % {
        "n": n}


def comment_changes_text(since: dict[str, Any] | None) -> str:
    """What the differential changed since the signed version a carried-over comment was
    written for (selectors.changes_since_signed), as the sign form says it; '' for none."""
    if not since or not since.get("changes"):
        return ""
    listed = pgettext("between the items of a list", "; ").join(
        f"{c['label']} {c['before']} → {c['after']}" for c in since["changes"])
    return _("Changed since version %(version)s: %(changes)s. The comment was written for "
             "version %(version)s: check that it still says what the figures say.") % {
        "version": since["version"], "changes": listed}


# The key of an amendment's change in the analyser's WBC (differential_changes).
ANALYSER_WBC = "analyser_wbc"


def differential_changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, str]]:
    """Each figure of the differential an amendment changes: its label, before and after (per
    100 white cells, one decimal as printed; "—" where one version has none), in the order of
    the classes, then band forms, NRBC, the white cells counted, the analyser's WBC (with its
    decimals) and what the "other" cells were named; each with its key."""
    def figures(diff: dict[str, Any]) -> dict[str, str]:
        out = {cls: one_decimal(v) for cls, v in (diff.get("per_100_wbc") or {}).items()
               if v is not None}
        if diff.get("bands"):
            out["bands"] = one_decimal(diff.get("bands_per_100_wbc"))
        if diff.get("nrbc_per_100_wbc") is not None:
            out["nrbc"] = one_decimal(diff["nrbc_per_100_wbc"])
        if diff.get("wbc_counted") is not None:
            out["wbc_counted"] = str(int(diff["wbc_counted"]))
        # The analyser's WBC the absolute counts rest on: a blood count attached by the
        # amendment changes every one of them, not a share.
        if diff.get("analyser_wbc") is not None:
            out[ANALYSER_WBC] = measured_value(diff["analyser_wbc"],
                                               diff.get("analyser_wbc_decimals"))
        # What the "other" cells are, as the biologist named them (a plasma cell withdrawn is
        # a change, even when the share of "other" stays).
        names = diff.get("other_names") or {}
        if names and (diff.get("per_100_wbc") or {}).get(OTHER):
            out[OTHER_NAMES] = pgettext("between the items of a list", ", ").join(
                f"{name or _('not named')} {count}" for name, count in names_in_order(names))
        return out

    old, new = figures(before), figures(after)
    # A change is read apart from the table: band forms named on their own, not "of which".
    named = {"bands": _("Band forms (among the neutrophils)"), "nrbc": NRBC_LABEL,
             "wbc_counted": _("White cells counted"),
             ANALYSER_WBC: _("Analyser's WBC (×10⁹/L), which the absolute counts rest on"),
             OTHER_NAMES: _("Other leukocytes (named)")}
    return [{"key": key, "label": str(named.get(key) or row_label(key)),
             "before": old.get(key) or "—", "after": new.get(key) or "—"}
            for key in dict.fromkeys([*new, *old]) if old.get(key) != new.get(key)]
