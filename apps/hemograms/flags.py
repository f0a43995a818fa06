"""Hemogram rules: which findings put a specimen on the biologists' worklist.

Each rule names the parameter and the threshold it used; RULES_VERSION goes with every flag
stored, so a later change of the rules never rewrites what an earlier version said. Thresholds
follow the reference interval stored with each value (copied at import) except where a
clinical cut-off is customary (macrocytosis: MCV > 100 fL; neutropenia: ANC < 1.5 x 10^9/L).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

RULES_VERSION = "cbc-flags-2"  # 2: analyser IP messages flag the specimen


@dataclass(frozen=True)
class Value:
    code: str
    value: float | None
    ref_low: float | None
    ref_high: float | None


@dataclass(frozen=True)
class Finding:
    name: str
    rule: str
    weight: int


def _below(v: Value | None, limit: float | None) -> bool:
    return v is not None and v.value is not None and limit is not None and v.value < limit


def _above(v: Value | None, limit: float | None) -> bool:
    return v is not None and v.value is not None and limit is not None and v.value > limit


RULE_MAX_LENGTH = 200  # SpecimenFlag.rule


def cbc_findings(values: list[Value], *, ip_messages: Sequence[str] = ()) -> list[Finding]:
    """The findings of one CBC: its values against the rules, and the analyser's own IP
    messages ('Blasts?', 'PLT Clumps?'), which put the specimen on the worklist as they are."""
    by_code = {v.code: v for v in values}
    hgb, mcv, plt = by_code.get("HGB"), by_code.get("MCV"), by_code.get("PLT")
    wbc, anc = by_code.get("WBC"), by_code.get("NEUT#")
    out: list[Finding] = []
    if hgb and _below(hgb, hgb.ref_low):
        out.append(Finding("anaemia", f"HGB {hgb.value:g} g/dL < {hgb.ref_low:g}", 2))
    if _above(mcv, 100.0):
        out.append(Finding("macrocytosis", f"MCV {mcv.value:g} fL > 100", 2))  # type: ignore[union-attr]
    if _below(anc, 1.5):
        out.append(Finding("neutropenia", f"NEUT# {anc.value:g} x10^9/L < 1.5", 2))  # type: ignore[union-attr]
    if plt and _below(plt, plt.ref_low):
        out.append(Finding("thrombocytopenia", f"PLT {plt.value:g} x10^9/L < {plt.ref_low:g}", 2))
    if plt and _above(plt, plt.ref_high):
        out.append(Finding("thrombocytosis", f"PLT {plt.value:g} x10^9/L > {plt.ref_high:g}", 1))
    if wbc and _above(wbc, wbc.ref_high):
        out.append(Finding("leukocytosis", f"WBC {wbc.value:g} x10^9/L > {wbc.ref_high:g}", 1))
    if wbc and _below(wbc, wbc.ref_low):
        out.append(Finding("leukopenia", f"WBC {wbc.value:g} x10^9/L < {wbc.ref_low:g}", 1))
    if ip_messages:
        rule = "IP: " + "; ".join(ip_messages)
        if len(rule) > RULE_MAX_LENGTH:
            rule = rule[:RULE_MAX_LENGTH - 1] + "…"
        out.append(Finding("analyser_message", rule, 1))
    return out
