"""Printed names for the codes stored in a report's content (cell classes, anomalies, scores).

The content keeps the codes; the report translates them at render time. A code not listed here is
printed as is, so a new class or anomaly still shows up, only untranslated.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from apps.review import display

# One table of class names for the review pages and the report.
CELL_CLASSES: dict[str, Promise] = display.CELL_CLASSES

# As the model card names them: model outputs read on neutrophils; the nucleus output is a
# lobation proxy (a band neutrophil is non-segmented too), never a pseudo-Pelger finding.
ANOMALIES: dict[str, Promise] = {
    "vacuole": _("Vacuole output (probability)"),  # as the case page names it
    "pseudo_pelger": _("Non-segmented nucleus (lobation proxy, also band forms)"),
    "hypogranulation": _("Hypogranulation"),
    "barr_body": _("Barr body"),
}
# An output the model does not give, named for what is missing (apps.review.display).
ANOMALIES_NOT_AVAILABLE: dict[str, Promise] = {
    **ANOMALIES, "pseudo_pelger": _("Pseudo-Pelger nucleus (dysplasia)")}

SCORE_STATES: dict[str, Promise] = {
    "scored": _("scored"),
    "indeterminate": _("indeterminate"),
    "not_applicable": _("not applicable"),
    "unavailable": _("not available"),
}

SCORE_NAMES: dict[str, Promise] = {
    "vexas": _("VEXAS syndrome suspicion"),
    "mds_cbc": _("MDS risk — CBC model"),
    "mds_image": _("MDS — image evidence (dysplastic-looking neutrophils)"),
    "mds_fused": _("MDS risk — fused image + CBC model"),
}

def label(table: dict[str, Promise], code: str | None) -> str:
    if not code:
        return ""
    return str(table.get(code, code.replace("_", " ")))
