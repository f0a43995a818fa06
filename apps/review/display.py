"""How the review's data reads on a page or a report: class names and the differential table.

One number format for the differential: one decimal, localised ("16,7" in French). The case
page, its live update after a reclassification and the PDF all build their table here.
"""

from __future__ import annotations

from typing import Any

from django.utils.formats import number_format
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

CELL_CLASSES: dict[str, Promise] = {
    "neutrophil": gettext_lazy("Neutrophil"),
    "lymphocyte": gettext_lazy("Lymphocyte"),
    "monocyte": gettext_lazy("Monocyte"),
    "eosinophil": gettext_lazy("Eosinophil"),
    "basophil": gettext_lazy("Basophil"),
    "ig": gettext_lazy("Immature granulocyte"),
    "erythroblast": gettext_lazy("Erythroblast"),
    "platelet": gettext_lazy("Platelet"),
    "other": gettext_lazy("Other"),
    "unclassified": gettext_lazy("Unclassified"),
}


def class_label(code: str | None) -> str:
    if not code:
        return ""
    return str(CELL_CLASSES.get(code, code.replace("_", " ")))


def one_decimal(value: Any) -> str:
    """A per-100 figure as printed everywhere: one decimal, localised; '' for None."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    return number_format(round(float(value), 1), decimal_pos=1)


def differential_table(diff: dict[str, Any]) -> dict[str, Any]:
    """The rows of a differential (apps.review.selectors.differential, or as signed) in the
    active language. Per row: class code, label, cells counted, per 100 WBC, and beside them
    the analyser's automated differential (CBC) and the scanner's pre-classification.

    `analyser_count` (the key the page's script reads) is the scanner's per 100 WBC."""
    per_100 = diff.get("per_100_wbc") or {}
    analyser = diff.get("analyser") or {}
    analyser_per_100 = analyser.get("per_100_wbc") or {}
    scanner = diff.get("scanner") or {}
    scanner_per_100 = scanner.get("per_100_wbc") or {}
    rows = []
    for cls, count in (diff.get("counts") or {}).items():
        rows.append({"class": cls, "label": class_label(cls), "count": count,
                     "percent": one_decimal(per_100.get(cls)),
                     "analyser": one_decimal(analyser_per_100.get(cls)),
                     "analyser_count": one_decimal(scanner_per_100.get(cls))})
    rows.append({"class": "erythroblast", "label": _("NRBC (per 100 WBC)"),
                 "count": diff.get("nrbc", 0),
                 "percent": one_decimal(diff.get("nrbc_per_100_wbc")),
                 "analyser": one_decimal(analyser.get("nrbc_per_100_wbc")),
                 "analyser_count": one_decimal(scanner.get("nrbc_per_100_wbc"))})
    # Counted apart, never in the denominator: platelets and cells without a class yet.
    for cls, count in (diff.get("excluded") or {}).items():
        rows.append({"class": cls, "label": _("%(class)s (not a white cell)")
                     % {"class": class_label(cls)}, "count": count, "percent": "",
                     "analyser": "", "analyser_count": ""})
    if diff.get("unclassified"):
        rows.append({"class": "unclassified", "label": class_label("unclassified"),
                     "count": diff["unclassified"], "percent": "", "analyser": "",
                     "analyser_count": ""})
    wbc, target = diff.get("wbc_counted", 0), diff.get("target", 0)
    warning = ""
    if diff.get("short_of_target"):
        warning = _("Only %(counted)s white cells classified, fewer than the %(target)s the "
                    "laboratory counts: the percentages rest on a smaller count.") % {
            "counted": wbc, "target": target}
    return {"rows": rows, "total": wbc, "wbc_counted": wbc, "target": target,
            "short_of_target": bool(diff.get("short_of_target")), "warning": warning,
            "reviewed": diff.get("reviewed", 0), "unclassified": diff.get("unclassified", 0),
            "analyser": analyser or None, "has_analyser": bool(analyser),
            "has_scanner": bool(scanner)}
