"""Words, in the reader's language, for what the scoring code (apps.ml.scores, which imports no
Django) writes into a score: reasons and what each part of the VEXAS rule found (codes with
parameters, worded by dictionary lookup in `reason_text`), disclaimers and card limits (looked
up by their exact text), and the names and units of the evidence table. Stored scores keep what
was written; pages and reports show it in the reader's language, with the stored numbers
formatted the reader's way."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext, pgettext_lazy

from apps.core.numbers import measured_value, probability, probability_against, probability_end
from apps.hemograms.wording import from_analyser
from apps.ml.scores import fused, mds_cbc, mds_image, reasons, vexas
from apps.ml.scores.features import against_the_usual_reading

from . import scores as score_codes

INPUTS = {
    "MCV": gettext_lazy("MCV"), "haemoglobin": gettext_lazy("haemoglobin"),
    "platelet count": gettext_lazy("platelet count"), "sex": gettext_lazy("sex"),
    "age": gettext_lazy("age"), "anc": gettext_lazy("neutrophil count"),
    "hb": gettext_lazy("haemoglobin"), "plt": gettext_lazy("platelet count"),
    "age, sex": gettext_lazy("age and sex"), "mcv": gettext_lazy("MCV"),
}

# Contribution names: the VEXAS rule's parts (apps.ml.scores.vexas.WEIGHTS) and the CBC
# model's features (apps.ml.scores.features.FEATURES). The two sets do not overlap.
CONTRIBUTIONS = {
    "vacuoles": gettext_lazy("vacuolated neutrophils"),
    "macrocytosis": gettext_lazy("macrocytosis"),
    "anaemia": gettext_lazy("anaemia"),
    "thrombocytopenia": gettext_lazy("thrombocytopenia"),
    "male_sex": gettext_lazy("male sex"),
    "age_over_50": gettext_lazy("age 50 or over"),
    "pseudo_pelger": gettext_lazy("hyposegmented neutrophils (context only)"),
    "anc": INPUTS["anc"], "hb": INPUTS["hb"], "plt": INPUTS["plt"],
    "wbc": gettext_lazy("white cell count"), "mono": gettext_lazy("monocyte count"),
    "age": INPUTS["age"], "sex_male": gettext_lazy("male sex"), "mcv": INPUTS["MCV"],
    "ne_wx": gettext_lazy("Neutro-WX (neutrophil side-scatter width)"),
}

# The cell model's anomaly outputs (apps.ml.scores.mds_image.ANOMALIES) by name.
ANOMALY_NAMES = {
    "vacuole": gettext_lazy("cytoplasmic vacuoles"),
    "pseudo_pelger": gettext_lazy("hyposegmented nucleus (proxy)"),
    "hypogranulation": gettext_lazy("hypogranulation"),
    "barr_body": pgettext_lazy("in a list of lower-case outputs", "Barr body"),
}


def anomaly_name(code: str) -> str:
    return str(ANOMALY_NAMES.get(code, code.replace("_", " ")))


def percent(value: Any) -> str:
    """A fraction or a model probability as a whole percentage in the active language ('90%',
    '90 %'): the one percentage format of the pages and the report."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    return _("%(value)s%%") % {"value": number_format(round(100 * float(value)))}


def probability_percent(value: Any) -> str:
    """A model's probability as a whole percentage ('90%'), never a certainty: '> 99%' and
    '< 1%' at the ends (apps.core.numbers.PROBABILITY_ENDS)."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    end = probability_end(float(value))
    if end:
        return (">\u00a0" if end > 0 else "<\u00a0") + percent(0.99 if end > 0 else 0.01)
    return percent(value)


def label_value(name: str, value: str) -> str:
    """'name: value' with the active language's punctuation ('nom : valeur' in French)."""
    return _("%(name)s: %(value)s") % {"name": name, "value": value}


def anomaly_fractions(fractions: Mapping[str, float | None]) -> list[dict[str, str]]:
    """The MDS image evidence's share of neutrophils per anomaly output, each as 'name: value'
    in the active language (a whole percentage, or 'not available in this model')."""
    return [{"code": code,
             "text": label_value(anomaly_name(code), _("not available in this model")
                                 if fraction is None else percent(fraction))}
            for code, fraction in fractions.items()]


def _input(name: str) -> str:
    return str(INPUTS.get(name, name))


def _sex(code: str) -> str:
    """A patient's sex as a word ('male'; French 'homme'): an initial would read as a flag (the
    French H of 'homme' is the table's H of 'haut')."""
    return {"M": pgettext("sex of a patient", "male"),
            "F": pgettext("sex of a patient", "female")}.get(code, code)


def contribution_name(name: str) -> str:
    """The display label of a contribution in the active language; an unknown name as is."""
    return str(CONTRIBUTIONS.get(name, name))


# Units of the CBC model's features (apps.ml.scores.features.FEATURES), as printed.
FEATURE_UNITS = {
    "10^9/L": "×10⁹/L", "years": gettext_lazy("years"),
    "Sysmex channel units": gettext_lazy("Sysmex channel units"),
}

# Contributions whose value is a share of the neutrophils (stored as a fraction).
FRACTION_VALUES = frozenset({"vacuoles", "pseudo_pelger"})


def contribution_value(name: str, value: object) -> object:
    """The stored value as a reader expects it: shares as percentages, sex as a word; anything
    else (and None) unchanged."""
    if name in FRACTION_VALUES and isinstance(value, int | float) and not isinstance(value, bool):
        return percent(value)
    if name == "male_sex" and isinstance(value, str):
        return _sex(value)
    return value


# The VEXAS rule is a sum of points, not a probability: its weights (which sum to 1) are shown
# as points out of 100, and its value as "N points of 100" with its level.
VEXAS_POINTS = 100
# Units of the VEXAS rule's inputs, as the rule reads them (apps.ml.scores.vexas).
VEXAS_UNITS = {
    "vacuoles": gettext_lazy("% of neutrophils"), "pseudo_pelger": gettext_lazy("% of neutrophils"),
    "macrocytosis": "fL", "anaemia": "g/dL", "thrombocytopenia": "×10⁹/L",
    "age_over_50": gettext_lazy("years"),
}


def _num(value: float, digits: int = 1) -> str:
    """A localised number, at most `digits` decimals, no padding zeros ('72,5', '40')."""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"
    return number_format(Decimal(text))


def vexas_points(value: float | None) -> str:
    return "" if value is None else _num(VEXAS_POINTS * float(value))


def score_value_text(name: str, value: object, thresholds: dict | None = None) -> str:
    """The headline figure of a score in the reader's language, in the score's own unit: the
    VEXAS rule in points of 100 (never a figure that reads as a probability), the MDS image
    evidence as a share of the neutrophils, the models' outputs as probabilities."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    if name == "vexas":
        return _("%(points)s points of %(total)s") % {"points": vexas_points(value),
                                                       "total": VEXAS_POINTS}
    if name == "mds_image":
        return _("%(percent)s %% of neutrophils") % {"percent": _num(100 * float(value))}
    if name in ("mds_cbc", "mds_fused"):  # what it is calibrated to: score_calibration_text
        return _("model output %(value)s") % {"value": probability(float(value))}
    return ""


def score_calibration_text(name: str, thresholds: dict | None) -> str:
    """What the CBC model's probability is calibrated to: the MDS share of its training cohort
    (from its card). In a laboratory's flagged samples, where MDS is rarer, the same output
    means a lower probability."""
    prevalence = (thresholds or {}).get("training_prevalence")
    if name != "mds_cbc" or not isinstance(prevalence, int | float):
        return ""
    return _("Calibrated to its training cohort, where %(prevalence)s%% had MDS: where MDS is "
             "rarer, the same output means a lower probability.") % {
        "prevalence": _num(100 * float(prevalence))}


def score_levels_text(name: str, thresholds: dict | None) -> str:
    """How the level is read from the value (the VEXAS rule's cut-offs, in points; a model's
    operating threshold is named in its level, ``score_level_text``)."""
    t = thresholds or {}
    if name == "vexas" and "level_intermediate" in t and "level_high" in t:
        return _("intermediate from %(intermediate)s points, high from %(high)s points") % {
            "intermediate": vexas_points(t["level_intermediate"]),
            "high": vexas_points(t["level_high"])}
    return ""


def score_level_text(level: object, thresholds: dict | None) -> str:
    """A score's level in the reader's language; a model's level with its operating threshold
    (on the scale of the model's output, printed beside it)."""
    if not level:
        return ""
    point = (thresholds or {}).get("operating_point")
    if level in ("above_threshold", "below_threshold") and isinstance(point, int | float):
        above = level == "above_threshold"
        return (_("above the operating threshold of %(value)s") if above else
                _("below the operating threshold of %(value)s")) % {
            "value": _num(float(point), 2)}
    return str(SCORE_LEVELS.get(str(level), str(level).replace("_", " ")))


SCORE_LEVELS = {
    "above_threshold": gettext_lazy("above the operating threshold"),
    "below_threshold": gettext_lazy("below the operating threshold"),
    "above_who": gettext_lazy("at or above the WHO 10% threshold"),
    "below_who": gettext_lazy("below the WHO 10% threshold"),
    "low": gettext_lazy("low"),
    "intermediate": gettext_lazy("intermediate"),
    "high": gettext_lazy("high"),
}


# The analyser code each CBC figure of a score is read from (apps.analysis.scores): the CBC
# models' inputs and the VEXAS rule's parts. A count the file left out is computed (its
# inputs["computed"]); a value the file gave prints with the decimals the analyser gave it
# (its inputs["decimals"]), as the CBC table prints it.
FEATURE_CODES = {"anc": "NEUT#", "mono": "MONO#", "wbc": "WBC", "hb": "HGB", "plt": "PLT",
                 "mcv": "MCV", "ne_wx": "NE-WX", "macrocytosis": "MCV", "anaemia": "HGB",
                 "thrombocytopenia": "PLT"}


def contribution_table(name: str, contributions: list[dict],
                       computed: Mapping[str, str] | None = None,
                       decimals: Mapping[str, int] | None = None) -> dict[str, object]:
    """The evidence table of a score: column headings with their units and one row per
    contribution (label, value with its unit, part with its unit, and what the part found: for
    the VEXAS rule the measured value against the cut-off it was compared to). ``computed``
    (the score's ``inputs.computed``: code -> the share it was computed from with the WBC)
    marks the counts the file left out; ``decimals`` (its ``inputs.decimals``) gives the file's
    values their analyser's decimals."""
    computed = computed or {}
    decimals = decimals or {}

    def analyser_decimals(contribution: dict) -> int | None:
        return decimals.get(FEATURE_CODES.get(str(contribution.get("name")), ""))
    rows = []
    if name == "vexas":
        for c in contributions:
            value = c.get("value")
            shown = contribution_value(str(c.get("name", "")), value)
            unit = VEXAS_UNITS.get(str(c.get("name", "")), "")
            if isinstance(shown, str) and shown.endswith("%"):
                shown = shown[:-1].rstrip()  # the unit says "% of neutrophils"
            elif isinstance(shown, int | float) and not isinstance(shown, bool):
                places = analyser_decimals(c)
                shown = _num(float(shown)) if places is None else measured_value(shown, places)
            rows.append({
                "name": contribution_name(str(c.get("name", ""))),
                # a value and its unit never part at a line's end ("24 % des neutrophiles")
                "value": "" if shown is None else f"{shown}\u00a0{unit}" if unit else str(shown),
                "nobreak": _short_unit(unit),
                "missing": bool(c.get("missing")),
                "part": _("%(points)s of %(max)s") % {
                    "points": vexas_points(c.get("points") or 0.0),
                    "max": vexas_points(c.get("weight") or 0.0)},
                "text": _contribution_text(c, decimals),
            })
        return {"value_heading": _("Value (unit)"),
                "part_heading": _("Points (of %(total)s)") % {"total": VEXAS_POINTS},
                "text_heading": _("Finding (cut-off)"), "rows": rows}
    for c in contributions:
        value = c.get("value")
        unit = str(FEATURE_UNITS.get(str(c.get("unit") or ""), c.get("unit") or ""))
        if c.get("name") == "sex_male" and value in (0, 1) and not isinstance(value, bool):
            shown, unit = _sex("M" if value == 1 else "F"), ""  # the model's 1/0 coding
        elif isinstance(value, int | float) and not isinstance(value, bool):
            places = analyser_decimals(c)
            shown = _num(float(value), 3) if places is None else measured_value(value, places)
        else:
            shown = "" if value is None else str(value)
        part = c.get("contribution")
        # A feature the model gives no weight (its training cohort never measured it, MCV and
        # Neutro-WX): its 0 is not a finding that the value does not matter.
        unused = c.get("coef") == 0 and not c.get("missing_coef")
        share = computed.get(FEATURE_CODES.get(str(c.get("name")), ""))
        coef = c.get("coef")
        against = not unused and against_the_usual_reading(
            str(c.get("name", "")), float(coef) if isinstance(coef, int | float) else None)
        text = _("not used by this model (its training cohort did not measure it)") \
            if unused else _("computed: %(share)s × WBC (the file gave no count)") % {
                "share": share} if share else _contribution_text(c, decimals)
        if against:
            # Learned from its one training cohort, not the clinical rule (features.py).
            text = " ".join(t for t in (text, _(
                "Learned from the training cohort: a lower count lowers the output, the "
                "opposite of the usual reading, in which a cytopenia raises the suspicion of "
                "an MDS.")) if t)
        rows.append({
            "name": contribution_name(str(c.get("name", ""))),
            "value": f"{shown}\u00a0{unit}" if shown and unit else shown,
            "nobreak": _short_unit(unit),
            "missing": bool(c.get("missing")),
            "part": "—" if unused else "" if part is None else _num(float(part), 3),
            "text": text,
        })
    return {"value_heading": _("Value (unit)"),
            "part_heading": _("Contribution (log-odds)"),
            "text_heading": _("Finding") if any(r["text"] for r in rows) else "", "rows": rows}


def _short_unit(unit: str) -> bool:
    """Whether a value with this unit is printed on one line: a short unit ("×10⁹/L", "fL")
    never splits ("0.32 ×10⁹/" then "L"); a long one ("% of neutrophils") may wrap."""
    return bool(unit) and len(str(unit)) <= 8


def _contribution_text(contribution: dict, decimals: Mapping[str, int] | None = None) -> str:
    """What a part of a score found: its reason code worded; a text stored by a row written
    before contributions had codes, as stored."""
    reason = contribution.get("reason")
    return reason_text(reason, decimals=decimals) if reason else str(
        contribution.get("text") or "")


# Evidence strips: the cut-off each score's ranked cells are read against (model probability).
EVIDENCE_CUTOFFS = {"vexas": ("vacuole_prob_cutoff", "vacuole"),
                    "mds_image": ("anomaly_prob_cutoff", "probability")}


def cell_cutoff_text(name: str, thresholds: dict | None) -> str:
    """When a cell counts for a score's share (the probability cut-off the score stored)."""
    key = EVIDENCE_CUTOFFS.get(name, ("", ""))[0]
    cutoff = (thresholds or {}).get(key)
    if not isinstance(cutoff, int | float) or isinstance(cutoff, bool):
        return ""
    if name == "vexas":
        return _("A neutrophil counts as vacuolated when the biologist saw vacuoles in it or, "
                 "where the biologist has not read it, when the model's vacuole probability "
                 "is %(cutoff)s or more.") % {"cutoff": _num(float(cutoff), 2)}
    return _("A neutrophil counts as flagged when one of the model's anomaly probabilities is "
             "%(cutoff)s or more.") % {"cutoff": _num(float(cutoff), 2)}


def evidence_cells(name: str, evidence: dict | None, thresholds: dict | None,
                   limit: int = 12) -> list[dict]:
    """The cells an evidence strip shows: for a score with a cut-off, only the cells at or above
    it (highest first); attention cells (the fused model) as stored."""
    cells = list((evidence or {}).get("cells") or [])
    if name in EVIDENCE_CUTOFFS:
        key, field = EVIDENCE_CUTOFFS[name]
        cutoff = (thresholds or {}).get(key)
        if cutoff is None:
            return []
        # A neutrophil in which the biologist saw vacuoles counts whatever the model's output.
        cells = [c for c in cells if c.get("read") == "seen"
                 or (isinstance(c.get(field), int | float) and c[field] >= cutoff)]
    return cells[:limit]


def score_drivers_text(name: str, state: object, contributions: list[dict],
                       value: object = None, thresholds: dict | None = None) -> str:
    """What the headline adds when age and sex, not the counts, drive the CBC model's output:
    that it reaches the operating threshold only through them (with the output the counts give
    alone), else their share of the evidence when it is most of it."""
    if name not in ("mds_cbc", "mds_fused") or state != "scored":
        return ""
    if only_through_demographics(name, state, value, thresholds, contributions):
        alone = mds_cbc.output_without_demographics(float(value), contributions)  # type: ignore[arg-type]
        shown, cut = probability_against(alone or 0.0,
                                         float((thresholds or {})["operating_point"]))
        return _("Above the operating threshold only through age and sex: with their part "
                 "taken out (the training cohort's average age and sex), the blood count gives "
                 "output %(alone)s, below %(cut)s. That is the model's output, not a reading of "
                 "the count: its cytopenias and its MCV are read on the CBC table.") % {
                     "alone": shown, "cut": cut}
    if not mds_cbc.driven_by_demographics(contributions):
        return ""
    share = mds_cbc.demographic_share(contributions) or 0.0
    return _("Driven mostly by age and sex: %(share)s%% of the model's evidence comes from "
             "them, not from the blood counts.") % {"share": _num(100 * share, 0)}


# Scores whose evidence table is shown even without a result: the VEXAS rule is a sum of
# findings, and which findings are in and which are missing is what makes it indeterminate.
# A model's log-odds parts (the CBC and fused MDS models) read as evidence only beside the
# probability they add up to: an indeterminate model shows none.
PARTS_WITHOUT_RESULT = frozenset({"vexas"})


def only_through_demographics(name: str, state: object, value: object,
                              thresholds: dict | None, contributions: list[dict]) -> bool:
    """Whether the CBC model's scored output reaches its threshold only through age and sex
    (apps.ml.scores.mds_cbc.above_only_through_demographics)."""
    point = (thresholds or {}).get("operating_point")
    return (name == "mds_cbc" and state == "scored" and isinstance(value, int | float)
            and not isinstance(value, bool) and isinstance(point, int | float)
            and mds_cbc.above_only_through_demographics(float(value), float(point),
                                                        contributions))


def _qualified_level(name: str, state: object, level: object, thresholds: dict | None,
                     contributions: list[dict], value: object = None) -> str:
    """``score_level_text``; a VEXAS level the vacuoles gave no point of says so
    in the level itself, where a reader who skims the column reads it ("intermediate, on the
    blood count, sex and age alone"), not only in the sentence below; so does a CBC model
    above its threshold only through age and sex."""
    text = score_level_text(level, thresholds)
    if name == "vexas" and state == "scored" and vexas.woman_kept_low(level, contributions):
        return _("%(level)s: a woman whose vacuoles give no points") % {"level": text}
    if name == "vexas" and state == "scored" and vexas.kept_low(level, contributions):
        return _("%(level)s: the vacuoles give no points") % {"level": text}
    if vexas_without_vacuoles_text(name, state, level, contributions):
        return _("%(level)s, on the blood count, sex and age alone") % {"level": text}
    if only_through_demographics(name, state, value, thresholds, contributions):
        return _("%(level)s, through age and sex alone") % {"level": text}
    return text


def analyser_decimals(inputs: object) -> dict[str, int]:
    """A score's inputs["decimals"] (code -> the decimals the analyser gave the value); {} for a
    score stored before they were kept."""
    decimals = inputs.get("decimals") if isinstance(inputs, dict) else None
    return decimals if isinstance(decimals, dict) else {}


def score_display(score: object, *, report: bool = False) -> dict[str, object]:
    """What a page or a report shows of a score (a Score row or its JSON entry): the headline
    figure in its unit, how the level is read, the evidence table, the evidence cells and the
    cut-off they are read against; its reasons (``report``: as a signed report words them)."""
    def get(key: str) -> object:
        return score.get(key) if isinstance(score, dict) else getattr(score, key, None)

    name = str(get("name") or "")
    thresholds = get("thresholds") or {}
    evidence = get("evidence") or {}
    return {
        "reasons": [reason_text(r, report=report, decimals=analyser_decimals(get("inputs")))
                    for r in get("reasons") or []],  # type: ignore[attr-defined]
        "value": score_value_text(name, get("value"), thresholds),  # type: ignore[arg-type]
        "drivers": score_drivers_text(name, get("state"),
                                      list(evidence.get("contributions") or []),  # type: ignore[union-attr]
                                      get("value"), thresholds),  # type: ignore[arg-type]
        # The levels' cut-offs only beside a score: beside an indeterminate rule's findings they
        # would invite adding their points up into a level.
        "levels": score_levels_text(name, thresholds)  # type: ignore[arg-type]
        if get("state") == "scored" else "",
        "level": _qualified_level(name, get("state"), get("level"), thresholds,  # type: ignore[arg-type]
                                  list(evidence.get("contributions") or []),  # type: ignore[union-attr]
                                  get("value")),
        # What the output is calibrated to, beside an output only.
        "calibration": score_calibration_text(name, thresholds)  # type: ignore[arg-type]
        if get("state") == "scored" else "",
        "table": contribution_table(name, list(evidence.get("contributions") or []),  # type: ignore[union-attr]
                                    computed=(get("inputs") or {}).get("computed") or {},  # type: ignore[union-attr]
                                    decimals=analyser_decimals(get("inputs")))
        if evidence.get("contributions")  # type: ignore[union-attr]
        and (get("state") == "scored" or name in PARTS_WITHOUT_RESULT) else None,
        "cells": evidence_cells(name, evidence, thresholds),  # type: ignore[arg-type]
        "cutoff": next((thresholds.get(k) for n, (k, _f) in EVIDENCE_CUTOFFS.items()  # type: ignore[union-attr]
                        if n == name), None),
        "cutoff_text": cell_cutoff_text(name, thresholds),  # type: ignore[arg-type]
        "anomaly_fractions": anomaly_fractions(evidence.get("per_anomaly_fraction") or {}),  # type: ignore[union-attr]
        "demographics": demographics_text(name, get("state"), get("inputs")),
        "on_reads": on_reads_text(get("state"), get("inputs")),
        "without_vacuoles": vexas_without_vacuoles_text(
            name, get("state"), get("level"), list(evidence.get("contributions") or [])),  # type: ignore[union-attr]
        "unread_margin": vexas_unread_margin_text(
            name, get("state"), get("level"), list(evidence.get("contributions") or [])),  # type: ignore[union-attr]
        "not_counted": vexas_not_counted_text(name, get("state"), get("inputs"),
                                              report=report),
        # An indeterminate rule's findings are shown, never summed: its points read as a level.
        "parts_note": _("The points of the findings that could be read, not added up into a "
                        "level: the score is indeterminate for the reasons given.")
        if get("state") != "scored" and name in PARTS_WITHOUT_RESULT
        and evidence.get("contributions") else "",  # type: ignore[union-attr]
    }


def on_reads_text(state: object, inputs: object) -> str:
    """What a result counted on the biologist's reads alone rests on (a VEXAS result outside
    the validated domain); '' for any other."""
    if state != "scored" or not isinstance(inputs, dict) \
            or inputs.get("counted_on") != score_codes.VEXAS_ON_READS:
        return ""
    return _("Counted on the biologist's reads alone: the images are outside the domain the "
             "cell model was validated on, and the biologist classed every cell and read the "
             "vacuoles of each of the %(n)s neutrophils. No output of the cell model is "
             "counted.") % {"n": inputs.get("n_neutrophils")}


def vexas_without_vacuoles_text(name: str, state: object, level: object,
                                contributions: list[dict]) -> str:
    """Why a VEXAS level reached without any vacuolated neutrophil is low, or, for a result
    stored before vexas-rule 1.3 that kept it, no worklist suspicion
    (apps.analysis.scores._vexas_flagged)."""
    if name != "vexas" or state != "scored":
        return ""
    if vexas.woman_kept_low(level, contributions):
        return _("Her points reach %(level)s, and her level is low: VEXAS comes of a UBA1 "
                 "mutation on the X chromosome and is reported in men (and in a few women with "
                 "a single X). Without vacuoles among her points, a woman's macrocytosis and "
                 "cytopenias are an MDS's, a B12 deficiency's or alcohol's.") % {
                     "level": score_level_text(vexas.points_level(contributions), None)}
    kept = vexas.kept_low(level, contributions)
    if not kept and (level not in ("intermediate", "high")
                     or vexas.vacuoles_scored(contributions)):
        return ""
    if kept:
        rest = _("the blood count, sex and age alone reach %(level)s, a pattern MDS, a B12 "
                 "deficiency or alcohol give far more often than VEXAS: the level is low. "
                 "VEXAS's hallmark is vacuoles in the marrow's myeloid and erythroid "
                 "precursors.") % {
                     "level": score_level_text(vexas.points_level(contributions), None)}
    else:
        rest = _("the level rests on the blood count, sex and age, which MDS, a B12 deficiency "
                 "or alcohol give too. It is not put on the worklist as a VEXAS suspicion.")
    # Some neutrophils may be vacuolated, too few of them to score: said so, with their count.
    found = next((c.get("reason") or {} for c in contributions
                  if isinstance(c, Mapping) and c.get("name") == "vacuoles"), {})
    p = found.get("params") or {} if found.get("code") == reasons.VACUOLATED_SHARE else {}
    k, n = p.get("k"), p.get("n")
    if isinstance(k, int) and isinstance(n, int) and k > 0 and p.get("low") is not None:
        return _("The vacuoles give none of its points (%(k)s/%(n)s neutrophils vacuolated, "
                 "under the %(low)s%% from which they score): %(rest)s") % {
            "k": k, "n": n, "low": _pct(p.get("low")), "rest": rest}
    return _("The vacuoles give none of its points: %(rest)s") % {"rest": rest}


def vexas_unread_margin_text(name: str, state: object, level: object,
                             contributions: list[dict]) -> str:
    """How few model calls of vacuoles, read by no one, a VEXAS level rests on
    (vexas.unread_margin): "With 2 fewer ... it would be intermediate"; '' otherwise."""
    if name != "vexas" or state != "scored":
        return ""
    margin = vexas.unread_margin(level, contributions)
    if margin is None:
        return ""
    m, lower = margin
    return ngettext(
        "This level rests on neutrophils counted vacuolated on the model's output alone, which "
        "no one has read: with %(m)d fewer of them it would be %(lower)s.",
        "This level rests on neutrophils counted vacuolated on the model's output alone, which "
        "no one has read: with %(m)d fewer of them it would be %(lower)s.", m) % {
        "m": m, "lower": score_level_text(lower, None)}


def vexas_not_counted_text(name: str, state: object, inputs: object, *,
                           report: bool = False) -> str:
    """Why the VEXAS rule counts fewer neutrophils than the differential: those whose image is
    outside the validated domain and whose vacuoles the biologist has not read (the rule never
    counts the model's vacuole output for them); '' when it counts them all."""
    n = inputs.get("outside_not_counted") if isinstance(inputs, dict) else None
    if name != "vexas" or state != "scored" or not isinstance(n, int) or n <= 0:
        return ""
    if report:
        return ngettext(
            "%(n)d neutrophil of the differential was not counted by the rule: its image is "
            "outside the validated domain and its vacuoles were not read.",
            "%(n)d neutrophils of the differential were not counted by the rule: their images "
            "are outside the validated domain and their vacuoles were not read.", n) % {"n": n}
    return ngettext(
        "%(n)d neutrophil of the differential is not counted by the rule: its image is outside "
        "the validated domain. Read its vacuoles (V: seen, Shift+V: none) to count it.",
        "%(n)d neutrophils of the differential are not counted by the rule: their images are "
        "outside the validated domain. Read their vacuoles (V: seen, Shift+V: none) to count "
        "them.", n) % {"n": n}


# The scores that read the patient's sex or age (the VEXAS rule's points, the CBC model's inputs).
READS_DEMOGRAPHICS = frozenset({"vexas", "mds_cbc", "mds_fused"})


def demographics_text(name: str, state: object, inputs: object) -> str:
    """Where a scored result's sex and age came from when the patient record did not give
    them: "Read from the analyser's record, not a patient record: sex and age."; else ""."""
    if name not in READS_DEMOGRAPHICS or state != "scored" or not isinstance(inputs, dict):
        return ""
    read = from_analyser(inputs.get("sex_from"), inputs.get("age_from"))
    if not read:
        return ""
    return _("Read from the analyser's record, not a patient record: %(what)s.") % {
        "what": _(" and ").join(read)}


def _figure(value: object) -> str:
    """A stored figure the reader's way (at most 2 decimals); anything else as it is."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _num(float(value), 2)
    return str(value)


# Where reason_text puts the score's analyser decimals among a reason's parameters.
_DECIMALS = "_analyser_decimals"


def _cbc_figure(p: Mapping[str, Any], key: str, feature: str) -> str:
    """A reason's CBC figure (parameter ``key``, read from ``feature``'s analyser code) with the
    decimals the analyser gave it, else ``_figure``."""
    places = (p.get(_DECIMALS) or {}).get(FEATURE_CODES.get(feature, ""))
    value = p.get(key)
    if places is None or not isinstance(value, int | float) or isinstance(value, bool):
        return _figure(value)
    return measured_value(value, places)


def _vacuolated_share(p: Mapping[str, Any]) -> str:
    """The VEXAS rule's vacuole count, with the 95% interval of its share: with 28 neutrophils,
    3 vacuolated (11%) is 4-27%, on both sides of the cut-offs; one cell more or less moves the
    level, and the reader sees how little the count can tell."""
    k, n, read = p.get("k"), p.get("n"), p.get("read")
    values = {"k": k, "n": n, "pct": _pct(p.get("fraction")), "high": _pct(p.get("high")),
              "low": _pct(p.get("low"))}
    # How many of them the biologist read (seen or none): their read counts, not the model's.
    checked = _("; vacuoles read by the biologist in %(read)s of the %(n)s") % {
        "read": read, "n": n} if isinstance(read, int) and read > 0 else ""
    if isinstance(k, int) and isinstance(n, int) and 0 <= k <= n and n > 0:
        lo, hi = mds_image.wilson_ci(k, n)
        return _("%(k)s/%(n)s neutrophils vacuolated (%(pct)s%%, 95%% interval %(lo)s–%(hi)s%%; "
                 "all points from %(high)s%%, half from %(low)s%%)") % {
            **values, "lo": _pct(lo), "hi": _pct(hi)} + checked
    return _("%(k)s/%(n)s neutrophils vacuolated (%(pct)s%%; all points from %(high)s%%, half "
             "from %(low)s%%)") % values + checked


def _vexas_needs_reads(p: Mapping[str, Any]) -> str:
    """What lets the VEXAS rule count the biologist's reads alone outside the domain."""
    text = _("it is counted on your reads alone once you have classed every cell and read the "
             "vacuoles of every neutrophil (V: seen, Shift+V: none): %(read)s of %(n)s read") % {
        "read": p.get("read"), "n": p.get("n")}
    if p.get("waiting"):
        text += _("; some images still wait for your class")
    return text


def _vexas_reads_missing(p: Mapping[str, Any]) -> str:
    """``_vexas_needs_reads`` as a signed report says it: what was not done, not how to do it
    (a report speaks to its reader, not to the biologist at the screen)."""
    text = _("on a smear outside the validated domain the rule counts the biologist's vacuole "
             "reads alone, and not every neutrophil was read: %(read)s of %(n)s") % {
        "read": p.get("read"), "n": p.get("n")}
    if p.get("waiting"):
        text += _("; some images were not classified")
    return text


def _pct(fraction: object) -> str:
    """A stored fraction as a whole percentage, without the sign."""
    if isinstance(fraction, int | float) and not isinstance(fraction, bool):
        return _num(100 * float(fraction), 0)
    return str(fraction)


def _with_unit(value: object, unit: object) -> str:
    """A stored figure (or a figure already printed) followed by a CBC feature's unit as
    printed, joined by a no-break space: the two never part at a line's end."""
    shown = str(FEATURE_UNITS.get(str(unit or ""), unit or ""))
    figure = value if isinstance(value, str) else _figure(value)
    return f"{figure}\u00a0{shown}" if shown else figure


def _outside_training(p: Mapping[str, Any]) -> str:
    """A CBC model input outside the values of its training cohort, with that range."""
    return _("%(input)s %(value)s: outside the values of the cohort the model was trained on "
             "(%(low)s to %(high)s)") % {
        "input": contribution_name(str(p.get("input", ""))),
        "value": _with_unit(_cbc_figure(p, "value", str(p.get("input", ""))), p.get("unit")),
        "low": _figure(p.get("low")),
        "high": _with_unit(p.get("high"), p.get("unit"))}


def _no_cytopenia(p: Mapping[str, Any]) -> str:
    """A count without any cytopenia, each figure with the cut-off it is at or above."""
    return _("no cytopenia (Hb %(hb)s ≥ %(hb_cut)s, ANC %(anc)s ≥ %(anc_cut)s, platelets "
             "%(plt)s ≥ %(plt_cut)s): an MDS needs at least one (WHO and ICC 2022), and on a "
             "count without one this model's output rests on age and sex") % {
        "hb": _with_unit(_cbc_figure(p, "hb", "hb"), "g/dL"),
        "hb_cut": _with_unit(p.get("hb_cutoff"), "g/dL"),
        "anc": _with_unit(_cbc_figure(p, "anc", "anc"), "10^9/L"),
        "anc_cut": _with_unit(p.get("anc_cutoff"), "10^9/L"),
        "plt": _with_unit(_cbc_figure(p, "plt", "plt"), "10^9/L"),
        "plt_cut": _with_unit(p.get("plt_cutoff"), "10^9/L")}


def _model_text(kind: object) -> str:
    return _("no CBC MDS model is installed") if kind == "cbc" else _("no fused model installed")


# Each reason code (apps.ml.scores.reasons, apps.analysis.scores) and its words; `p` holds the
# parameters as stored.
REASONS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    reasons.FEW_NEUTROPHILS: lambda p: _("fewer than %(min)s neutrophils analysed (n=%(n)s)")
    % {"min": p.get("min"), "n": p.get("n")},
    score_codes.FEW_NEUTROPHILS_IN_DOMAIN: lambda p: _(
        "fewer than %(min)s neutrophils inside the validated domain (%(n)s; %(outside)s more "
        "outside it, whose model outputs are not read)") % {
        "min": p.get("min"), "n": p.get("n"), "outside": p.get("outside")},
    reasons.INPUT_MISSING: lambda p: _("%(input)s missing") % {"input": _input(str(
        p.get("input", "")))},
    reasons.INPUT_REQUIRED: lambda p: _("%(input)s missing (required)") % {"input": _input(str(
        p.get("input", "")))},
    reasons.INPUT_OUTSIDE_TRAINING: _outside_training,
    reasons.NO_CYTOPENIA: _no_cytopenia,
    reasons.VACUOLE_OUTPUT_UNAVAILABLE: lambda p: _("vacuole output not available in this "
                                                    "model"),
    reasons.NO_ANOMALY_OUTPUT: lambda p: _("no anomaly output available in this model"),
    reasons.NO_DYSPLASIA_OUTPUT: lambda p: _(
        "no validated dysplasia output (hyposegmented nuclei, hypogranulation) in this model; "
        "vacuoles and Barr bodies are not dysplasia and are not counted"),
    reasons.NEUTROPHILS_WITHOUT_ANOMALY: lambda p: _("%(n)s neutrophils have no anomaly "
                                                     "probability") % {"n": p.get("n")},
    reasons.NO_MODEL: lambda p: _model_text(p.get("kind")),
    reasons.MODEL_SYNTHETIC: lambda p: _("%(model)s was trained on simulated data (synthetic)")
    % {"model": p.get("model")},
    reasons.MODEL_NOT_RELEASED: lambda p: _("%(model)s is not released for clinical use")
    % {"model": p.get("model")},
    reasons.MODEL_OTHER_CELL_MODEL: lambda p: _(
        "%(model)s was trained on embeddings of another cell model (%(trained_on)s), not of "
        "the installed one (%(installed)s)") % {"model": p.get("model"),
                                               "trained_on": p.get("trained_on"),
                                               "installed": p.get("installed")},
    reasons.MODEL_INVALID: lambda p: _("the model cannot be used: %(detail)s")
    % {"detail": p.get("detail")},
    score_codes.ANALYSER_SUSPECTS_BLASTS: lambda p: _(
        "the analyser suspects blasts (%(messages)s): outside the population the model was "
        "trained on (MDS, anaemias and normal counts)") % {
        "messages": pgettext("between the items of a list", "; ").join(
            str(m) for m in p.get("messages") or [])},
    score_codes.DEMOGRAPHICS_REQUIRED: lambda p: _(
        "%(input)s missing: required by this model, which relies mostly on age and sex (see its "
        "model card)") % {"input": _input(str(p.get("input", "")))},
    reasons.NO_NEUTROPHIL: lambda p: _("no neutrophil analysed"),
    # What each part of the VEXAS rule found (its evidence table).
    reasons.VACUOLATED_SHARE: lambda p: _vacuolated_share(p),
    reasons.MCV_CUTOFF: lambda p: _("MCV %(value)s fL (%(op)s %(cut)s fL)") % {
        "value": _cbc_figure(p, "value", "mcv"), "op": ">" if p.get("met") else "≤",
        "cut": _figure(p.get("cutoff"))},
    reasons.HB_CUTOFF: lambda p: (
        _("Hb %(value)s g/dL (%(op)s %(cut)s g/dL, the cut-off for men)") if p.get("sex") == "M"
        else _("Hb %(value)s g/dL (%(op)s %(cut)s g/dL, the cut-off for women)")) % {
        "value": _cbc_figure(p, "value", "hb"), "op": "<" if p.get("met") else "≥",
        "cut": _figure(p.get("cutoff"))},
    reasons.ANAEMIA_CUTOFF_UNDEFINED: lambda p: _("sex unknown: anaemia cut-off undefined"),
    reasons.PLT_CUTOFF: lambda p: _("PLT %(value)s ×10⁹/L (%(op)s %(cut)s ×10⁹/L)") % {
        "value": _cbc_figure(p, "value", "plt"), "op": "<" if p.get("met") else "≥",
        "cut": _figure(p.get("cutoff"))},
    reasons.SEX: lambda p: _("male") if p.get("sex") == "M" else _("female"),
    reasons.AGE_CUTOFF: lambda p: _("age %(value)s (%(op)s %(cut)s)") % {
        "value": _figure(p.get("value")), "op": "≥" if p.get("met") else "<",
        "cut": _figure(p.get("cutoff"))},
    reasons.HYPOSEGMENTATION_UNAVAILABLE: lambda p: _(
        "hyposegmentation output not available (context only)"),
    reasons.HYPOSEGMENTED_SHARE: lambda p: _(
        "hyposegmented neutrophils %(pct)s%% (context only, not weighted: not specific to "
        "VEXAS)") % {"pct": _pct(p.get("fraction"))} if p.get("fraction") is not None else _(
        "hyposegmented neutrophils n/a (context only, not weighted: not specific to VEXAS)"),
    score_codes.VEXAS_NEEDS_READS: lambda p: _vexas_needs_reads(p),
    score_codes.CELLS_OUTSIDE_DOMAIN: lambda p: _(
        "the images are outside the domain the cell model was validated on: the model's "
        "outputs this score would rest on are not reliable for them"),
}


# A reason a signed report words otherwise than the case page: the page tells the biologist
# what to do, the report says what was done.
REPORT_REASONS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    score_codes.VEXAS_NEEDS_READS: _vexas_reads_missing,
}


def reason_text(reason: object, *, report: bool = False,
                decimals: Mapping[str, int] | None = None) -> str:
    """A stored reason in the active language: a code with its parameters (a Reason or its
    JSON) looked up in REASONS (``report``: REPORT_REASONS first, for a signed report). An
    unknown code is shown as its code and parameters; a sentence stored by a row written before
    reasons were codes, as stored. ``decimals``: the score's ``analyser_decimals``, so a CBC
    figure reads as the CBC table prints it ("ANC 5.20")."""
    if isinstance(reason, reasons.Reason):
        code, params = reason.code, dict(reason.params)
    elif isinstance(reason, dict) and isinstance(reason.get("code"), str):
        code, params = reason["code"], dict(reason.get("params") or {})
    else:
        return str(reason)
    render = (REPORT_REASONS.get(code) if report else None) or REASONS.get(code)
    if render is None:
        return code + (f" {params}" if params else "")
    return render({**params, _DECIMALS: dict(decimals or {})})


def _mds_cbc_disclaimer() -> str:
    return _(
        "Output of a logistic model on the blood count, trained on one single-centre cohort "
        "(MDS vs iron-deficiency/megaloblastic anaemia and normal counts): a probability of MDS "
        "only in a cohort like that one, not in this laboratory's patients. A prompt for smear "
        "review and, where indicated, marrow examination; never a diagnosis.")


def _disclaimers() -> dict[str, str]:
    return {
        vexas.DISCLAIMER: _(
            "VEXAS suspicion score: a rule-based suspicion that should prompt UBA1 sequencing, "
            "never a diagnosis. Neutrophil vacuoles are not specific: alcohol, copper "
            "deficiency, sepsis and other infections, drugs, and storage artefact (EDTA sample "
            "left too long before the smear) also produce them. The weights are a heuristic "
            "from published case series, not fitted on a VEXAS cohort."),
        mds_cbc.DISCLAIMER: _mds_cbc_disclaimer(),
        mds_cbc.DISCLAIMER_BEFORE: _mds_cbc_disclaimer(),
        mds_image.DISCLAIMER: _(
            "Image evidence for MDS: the share of neutrophils with a dysplasia feature the "
            "cell model detects (hyposegmented, pseudo-Pelger nuclei; hypogranulation), "
            "compared with the WHO 10%% dysplasia threshold; indeterminate when the model has "
            "no validated output for them. Vacuoles and Barr bodies are not dysplasia and are "
            "never counted. Evidence for review, never a diagnosis.") % {},
        fused.DISCLAIMER: _(
            "Fused image + CBC MDS probability with per-cell attention. Attention shows which "
            "cells weighed most, not which cells are abnormal. Decision support, never a "
            "diagnosis."),
    }


def _card_limits() -> dict[str, str]:
    """The known limits of the installed CBC model's card (models_onnx), shown under "How is
    this computed?". A card with other sentences shows them as written."""
    return {
        "Single-centre cohort (one study, one analyser family); no external validation.": _(
            "Single-centre cohort (one study, one analyser family); no external validation."),
        "No MCV and no Neutro-WX in the training cohort: the model accepts them but they have "
        "no learned weight (coef 0, missing_coef 0). The ONNX graph masks them - whatever value "
        "is sent, the probability does not change - until a lab retrains on a cohort that has "
        "them.": _(
            "No MCV and no Neutro-WX in the training cohort: the model accepts them but they "
            "have no learned weight. They are masked: whatever value is sent, the probability "
            "does not change until a laboratory retrains the model on a cohort that has them."),
        "Controls are younger than the MDS patients (normal findings include teenagers) and age "
        "carries most of the signal: cross-validated AUC with age and sex alone 0.858, without "
        "age and sex 0.665, refitted on patients aged >= 50 0.761. The blood-count features add "
        "little to demographics on this cohort; expect lower discrimination in the older "
        "population where MDS is actually suspected.": _(
            "Controls are younger than the MDS patients (normal findings include teenagers) "
            "and age carries most of the signal: cross-validated AUC with age and sex alone "
            "%(alone)s, without age and sex %(without)s, refitted on patients aged 50 or over "
            "%(older)s. The blood-count features add little to age and sex on this cohort; "
            "expect lower discrimination in the older population where MDS is actually "
            "suspected.") % {"alone": _num(0.858, 3), "without": _num(0.665, 3),
                             "older": _num(0.761, 3)},
        "Negatives are anaemias and normal counts only: other causes of cytopenia (ITP, liver "
        "disease, drugs, CMML, aplastic anaemia...) were not in training.": _(
            "Negatives are anaemias and normal counts only: other causes of cytopenia (ITP, "
            "liver disease, drugs, CMML, aplastic anaemia...) were not in training."),
        "65% MDS prevalence in training; the probabilities are calibrated to that prevalence "
        "and overstate MDS risk in a general laboratory population.": _(
            "%(prevalence)s%% MDS prevalence in training; the probabilities are calibrated to "
            "that prevalence and overstate MDS risk in a general laboratory population.")
        % {"prevalence": 65},
        "The operating threshold was picked for sensitivity >= 0.80 on this cohort.": _(
            "The operating threshold was picked for a sensitivity of %(sensitivity)s or more "
            "on this cohort.") % {"sensitivity": _num(0.80, 2)},
    }


def translate(text: str) -> str:
    """A disclaimer of the scoring code or a limit of a model card in the active language,
    looked up by its exact text; any other text as it is."""
    if not text:
        return text
    known = _disclaimers().get(text) or _card_limits().get(text)
    return text if known is None else known


def score_how(name: str) -> list[str]:
    """"How is this computed?" for a biologist, in the active language: the paragraphs of one
    score's explanation, with the rule's own figures (read from the rule, never copied)."""
    if name == "vexas":
        t, w = vexas.thresholds(), vexas.WEIGHTS
        return [
            _("A sum of points out of %(total)s from six findings: vacuolated neutrophils (up "
              "to %(vac)s points: all of them when at least %(high)s%% of the neutrophils have "
              "a vacuole probability of %(cut)s or more, half from %(low)s%%), macrocytosis "
              "(MCV above %(mcv)s fL, %(mac)s points), anaemia (haemoglobin below %(hbm)s g/dL "
              "in a man, %(hbf)s g/dL in a woman, %(an)s points), thrombocytopenia (platelets "
              "below %(plt)s ×10⁹/L, %(thr)s points), male sex (%(male)s points) and age "
              "%(age)s or over (%(agep)s points).") % {
                "total": VEXAS_POINTS, "vac": vexas_points(w["vacuoles"]),
                "high": _num(100 * t["vacuole_fraction_high"]),
                "low": _num(100 * t["vacuole_fraction_low"]),
                "cut": _num(t["vacuole_prob_cutoff"], 2),
                "mcv": _num(t["mcv_macrocytic_fl"]), "mac": vexas_points(w["macrocytosis"]),
                "hbm": _num(t["hgb_anaemia_male_g_dl"]), "hbf": _num(t["hgb_anaemia_female_g_dl"]),
                "an": vexas_points(w["anaemia"]), "plt": _num(t["plt_low_10_9_l"]),
                "thr": vexas_points(w["thrombocytopenia"]), "male": vexas_points(w["male_sex"]),
                "age": _num(t["age_at_risk_years"]), "agep": vexas_points(w["age_over_50"])},
            _("A neutrophil whose vacuoles the biologist has read counts as read (vacuoles "
              "seen, or none), whatever the model's probability; the others count by the "
              "model's."),
            _("Intermediate from %(intermediate)s points, high from %(high)s points. At least "
              "%(min)s neutrophils are needed: with fewer, the score is indeterminate.") % {
                "intermediate": vexas_points(t["level_intermediate"]),
                "high": vexas_points(t["level_high"]), "min": int(t["min_neutrophils"])},
            _("The points are a transparent heuristic drawn from published case series (Beck "
              "2020, Obiorah 2021, Front Immunol 2024), not fitted on a VEXAS cohort. Vacuoles "
              "are described best in marrow precursors; in blood neutrophils they are a weaker "
              "finding, weighted but never decisive on their own. A suspicion that should "
              "prompt UBA1 sequencing, never a diagnosis."),
        ]
    if name == "mds_image":
        return [
            _("The share of neutrophils with a dysplasia feature (a hyposegmented, "
              "pseudo-Pelger nucleus or hypogranulation, at a probability of %(cut)s or more), "
              "compared with the WHO and ICC threshold of %(who)s%% dysplastic cells in a "
              "lineage. At least %(min)s neutrophils are needed.") % {
                "cut": _num(mds_image.ANOMALY_PROB_CUTOFF, 2),
                "who": _num(100 * mds_image.WHO_DYSPLASIA_FRACTION),
                "min": mds_image.MIN_NEUTROPHILS},
            _("The installed cell models have no validated output for either feature (in "
              "healthy-donor training images nothing separates a pseudo-Pelger nucleus from a "
              "normal band form, and hypogranulation has no examples): this evidence is then "
              "indeterminate. Vacuoles (a VEXAS finding, with many other causes) and Barr "
              "bodies (normal in women) are not dysplasia and are never counted."),
        ]
    if name == "mds_cbc":
        return [
            _("A logistic model on the blood count (neutrophils, haemoglobin, platelets, white "
              "cells, monocytes, MCV, Neutro-WX) with age and sex, trained on one single-centre "
              "cohort. Under Evidence, each input's contribution to the log-odds; a missing "
              "count is replaced by a fixed value from its training and marked missing. The "
              "operating threshold is the one of its model card."),
            _("On its training cohort much of its signal comes from age and sex: without them "
              "the result is indeterminate, and the headline says when they carry most of it."),
            _("It is not scored outside the population it was trained on (MDS, anaemias and "
              "normal counts): when the analyser suspects blasts, or when one of its inputs "
              "lies outside the values of its training cohort, the result is indeterminate."),
            _("Nor is it scored on a count without any cytopenia (haemoglobin below 13 g/dL in "
              "men and 12 g/dL in women, neutrophils below 1.8 ×10⁹/L, platelets below 150 "
              "×10⁹/L: WHO and ICC 2022): an MDS needs at least one, and there the model's "
              "output would rest on age and sex alone."),
        ]
    if name == "mds_fused":
        return [
            _("An attention model over the patient's neutrophil images combined with the blood "
              "count. It is used only when a model trained on a real cohort with both images "
              "and counts is installed; until then the CBC model and the image evidence are "
              "shown side by side. Attention shows which cells weighed most, not which cells "
              "are abnormal."),
        ]
    return []
