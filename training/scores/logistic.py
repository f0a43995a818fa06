"""L2 logistic regression with missing-value masks, in NumPy, and its cross-validation.

Pure NumPy on purpose: the same code trains the model (training/scores/train_cbc.py) and
re-runs the card's cross-validation from ``evaluate_cohort``, so the card's numbers can be
reproduced on a machine without torch or scikit-learn.

Model, per feature j (order of ``FEATURES``):
  x_j = imputation constant when missing, else the value;  t_j = transform(x_j)
  z_j = (t_j - mean_j) / std_j
  logit = b + sum_j (coef_j * z_j + missing_coef_j * mask_j);  p = sigmoid(logit)
Constants are computed on the training patients only. A feature never observed in training
gets coef 0; a missing indicator gets a learned weight only when at least
``min_missing_to_learn`` training patients lack that feature (fewer: weight fixed at 0, so
missingness cannot be learned from a handful of patients).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from apps.ml.scores.features import FEATURE_NAMES, transform


@dataclass(frozen=True)
class Protocol:
    """Everything that decides the fit and the cross-validation; recorded in the card."""

    l2: float = 1.0
    min_missing_to_learn: int = 10
    sensitivity_target: float = 0.80
    folds: int = 5
    repeats: int = 5
    seed: int = 20261123
    n_boot: int = 2000
    bootstrap_seed: int = 7

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class LogisticModel:
    impute: np.ndarray  # raw units, float64 [F]
    mean: np.ndarray  # of the transformed, imputed training values [F]
    std: np.ndarray  # [F], 1 where the column was constant
    coef: np.ndarray  # [F]
    missing_coef: np.ndarray  # [F]
    intercept: float
    threshold: float
    observed: np.ndarray = field(repr=False)  # int [F], training patients with a value
    learned_value: np.ndarray = field(repr=False)  # bool [F]
    learned_missing: np.ndarray = field(repr=False)  # bool [F]

    def standardized(self, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        filled = np.where(m > 0.5, self.impute[None, :], np.asarray(x, np.float64))
        return (transform(filled) - self.mean) / self.std

    def contributions(self, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        mask = (np.asarray(m) > 0.5).astype(np.float64)
        return self.standardized(x, m) * self.coef + mask * self.missing_coef

    def logit(self, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        return self.contributions(x, m).sum(axis=1) + self.intercept

    def predict_proba(self, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        return sigmoid(self.logit(x, m))


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, np.float64)))


def _newton(a: np.ndarray, y: np.ndarray, l2: float, iters: int = 100) -> np.ndarray:
    """Penalised maximum likelihood; column 0 is the unpenalised intercept."""
    w = np.zeros(a.shape[1])
    pen = np.full(a.shape[1], l2)
    pen[0] = 0.0
    for _ in range(iters):
        p = sigmoid(a @ w)
        grad = a.T @ (p - y) + pen * w
        hess = (a * (p * (1 - p))[:, None]).T @ a + np.diag(pen) + 1e-10 * np.eye(a.shape[1])
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-12:
            break
    return w


def threshold_for_sensitivity(y: np.ndarray, p: np.ndarray, target: float) -> float:
    """A threshold t with sensitivity(p >= t) >= target on (y, p), as high as possible.

    Placed halfway to the next lower probability, so float32 inference (ONNX) cannot flip
    the patient that sits on it.
    """
    pos = np.sort(p[y == 1])[::-1]
    if pos.size == 0:
        raise ValueError("no positive patient")
    k = max(1, math.ceil(target * pos.size - 1e-9))
    top = float(pos[k - 1])
    below = p[p < top]
    return (top + float(below.max())) / 2 if below.size else top


@dataclass(frozen=True)
class Standardizer:
    impute: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    observed: np.ndarray
    learned_value: np.ndarray  # the value column may carry a weight
    learned_missing: np.ndarray  # the missing indicator may carry a weight


def standardizer(x: np.ndarray, miss: np.ndarray, min_missing_to_learn: int) -> Standardizer:
    """Imputation (median of observed values) and standardisation constants, plus which
    columns are allowed a weight (see the module docstring)."""
    x = np.asarray(x, np.float64)
    miss = np.asarray(miss) > 0.5
    observed = (~miss).sum(axis=0)
    impute = np.zeros(x.shape[1])
    for j in range(x.shape[1]):
        if observed[j]:
            impute[j] = float(np.median(x[~miss[:, j], j]))
    t = transform(np.where(miss, impute[None, :], x))
    mean = t.mean(axis=0)
    std = t.std(axis=0)
    learned_value = (observed > 0) & (std > 1e-12)
    std = np.where(learned_value, std, 1.0)
    n_missing = miss.sum(axis=0)
    learned_missing = (n_missing >= min_missing_to_learn) & (n_missing < x.shape[0])
    return Standardizer(impute, mean, std, observed, learned_value, learned_missing)


def fit(x: np.ndarray, m: np.ndarray, y: np.ndarray, protocol: Protocol) -> LogisticModel:
    """Fit on raw feature values ``x`` [N, F] with missing mask ``m`` [N, F] and labels ``y``."""
    x = np.asarray(x, np.float64)
    miss = np.asarray(m) > 0.5
    y = np.asarray(y, np.float64)
    n_feat = x.shape[1]
    if n_feat != len(FEATURE_NAMES):
        raise ValueError(f"expected {len(FEATURE_NAMES)} features, got {n_feat}")
    st = standardizer(x, miss, protocol.min_missing_to_learn)
    impute, mean, std = st.impute, st.mean, st.std
    observed, learned_value, learned_missing = st.observed, st.learned_value, st.learned_missing
    z = (transform(np.where(miss, impute[None, :], x)) - mean) / std
    cols = [np.ones(len(y))]
    cols += [z[:, j] for j in range(n_feat) if learned_value[j]]
    cols += [miss[:, j].astype(np.float64) for j in range(n_feat) if learned_missing[j]]
    w = _newton(np.column_stack(cols), y, protocol.l2)
    coef = np.zeros(n_feat)
    missing_coef = np.zeros(n_feat)
    k = 1
    for j in range(n_feat):
        if learned_value[j]:
            coef[j] = w[k]
            k += 1
    for j in range(n_feat):
        if learned_missing[j]:
            missing_coef[j] = w[k]
            k += 1
    model = LogisticModel(impute, mean, std, coef, missing_coef, float(w[0]), 0.0, observed,
                          learned_value, learned_missing)
    thr = threshold_for_sensitivity(y.astype(np.int64), model.predict_proba(x, miss),
                                    protocol.sensitivity_target)
    return LogisticModel(impute, mean, std, coef, missing_coef, float(w[0]), thr, observed,
                         learned_value, learned_missing)


def stratified_folds(y: np.ndarray, folds: int, rng: np.random.Generator) -> np.ndarray:
    """Fold number per patient; each class shuffled then dealt round-robin."""
    out = np.empty(len(y), dtype=np.int64)
    offset = 0
    for cls in np.unique(y):
        idx = np.flatnonzero(y == cls)
        idx = idx[rng.permutation(idx.size)]
        out[idx] = (np.arange(idx.size) + offset) % folds
        offset += idx.size
    return out


@dataclass(frozen=True)
class CVResult:
    prob: np.ndarray  # [R, N] out-of-fold probabilities
    positive: np.ndarray  # [R, N] bool, out-of-fold decision at that fold's own threshold
    thresholds: np.ndarray  # [R, folds]
    folds: np.ndarray  # [R, N] fold number


def cross_validate(x: np.ndarray, m: np.ndarray, y: np.ndarray, protocol: Protocol) -> CVResult:
    """Repeated, seeded, patient-level stratified k-fold. Each fold's model and operating
    threshold come from the other folds only."""
    y = np.asarray(y, np.int64)
    rng = np.random.default_rng(protocol.seed)
    prob = np.zeros((protocol.repeats, len(y)))
    positive = np.zeros((protocol.repeats, len(y)), dtype=bool)
    thresholds = np.zeros((protocol.repeats, protocol.folds))
    fold_ids = np.zeros((protocol.repeats, len(y)), dtype=np.int64)
    for r in range(protocol.repeats):
        f = stratified_folds(y, protocol.folds, rng)
        fold_ids[r] = f
        for k in range(protocol.folds):
            test = f == k
            model = fit(x[~test], m[~test], y[~test], protocol)
            prob[r, test] = model.predict_proba(x[test], m[test])
            positive[r, test] = prob[r, test] >= model.threshold
            thresholds[r, k] = model.threshold
    return CVResult(prob, positive, thresholds, fold_ids)
