"""VEXAS suspicion score: a versioned, rule-based combination of smear and CBC findings.

VEXAS (Vacuoles, E1 enzyme, X-linked, Autoinflammatory, Somatic) is caused by somatic
UBA1 mutations in haematopoietic progenitors. What the rule rests on:

- Beck DB et al. Somatic mutations in UBA1 and severe adult-onset autoinflammatory disease.
  N Engl J Med 2020;383:2628-2638. UBA1 (p.Met41) somatic mutations in myeloid cells, men,
  late onset; cytoplasmic vacuoles in myeloid and erythroid precursor cells; macrocytic anaemia.
- Obiorah IE et al. Benign and malignant hematologic manifestations in patients with VEXAS
  syndrome due to somatic mutations in UBA1. Blood Adv 2021;5(16):3203-3215. 16 men:
  macrocytic anaemia in 100%; thrombocytopenia and neutropenia more common in those who
  progressed to MDS; prominent vacuoles in marrow myeloid and erythroid precursors in every case.
- Peripheral blood: "Expanding the VEXAS diagnostic workup: the role of peripheral blood
  cytological analysis", Front Immunol 2024;15:1466720 (doi:10.3389/fimmu.2024.1466720):
  more vacuolated leukocytes on MGG smears of 12 VEXAS patients than in vasculitis, FMF and
  healthy donors. The vacuoles the literature describes best are in MARROW precursors;
  vacuolated PERIPHERAL neutrophils are a weaker, smaller-series finding, which is why the
  vacuole part below is weighted but never decisive on its own.

The points, thresholds and weights are a transparent heuristic chosen from those facts,
NOT fitted or validated on a VEXAS cohort (none is available to the project). The score is
a suspicion that should prompt UBA1 sequencing; it is never a diagnosis.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from apps.ml.scores import cytopenia
from apps.ml.scores import reasons as codes
from apps.ml.scores.reasons import (
    FEW_NEUTROPHILS,
    INPUT_MISSING,
    VACUOLE_OUTPUT_UNAVAILABLE,
    Reason,
)

# 1.1: the biologist's read of a neutrophil's vacuoles wins. 1.2: a woman without vacuolated
# neutrophils stays "low" whatever her blood count. 1.3: so does anyone (WITHOUT_VACUOLES_LEVEL).
VERSION = "vexas-rule/1.3.0"

# Fewer cells and the vacuolated fraction is too noisy: with 20 neutrophils a true
# fraction of 20% has a 95% binomial interval of roughly 8-42%, which still separates it
# from the ~4% seen in healthy donors (WBCAtt annotations of the PBC set); with 10 it does not.
MIN_NEUTROPHILS = 20
# A neutrophil the biologist has not read counts as vacuolated when the model's vacuole
# probability is >= this value: the probabilities are temperature-calibrated, so 0.5 is "more
# likely than not".
VACUOLE_PROB_CUTOFF = 0.5
# Vacuolated fraction (at or above): 8% is twice the healthy-donor base rate (~4%);
# 20% is a clearly abnormal proportion. Between them the vacuole part gets half its points.
VACUOLE_FRACTION_LOW = 0.08
VACUOLE_FRACTION_HIGH = 0.20
# Macrocytosis: the usual definition is MCV strictly above 100 fL.
MCV_MACROCYTIC_FL = 100.0
# Anaemia (strictly below, g/dL) and thrombocytopenia (strictly below, 10^9/L): the cytopenia
# cut-offs of the 2022 classifications (apps.ml.scores.cytopenia).
HGB_ANAEMIA_MALE_G_DL = cytopenia.HB_MALE_G_DL
HGB_ANAEMIA_FEMALE_G_DL = cytopenia.HB_FEMALE_G_DL
PLT_LOW_10_9_L = cytopenia.PLT_10_9_L
# Almost all reported patients are men over 50 (X-linked somatic mutation).
AGE_AT_RISK_YEARS = 50.0

# Weights sum to 1, so the score is in [0, 1]. Vacuoles and macrocytosis carry most of it
# because they are the most constant findings; demographics only nudge.
WEIGHTS: dict[str, float] = {
    "vacuoles": 0.40,
    "macrocytosis": 0.25,
    "anaemia": 0.15,
    "thrombocytopenia": 0.10,
    "male_sex": 0.05,
    "age_over_50": 0.05,
    # Pseudo-Pelger (hyposegmented) neutrophils are reported for context only: dysplasia
    # occurs in VEXAS but is not specific to it, so it gets no weight.
    "pseudo_pelger": 0.0,
}
# Levels (score at or above): "high" needs vacuoles plus macrocytic anaemia or more;
# vacuoles alone are "intermediate".
LEVEL_INTERMEDIATE = 0.40
LEVEL_HIGH = 0.70
# Without vacuolated neutrophils among the points, the blood count, sex and age reach 0.55
# (a woman) or 0.60 (an older man) with a macrocytic anaemia and low platelets: an MDS's, a B12
# deficiency's or alcohol's far more often than VEXAS's, whose hallmark is vacuolated myeloid
# and erythroid precursors. The level is "low" (capped_without_vacuoles); the points are kept
# and shown, and the pages say why. UBA1 is on the X chromosome besides: the reported
# patients are men, with a few women with X monosomy.
WITHOUT_VACUOLES_LEVEL: Level = "low"

DISCLAIMER = (
    "VEXAS suspicion score: a rule-based suspicion that should prompt UBA1 sequencing, never "
    "a diagnosis. Neutrophil vacuoles are not specific: alcohol, copper deficiency, sepsis and "
    "other infections, drugs, and storage artefact (EDTA sample left too long before the smear) "
    "also produce them. The weights are a heuristic from published case series, not fitted on "
    "a VEXAS cohort."
)

State = Literal["scored", "indeterminate"]
Level = Literal["low", "intermediate", "high"]
LEVEL_ORDER: tuple[Level, ...] = ("low", "intermediate", "high")


@dataclass(frozen=True)
class VexasInputs:
    """What the rule looks at. ``None`` means not available."""

    n_neutrophils: int
    vacuole_probs: Sequence[float] | None
    # The biologist's read of each neutrophil's vacuoles (True seen, False none seen), in the
    # order of vacuole_probs; None where not read, and the model's output counts there. With
    # every neutrophil read, vacuole_probs may be None (images the model does not know).
    vacuole_reads: Sequence[bool | None] | None = None
    pseudo_pelger_probs: Sequence[float] | None = None
    mcv_fl: float | None = None
    hgb_g_dl: float | None = None
    plt_10_9_l: float | None = None
    sex: Literal["M", "F"] | None = None
    age_years: float | None = None


@dataclass(frozen=True)
class Contribution:
    name: str
    points: float  # weight x fraction of the part met; 0 when the input is missing
    weight: float
    value: float | str | None  # the input value used
    reason: Reason  # what the part found, as a code with its figures (worded by the app)


@dataclass(frozen=True)
class VexasResult:
    state: State
    score: float | None
    level: Level | None
    contributions: tuple[Contribution, ...]
    reasons: tuple[Reason, ...]  # why indeterminate; empty when scored
    thresholds: dict[str, float]
    version: str
    disclaimer: str


def thresholds() -> dict[str, float]:
    return {
        "min_neutrophils": MIN_NEUTROPHILS,
        "vacuole_prob_cutoff": VACUOLE_PROB_CUTOFF,
        "vacuole_fraction_low": VACUOLE_FRACTION_LOW,
        "vacuole_fraction_high": VACUOLE_FRACTION_HIGH,
        "mcv_macrocytic_fl": MCV_MACROCYTIC_FL,
        "hgb_anaemia_male_g_dl": HGB_ANAEMIA_MALE_G_DL,
        "hgb_anaemia_female_g_dl": HGB_ANAEMIA_FEMALE_G_DL,
        "plt_low_10_9_l": PLT_LOW_10_9_L,
        "age_at_risk_years": AGE_AT_RISK_YEARS,
        "level_intermediate": LEVEL_INTERMEDIATE,
        "level_high": LEVEL_HIGH,
    }


def _check_probs(probs: Sequence[float], name: str) -> list[float]:
    out = [float(p) for p in probs]
    if any(not (0.0 <= p <= 1.0) for p in out):  # also rejects NaN
        raise ValueError(f"{name} must be probabilities in [0, 1]")
    return out


def vacuolated_fraction(probs: Sequence[float], cutoff: float = VACUOLE_PROB_CUTOFF) -> float:
    """Share of cells whose vacuole probability is >= ``cutoff``."""
    values = _check_probs(probs, "probs")
    if not values:
        raise ValueError("no cells")
    return sum(p >= cutoff for p in values) / len(values)


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(float(x))


def vacuoles_scored(contributions: Sequence[Mapping[str, Any]]) -> bool:
    """Whether vacuolated neutrophils are among a result's points (its stored contributions):
    without them the level rests on the blood count, sex and age alone, which many conditions
    share; the worklist flag and the pages read it here."""
    return any(c.get("name") == "vacuoles" and (c.get("points") or 0) > 0
               for c in contributions if isinstance(c, Mapping))


def level_of(score: float) -> Level:
    if score >= LEVEL_HIGH:
        return "high"
    if score >= LEVEL_INTERMEDIATE:
        return "intermediate"
    return "low"


def vacuole_share(fraction: float) -> float:
    """The share of the vacuole part's weight a vacuolated fraction gives: all of it from
    VACUOLE_FRACTION_HIGH, half from VACUOLE_FRACTION_LOW, none below."""
    return 1.0 if fraction >= VACUOLE_FRACTION_HIGH else (
        0.5 if fraction >= VACUOLE_FRACTION_LOW else 0.0)


def vexas_score(inputs: VexasInputs) -> VexasResult:
    """Score ``inputs``; indeterminate (score None) with reasons when anything needed is missing."""
    if inputs.n_neutrophils < 0:
        raise ValueError("n_neutrophils must be >= 0")
    reasons: list[Reason] = []
    parts: list[Contribution] = []

    # Vacuoles: the biologist's read of a neutrophil wins over the model's output, either way;
    # with every neutrophil read, the model's output is not needed at all.
    w = WEIGHTS["vacuoles"]
    n = inputs.n_neutrophils
    reads = list(inputs.vacuole_reads) if inputs.vacuole_reads is not None else [None] * n
    if len(reads) != n:
        raise ValueError(f"{len(reads)} vacuole reads for {n} neutrophils")
    if inputs.vacuole_probs is None and (not reads or None in reads):
        reasons.append(Reason(VACUOLE_OUTPUT_UNAVAILABLE))
        parts.append(Contribution("vacuoles", 0.0, w, None, Reason(VACUOLE_OUTPUT_UNAVAILABLE)))
    else:
        probs = _check_probs(inputs.vacuole_probs, "vacuole_probs") \
            if inputs.vacuole_probs is not None else None
        if probs is not None and len(probs) != n:
            raise ValueError(f"{len(probs)} vacuole probabilities for {n} neutrophils")
        if n < MIN_NEUTROPHILS:
            reasons.append(Reason(FEW_NEUTROPHILS, {"n": n, "min": MIN_NEUTROPHILS}))
        if n:
            vacuolated = [read if read is not None
                          else probs is not None and probs[i] >= VACUOLE_PROB_CUTOFF
                          for i, read in enumerate(reads)]
            k = sum(vacuolated)
            frac = k / n
            parts.append(Contribution("vacuoles", w * vacuole_share(frac), w, frac, Reason(
                codes.VACUOLATED_SHARE, {"k": k, "n": n, "fraction": frac,
                                         "high": VACUOLE_FRACTION_HIGH,
                                         "low": VACUOLE_FRACTION_LOW,
                                         "read": sum(r is not None for r in reads),
                                         # Of the k, those counted on the model's output
                                         # alone (no biologist's read): unread_margin.
                                         "unread": sum(v and r is None for v, r in
                                                       zip(vacuolated, reads, strict=True))})))
        else:
            parts.append(Contribution("vacuoles", 0.0, w, None, Reason(codes.NO_NEUTROPHIL)))

    # Macrocytosis.
    w = WEIGHTS["macrocytosis"]
    if not _finite(inputs.mcv_fl):
        reasons.append(Reason(INPUT_MISSING, {"input": "mcv"}))
        parts.append(Contribution("macrocytosis", 0.0, w, None, reasons[-1]))
    else:
        mcv = float(inputs.mcv_fl)  # type: ignore[arg-type]
        met = mcv > MCV_MACROCYTIC_FL
        parts.append(Contribution("macrocytosis", w if met else 0.0, w, mcv, Reason(
            codes.MCV_CUTOFF, {"value": mcv, "cutoff": MCV_MACROCYTIC_FL, "met": met})))

    # Anaemia (sex-specific cut-off; the female one when sex is unknown would under-call
    # men, so unknown sex makes this part indeterminate rather than guessed).
    w = WEIGHTS["anaemia"]
    if not _finite(inputs.hgb_g_dl):
        reasons.append(Reason(INPUT_MISSING, {"input": "hb"}))
        parts.append(Contribution("anaemia", 0.0, w, None, reasons[-1]))
    elif inputs.sex not in ("M", "F"):
        parts.append(Contribution("anaemia", 0.0, w, float(inputs.hgb_g_dl),  # type: ignore[arg-type]
                                  Reason(codes.ANAEMIA_CUTOFF_UNDEFINED)))
    else:
        hgb = float(inputs.hgb_g_dl)  # type: ignore[arg-type]
        cut = HGB_ANAEMIA_MALE_G_DL if inputs.sex == "M" else HGB_ANAEMIA_FEMALE_G_DL
        met = hgb < cut
        parts.append(Contribution("anaemia", w if met else 0.0, w, hgb, Reason(
            codes.HB_CUTOFF, {"value": hgb, "cutoff": cut, "sex": inputs.sex, "met": met})))

    # Thrombocytopenia.
    w = WEIGHTS["thrombocytopenia"]
    if not _finite(inputs.plt_10_9_l):
        reasons.append(Reason(INPUT_MISSING, {"input": "plt"}))
        parts.append(Contribution("thrombocytopenia", 0.0, w, None, reasons[-1]))
    else:
        plt = float(inputs.plt_10_9_l)  # type: ignore[arg-type]
        met = plt < PLT_LOW_10_9_L
        parts.append(Contribution("thrombocytopenia", w if met else 0.0, w, plt, Reason(
            codes.PLT_CUTOFF, {"value": plt, "cutoff": PLT_LOW_10_9_L, "met": met})))

    # Demographics.
    w = WEIGHTS["male_sex"]
    if inputs.sex not in ("M", "F"):
        reasons.append(Reason(INPUT_MISSING, {"input": "sex"}))
        parts.append(Contribution("male_sex", 0.0, w, None, reasons[-1]))
    else:
        parts.append(Contribution("male_sex", w if inputs.sex == "M" else 0.0, w, inputs.sex,
                                  Reason(codes.SEX, {"sex": inputs.sex})))
    w = WEIGHTS["age_over_50"]
    if not _finite(inputs.age_years):
        reasons.append(Reason(INPUT_MISSING, {"input": "age"}))
        parts.append(Contribution("age_over_50", 0.0, w, None, reasons[-1]))
    else:
        age = float(inputs.age_years)  # type: ignore[arg-type]
        met = age >= AGE_AT_RISK_YEARS
        parts.append(Contribution("age_over_50", w if met else 0.0, w, age, Reason(
            codes.AGE_CUTOFF, {"value": age, "cutoff": AGE_AT_RISK_YEARS, "met": met})))

    # Pseudo-Pelger: context only.
    if inputs.pseudo_pelger_probs is None:
        parts.append(Contribution("pseudo_pelger", 0.0, 0.0, None,
                                  Reason(codes.HYPOSEGMENTATION_UNAVAILABLE)))
    else:
        pp = _check_probs(inputs.pseudo_pelger_probs, "pseudo_pelger_probs")
        frac_pp = vacuolated_fraction(pp, VACUOLE_PROB_CUTOFF) if pp else None
        parts.append(Contribution("pseudo_pelger", 0.0, 0.0, frac_pp, Reason(
            codes.HYPOSEGMENTED_SHARE, {"fraction": frac_pp})))

    if reasons:
        return VexasResult("indeterminate", None, None, tuple(parts), tuple(reasons),
                           thresholds(), VERSION, DISCLAIMER)
    # Round away float noise so a case exactly on a level boundary lands where documented.
    score = round(sum(c.points for c in parts), 10)
    level = level_of(score)
    if capped_without_vacuoles(level, [asdict(c) for c in parts]):
        level = WITHOUT_VACUOLES_LEVEL
    return VexasResult("scored", score, level, tuple(parts), (), thresholds(),
                       VERSION, DISCLAIMER)


def kept_low(level: object, contributions: Sequence[Mapping[str, Any]]) -> bool:
    """Whether a stored result's points reach "intermediate" or more and its level was kept
    "low" (capped_without_vacuoles), read from its contributions: the pages say why beside its
    points. A result stored before vexas-rule 1.3 may be a man's "intermediate" without
    vacuoles: it keeps its level, and the pages say what it rests on."""
    reached = points_level(contributions)
    return (level == WITHOUT_VACUOLES_LEVEL and reached != WITHOUT_VACUOLES_LEVEL
            and capped_without_vacuoles(reached, contributions))


def woman_kept_low(level: object, contributions: Sequence[Mapping[str, Any]]) -> bool:
    """``kept_low`` for a woman (the pages add that VEXAS is a disease of men)."""
    sex = next((c.get("value") for c in contributions
                if isinstance(c, Mapping) and c.get("name") == "male_sex"), None)
    return sex == "F" and kept_low(level, contributions)


def unread_margin(level: object, contributions: Sequence[Mapping[str, Any]]
                  ) -> tuple[int, Level] | None:
    """How few of the neutrophils counted vacuolated on the model's output alone (read by no
    biologist) the level rests on: (m, the level with m fewer of them), for the smallest m
    that lowers an "intermediate" or "high" level; None when no number of them would, or for
    a result stored before they were counted apart. The pages say it beside the level: a
    few cells' calls should be read before the level is."""
    if level not in ("intermediate", "high"):
        return None
    parts = [c for c in contributions if isinstance(c, Mapping)]
    vac = next((c for c in parts if c.get("name") == "vacuoles"), None)
    params = ((vac or {}).get("reason") or {}).get("params") or {}
    k, n, unread = params.get("k"), params.get("n"), params.get("unread")
    if not (isinstance(k, int) and isinstance(n, int) and isinstance(unread, int) and n > 0):
        return None
    weight = float(vac.get("weight") or 0.0)  # type: ignore[union-attr]
    for m in range(1, unread + 1):
        share = vacuole_share((k - m) / n)
        fewer = [({**c, "points": weight * share} if c is vac else c) for c in parts]
        lower = points_level(fewer)
        if capped_without_vacuoles(lower, fewer):
            lower = WITHOUT_VACUOLES_LEVEL
        if LEVEL_ORDER.index(lower) < LEVEL_ORDER.index(str(level)):
            return m, lower
    return None


def points_level(contributions: Sequence[Mapping[str, Any]]) -> Level:
    """The level a stored result's points reach (level_of their sum), before any cap."""
    return level_of(round(sum(float(c.get("points") or 0.0) for c in contributions
                              if isinstance(c, Mapping)), 10))


def capped_without_vacuoles(level: object, contributions: Sequence[Mapping[str, Any]]) -> bool:
    """Whether a level the points reach is lowered to WITHOUT_VACUOLES_LEVEL: no vacuolated
    neutrophils among them; the pages say why beside the points."""
    return level in ("intermediate", "high") and not vacuoles_scored(contributions)
