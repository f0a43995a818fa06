"""Domain check: is a cell image like the images the model was validated on?

Per cell: the class-conditional Mahalanobis distance (Lee et al., NeurIPS 2018) of the
network's pooled features to the training cells, under a probabilistic-PCA covariance
(the ``k`` leading within-class directions, the rest at their mean variance), the
minimum over classes, divided by the threshold calibrated on the validation split.
``domain_score`` <= 1 is inside. A cell whose canonical view found no nucleus is outside
whatever its features.

Per specimen: outside when more than ``specimen_max_outside`` of its cells are.

Statistics are fitted in ``training/domain_fit.py``; this module only reads them. No
Django, no sentences: codes (``CELL_*``, ``SPECIMEN_*``) the UI translates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CELL_INSIDE = "inside"
CELL_OUTSIDE = "outside_features"  # features unlike any validated cell
CELL_NO_NUCLEUS = "no_nucleus"  # canonical view found no white-cell nucleus
SPECIMEN_INSIDE = "inside"
SPECIMEN_OUTSIDE = "outside"
SPECIMEN_UNCHECKED = "unchecked"  # the model has no domain check (older card)


@dataclass(frozen=True)
class CellDomain:
    score: float | None  # distance / threshold; None when not computed
    code: str

    @property
    def inside(self) -> bool:
        return self.code == CELL_INSIDE


@dataclass(frozen=True)
class SpecimenDomain:
    code: str
    cells: int
    outside: int
    max_outside: float | None

    @property
    def inside(self) -> bool:
        return self.code == SPECIMEN_INSIDE

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "cells": self.cells, "outside": self.outside,
                "max_outside": self.max_outside}


def pool_features(features: np.ndarray) -> np.ndarray:
    """(N, C, h, w) -> (N, C) by global average pooling (as the heads see them)."""
    f = np.asarray(features, dtype=np.float32)
    return f.mean(axis=(2, 3)) if f.ndim == 4 else f


class DomainGuard:
    def __init__(self, means: np.ndarray, components: np.ndarray, variances: np.ndarray,
                 residual_variance: float, threshold: float) -> None:
        self.means = np.asarray(means, np.float32)  # (K, D) per-class means
        self.components = np.asarray(components, np.float32)  # (D, k) orthonormal
        self.variances = np.asarray(variances, np.float32)  # (k,)
        self.residual_variance = float(residual_variance)
        self.threshold = float(threshold)
        if self.threshold <= 0 or self.residual_variance <= 0:
            raise ValueError("threshold and residual variance must be > 0")

    @classmethod
    def load(cls, path: Path) -> DomainGuard:
        with np.load(path, allow_pickle=False) as z:
            return cls(z["means"], z["components"], z["variances"],
                       float(z["residual_variance"]), float(z["threshold"]))

    def save(self, path: Path) -> None:
        with path.open("wb") as fh:
            np.savez(fh, means=self.means, components=self.components,
                     variances=self.variances,
                     residual_variance=np.float32(self.residual_variance),
                     threshold=np.float32(self.threshold))

    def distance(self, pooled: np.ndarray) -> np.ndarray:
        """Raw distance (before the threshold) for (N, D) pooled features."""
        x = np.asarray(pooled, np.float32)
        best = np.full(len(x), np.inf, dtype=np.float64)
        for mu in self.means:
            d = x - mu
            z = d @ self.components
            resid = (d * d).sum(axis=1) - (z * z).sum(axis=1)
            m = (z * z / self.variances).sum(axis=1) + np.maximum(resid, 0) / (
                self.residual_variance)
            best = np.minimum(best, m)
        return best / self.components.shape[0]  # per dimension, O(1) for in-domain cells

    def cells(self, features: np.ndarray, view_found: Sequence[bool]) -> list[CellDomain]:
        scores = self.distance(pool_features(features)) / self.threshold
        out = []
        for s, found in zip(scores, view_found, strict=True):
            code = CELL_NO_NUCLEUS if not found else CELL_INSIDE if s <= 1.0 else CELL_OUTSIDE
            out.append(CellDomain(float(s), code))
        return out


def specimen_domain(cells: Sequence[CellDomain | None], max_outside: float | None
                    ) -> SpecimenDomain:
    """Outside when more than ``max_outside`` of the checked cells are outside."""
    checked = [c for c in cells if c is not None]
    outside = sum(1 for c in checked if not c.inside)
    if max_outside is None or not checked:
        return SpecimenDomain(SPECIMEN_UNCHECKED, len(checked), outside, max_outside)
    code = SPECIMEN_OUTSIDE if outside > max_outside * len(checked) else SPECIMEN_INSIDE
    return SpecimenDomain(code, len(checked), outside, max_outside)
