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
    "vacuole": _("Vacuoles (model output)"),
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

SCORE_LEVELS: dict[str, Promise] = {
    "above_threshold": _("above the operating threshold"),
    "below_threshold": _("below the operating threshold"),
    "above_who": _("at or above the WHO 10% threshold"),
    "below_who": _("below the WHO 10% threshold"),
    "low": _("low"),
    "intermediate": _("intermediate"),
    "high": _("high"),
}


# CBC parameters by the analyser's code (apps.hemograms.parsers.units): the name a reader knows.
CBC_NAMES: dict[str, Promise] = {
    "WBC": _("White cells"), "RBC": _("Red cells"), "HGB": _("Haemoglobin"),
    "HCT": _("Haematocrit"), "MCV": _("Mean cell volume"), "MCH": _("Mean cell haemoglobin"),
    "MCHC": _("Mean cell haemoglobin concentration"),
    "RDW-CV": _("Red cell distribution width (CV)"),
    "RDW-SD": _("Red cell distribution width (SD)"), "PLT": _("Platelets"),
    "MPV": _("Mean platelet volume"), "PDW": _("Platelet distribution width"),
    "P-LCR": _("Large platelet ratio"), "PCT": _("Plateletcrit"),
    "NEUT#": _("Neutrophils"), "NEUT%": _("Neutrophils (% of white cells)"),
    "LYMPH#": _("Lymphocytes"), "LYMPH%": _("Lymphocytes (% of white cells)"),
    "MONO#": _("Monocytes"), "MONO%": _("Monocytes (% of white cells)"),
    "EO#": _("Eosinophils"), "EO%": _("Eosinophils (% of white cells)"),
    "BASO#": _("Basophils"), "BASO%": _("Basophils (% of white cells)"),
    "IG#": _("Immature granulocytes"), "IG%": _("Immature granulocytes (% of white cells)"),
    "NRBC#": _("Nucleated red cells"), "NRBC%": _("Nucleated red cells (per 100 white cells)"),
    "RET#": _("Reticulocytes"), "RET%": _("Reticulocytes (% of red cells)"),
    "IRF": _("Immature reticulocyte fraction"),
    "RET-He": _("Reticulocyte haemoglobin equivalent"), "IPF": _("Immature platelet fraction"),
}
# Sysmex research parameters: a population (NE, LY, MO) and a channel (X side scatter, Y side
# fluorescence, Z forward scatter; W: the width of that distribution).
CBC_POPULATIONS: dict[str, Promise] = {
    "NE": _("Neutrophils"), "LY": _("Lymphocytes"), "MO": _("Monocytes")}
CBC_CHANNELS: dict[str, Promise] = {
    "X": _("side scatter"), "SSC": _("side scatter"), "Y": _("side fluorescence"),
    "SFL": _("side fluorescence"), "Z": _("forward scatter"), "FSC": _("forward scatter"),
    "WX": _("side scatter width"), "WY": _("side fluorescence width"),
    "WZ": _("forward scatter width")}
# Units as stored (the parsers' canonical units), as printed.
UNITS: dict[str, Promise | str] = {
    "10^9/L": "×10⁹/L", "10^12/L": "×10¹²/L", "/100WBC": _("/100 white cells"),
    "ch": _("channel units"),
}


def cbc_name(code: str) -> str:
    """A CBC parameter's name in the active language; an unknown code as it is."""
    if code in CBC_NAMES:
        return str(CBC_NAMES[code])
    population, _sep, channel = code.partition("-")
    if population in CBC_POPULATIONS and channel in CBC_CHANNELS:
        return f"{CBC_POPULATIONS[population]}, {CBC_CHANNELS[channel]}"
    return code


def unit(text: str | None) -> str:
    return str(UNITS.get(text or "", text or ""))


def label(table: dict[str, Promise], code: str | None) -> str:
    if not code:
        return ""
    return str(table.get(code, code.replace("_", " ")))
