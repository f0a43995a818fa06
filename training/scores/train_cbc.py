"""Train, cross-validate and export the CBC-only MDS model with its card.

    .venv/bin/python -m training.scores.train_cbc \
        --cohort ../shared/datasets/wbs_cbc --out models_onnx/hemaclinic-mds-cbc/1.0.0

Primary target: MDS (1) vs not MDS (0: iron-deficiency or megaloblastic anaemia, normal
counts). Patients without ANC, Hb or PLT are left out (the runtime calls them
indeterminate). NumPy only apart from the ONNX export; deterministic for a given protocol.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from apps.ml.scores.card import SCHEMA, sha256_file
from apps.ml.scores.features import FEATURE_NAMES, FEATURES, REQUIRED, to_arrays
from apps.ml.scores.mds_cbc import MDSCBCModel
from training.scores.cohort import Cohort, load_cohort, training_ranges
from training.scores.evaluate import cv_metrics, model_metrics
from training.scores.export import OPSET, export_logistic
from training.scores.logistic import LogisticModel, Protocol, cross_validate, fit
from training.scores.metrics import binary_metrics

NAME = "hemaclinic-mds-cbc"

ANCHOR = {
    "source": "issue 4 of the HemaClinic tracker",
    "cbc_only": "a CBC-only score using ANC, MCV and Neutro-WX reached 75.0% accuracy on a "
                "117-patient cohort",
    "image_plus_cbc": "an image + CBC model reached 79.5% accuracy on the same cohort",
    "comparison": (
        "Not comparable head to head: a different cohort (other centre, other case mix and "
        "MDS prevalence), different features (this model has no MCV and no Neutro-WX, but has "
        "WBC, monocytes, Hb, PLT, age and sex), and accuracy depends on prevalence (65% MDS "
        "here) and on the operating point (here chosen for sensitivity >= 0.80). Use AUC and "
        "sensitivity/specificity, not accuracy, when comparing."
    ),
}


RANGES_RULE = ("each feature's training_range: its lowest and highest value among the patients "
               "used; the runtime returns 'indeterminate' for a value outside it")


def _round(obj: Any) -> Any:
    if isinstance(obj, float):
        return float(f"{obj:.10g}")
    if isinstance(obj, dict):
        return {k: _round(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_round(v) for v in obj]
    return obj


def without(cohort: Cohort, names: tuple[str, ...], protocol: Protocol) -> dict[str, Any]:
    """Cross-validated AUC when ``names`` are masked for everyone (never learned)."""
    x, m = to_arrays(cohort.rows)
    m = m.copy()
    for n in names:
        m[:, FEATURE_NAMES.index(n)] = 1.0
    cv = cross_validate(x, m, cohort.y, protocol)
    met = binary_metrics(cohort.y, cv.prob, cv.positive, n_boot=protocol.n_boot,
                         seed=protocol.bootstrap_seed)
    return {"features_removed": list(names), "auc": met["auc"], "auc_ci95": met["ci95"]["auc"],
            "sensitivity": met["sensitivity"], "specificity": met["specificity"]}


def older_only(cohort: Cohort, min_age: float, protocol: Protocol) -> dict[str, Any]:
    """Cross-validated figures refitted on patients aged >= ``min_age`` only."""
    x, m = to_arrays(cohort.rows)
    j = FEATURE_NAMES.index("age")
    keep = (m[:, j] == 0) & (x[:, j] >= min_age)
    cv = cross_validate(x[keep], m[keep], cohort.y[keep], protocol)
    met = binary_metrics(cohort.y[keep], cv.prob, cv.positive, n_boot=protocol.n_boot,
                         seed=protocol.bootstrap_seed)
    return {"subgroup": f"age >= {min_age:g}", "n": int(keep.sum()),
            "n_mds": int(cohort.y[keep].sum()), "auc": met["auc"],
            "auc_ci95": met["ci95"]["auc"], "sensitivity": met["sensitivity"],
            "specificity": met["specificity"]}


def feature_entries(model: LogisticModel,
                    ranges: dict[str, list[float] | None]) -> list[dict[str, Any]]:
    out = []
    for j, f in enumerate(FEATURES):
        observed = int(model.observed[j])
        out.append({
            "name": f.name, "unit": f.unit, "description": f.description,
            "transform": f.transform, "required": f.name in REQUIRED,
            "impute": float(model.impute[j]),
            "impute_rule": "training-set median" if observed else
                           "not observed in training: 0, and the feature has no weight",
            "observed_in_training": observed,
            "mean": float(model.mean[j]), "std": float(model.std[j]),
            "coef": float(model.coef[j]), "missing_coef": float(model.missing_coef[j]),
            "value_weight_learned": bool(model.learned_value[j]),
            "missing_weight_learned": bool(model.learned_missing[j]),
            "training_range": ranges[f.name],
        })
    return out


def summary(met: dict[str, Any]) -> dict[str, Any]:
    keys = ("auc", "average_precision", "sensitivity", "specificity", "ppv", "npv", "accuracy")
    return {
        **{k: met[k] for k in keys},
        **{f"{k}_ci95": met["ci95"][k] for k in keys},
        "brier": met["calibration"]["brier"], "ece": met["calibration"]["ece"],
    }


def build_card(cohort: Cohort, protocol: Protocol, model: LogisticModel, sha: str,
               cv: dict[str, Any], extra: list[dict[str, Any]], command: str) -> dict[str, Any]:
    n_class = Counter(cohort.classes)
    return {
        "schema": SCHEMA,
        "name": NAME,
        "version": "1.0.0",
        "task": "mds_cbc",
        "kind": "logistic_regression_l2_with_missing_masks",
        "synthetic": False,
        "clinical_use": True,
        "intended_use": (
            "Decision support: flags complete blood counts that look like MDS so a biologist "
            "reviews the smear. Not a diagnostic device; not externally validated."
        ),
        "files": {"model": {"path": "model.onnx", "sha256": sha}},
        "onnx": {
            "opset": OPSET,
            "inputs": {
                "features": {"shape": ["N", len(FEATURES)], "dtype": "float32",
                             "order": list(FEATURE_NAMES)},
                "missing_mask": {"shape": ["N", len(FEATURES)], "dtype": "float32",
                                 "meaning": "1 = value missing (features value ignored)"},
            },
            "outputs": {
                "probability": "[N, 1] sigmoid(logit)",
                "logit": "[N, 1] intercept + sum(contributions)",
                "contributions": "[N, F] z * coef + missing_mask * missing_coef",
            },
            "formula": "filled = missing ? impute : value; t = log1p(max(filled, 0)) for "
                       "log1p features else filled; z = (t - mean) / std; logit = intercept "
                       "+ sum(z * coef + missing * missing_coef); probability = sigmoid(logit)",
        },
        "features": feature_entries(model, training_ranges(cohort)),
        "intercept": model.intercept,
        "required_inputs": list(REQUIRED),
        "operating_point": {
            "threshold": model.threshold,
            "rule": f"highest threshold with sensitivity >= {protocol.sensitivity_target} on "
                    "the training patients' own predictions (in CV: on the training folds "
                    "only), set halfway to the next lower prediction",
        },
        "target": {
            "positive": "MDS (coarse_class 'mds': SF3B1, SRSF2, RUNX1, U2AF1 mutated)",
            "negative": "not MDS: iron-deficiency anaemia, megaloblastic anaemia and normal "
                        "findings (coarse_class 'anemia' and 'normal')",
        },
        "training_data": {
            "name": "wbs_cbc (Haemorasis study blood counts, Apache-2.0)",
            "format": cohort.format,
            "files_sha256": cohort.files,
            "n_patients_used": len(cohort),
            "n_per_class": dict(sorted(n_class.items())),
            "n_mds": int(cohort.y.sum()), "n_not_mds": int(len(cohort) - cohort.y.sum()),
            "excluded": {k: len(v) for k, v in cohort.excluded.items()},
            "excluded_rule": f"patients missing any of {', '.join(REQUIRED)} (the runtime "
                             "returns 'indeterminate' for them)",
            "units": "wbc_ul and plt_ul per µL divided by 1000 -> 10^9/L; ANC = WBC x "
                     "(stabs + segs) / 100; monocytes = WBC x monocytes% / 100",
            "not_in_cohort": ["mcv", "ne_wx"],
            "ranges_rule": RANGES_RULE,
        },
        "protocol": protocol.as_dict(),
        "metrics": {
            "cross_validated": {
                "description": f"{protocol.repeats} x {protocol.folds}-fold patient-level "
                               "stratified CV (seeded); point estimates are means over "
                               "repeats; 95% CI: percentile bootstrap over patients",
                **_round(summary(cv)),
                "auc_per_repeat": _round(cv["auc_per_repeat"]),
                "confusion_mean_over_repeats": cv["confusion_mean_over_repeats"],
                "reliability": _round(cv["calibration"]["reliability"]),
            },
            "sensitivity_analyses": _round(extra),
        },
        "anchor": ANCHOR,
        "limits": [
            "Single-centre cohort (one study, one analyser family); no external validation.",
            "No MCV and no Neutro-WX in the training cohort: the model accepts them but they "
            "have no learned weight (coef 0, missing_coef 0). The ONNX graph masks them - "
            "whatever value is sent, the probability does not change - until a lab retrains "
            "on a cohort that has them.",
            "Controls are younger than the MDS patients (normal findings include teenagers) "
            "and age carries most of the signal: cross-validated AUC with age and sex alone "
            f"{extra[1]['auc']:.3f}, without age and sex {extra[0]['auc']:.3f}, refitted on "
            f"patients aged >= 50 {extra[2]['auc']:.3f}. The blood-count features add "
            "little to demographics on this cohort; expect lower discrimination in the "
            "older population where MDS is actually suspected.",
            "Negatives are anaemias and normal counts only: other causes of cytopenia "
            "(ITP, liver disease, drugs, CMML, aplastic anaemia...) were not in training.",
            "65% MDS prevalence in training; the probabilities are calibrated to that "
            "prevalence and overstate MDS risk in a general laboratory population.",
            "The operating threshold was picked for sensitivity >= 0.80 on this cohort.",
        ],
        "reproduce": [
            command,
            ".venv/bin/python -c \"from pathlib import Path; from training.scores.evaluate "
            "import evaluate_cohort as e; e(cohort=Path('../shared/datasets/wbs_cbc'), "
            "out=Path('/tmp/mds-cbc-cv'), model_dir=Path('models_onnx/hemaclinic-mds-cbc/"
            "1.0.0'), mode='cv')\"",
        ],
    }


README = """# {name} {version}

CBC-only MDS model: L2 logistic regression on standardised features with explicit
missing-value masks, exported to ONNX (`model.onnx`, sha256 `{sha}`). The machine-readable
card is `card.json`; the documentation is docs/scores.md.

**Target**: MDS ({n_mds} patients) vs not MDS ({n_neg}: {classes}). {n_excl} patients of the
cohort were left out because ANC, Hb or PLT is missing (the runtime calls such a CBC
indeterminate).

**Not scored without a cytopenia** (run time): a count with haemoglobin at or above 13 g/dL in
men (12 in women), ANC at or above 1.8 and platelets at or above 150 x 10^9/L is indeterminate
(reason `no_cytopenia`): an MDS needs at least one cytopenia (WHO and ICC 2022), and there the
output rests on age and sex. What the rule does to this model's cross-validated decisions:
`python -m training.scores.cytopenia_gate` (docs/scores.md). The figures below are the
model's own, without the rule.

**Inputs** (`features` and `missing_mask`, float32 [N, {f}], in this order):
{features}

**Operating threshold**: {thr:.4f} ({rule}).

## Cross-validated figures ({repeats} x {folds}-fold, patient-level, stratified, seed {seed})

| metric | estimate | 95% CI (patient bootstrap) |
|---|---|---|
{rows}

Brier {brier:.3f}, ECE {ece:.3f} (10 bins). AUC per repeat: {per_repeat}.

Sensitivity analyses (same protocol):
{extra}

## Compared with the issue's anchor
{anchor_a}; {anchor_b}. {anchor_c}

## Limits
{limits}

## Reproduce
```
{reproduce}
```
"""


def _describe(e: dict[str, Any]) -> str:
    what = (f"without {', '.join(e['features_removed'])}" if "features_removed" in e
            else f"refitted on {e['subgroup']} only (n={e['n']}, {e['n_mds']} MDS)")
    return (f"{what}: AUC {e['auc']:.3f} ({e['auc_ci95'][0]:.3f}-{e['auc_ci95'][1]:.3f}), "
            f"sensitivity {e['sensitivity']:.3f}, specificity {e['specificity']:.3f}")


def _range_text(bounds: list[float] | None) -> str:
    return "" if bounds is None else f", training range {bounds[0]:.4g}-{bounds[1]:.4g}"


def write_readme(card: dict[str, Any], out: Path) -> None:
    cv = card["metrics"]["cross_validated"]
    rows = "\n".join(
        f"| {k} | {cv[k]:.3f} | {cv[k + '_ci95'][0]:.3f}-{cv[k + '_ci95'][1]:.3f} |"
        for k in ("auc", "average_precision", "sensitivity", "specificity", "ppv", "npv",
                  "accuracy"))
    feats = "\n".join(
        f"- `{f['name']}` ({f['unit']}, {f['transform']}): coef {f['coef']:+.3f}, "
        f"missing coef {f['missing_coef']:+.3f}, imputed with {f['impute']:.4g} "
        f"({f['impute_rule']}){_range_text(f.get('training_range'))}"
        f"{' - required' if f['required'] else ''}"
        for f in card["features"])
    td = card["training_data"]
    extra = "\n".join(f"- {_describe(e)}" for e in card["metrics"]["sensitivity_analyses"])
    p = card["protocol"]
    text = README.format(
        name=card["name"], version=card["version"], sha=card["files"]["model"]["sha256"],
        n_mds=td["n_mds"], n_neg=td["n_not_mds"],
        classes=", ".join(f"{k} {v}" for k, v in td["n_per_class"].items() if k != "mds"),
        n_excl=sum(td["excluded"].values()), f=len(card["features"]), features=feats,
        thr=card["operating_point"]["threshold"], rule=card["operating_point"]["rule"],
        repeats=p["repeats"], folds=p["folds"], seed=p["seed"], rows=rows, brier=cv["brier"],
        ece=cv["ece"], per_repeat=", ".join(f"{a:.3f}" for a in cv["auc_per_repeat"]),
        extra=extra, anchor_a=card["anchor"]["cbc_only"], anchor_b=card["anchor"]["image_plus_cbc"],
        anchor_c=card["anchor"]["comparison"],
        limits="\n".join(f"- {x}" for x in card["limits"]),
        reproduce="\n".join(card["reproduce"]),
    )
    (out / "README.md").write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cohort", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    protocol = Protocol()
    cohort = load_cohort(args.cohort)
    x, m = to_arrays(cohort.rows)

    _, cv = cv_metrics(cohort, protocol)
    cbc_only = tuple(n for n in FEATURE_NAMES if n not in ("age", "sex_male"))
    extra = [without(cohort, ("age", "sex_male"), protocol),
             without(cohort, cbc_only, protocol),
             older_only(cohort, 50.0, protocol)]
    model = fit(x, m, cohort.y, protocol)

    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / "model.onnx"
    export_logistic(model, onnx_path, f"{NAME}-1.0.0")
    sha = sha256_file(onnx_path)
    command = (".venv/bin/python -m training.scores.train_cbc --cohort "
               f"{shlex.quote(str(args.cohort))} --out {shlex.quote(str(args.out))}")
    card = build_card(cohort, protocol, model, sha, cv, extra, command)
    (args.out / "card.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")

    # Apparent (resubstitution) figures of the exported file, through the runtime path.
    onnx_model = MDSCBCModel.from_dir(args.out)
    prob, apparent = model_metrics(cohort, onnx_model, protocol)
    gap = float(np.max(np.abs(prob - model.predict_proba(x, m))))
    card["metrics"]["apparent_on_training_cohort"] = {
        "description": "the exported model scored on the patients it was fitted on "
                       "(optimistic; for reproducibility checks, not for performance claims)",
        **_round(summary(apparent)),
        "max_abs_difference_onnx_vs_numpy": gap,
    }
    (args.out / "card.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    write_readme(card, args.out)

    cvs = card["metrics"]["cross_validated"]
    lines = [f"{NAME}: {len(cohort)} patients ({int(cohort.y.sum())} MDS), "
             f"excluded {sum(len(v) for v in cohort.excluded.values())}"]
    for k in ("auc", "average_precision", "sensitivity", "specificity", "accuracy"):
        lo, hi = cvs[k + "_ci95"]
        lines.append(f"  CV {k}: {cvs[k]:.3f} (95% CI {lo:.3f}-{hi:.3f})")
    lines.append(f"  CV Brier {cvs['brier']:.3f}, ECE {cvs['ece']:.3f}")
    lines.extend(f"  CV {_describe(e)}" for e in extra)
    lines.append(f"  threshold {model.threshold:.4f}; apparent AUC {apparent['auc']:.4f}; "
                 f"onnx vs numpy max diff {gap:.2e}")
    lines.append(f"  wrote {onnx_path} (sha256 {sha})")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
