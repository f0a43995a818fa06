"""CBC feature vector shared by the CBC MDS model, its training and the fused model.

Order, units and transforms here are the contract with the exported ONNX graphs; the card
repeats them and the runtime checks that the two agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    unit: str
    transform: Literal["identity", "log1p"]
    description: str


# Counts are right-skewed, so they enter the model as log1p(count in 10^9/L).
FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec("anc", "10^9/L", "log1p", "absolute neutrophil count (bands + segmented)"),
    FeatureSpec("hb", "g/dL", "identity", "haemoglobin"),
    FeatureSpec("plt", "10^9/L", "log1p", "platelet count"),
    FeatureSpec("wbc", "10^9/L", "log1p", "white cell count"),
    FeatureSpec("mono", "10^9/L", "log1p", "absolute monocyte count"),
    FeatureSpec("age", "years", "identity", "age at sampling"),
    FeatureSpec("sex_male", "1 = male, 0 = female", "identity", "sex"),
    FeatureSpec("mcv", "fL", "identity", "mean corpuscular volume"),
    FeatureSpec("ne_wx", "Sysmex channel units", "identity",
                "Neutro-WX: width of the neutrophil side-scatter distribution"),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
# The direction in which a hematologist reads a count in an MDS work-up: a cytopenia (a lower
# ANC, Hb or platelet count) raises the suspicion. A model fitted on one cohort may learn the
# other direction (1.0.0: platelets, coef +0.224); its evidence then says so
# (``against_the_usual_reading``), so that no row reads as the clinical rule.
USUAL_DIRECTION: dict[str, int] = {"anc": -1, "hb": -1, "plt": -1}


def against_the_usual_reading(name: str, coef: float | None) -> bool:
    """Whether a fitted coefficient makes ``name`` point the other way than the usual reading
    (USUAL_DIRECTION): a lower count that lowers the output."""
    usual = USUAL_DIRECTION.get(name)
    return usual is not None and coef is not None and coef * usual < 0


# Without these the CBC score is indeterminate: they carry most of the signal and a
# prediction built mostly from imputed constants would look more certain than it is.
REQUIRED: tuple[str, ...] = ("anc", "hb", "plt")


@dataclass(frozen=True)
class CBCFeatures:
    """One patient's blood count; None = not measured. Units as in ``FEATURES``."""

    anc: float | None = None
    hb: float | None = None
    plt: float | None = None
    wbc: float | None = None
    mono: float | None = None
    age: float | None = None
    sex: Literal["M", "F"] | None = None
    mcv: float | None = None
    ne_wx: float | None = None

    def values(self) -> dict[str, float | None]:
        sex = {"M": 1.0, "F": 0.0}.get(self.sex) if self.sex is not None else None
        out: dict[str, float | None] = {}
        for name in FEATURE_NAMES:
            v = sex if name == "sex_male" else getattr(self, name)
            out[name] = float(v) if v is not None and math.isfinite(float(v)) else None
        return out

    def missing(self) -> tuple[str, ...]:
        return tuple(k for k, v in self.values().items() if v is None)


def to_arrays(rows: Sequence[CBCFeatures]) -> tuple[np.ndarray, np.ndarray]:
    """(features, missing_mask), both float32 [N, F]; missing values are 0 in ``features``."""
    x = np.zeros((len(rows), len(FEATURES)), dtype=np.float32)
    m = np.zeros_like(x)
    for i, row in enumerate(rows):
        for j, v in enumerate(row.values().values()):
            if v is None:
                m[i, j] = 1.0
            else:
                x[i, j] = v
    return x, m


def transform(x: np.ndarray) -> np.ndarray:
    """Apply each feature's transform column-wise (float64)."""
    out = np.asarray(x, dtype=np.float64).copy()
    for j, f in enumerate(FEATURES):
        if f.transform == "log1p":
            out[:, j] = np.log1p(np.maximum(out[:, j], 0.0))
    return out
