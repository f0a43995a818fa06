"""What declining a count without any cytopenia does to the CBC MDS model, on its own cohort.

    .venv/bin/python -m training.scores.cytopenia_gate [--cohort ../shared/datasets/wbs_cbc]

The card's cross-validation (out-of-fold outputs, each fold's own threshold, every repeat),
read twice: as the model decides, and with the runtime's rule (``apps.ml.scores.cytopenia``)
that a count without any cytopenia is indeterminate. Prints, per repeat, the patients the
model flags, those of them without a cytopenia (MDS and not MDS), and sensitivity,
specificity and positive predictive value with and without the rule. A count the rule
declines counts as not flagged.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from apps.ml.scores.cytopenia import no_cytopenia
from training.scores.cohort import load_cohort
from training.scores.evaluate import cv_metrics, protocol_from_card

REPO = Path(__file__).resolve().parents[2]


def _rates(flagged: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    tp = int((flagged & (y == 1)).sum())
    fp = int((flagged & (y == 0)).sum())
    return tp / max(1, int((y == 1).sum())), 1 - fp / max(1, int((y == 0).sum())), \
        tp / max(1, tp + fp)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cohort", type=Path, default=REPO.parent / "shared" / "datasets" / "wbs_cbc")
    p.add_argument("--card", type=Path,
                   default=REPO / "models_onnx" / "hemaclinic-mds-cbc" / "1.0.0" / "card.json")
    args = p.parse_args(argv)
    cohort = load_cohort(args.cohort)
    cv, _ = cv_metrics(cohort, protocol_from_card(json.loads(args.card.read_text())))
    y = np.asarray(cohort.y)
    classes = np.asarray(cohort.classes)
    declined = np.array([no_cytopenia(r.hb, r.anc, r.plt, r.sex) is not None
                         for r in cohort.rows])
    print(f"{len(y)} patients, {int(y.sum())} MDS; without any cytopenia: "
          + ", ".join(f"{k} {int((declined & (classes == k)).sum())} of "
                      f"{int((classes == k).sum())}" for k in sorted(set(classes))))
    for rep, positive in enumerate(np.atleast_2d(cv.positive)):
        flagged = positive.astype(bool)
        gated = flagged & ~declined
        before, after = _rates(flagged, y), _rates(gated, y)
        print(f"repeat {rep}: {int(flagged.sum())} flagged, {int((flagged & declined).sum())} "
              f"of them without a cytopenia (MDS {int((flagged & declined & (y == 1)).sum())}, "
              f"not MDS {int((flagged & declined & (y == 0)).sum())}); sensitivity "
              f"{before[0]:.3f} -> {after[0]:.3f}, specificity {before[1]:.3f} -> "
              f"{after[1]:.3f}, PPV {before[2]:.3f} -> {after[2]:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
