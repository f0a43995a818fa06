"""Translations of the fixed English texts that the scoring code (apps.ml.scores, which imports
no Django) writes into a score: reasons, disclaimers, and the names and texts of the evidence
table (contributions). Stored scores keep the original text; pages and reports show it in the
reader's language, with the numbers carried over exactly as stored."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from apps.ml.scores import fused, mds_cbc, mds_image, vexas

INPUTS = {
    "MCV": gettext_lazy("MCV"), "haemoglobin": gettext_lazy("haemoglobin"),
    "platelet count": gettext_lazy("platelet count"), "sex": gettext_lazy("sex"),
    "age": gettext_lazy("age"), "anc": gettext_lazy("neutrophil count"),
    "hb": gettext_lazy("haemoglobin"), "plt": gettext_lazy("platelet count"),
    "age, sex": gettext_lazy("age and sex"),
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

# A number as the scoring code formats it (f"{x:g}", counts, percentages without the sign).
NUM = r"-?\d+(?:\.\d+)?(?:e[-+]\d+)?"


def _input(name: str) -> str:
    return str(INPUTS.get(name, name))


def _sex(code: str) -> str:
    return {"M": pgettext("sex initial", "M"), "F": pgettext("sex initial", "F")}.get(code, code)


def contribution_name(name: str) -> str:
    """The display label of a contribution in the active language; an unknown name as is."""
    return str(CONTRIBUTIONS.get(name, name))


# Contributions whose value is a share of the neutrophils (stored as a fraction).
FRACTION_VALUES = frozenset({"vacuoles", "pseudo_pelger"})


def contribution_value(name: str, value: object) -> object:
    """The stored value as a reader expects it: shares as percentages, sex as the local
    initial; anything else (and None) unchanged."""
    if name in FRACTION_VALUES and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.0%}"
    if name == "male_sex" and isinstance(value, str):
        return _sex(value)
    return value


def _patterns():  # type: ignore[no-untyped-def]
    return [
        (r"fewer than (\d+) neutrophils analysed \(n=(\d+)\)",
         lambda m: _("fewer than %(min)s neutrophils analysed (n=%(n)s)")
         % {"min": m[1], "n": m[2]}),
        (r"fewer than (\d+) neutrophils \(n=(\d+)\)",
         lambda m: _("fewer than %(min)s neutrophils (n=%(n)s)") % {"min": m[1], "n": m[2]}),
        (r"vacuole output not available in this model",
         lambda m: _("vacuole output not available in this model")),
        (r"no anomaly output available in this model",
         lambda m: _("no anomaly output available in this model")),
        (r"(\d+) neutrophils have no anomaly probability",
         lambda m: _("%(n)s neutrophils have no anomaly probability") % {"n": m[1]}),
        (r"(.+) missing \(required\)",
         lambda m: _("%(input)s missing (required)") % {"input": _input(m[1])}),
        (r"(age|sex|age, sex) missing: required by this model, which relies mostly on age and "
         r"sex \(see its model card\)",
         lambda m: _("%(input)s missing: required by this model, which relies mostly on age "
                     "and sex (see its model card)") % {"input": _input(m[1])}),
        (r"(MCV|haemoglobin|platelet count|sex|age) missing",
         lambda m: _("%(input)s missing") % {"input": _input(m[1])}),
        (r"no fused model installed", lambda m: _("no fused model installed")),
        (r"cells_outside_domain",
         lambda m: _("the images are outside the domain the cell model was validated on: the "
                     "cell classifications this score rests on are not reliable")),
        (r"no CBC MDS model is installed", lambda m: _("no CBC MDS model is installed")),
        # Contribution texts (apps.ml.scores.vexas); "<input> missing" is matched above.
        (r"vacuole output not available", lambda m: _("vacuole output not available")),
        (r"no neutrophil analysed", lambda m: _("no neutrophil analysed")),
        (rf"({NUM})/({NUM}) neutrophils vacuolated \(({NUM})%; >= ({NUM})% full, "
         rf">= ({NUM})% half points\)",
         lambda m: _("%(k)s/%(n)s neutrophils vacuolated (%(pct)s%%; >= %(high)s%% full, "
                     ">= %(low)s%% half points)")
         % {"k": m[1], "n": m[2], "pct": m[3], "high": m[4], "low": m[5]}),
        (rf"MCV ({NUM}) fL \((>|<=) ({NUM}) fL\)",
         lambda m: _("MCV %(value)s fL (%(op)s %(cut)s fL)")
         % {"value": m[1], "op": m[2], "cut": m[3]}),
        (rf"Hb ({NUM}) g/dL \((<|>=) ({NUM}) g/dL, (M|F)\)",
         lambda m: _("Hb %(value)s g/dL (%(op)s %(cut)s g/dL, %(sex)s)")
         % {"value": m[1], "op": m[2], "cut": m[3], "sex": _sex(m[4])}),
        (r"sex unknown: anaemia cut-off undefined",
         lambda m: _("sex unknown: anaemia cut-off undefined")),
        (rf"PLT ({NUM}) x10\^9/L \((<|>=) ({NUM})\)",
         lambda m: _("PLT %(value)s x10^9/L (%(op)s %(cut)s)")
         % {"value": m[1], "op": m[2], "cut": m[3]}),
        (r"male", lambda m: _("male")),
        (r"female", lambda m: _("female")),
        (rf"age ({NUM}) \((>=|<) ({NUM})\)",
         lambda m: _("age %(value)s (%(op)s %(cut)s)") % {"value": m[1], "op": m[2],
                                                          "cut": m[3]}),
        (r"hyposegmentation output not available \(context only\)",
         lambda m: _("hyposegmentation output not available (context only)")),
        (rf"hyposegmented neutrophils ({NUM})% \(context only, not weighted: not specific to "
         r"VEXAS\)",
         lambda m: _("hyposegmented neutrophils %(pct)s%% (context only, not weighted: not "
                     "specific to VEXAS)") % {"pct": m[1]}),
        (r"hyposegmented neutrophils n/a \(context only, not weighted: not specific to VEXAS\)",
         lambda m: _("hyposegmented neutrophils n/a (context only, not weighted: not specific "
                     "to VEXAS)")),
    ]


def _disclaimers() -> dict[str, str]:
    return {
        vexas.DISCLAIMER: _(
            "VEXAS suspicion score: a rule-based suspicion that should prompt UBA1 sequencing, "
            "never a diagnosis. Neutrophil vacuoles are not specific: alcohol, copper "
            "deficiency, sepsis and other infections, drugs, and storage artefact (EDTA sample "
            "left too long before the smear) also produce them. The weights are a heuristic "
            "from published case series, not fitted on a VEXAS cohort."),
        mds_cbc.DISCLAIMER: _(
            "CBC-based MDS probability from a logistic model trained on one single-centre "
            "cohort (MDS vs iron-deficiency/megaloblastic anaemia and normal counts). A prompt "
            "for smear review and, where indicated, marrow examination; never a diagnosis."),
        mds_image.DISCLAIMER: _(
            "Image evidence for MDS: the share of neutrophils that the cell model flags, "
            "compared with the WHO 10%% dysplasia threshold. The flags are proxies learned "
            "from healthy-donor images (vacuoles, hyposegmented nuclei); hypogranulation and "
            "Barr-body outputs are not available. Vacuoles and hyposegmentation have many "
            "non-MDS causes. Evidence for review, never a diagnosis.") % {},
        fused.DISCLAIMER: _(
            "Fused image + CBC MDS probability with per-cell attention. Attention shows which "
            "cells weighed most, not which cells are abnormal. Decision support, never a "
            "diagnosis."),
    }


def translate(text: str) -> str:
    """The text in the active language when it is one the scoring code writes; else as is."""
    if not text:
        return text
    known = _disclaimers().get(text)
    if known is not None:
        return known
    for pattern, render in _patterns():
        match = re.fullmatch(pattern, text)
        if match:
            return render(match)
    return text
