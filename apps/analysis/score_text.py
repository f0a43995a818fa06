"""Translations of the fixed English texts that the scoring code (apps.ml.scores, which imports
no Django) writes into a score: reasons and disclaimers. Stored scores keep the original text;
pages and reports show it in the reader's language."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.ml.scores import fused, mds_cbc, mds_image, vexas

INPUTS = {
    "MCV": gettext_lazy("MCV"), "haemoglobin": gettext_lazy("haemoglobin"),
    "platelet count": gettext_lazy("platelet count"), "sex": gettext_lazy("sex"),
    "age": gettext_lazy("age"), "anc": gettext_lazy("neutrophil count"),
    "hb": gettext_lazy("haemoglobin"), "plt": gettext_lazy("platelet count"),
    "age, sex": gettext_lazy("age and sex"),
}


def _input(name: str) -> str:
    return str(INPUTS.get(name, name))


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
        (r"no CBC MDS model is installed", lambda m: _("no CBC MDS model is installed")),
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
