"""Worklist flags in the reader's language: the flag's name and why it was raised.

A flag's reason is a code with its parameters (apps.patients.flag_reasons); each code has its
words here, with the stored numbers formatted the reader's way ("HGB 9,5 g/dL < 12" in French).
A flag without a coded reason (the analyser's own messages, the accessions of a possible mix-up,
or a row stored before reasons were codes) shows its rule as recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from django.utils.formats import number_format
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext

from apps.core.numbers import measured_value, probability, probability_against

from . import flag_reasons

# Flags of the hemogram rules (apps.hemograms.flags), the scores (apps.analysis.scores) and the
# identity check (apps.patients.services).
FLAG_NAMES: dict[str, Promise] = {
    "anaemia": gettext_lazy("Anaemia"), "macrocytosis": gettext_lazy("Macrocytosis"),
    "neutropenia": gettext_lazy("Neutropenia"),
    "thrombocytopenia": gettext_lazy("Thrombocytopenia"),
    "thrombocytosis": gettext_lazy("Thrombocytosis"),
    "leukocytosis": gettext_lazy("Leukocytosis"), "leukopenia": gettext_lazy("Leukopenia"),
    "analyser_message": gettext_lazy("Analyser message"),
    "possible_mixup": gettext_lazy("Possible sample mix-up"),
    "vexas_suspicion": gettext_lazy("VEXAS suspicion"),
    "mds_risk": gettext_lazy("MDS risk (CBC model)"),
    "dysplasia": gettext_lazy("Dysplastic-looking neutrophils"),
    "cells_outside_domain": gettext_lazy("Cells outside the validated domain"),
    "cbc_after_signing": gettext_lazy("Blood count after signing"),
    "cbc_record_differs": gettext_lazy("CBC file disagrees with the specimen or patient"),
    "record_corrected": gettext_lazy("Patient record corrected after signing"),
}

# What a blood count's file may give otherwise than the registered specimen and patient.
RECORD_FIELDS: dict[str, Promise] = {
    "collected_at": gettext_lazy("collection time"), "sex": gettext_lazy("sex"),
    "birth_date": gettext_lazy("birth date")}
# What a correction of the patient's record may change (services.CORRECTABLE_FIELDS).
CORRECTED_FIELDS: dict[str, Promise] = {
    "family_name": gettext_lazy("family name"), "given_name": gettext_lazy("given name"),
    "birth_date": RECORD_FIELDS["birth_date"], "sex": RECORD_FIELDS["sex"]}

# Units as the hemogram rules write them, as printed.
UNITS = {"x10^9/L": "×10⁹/L", "x10^12/L": "×10¹²/L"}


def flag_label(name: str) -> str:
    """A worklist flag's name in the active language (an unknown code readable as words)."""
    return str(FLAG_NAMES[name]) if name in FLAG_NAMES else name.replace("_", " ").capitalize()


def _num(value: Any, digits: int = 2) -> str:
    """A stored number in the active language, at most `digits` decimals, no padding zeros."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    text = f"{value:.{digits}f}"
    return number_format(Decimal(text.rstrip("0").rstrip(".") if "." in text else text))


def _percent(fraction: Any) -> str:
    return _num(100 * fraction, 0) if isinstance(fraction, int | float) else str(fraction)


def _cbc_limit(p: Mapping[str, Any], analyte_name: Callable[[str], str] = str) -> str:
    # The parameter's short name (by `analyte_name`: a higher app's words, the code by default)
    # and the rule's figures.
    unit = UNITS.get(str(p.get("unit")), p.get("unit"))
    name = analyte_name(str(p.get("analyte")))
    critical = p.get("critical")
    # As the analyser gave it ("3.10") when the reason recorded its decimals (cbc-flags-5).
    decimals = p.get("decimals")
    value = (measured_value(p.get("value"), decimals) if isinstance(decimals, int)
             and isinstance(p.get("value"), int | float) else _num(p.get("value")))
    # A count the file left out, computed from its share and the WBC (cbc-flags-6): said so.
    computed = _(" (computed: %(share)s × WBC)") % {"share": p["computed_from"]} \
        if p.get("computed_from") else ""
    if isinstance(critical, int | float) and not isinstance(critical, bool):
        # Past its critical limit: that limit is the one quoted, and named.
        return _("critical value: %(analyte)s %(value)s %(unit)s < %(limit)s") % {
            "analyte": name, "value": value, "unit": unit, "limit": _num(critical)} + computed
    return f"{name} {value} {unit} {p.get('op')} {_num(p.get('limit'))}" + computed


def _vexas(p: Mapping[str, Any]) -> str:
    text = (_("VEXAS suspicion high (%(points)s points of 100)") if p.get("level") == "high"
            else _("VEXAS suspicion intermediate (%(points)s points of 100)"))
    return text % {"points": p.get("points")}


def _mds_cbc(p: Mapping[str, Any]) -> str:
    alone = p.get("count_alone")
    if isinstance(alone, int | float) and not isinstance(alone, bool):
        # Above the threshold only through age and sex: the count alone gives this output.
        text = _("CBC MDS model: output %(value)s, at or above %(cut)s only through age and "
                 "sex (the blood count alone: %(alone)s)")
    elif p.get("age_and_sex"):
        text = _("CBC MDS model: output %(value)s, at or above %(cut)s, driven mostly by age "
                 "and sex")
    else:
        text = _("CBC MDS model: output %(value)s, at or above %(cut)s")
    cut = p.get("threshold")
    shown_alone = ""
    if isinstance(alone, int | float) and isinstance(cut, int | float):
        # Both with the decimals it takes them to differ (never "0.68, below 0.68").
        shown_alone, shown_cut = probability_against(alone, cut)
    else:
        shown_cut = _num(cut)
    text = text % {
        "value": probability(p["probability"]) if isinstance(p.get("probability"), int | float)
        else _num(p.get("probability")), "cut": shown_cut, "alone": shown_alone}
    prevalence = p.get("prevalence")
    if isinstance(prevalence, int | float):  # flags raised before it was recorded have none
        text += _(" (a probability only in a cohort with %(prevalence)s%% MDS)") % {
            "prevalence": _num(100 * prevalence)}
    return text


def _ip(p: Mapping[str, Any], ip_text: Callable[[str], str] = str) -> str:
    return _("IP: %(messages)s") % {
        "messages": pgettext("between the items of a list", "; ").join(
            ip_text(str(m)) for m in p.get("messages") or [])}


REASONS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    flag_reasons.CBC_LIMIT: _cbc_limit,
    flag_reasons.VEXAS_LEVEL: _vexas,
    flag_reasons.MDS_CBC_ABOVE: _mds_cbc,
    flag_reasons.DYSPLASIA_ABOVE: lambda p: _(
        "dysplastic-looking neutrophils %(pct)s%%, at or above %(who)s%%") % {
        "pct": _percent(p.get("fraction")), "who": _percent(p.get("threshold"))},
    # The analyser's texts as it wrote them, after a prefix in the reader's language (each
    # named in that language too by flag_reason's ``ip_text``).
    flag_reasons.ANALYSER_IP: _ip,
    flag_reasons.CBC_HELD: lambda p: ngettext(
        "%(n)s blood count received after signing: attach it after an amendment or leave it "
        "out", "%(n)s blood counts received after signing: attach them after an amendment or "
        "leave them out", p.get("n") if isinstance(p.get("n"), int) else 1) % {"n": p.get("n")},
    flag_reasons.CBC_RECORD_DIFFERS: lambda p: _(
        "the CBC file gives another %(fields)s than the registered specimen or patient: check "
        "the sample's identity") % {"fields": _(" and ").join(
            str(RECORD_FIELDS.get(f, f)) for f in p.get("fields") or [])},
    flag_reasons.RECORD_CORRECTED: lambda p: _(
        "the patient's %(fields)s corrected after signing: the signed report carries the "
        "record as it was; amend the case to read it again") % {"fields": _(" and ").join(
            str(CORRECTED_FIELDS.get(f, f)) for f in p.get("fields") or [])},
    flag_reasons.OUTSIDE_DOMAIN: lambda p: ngettext(
        "%(outside)s of %(cells)s images outside the validated domain",
        "%(outside)s of %(cells)s images outside the validated domain",
        p.get("outside") if isinstance(p.get("outside"), int) else 2) % {
        "outside": _num(p.get("outside")), "cells": _num(p.get("cells"))},
}


def flag_reason(flag: Any, *, analyte_name: Callable[[str], str] = str,
                ip_text: Callable[[str], str] = str) -> str:
    """Why `flag` (a SpecimenFlag) was raised, in the active language: its coded reason worded,
    else its rule as recorded. `analyte_name` names a CBC parameter from its code and `ip_text`
    an analyser's IP message as written, with its name in the reader's language (the
    blood-count app's words; this app sits below it)."""
    reason = getattr(flag, "reason", None) or {}
    render = REASONS.get(str(reason.get("code"))) if isinstance(reason, dict) else None
    if render is None:
        return str(getattr(flag, "rule", "") or "")
    if reason.get("code") == flag_reasons.CBC_LIMIT:
        return _cbc_limit(reason.get("params") or {}, analyte_name)
    if reason.get("code") == flag_reasons.ANALYSER_IP:
        return _ip(reason.get("params") or {}, ip_text)
    return render(reason.get("params") or {})
