"""Binary-classification metrics in NumPy: AUC, PR, calibration, confusion, bootstrap CIs.

Predictions come as [R, N]: R repeats of one prediction per patient (R = 1 for a fixed
model, R = repeats for repeated cross-validation). Point estimates are means over repeats;
95% CIs are percentile bootstrap over PATIENTS, the same resample applied to every repeat.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _midranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks; tied values share the mean of their ranks."""
    _, inv, counts = np.unique(x, return_inverse=True, return_counts=True)
    before = np.cumsum(counts) - counts
    return (before + (counts + 1) / 2.0)[inv]


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC (Mann-Whitney, ties count one half)."""
    y = np.asarray(y)
    n_pos = int((y == 1).sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    r = _midranks(np.asarray(p, np.float64))
    return float((r[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the precision-recall curve as the step-wise sum (ties grouped)."""
    prec, rec, _ = pr_curve(y, p)
    return float(np.sum(np.diff(np.r_[0.0, rec]) * prec))


def roc_curve(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds), starting at (0, 0)."""
    y = np.asarray(y)
    order = np.argsort(-np.asarray(p, np.float64), kind="mergesort")
    ps, ys = np.asarray(p, np.float64)[order], y[order]
    last = np.r_[ps[1:] != ps[:-1], True]
    tp = np.cumsum(ys == 1)[last]
    fp = np.cumsum(ys == 0)[last]
    n_pos, n_neg = max(1, int((y == 1).sum())), max(1, int((y == 0).sum()))
    return np.r_[0.0, fp / n_neg], np.r_[0.0, tp / n_pos], np.r_[np.inf, ps[last]]


def pr_curve(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, thresholds) at each distinct threshold, highest first."""
    y = np.asarray(y)
    order = np.argsort(-np.asarray(p, np.float64), kind="mergesort")
    ps, ys = np.asarray(p, np.float64)[order], y[order]
    last = np.r_[ps[1:] != ps[:-1], True]
    tp = np.cumsum(ys == 1)[last]
    k = np.flatnonzero(last) + 1
    return tp / k, tp / max(1, int((y == 1).sum())), ps[last]


def calibration(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> dict[str, Any]:
    """Brier score, ECE (equal-width bins, weighted by count) and the reliability table."""
    y = np.asarray(y, np.float64)
    p = np.asarray(p, np.float64)
    bins = np.clip((p * n_bins).astype(np.int64), 0, n_bins - 1)
    table = []
    ece = 0.0
    for b in range(n_bins):
        sel = bins == b
        n = int(sel.sum())
        if n == 0:
            continue
        mp, fy = float(p[sel].mean()), float(y[sel].mean())
        ece += n / p.size * abs(mp - fy)
        table.append({"bin": [b / n_bins, (b + 1) / n_bins], "n": n, "mean_predicted": mp,
                      "observed_fraction": fy})
    return {"brier": float(np.mean((p - y) ** 2)), "ece": float(ece), "n_bins": n_bins,
            "reliability": table}


def _rates(y: np.ndarray, pos: np.ndarray) -> dict[str, float]:
    tp = int(np.sum(pos & (y == 1)))
    fn = int(np.sum(~pos & (y == 1)))
    tn = int(np.sum(~pos & (y == 0)))
    fp = int(np.sum(pos & (y == 0)))

    def div(a: int, b: int) -> float:
        return a / b if b else float("nan")

    return {"sensitivity": div(tp, tp + fn), "specificity": div(tn, tn + fp),
            "ppv": div(tp, tp + fp), "npv": div(tn, tn + fn), "accuracy": div(tp + tn, y.size),
            "tp": tp, "fn": fn, "tn": tn, "fp": fp}


RATE_KEYS = ("sensitivity", "specificity", "ppv", "npv", "accuracy")


def binary_metrics(
    y: np.ndarray,
    prob: np.ndarray,
    positive: np.ndarray,
    *,
    n_boot: int = 2000,
    seed: int = 7,
    n_bins: int = 10,
) -> dict[str, Any]:
    """All figures for ``prob`` [R, N] and decisions ``positive`` [R, N] against ``y`` [N]."""
    y = np.asarray(y, np.int64)
    prob = np.atleast_2d(np.asarray(prob, np.float64))
    positive = np.atleast_2d(np.asarray(positive, bool))
    if prob.shape != positive.shape or prob.shape[1] != y.size:
        raise ValueError("prob, positive and y disagree in shape")
    reps = prob.shape[0]

    def point(idx: np.ndarray | None) -> dict[str, float]:
        yy = y if idx is None else y[idx]
        out: dict[str, list[float]] = {k: [] for k in ("auc", "average_precision", *RATE_KEYS)}
        for r in range(reps):
            pp = prob[r] if idx is None else prob[r, idx]
            dd = positive[r] if idx is None else positive[r, idx]
            out["auc"].append(auc(yy, pp))
            out["average_precision"].append(average_precision(yy, pp))
            rates = _rates(yy, dd)
            for k in RATE_KEYS:
                out[k].append(rates[k])
        return {k: float(np.mean(v)) for k, v in out.items()}

    est = point(None)
    rng = np.random.default_rng(seed)
    boots: dict[str, list[float]] = {k: [] for k in est}
    for _ in range(n_boot):
        idx = rng.integers(0, y.size, y.size)
        if y[idx].min() == y[idx].max():
            continue
        for k, v in point(idx).items():
            boots[k].append(v)
    ci = {k: [float(np.nanpercentile(v, 2.5)), float(np.nanpercentile(v, 97.5))]
          for k, v in boots.items()}
    per_repeat_auc = [auc(y, prob[r]) for r in range(reps)]
    confusion = [_rates(y, positive[r]) for r in range(reps)]
    cm_mean = {k: float(np.mean([c[k] for c in confusion])) for k in ("tp", "fn", "tn", "fp")}
    # Calibration over every (repeat, patient) prediction: the reliability of the score as
    # a user would see it, averaged over the repeats' fold assignments.
    cal = calibration(np.tile(y, reps), prob.ravel(), n_bins)
    cal["brier_per_repeat"] = [float(np.mean((prob[r] - y) ** 2)) for r in range(reps)]
    return {
        "n": int(y.size),
        "n_positive": int(y.sum()),
        "n_negative": int(y.size - y.sum()),
        "repeats": reps,
        **{k: est[k] for k in est},
        "ci95": ci,
        "auc_per_repeat": per_repeat_auc,
        "confusion_mean_over_repeats": cm_mean,
        "confusion_per_repeat": [{k: c[k] for k in ("tp", "fn", "tn", "fp")} for c in confusion],
        "calibration": cal,
        "bootstrap": {"n_boot": n_boot, "seed": seed, "unit": "patient",
                      "method": "percentile, same resample applied to every repeat"},
    }
