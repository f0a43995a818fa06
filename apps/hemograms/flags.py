"""Hemogram rules: which findings put a specimen on the biologists' worklist.

Each rule names the parameter and the threshold it used; RULES_VERSION goes with every flag
stored, so a later change of the rules never rewrites what an earlier version said. Thresholds
follow the reference interval stored with each value (copied at import) except where a
clinical cut-off is customary (macrocytosis: MCV > 100 fL; neutropenia: ANC < 1.5 x 10^9/L).

Weights order the worklist (the specimen's priority is the sum of its flags' weights): a value
past a customary critical limit (haemoglobin < 7 g/dL, ANC < 0.5 x 10^9/L, platelets < 20 x
10^9/L) weighs 4 where the same finding otherwise weighs 2, and an analyser message suspecting
blasts weighs 8, as much as four abnormal counts together: a possible acute leukaemia is read
first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from apps.core.numbers import half_up
from apps.ml.scores.reasons import Reason
from apps.patients.flag_reasons import ANALYSER_IP, CBC_LIMIT

from . import reference

# 2: analyser IP messages flag the specimen; 3: critical limits and suspected blasts weigh more;
# 4: a value past its critical limit says so, with that limit; 5: the value keeps the decimals
# the analyser gave it ("WBC 3.10"); 6: an ANC the file left out is computed from NEUT% and WBC.
RULES_VERSION = "cbc-flags-6"
# Customary critical limits (low), each doubling its finding's weight, in the stored units.
CRITICAL_HGB = 7.0  # g/dL
CRITICAL_ANC = 0.5  # x10^9/L
CRITICAL_PLT = 20.0  # x10^9/L
CRITICAL_LOW = {"HGB": CRITICAL_HGB, "NEUT#": CRITICAL_ANC, "PLT": CRITICAL_PLT}
CRITICAL_WEIGHT = 4
BLAST_MESSAGE_WEIGHT = 8


@dataclass(frozen=True)
class Value:
    code: str
    value: float | None
    ref_low: float | None
    ref_high: float | None
    decimals: int | None = None  # as the analyser gave the value (wording.reported_decimals)
    # The share (%) it was computed from with the WBC (computed_count), "" when measured.
    computed_from: str = ""


# Each absolute white-cell count beside the share (%) it is computed from. An analyser reports
# both; a file may give the share and the WBC alone (a generic CSV), and a neutropenia must not
# go unflagged for want of a column.
ABSOLUTE_OF_SHARE = {"NEUT#": "NEUT%", "LYMPH#": "LYMPH%", "MONO#": "MONO%", "EO#": "EO%",
                     "BASO#": "BASO%"}
COMPUTED_DECIMALS = 2  # x10^9/L, as analysers give these counts


def computed_count(code: str, values: Mapping[str, float | None]) -> float | None:
    """An absolute count (``ABSOLUTE_OF_SHARE``) that ``values`` (code -> value) leave out,
    computed as the analyser computes it: its share times the WBC. None when the count is
    there, or its share or the WBC is not."""
    share_code = ABSOLUTE_OF_SHARE.get(code)
    if share_code is None or values.get(code) is not None:
        return None
    share, wbc = values.get(share_code), values.get("WBC")
    if share is None or wbc is None:
        return None
    return round(share * wbc / 100.0, COMPUTED_DECIMALS)


# The reverse: the count a share (per 100 WBC) is computed from where a file gives the count
# and not the share (a generic CSV with absolute counts only), as analysers compute their
# shares, to one decimal.
COUNT_OF_SHARE = {**{share: count for count, share in ABSOLUTE_OF_SHARE.items()},
                  "IG%": "IG#"}
SHARE_DECIMALS = 1


def computed_share(code: str, values: Mapping[str, float | None]) -> float | None:
    """A share (``COUNT_OF_SHARE``) that ``values`` leave out: its count divided by the WBC,
    times 100. None when the share is there, or its count or a positive WBC is not."""
    count_code = COUNT_OF_SHARE.get(code)
    if count_code is None or values.get(code) is not None:
        return None
    count, wbc = values.get(count_code), values.get("WBC")
    if count is None or wbc is None or wbc <= 0:
        return None
    # In decimal, half up, as the smear's absolute counts (smears.differential.absolute_figure).
    exact = Decimal(str(count)) * 100 / Decimal(str(wbc))
    return half_up(exact, SHARE_DECIMALS)


@dataclass(frozen=True)
class Finding:
    name: str
    rule: str  # as recorded ("HGB 9.5 g/dL < 12"; the analyser's messages as sent)
    weight: int
    reason: Reason | None = None  # the same finding as a code with its figures, to be worded


def count_reading(code: str | None, value: float | None, low: float | None,
                  high: float | None, *, bounds: tuple[float, float] | None = None) -> str:
    """How a count reads against its reference interval, as the CBC table reads the analyser's:
    "LL" past the critical limit of that count (``critical_low``), else "L" or "H" outside the
    interval (bounds inclusive), "" inside it or without one.

    A count estimated from a sample of cells (a smear's: its share of 100 cells times the WBC)
    passes its 95 % interval as ``bounds``: it reads "L" or "H" only when the whole interval
    lies outside the reference interval, and "LL" only when all of it lies below the critical
    limit. One basophil in 96 cells beside a WBC of 12.4 is 0.13 x10^9/L, above 0.10, but
    anywhere from 0.02 to 0.70: not a basophilia; 0.42 neutrophils anywhere from 0.27 to 0.64
    are low, not certainly below 0.5 (the analyser's ANC, on thousands of cells, is the one
    the CBC table calls critical)."""
    interval = reference.Interval(low, high) if low is not None or high is not None else None
    if value is None:
        return ""
    # The count itself, or the highest it may be: below the critical limit either way.
    if code is not None and critical_low(
            code, value if bounds is None else max(bounds)) is not None:
        return "LL"
    if bounds is None:
        return reference.flag_for(value, interval)
    if reference.flag_for(max(bounds), interval) == "L":
        return "L"
    return "H" if reference.flag_for(min(bounds), interval) == "H" else ""


def critical_low(code: str, value: float | None) -> float | None:
    """The critical limit ``value`` of parameter ``code`` is below (a value to call through),
    or None when it is not past one."""
    limit = CRITICAL_LOW.get(code)
    return limit if limit is not None and value is not None and value < limit else None


def _limit(name: str, v: Value, unit: str, op: str, limit: float, weight: int) -> Finding:
    critical = critical_low(v.code, v.value) if op == "<" else None
    params: dict[str, object] = {"analyte": v.code, "value": v.value, "unit": unit, "op": op,
                                 "limit": limit}
    written = f"{v.value:g}"
    if v.decimals is not None:
        params["decimals"] = v.decimals
        written = f"{v.value:.{v.decimals}f}"
    rule = f"{v.code} {written} {unit} {op} {limit:g}"
    if critical is not None:
        params["critical"] = critical
        rule += f" (critical < {critical:g})"
    if v.computed_from:
        params["computed_from"] = v.computed_from
        rule += f" (computed: {v.computed_from} x WBC)"
    return Finding(name, rule, weight, Reason(CBC_LIMIT, params))


def _below(v: Value | None, limit: float | None) -> bool:
    return v is not None and v.value is not None and limit is not None and v.value < limit


def _above(v: Value | None, limit: float | None) -> bool:
    return v is not None and v.value is not None and limit is not None and v.value > limit


RULE_MAX_LENGTH = 200  # SpecimenFlag.rule


def blast_messages(ip_messages: Sequence[str]) -> list[str]:
    """The analyser's IP messages that suspect blasts ('Blasts?', 'Blasts/Abn Lympho?'), as it
    wrote them: a possible acute leukaemia. The one rule for it: the worklist weighs these
    first, and the CBC MDS model, trained without leukaemias, is not scored on such a count."""
    return [m for m in ip_messages if "blast" in m.lower()]


def cbc_findings(values: list[Value], *, ip_messages: Sequence[str] = ()) -> list[Finding]:
    """The findings of one CBC: its values against the rules, and the analyser's own IP
    messages ('Blasts?', 'PLT Clumps?'), which put the specimen on the worklist as they are."""
    by_code = {v.code: v for v in values}
    hgb, mcv, plt = by_code.get("HGB"), by_code.get("MCV"), by_code.get("PLT")
    wbc, anc = by_code.get("WBC"), by_code.get("NEUT#")
    computed = computed_count("NEUT#", {c: v.value for c, v in by_code.items()})
    if computed is not None:
        anc = Value("NEUT#", computed, None, None, COMPUTED_DECIMALS,
                    computed_from=ABSOLUTE_OF_SHARE["NEUT#"])
    out: list[Finding] = []
    if hgb and _below(hgb, hgb.ref_low):
        out.append(_limit("anaemia", hgb, "g/dL", "<", hgb.ref_low,  # type: ignore[arg-type]
                          _graded(hgb)))
    if mcv and _above(mcv, 100.0):
        out.append(_limit("macrocytosis", mcv, "fL", ">", 100.0, 2))
    if anc and _below(anc, 1.5):
        out.append(_limit("neutropenia", anc, "x10^9/L", "<", 1.5, _graded(anc)))
    if plt and _below(plt, plt.ref_low):
        out.append(_limit("thrombocytopenia", plt, "x10^9/L", "<",  # type: ignore[arg-type]
                          plt.ref_low, _graded(plt)))
    if plt and _above(plt, plt.ref_high):
        out.append(_limit("thrombocytosis", plt, "x10^9/L", ">", plt.ref_high, 1))  # type: ignore[arg-type]
    if wbc and _above(wbc, wbc.ref_high):
        out.append(_limit("leukocytosis", wbc, "x10^9/L", ">", wbc.ref_high, 1))  # type: ignore[arg-type]
    if wbc and _below(wbc, wbc.ref_low):
        out.append(_limit("leukopenia", wbc, "x10^9/L", "<", wbc.ref_low, 1))  # type: ignore[arg-type]
    if ip_messages:
        rule = "IP: " + "; ".join(ip_messages)
        if len(rule) > RULE_MAX_LENGTH:
            rule = rule[:RULE_MAX_LENGTH - 1] + "…"
        blasts = bool(blast_messages(ip_messages))
        out.append(Finding("analyser_message", rule, BLAST_MESSAGE_WEIGHT if blasts else 1,
                           Reason(ANALYSER_IP, {"messages": list(ip_messages)})))
    return out


def _graded(v: Value) -> int:
    """The weight of a low count: CRITICAL_WEIGHT past its critical limit, else 2."""
    return CRITICAL_WEIGHT if critical_low(v.code, v.value) is not None else 2
