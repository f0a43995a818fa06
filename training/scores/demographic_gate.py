"""What not flagging an output that reaches the threshold only through age and sex does to the
installed CBC MDS model, on its own cohort.

    .venv/bin/python -m training.scores.demographic_gate [--cohort ../shared/datasets/wbs_cbc]

The installed model (its ONNX file, trained on this whole cohort: in-sample figures, kinder
than out-of-fold ones) scores every patient; the runtime's two rules are then read as the
worklist applies them: a count without any cytopenia is indeterminate
(``apps.ml.scores.cytopenia``), and an output above the threshold only through age and sex
raises no flag (``apps.ml.scores.mds_cbc.above_only_through_demographics``). Prints, per
class, the patients flagged under each rule, and sensitivity, specificity and positive
predictive value.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from apps.ml.scores.cytopenia import no_cytopenia
from apps.ml.scores.features import FEATURE_NAMES, to_arrays
from apps.ml.scores.mds_cbc import MDSCBCModel, above_only_through_demographics
from training.scores.cohort import load_cohort
from training.scores.cytopenia_gate import _rates

REPO = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cohort", type=Path, default=REPO.parent / "shared" / "datasets" / "wbs_cbc")
    p.add_argument("--model", type=Path,
                   default=REPO / "models_onnx" / "hemaclinic-mds-cbc" / "1.0.0")
    args = p.parse_args(argv)
    cohort = load_cohort(args.cohort)
    model = MDSCBCModel.from_dir(args.model)
    x, m = to_arrays(cohort.rows)
    prob, _logit, contributions = model.run(x, m)
    y = np.asarray(cohort.y)
    classes = np.asarray(cohort.classes)
    above = prob >= model.threshold
    cytopenia = np.array([no_cytopenia(r.hb, r.anc, r.plt, r.sex) is None for r in cohort.rows])
    through = np.array([above_only_through_demographics(
        float(prob[i]), model.threshold,
        [{"name": n, "contribution": float(c)} for n, c in zip(FEATURE_NAMES, contributions[i],
                                                               strict=True)])
        for i in range(len(y))])
    rules = {"the model alone": above, "with the cytopenia rule": above & cytopenia,
             "and the age-and-sex rule": above & cytopenia & ~through}
    print(f"{len(y)} patients, {int(y.sum())} MDS; installed model {args.model.name}, "
          f"threshold {model.threshold:.4f} (in-sample: it was trained on these patients)")
    for name, flagged in rules.items():
        sens, spec, ppv = _rates(flagged, y)
        per_class = ", ".join(f"{k} {int((flagged & (classes == k)).sum())} of "
                              f"{int((classes == k).sum())}" for k in sorted(set(classes)))
        print(f"{name}: flagged {per_class}; sensitivity {sens:.3f}, specificity {spec:.3f}, "
              f"PPV {ppv:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
