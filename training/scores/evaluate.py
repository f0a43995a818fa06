"""Evaluate a score on a labelled cohort: ROC, PR, calibration, confusion, metrics JSON.

    python -m training.scores.evaluate [--cohort ../shared/datasets/wbs_cbc] [--mode cv|model] \
        [--out evaluation]

``evaluate_cohort`` is what that command runs. It needs NumPy and
onnxruntime, plus matplotlib for the figures (imported only here, only when called). The
training script computes the card's figures with ``cv_metrics`` and ``model_metrics`` from
this module, so re-running the evaluation reproduces the card exactly.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Literal

import numpy as np

from apps.ml.scores.card import load
from apps.ml.scores.features import to_arrays
from apps.ml.scores.mds_cbc import TASK, MDSCBCModel, load_default, load_model
from training.scores.cohort import Cohort, load_cohort
from training.scores.logistic import CVResult, Protocol, cross_validate
from training.scores.metrics import binary_metrics, pr_curve, roc_curve

SCORES = ("mds-cbc",)
OUTPUT_FILES = ("metrics.json", "predictions.csv", "roc.png", "pr.png", "calibration.png")


class EvaluationError(RuntimeError):
    """The evaluation cannot run (no model, unknown score, matplotlib missing...)."""


def protocol_from_card(raw: dict[str, Any]) -> Protocol:
    return Protocol(**raw["protocol"])


def cv_metrics(cohort: Cohort, protocol: Protocol) -> tuple[CVResult, dict[str, Any]]:
    """The card's cross-validation: out-of-fold predictions and their metrics."""
    x, m = to_arrays(cohort.rows)
    cv = cross_validate(x, m, cohort.y, protocol)
    met = binary_metrics(cohort.y, cv.prob, cv.positive, n_boot=protocol.n_boot,
                         seed=protocol.bootstrap_seed)
    met["fold_thresholds"] = cv.thresholds.tolist()
    return cv, met


def model_metrics(cohort: Cohort, model: MDSCBCModel,
                  protocol: Protocol) -> tuple[np.ndarray, dict[str, Any]]:
    """A fixed model (the ONNX file) on the cohort, at the card's threshold."""
    x, m = to_arrays(cohort.rows)
    prob = model.run(x, m)[0].astype(np.float64)
    met = binary_metrics(cohort.y, prob[None, :], prob[None, :] >= model.threshold,
                         n_boot=protocol.n_boot, seed=protocol.bootstrap_seed)
    met["threshold"] = model.threshold
    return prob, met


def _pyplot():  # type: ignore[no-untyped-def]
    try:
        import matplotlib
    except ImportError as exc:
        raise EvaluationError(
            "matplotlib is needed to draw the evaluation figures; install it with "
            "`pip install matplotlib` (it is in the 'training' extra)"
        ) from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _plots(plt, y: np.ndarray, prob: np.ndarray, met: dict[str, Any], out: Path,  # type: ignore[no-untyped-def]
           title: str) -> None:
    ci = met["ci95"]
    fig, ax = plt.subplots(figsize=(5, 5))
    for r in range(prob.shape[0]):
        fpr, tpr, _ = roc_curve(y, prob[r])
        ax.step(fpr, tpr, where="post", lw=1, alpha=0.8 if prob.shape[0] == 1 else 0.4)
    ax.plot([0, 1], [0, 1], ":", color="grey")
    lo, hi = ci["auc"]
    ax.set(xlabel="1 - specificity", ylabel="sensitivity",
           title=f"{title}\nROC AUC {met['auc']:.3f} (95% CI {lo:.3f}-{hi:.3f})")
    fig.tight_layout()
    fig.savefig(out / "roc.png", dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 5))
    for r in range(prob.shape[0]):
        prec, rec, _ = pr_curve(y, prob[r])
        ax.step(np.r_[0.0, rec], np.r_[prec[0], prec], where="pre", lw=1,
                alpha=0.8 if prob.shape[0] == 1 else 0.4)
    ax.axhline(y.mean(), ls=":", color="grey", label=f"prevalence {y.mean():.2f}")
    ax.set(xlabel="recall (sensitivity)", ylabel="precision (PPV)", ylim=(0, 1.02),
           title=f"{title}\nAP {met['average_precision']:.3f} (95% CI "
                 f"{ci['average_precision'][0]:.3f}-{ci['average_precision'][1]:.3f})")
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(out / "pr.png", dpi=120)
    plt.close(fig)

    cal = met["calibration"]
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(5, 6), height_ratios=(3, 1), sharex=True)
    mp = [b["mean_predicted"] for b in cal["reliability"]]
    fy = [b["observed_fraction"] for b in cal["reliability"]]
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.plot(mp, fy, "o-")
    ax.set(ylabel="observed MDS fraction",
           title=f"{title}\nBrier {cal['brier']:.3f}, ECE {cal['ece']:.3f}")
    ax2.hist(prob.ravel(), bins=cal["n_bins"], range=(0, 1), color="grey")
    ax2.set(xlabel="predicted probability", ylabel="count")
    fig.tight_layout()
    fig.savefig(out / "calibration.png", dpi=120)
    plt.close(fig)


def evaluate_cohort(
    *,
    cohort: Path,
    out: Path,
    score: str = "mds-cbc",
    models_root: Path | None = None,
    model_dir: Path | None = None,
    mode: Literal["model", "cv"] = "model",
) -> dict[str, Any]:
    """Evaluate ``score`` on the cohort folder and write ``OUTPUT_FILES`` into ``out``.

    mode "model": the installed model (``model_dir``, else the one ``models_root``'s
    registry names) scored at its card threshold. mode "cv": re-run the card's repeated
    cross-validation (same protocol, seeds and code as training) on this cohort.
    Returns the metrics dictionary that is also written to ``out/metrics.json``.
    """
    if score not in SCORES:
        raise EvaluationError(f"unknown score {score!r}; available: {', '.join(SCORES)}")
    plt = _pyplot()  # fail before any work when the figures cannot be drawn
    if model_dir is None and models_root is not None:
        model = load_default(models_root)
    elif model_dir is not None:
        model = load_model(model_dir)
    else:
        model = None
    if model is None:
        raise EvaluationError(
            f"no {TASK} model: pass model_dir or register one in models_root/registry.json"
        )
    protocol = protocol_from_card(load(model.card.directory).raw)
    data = load_cohort(cohort)
    if mode == "model":
        prob, met = model_metrics(data, model, protocol)
        probs = prob[None, :]
    elif mode == "cv":
        cv, met = cv_metrics(data, protocol)
        probs = cv.prob
    else:
        raise EvaluationError(f"mode must be 'model' or 'cv', not {mode!r}")
    met = {
        "score": score,
        "mode": mode,
        "model": model.card.provenance,
        "protocol": protocol.as_dict(),
        "cohort": {"format": data.format, "files": data.files, "n_scored": len(data),
                   "n_indeterminate": sum(len(v) for v in data.excluded.values()),
                   "indeterminate": {k: len(v) for k, v in data.excluded.items()},
                   "label": "1 = MDS; every other class is 0"},
        **met,
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(met, indent=2) + "\n", encoding="utf-8")
    with (out / "predictions.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["patient_id", "label", "class", "probability_mean", "positive_fraction"])
        pos = probs >= model.threshold if mode == "model" else cv.positive
        for i, pid in enumerate(data.ids):
            w.writerow([pid, int(data.y[i]), data.classes[i], f"{probs[:, i].mean():.6f}",
                        f"{pos[:, i].mean():.3f}"])
    kind = "cross-validated" if mode == "cv" else "fixed model"
    title = f"{model.card.name} {model.card.version} ({kind})"
    _plots(plt, data.y, probs, met, out, title)
    return met


def main(argv: list[str] | None = None) -> int:
    import argparse

    repo = Path(__file__).resolve().parents[2]
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    default = repo.parent / "shared" / "datasets" / "wbs_cbc"
    p.add_argument("--cohort", type=Path, default=default, help=f"cohort folder ({default})")
    p.add_argument("--score", default="mds-cbc", choices=SCORES)
    p.add_argument("--mode", choices=["model", "cv"], default="cv",
                   help="cv: the card's cross-validation (reproduces the card's figures); "
                   "model: the installed model as it is")
    p.add_argument("--out", type=Path, default=Path("evaluation"))
    p.add_argument("--models-root", type=Path, default=repo / "models_onnx")
    p.add_argument("--model-dir", type=Path, default=None)
    args = p.parse_args(argv)
    if not args.cohort.is_dir():
        p.error(f"no cohort folder at {args.cohort}")
    try:
        metrics = evaluate_cohort(cohort=args.cohort, out=args.out, score=args.score,
                                  models_root=args.models_root, model_dir=args.model_dir,
                                  mode=args.mode)
    except EvaluationError as exc:
        p.exit(2, f"error: {exc}\n")
    summary = {k: metrics[k] for k in ("score", "mode", "model") if k in metrics}
    for key in ("auc", "auc_ci", "sensitivity", "specificity", "accuracy", "brier", "ece"):
        if key in metrics:
            summary[key] = metrics[key]
    print(json.dumps(summary, indent=2, default=str))
    print(f"Figures and metrics written to {args.out}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
