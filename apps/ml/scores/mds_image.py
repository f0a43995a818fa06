"""MDS image evidence: share of dysplastic-looking neutrophils vs the WHO 10% threshold.

WHO (and ICC) count a lineage as dysplastic when at least 10% of its cells show dysplasia.
This module applies that count to the cell model's anomaly outputs for neutrophils. The
outputs it can use are PROXIES: the cell model was trained on healthy-donor images (PBC
dataset), where "vacuole" comes from the WBCAtt cytoplasm_vacuole annotation. The installed
cards mark "pseudo_pelger" unavailable (nothing separates it from a normal band form in that
data), and hypogranulation and Barr bodies have no training examples: they are listed as not
available here, whatever a card offers is used. The fraction is evidence for a reviewer,
never a diagnosis of MDS.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from apps.ml.scores.reasons import (
    FEW_NEUTROPHILS,
    NEUTROPHILS_WITHOUT_ANOMALY,
    NO_ANOMALY_OUTPUT,
    Reason,
)

VERSION = "mds-image/1.0.0"

ANOMALIES: tuple[str, ...] = ("vacuole", "pseudo_pelger", "hypogranulation", "barr_body")
# WHO dysplasia threshold: >= 10% of the lineage's cells.
WHO_DYSPLASIA_FRACTION = 0.10
# A cell counts as dysplastic-looking when any available anomaly probability is >= this.
ANOMALY_PROB_CUTOFF = 0.5
# With 50 neutrophils, 10% is 5 cells and the 95% Wilson interval of an observed 10% is
# about 4-21%; below 50 the count cannot say much about a 10% threshold. (WHO asks for a
# 200-leukocyte blood differential; a CellaVision run of 100-200 leukocytes usually holds
# 50 or more neutrophils.)
MIN_NEUTROPHILS = 50
MAX_DRIVERS = 20

DISCLAIMER = (
    "Image evidence for MDS: the share of neutrophils that the cell model flags, compared with "
    "the WHO 10% dysplasia threshold. The flags are proxies learned from healthy-donor images "
    "(cytoplasmic vacuoles); hyposegmentation, hypogranulation and Barr-body outputs are not "
    "available. Vacuoles have many non-MDS causes. Evidence for review, never a diagnosis."
)


@dataclass(frozen=True)
class Driver:
    index: int  # position of the cell in the input sequence
    probability: float  # highest available anomaly probability of the cell
    anomaly: str  # the anomaly that gave it


@dataclass(frozen=True)
class MDSImageResult:
    state: Literal["scored", "indeterminate"]
    fraction: float | None
    fraction_ci95: tuple[float, float] | None
    n_neutrophils: int
    n_dysplastic: int | None
    meets_who_threshold: bool | None
    per_anomaly_fraction: dict[str, float | None]  # None: output not available
    available: tuple[str, ...]
    not_available: tuple[str, ...]
    drivers: tuple[Driver, ...]  # cells at/above the cut-off, highest probability first
    reasons: tuple[Reason, ...]
    thresholds: dict[str, float]
    version: str
    disclaimer: str


def wilson_ci(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def mds_image_evidence(
    anomaly_probs: Mapping[str, Sequence[float | None] | None],
    *,
    n_neutrophils: int,
) -> MDSImageResult:
    """``anomaly_probs[name]`` is one probability per analysed neutrophil, or None when the
    model does not provide that output (missing names count as not available). The caller
    decides from the model's card: a list, even empty (no neutrophil), is an output the model
    has."""
    unknown = set(anomaly_probs) - set(ANOMALIES)
    if unknown:
        raise ValueError(f"unknown anomaly outputs {sorted(unknown)}")
    available = tuple(a for a in ANOMALIES if anomaly_probs.get(a) is not None)
    not_available = tuple(a for a in ANOMALIES if a not in available)
    cols: dict[str, list[float | None]] = {}
    for a in available:
        values = list(anomaly_probs[a])  # type: ignore[arg-type]
        if len(values) != n_neutrophils:
            raise ValueError(f"{a}: {len(values)} probabilities for {n_neutrophils} neutrophils")
        for v in values:
            if v is not None and not (0.0 <= float(v) <= 1.0):
                raise ValueError(f"{a}: probabilities must be in [0, 1]")
        cols[a] = [None if v is None else float(v) for v in values]

    thresholds = {
        "who_dysplasia_fraction": WHO_DYSPLASIA_FRACTION,
        "anomaly_prob_cutoff": ANOMALY_PROB_CUTOFF,
        "min_neutrophils": MIN_NEUTROPHILS,
    }
    reasons: list[Reason] = []
    if not available:
        reasons.append(Reason(NO_ANOMALY_OUTPUT))
    if n_neutrophils < MIN_NEUTROPHILS:
        reasons.append(Reason(FEW_NEUTROPHILS, {"n": n_neutrophils, "min": MIN_NEUTROPHILS}))

    per_anomaly: dict[str, float | None] = {a: None for a in ANOMALIES}
    scored_cells: list[tuple[float, str] | None] = []
    for i in range(n_neutrophils):
        best: tuple[float, str] | None = None
        for a in available:
            v = cols[a][i]
            if v is not None and (best is None or v > best[0]):
                best = (v, a)
        scored_cells.append(best)
    for a in available:
        vals = [v for v in cols[a] if v is not None]
        per_anomaly[a] = (sum(v >= ANOMALY_PROB_CUTOFF for v in vals) / len(vals)) if vals else None

    drivers = sorted(
        (Driver(i, b[0], b[1]) for i, b in enumerate(scored_cells)
         if b is not None and b[0] >= ANOMALY_PROB_CUTOFF),
        key=lambda d: (-d.probability, d.index),
    )
    k = len(drivers)
    n_scored = sum(b is not None for b in scored_cells)
    if available and n_scored < n_neutrophils:
        reasons.append(Reason(NEUTROPHILS_WITHOUT_ANOMALY, {"n": n_neutrophils - n_scored}))

    if reasons:
        return MDSImageResult(
            "indeterminate", None, None, n_neutrophils, None, None, per_anomaly, available,
            not_available, tuple(drivers[:MAX_DRIVERS]), tuple(reasons), thresholds, VERSION,
            DISCLAIMER,
        )
    fraction = k / n_neutrophils
    return MDSImageResult(
        "scored", fraction, wilson_ci(k, n_neutrophils), n_neutrophils, k,
        # Exactly 10% meets the threshold; the epsilon absorbs float rounding of k / n.
        fraction >= WHO_DYSPLASIA_FRACTION - 1e-12,
        per_anomaly, available, not_available, tuple(drivers[:MAX_DRIVERS]), (), thresholds,
        VERSION, DISCLAIMER,
    )


def neutrophil_anomalies(
    predictions: Iterable[Any], *, neutrophil_labels: tuple[str, ...] = ("neutrophil",)
) -> tuple[dict[str, list[float | None] | None], list[int]]:
    """From ``apps.ml.cells.CellPrediction`` objects: the per-neutrophil anomaly columns
    (None for an output the model never gives) and the positions of the neutrophils in
    ``predictions``. Feed the first to ``mds_image_evidence`` and, for VEXAS, its
    ``["vacuole"]`` column to ``VexasInputs.vacuole_probs``."""
    keep = [(i, p) for i, p in enumerate(predictions) if p.cell_class in neutrophil_labels]
    cols: dict[str, list[float | None] | None] = {}
    for a in ANOMALIES:
        values = [p.anomalies.get(a) for _, p in keep]
        cols[a] = values if any(v is not None for v in values) else None
    return cols, [i for i, _ in keep]
