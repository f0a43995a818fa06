"""MDS image evidence: share of dysplastic neutrophils vs the WHO 10% threshold.

WHO (and ICC) count a lineage as dysplastic when at least 10% of its cells show dysplasia.
This module applies that count to the cell model's dysgranulopoiesis outputs for neutrophils:
hyposegmented (pseudo-Pelger) nuclei and hypogranulation (``DYSPLASIA``). Vacuoles and Barr
bodies are outputs of the cell model but not dysplasia: cytoplasmic vacuoles point to VEXAS,
alcohol, copper deficiency, infection, drugs or a sample left too long, and a Barr body
(drumstick) is a normal finding in women. They are never counted here (version 1.0.0 counted
vacuoles, a claim a hematologist rejects).

The installed cell models have no validated dysplasia output: "pseudo_pelger" is withdrawn from
their cards (in the healthy-donor PBC data nothing separates it from a normal band form) and
hypogranulation has no training examples. The evidence is then indeterminate, with that reason.
Whatever a card offers is used; the fraction is evidence for a reviewer, never a diagnosis of
MDS.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from apps.ml.scores.reasons import (
    FEW_NEUTROPHILS,
    NEUTROPHILS_WITHOUT_ANOMALY,
    NO_DYSPLASIA_OUTPUT,
    Reason,
)

VERSION = "mds-image/2.0.0"

# The cell model's anomaly outputs (the columns a caller gives) ...
ANOMALIES: tuple[str, ...] = ("vacuole", "pseudo_pelger", "hypogranulation", "barr_body")
# ... and the ones that are dysgranulopoiesis by WHO and ICC, the only ones counted.
DYSPLASIA: tuple[str, ...] = ("pseudo_pelger", "hypogranulation")
# WHO dysplasia threshold: >= 10% of the lineage's cells.
WHO_DYSPLASIA_FRACTION = 0.10
# A cell counts as dysplastic when any available dysplasia probability is >= this.
ANOMALY_PROB_CUTOFF = 0.5
# With 50 neutrophils, 10% is 5 cells and the 95% Wilson interval of an observed 10% is
# about 4-21%; below 50 the count cannot say much about a 10% threshold. (WHO asks for a
# 200-leukocyte blood differential; a CellaVision run of 100-200 leukocytes usually holds
# 50 or more neutrophils.)
MIN_NEUTROPHILS = 50
MAX_DRIVERS = 20

DISCLAIMER = (
    "Image evidence for MDS: the share of neutrophils with a dysplasia feature the cell model "
    "detects (hyposegmented, pseudo-Pelger nuclei; hypogranulation), compared with the WHO 10% "
    "dysplasia threshold; indeterminate when the model has no validated output for them. "
    "Vacuoles and Barr bodies are not dysplasia and are never counted. Evidence for review, "
    "never a diagnosis."
)


@dataclass(frozen=True)
class Driver:
    index: int  # position of the cell in the input sequence
    probability: float  # highest available dysplasia probability of the cell
    anomaly: str  # the anomaly that gave it


@dataclass(frozen=True)
class MDSImageResult:
    state: Literal["scored", "indeterminate"]
    fraction: float | None
    fraction_ci95: tuple[float, float] | None
    n_neutrophils: int
    n_dysplastic: int | None
    meets_who_threshold: bool | None
    per_anomaly_fraction: dict[str, float | None]  # DYSPLASIA only; None: not available
    available: tuple[str, ...]  # of DYSPLASIA
    not_available: tuple[str, ...]  # of DYSPLASIA
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
    has. Only the ``DYSPLASIA`` outputs are read."""
    unknown = set(anomaly_probs) - set(ANOMALIES)
    if unknown:
        raise ValueError(f"unknown anomaly outputs {sorted(unknown)}")
    available = tuple(a for a in DYSPLASIA if anomaly_probs.get(a) is not None)
    not_available = tuple(a for a in DYSPLASIA if a not in available)
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
        reasons.append(Reason(NO_DYSPLASIA_OUTPUT))
    if n_neutrophils < MIN_NEUTROPHILS:
        reasons.append(Reason(FEW_NEUTROPHILS, {"n": n_neutrophils, "min": MIN_NEUTROPHILS}))

    per_anomaly: dict[str, float | None] = {a: None for a in DYSPLASIA}
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
