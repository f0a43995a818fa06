"""Domain check: is a cell image like the images the model was validated on?

Per cell: the class-conditional Mahalanobis distance (Lee et al., NeurIPS 2018) of the
network's pooled features to the training cells, under a probabilistic-PCA covariance
(the ``k`` leading within-class directions, the rest at their mean variance), the
minimum over classes, divided by the threshold calibrated on the validation split.
``domain_score`` <= 1 is inside. A cell whose canonical view found no nucleus is outside
whatever its features.

Per cell, also the stain (when the card's statistics carry it, ``StainCheck``): the optical
density of the nucleus relative to the background and of the background itself, measured on
the model's view, against those of the training cells of each source the model was trained on
(a Gaussian per source, Mahalanobis distance per dimension, threshold calibrated on the
validation split). A cell segmented on a black fill has no background: its nucleus density
alone is compared. The network's features can look familiar on a stain it never saw (a
confident wrong class); the stain statistics cannot. ``domain_score`` is the larger of the
two ratios.

Per specimen: outside when more than ``specimen_max_outside`` of its cells are.

Statistics are fitted in ``training/domain_fit.py``; this module only reads them. No
Django, no sentences: codes (``CELL_*``, ``SPECIMEN_*``) the UI translates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from apps.ml.canonical import otsu, stain_signal

CELL_INSIDE = "inside"
CELL_OUTSIDE = "outside_features"  # features unlike any validated cell
CELL_NO_NUCLEUS = "no_nucleus"  # canonical view found no white-cell nucleus
CELL_STAIN = "outside_stain"  # stain or illumination unlike every source trained on
# Inside on its own, in a specimen outside as a whole: the image passed, its slide did not.
CELL_SMEAR_OUTSIDE = "smear_outside"
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


# Pixels darker than this on every channel are a segmentation fill, not the slide.
BLACK_LEVEL = 20
# A view shows no slide background when at least this share of it is black fill (a cell cut
# out on black; the canonical view pads with the source's border colour, black there too).
BLACK_FILL_SHARE = 0.15
# The background: the median of the brightest pixels (this quantile and up).
BACKGROUND_QUANTILE = 0.95
# Nucleus pixels: stain signal above Otsu's threshold and above this quantile of the view.
NUCLEUS_QUANTILE = 0.9
STAIN_DIMS = 9  # nucleus OD relative to the background (3), background OD (3), nucleus OD (3)
FULL = slice(0, 6)
NO_BACKGROUND = slice(6, 9)


def _od(rgb: np.ndarray) -> np.ndarray:
    return -np.log((np.asarray(rgb, np.float64) + 1.0) / 256.0)


# _od of every uint8 level: indexing it gives the very values _od computes.
_OD_TABLE = _od(np.arange(256))
_OD_TABLE.flags.writeable = False


def stain_fingerprint(view: np.ndarray) -> np.ndarray:
    """(STAIN_DIMS,) optical densities of one view (H, W, 3 uint8); the background part is NaN
    when the view has no bright background (a cell segmented on black)."""
    px = np.asarray(view, np.uint8)[::2, ::2].reshape(-1, 3)  # every other pixel: enough
    r, g, b = px[:, 0], px[:, 1], px[:, 2]
    slide = np.maximum(np.maximum(r, g), b) > BLACK_LEVEL
    on_black = 1.0 - slide.mean() >= BLACK_FILL_SHARE
    px = px[slide]
    out = np.full(STAIN_DIMS, np.nan)
    if len(px) < 16:
        return out
    # The mean of three levels, as float64 arithmetic gives it: (R + G + B) is exact.
    lum = (px[:, 0].astype(np.uint16) + px[:, 1] + px[:, 2]) / 3.0
    bright = px[lum >= np.quantile(lum, BACKGROUND_QUANTILE)]
    signal = stain_signal(px[None], BLACK_LEVEL)[0]
    nucleus = px[signal >= max(otsu(signal), float(np.quantile(signal, NUCLEUS_QUANTILE)))]
    od_nucleus = _OD_TABLE[nucleus].mean(axis=0)
    out[6:9] = od_nucleus
    if not on_black:
        bg = np.median(bright, axis=0)
        out[0:3] = od_nucleus - _od(bg)
        out[3:6] = _od(bg)
    return out


def stain_fingerprints(views: Sequence[np.ndarray]) -> np.ndarray:
    return np.stack([stain_fingerprint(v) for v in views]) if views else np.zeros((0, STAIN_DIMS))


class StainCheck:
    """Per-source Gaussians of ``stain_fingerprint`` (see the module docstring).

    Two parts, each with its threshold: the full fingerprint for views with a background,
    the nucleus density alone for views on black (calibrated on the same validation cells
    read without their background)."""

    def __init__(self, sources: Sequence[str], means: np.ndarray, precisions: np.ndarray,
                 precisions_no_background: np.ndarray,
                 thresholds: tuple[float, float] = (1.0, 1.0)) -> None:
        self.sources = list(sources)
        self.means = np.asarray(means, np.float64)  # (S, STAIN_DIMS)
        self.precisions = np.asarray(precisions, np.float64)  # (S, 6, 6)
        self.precisions_nb = np.asarray(precisions_no_background, np.float64)  # (S, 3, 3)
        self.thresholds = (float(thresholds[0]), float(thresholds[1]))

    @classmethod
    def fit(cls, fingerprints: np.ndarray, sources: Sequence[str]) -> StainCheck:
        """One Gaussian per source, on the cells that have a background (and, for the
        nucleus-only part, on all of them); thresholds 1 until ``calibrate``."""
        names = sorted(set(sources))
        src = np.asarray(sources)
        means, prec, prec_nb = [], [], []
        for name in names:
            x = fingerprints[src == name]
            full = x[~np.isnan(x[:, FULL]).any(axis=1)][:, FULL]
            nb = x[:, NO_BACKGROUND]
            means.append(np.concatenate([full.mean(axis=0), nb.mean(axis=0)]))
            prec.append(np.linalg.inv(np.cov(full.T) + 1e-6 * np.eye(6)))
            prec_nb.append(np.linalg.inv(np.cov(nb.T) + 1e-6 * np.eye(3)))
        return cls(names, np.stack(means), np.stack(prec), np.stack(prec_nb))

    def _parts(self, fingerprints: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-dimension Mahalanobis distance to the nearest source, full fingerprint (inf
        without a background) and nucleus only; and which views have a background."""
        x = np.asarray(fingerprints, np.float64)
        has_bg = np.asarray(~np.isnan(x[:, FULL]).any(axis=1))
        full = np.full(len(x), np.inf)
        nb = np.full(len(x), np.inf)
        for mu, p, pnb in zip(self.means, self.precisions, self.precisions_nb, strict=True):
            d = np.where(has_bg[:, None], x[:, FULL] - mu[FULL], 0.0)
            f = np.where(has_bg, np.einsum("ij,jk,ik->i", d, p, d) / 6, np.inf)
            e = x[:, NO_BACKGROUND] - mu[NO_BACKGROUND]
            n = np.einsum("ij,jk,ik->i", e, pnb, e) / 3
            full = np.minimum(full, f)
            nb = np.minimum(nb, np.where(np.isnan(n), np.inf, n))
        return full, nb, has_bg

    def scores(self, fingerprints: np.ndarray) -> np.ndarray:
        """Distance / threshold per view (<= 1 inside); inf when nothing could be measured."""
        full, nb, has_bg = self._parts(fingerprints)
        return np.where(has_bg, full / self.thresholds[0], nb / self.thresholds[1])

    def calibrate(self, fingerprints: np.ndarray, quantile: float) -> None:
        """Both thresholds at ``quantile`` of validation cells (of the same sources)."""
        full, nb, has_bg = self._parts(fingerprints)
        f = full[has_bg & np.isfinite(full)]
        self.thresholds = (float(np.quantile(f, quantile)),
                           float(np.quantile(nb[np.isfinite(nb)], quantile)))

    def arrays(self) -> dict[str, np.ndarray]:
        return {"stain_sources": np.array(self.sources), "stain_means": self.means,
                "stain_precisions": self.precisions,
                "stain_precisions_nb": self.precisions_nb,
                "stain_thresholds": np.array(self.thresholds)}


class DomainGuard:
    def __init__(self, means: np.ndarray, components: np.ndarray, variances: np.ndarray,
                 residual_variance: float, threshold: float,
                 stain: StainCheck | None = None) -> None:
        self.means = np.asarray(means, np.float32)  # (K, D) per-class means
        self.components = np.asarray(components, np.float32)  # (D, k) orthonormal
        self.variances = np.asarray(variances, np.float32)  # (k,)
        self.residual_variance = float(residual_variance)
        self.threshold = float(threshold)
        if self.threshold <= 0 or self.residual_variance <= 0:
            raise ValueError("threshold and residual variance must be > 0")
        self.stain = stain

    @classmethod
    def load(cls, path: Path) -> DomainGuard:
        with np.load(path, allow_pickle=False) as z:
            stain = None
            if "stain_means" in z.files:  # statistics written before 2.1.0 have none
                t = z["stain_thresholds"]
                stain = StainCheck([str(v) for v in z["stain_sources"]], z["stain_means"],
                                   z["stain_precisions"], z["stain_precisions_nb"],
                                   (float(t[0]), float(t[1])))
            return cls(z["means"], z["components"], z["variances"],
                       float(z["residual_variance"]), float(z["threshold"]), stain)

    def save(self, path: Path) -> None:
        arrays: dict[str, np.ndarray] = {
            "means": self.means, "components": self.components, "variances": self.variances,
            "residual_variance": np.array(self.residual_variance, np.float32),
            "threshold": np.array(self.threshold, np.float32),
            **(self.stain.arrays() if self.stain is not None else {})}
        with path.open("wb") as fh:
            np.savez(fh, allow_pickle=False, **arrays)

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

    def cells(self, features: np.ndarray, view_found: Sequence[bool],
              stains: np.ndarray | None = None) -> list[CellDomain]:
        """Per cell: the feature check, and the stain check when this guard has one and the
        views' ``stain_fingerprints`` are given."""
        scores = self.distance(pool_features(features)) / self.threshold
        stain_scores = (self.stain.scores(stains)
                        if self.stain is not None and stains is not None
                        else np.zeros(len(scores)))
        out = []
        for s, t, found in zip(scores, stain_scores, view_found, strict=True):
            code = (CELL_NO_NUCLEUS if not found else CELL_OUTSIDE if s > 1.0
                    else CELL_STAIN if t > 1.0 else CELL_INSIDE)
            out.append(CellDomain(float(max(s, min(t, 1e6))), code))
        return out


def specimen_domain(cells: Sequence[CellDomain | None], max_outside: float | None
                    ) -> SpecimenDomain:
    """Outside when more than ``max_outside`` of the checked cells are outside."""
    checked = [c for c in cells if c is not None]
    return specimen_domain_counts(checked=len(checked),
                                  outside=sum(1 for c in checked if not c.inside),
                                  max_outside=max_outside)


def specimen_domain_counts(*, checked: int, outside: int, max_outside: float | None
                           ) -> SpecimenDomain:
    """The same verdict from the counts alone: ``checked`` cells, ``outside`` of them outside
    (what a database can count for many specimens at once)."""
    if max_outside is None or not checked:
        return SpecimenDomain(SPECIMEN_UNCHECKED, checked, outside, max_outside)
    code = SPECIMEN_OUTSIDE if outside > max_outside * checked else SPECIMEN_INSIDE
    return SpecimenDomain(code, checked, outside, max_outside)
