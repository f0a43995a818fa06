"""How often a healthy smear is called dysplastic: simulated healthy smears from real cells.

    .venv/bin/python bench/healthy_smears.py [--model models_onnx/hemaclinic-cells/2.0.0]

Every cell comes from the model's own PBC test split (healthy donors, never trained on).
Each simulated smear has a normal differential drawn per smear: segmented neutrophils
55-65 %, band neutrophils 0-5 %, eosinophils 1-4 %, basophils 0-1 %, monocytes 4-8 %, the
rest lymphocytes, 100 white cells (``--cells``). The cells are classified by the model (no
reviewer), the neutrophils' anomaly outputs go to ``apps.ml.scores.mds_image`` exactly as
the app does, and a smear counts as flagged when it meets the WHO 10 % dysplasia threshold.
Prints the share of flagged smears (target: at most 5 of 100) and why.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from apps.ml.cells import CellModel, default_model_dir  # noqa: E402
from apps.ml.score_cells import open_image  # noqa: E402
from apps.ml.scores.mds_image import mds_image_evidence, neutrophil_anomalies  # noqa: E402
from training.data import default_datasets_dir, read_labels, read_split_csv  # noqa: E402

# Normal adult differential (per 100 white cells), ranges drawn uniformly per smear.
NORMAL = {"SNE": (55, 65), "BNE": (0, 5), "EO": (1, 4), "BA": (0, 1), "MO": (4, 8)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", type=Path, default=None, help="model folder (default: registered)")
    p.add_argument("--datasets", type=Path, default=default_datasets_dir())
    p.add_argument("--smears", type=int, default=100)
    p.add_argument("--cells", type=int, default=100)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=20261202)
    args = p.parse_args()
    model_dir = args.model or default_model_dir(REPO / "models_onnx")
    if model_dir is None:
        sys.exit("no cell model registered")
    model = CellModel.from_dir(model_dir, threads=args.threads)
    pbc = args.datasets / "pbc"
    by_path = {s.path: s for s in read_labels(pbc / "labels.csv")}
    test = [by_path[r[0]] for r in read_split_csv(model_dir / "split.csv") if r[2] == "test"]
    pools = {k: [s for s in test if s.prefix == k] for k in (*NORMAL, "LY")}
    used = sorted({s.path for pool in pools.values() for s in pool})
    print(f"model {model.card.name} {model.card.version}; test-split pools: "
          + ", ".join(f"{k} {len(v)}" for k, v in pools.items()), flush=True)
    preds = dict(zip(used, model.predict([open_image(pbc / u) for u in used]), strict=True))

    gen = np.random.default_rng(args.seed)
    flagged, fractions, bands_flagged, bands_seen = 0, [], 0, 0
    reasons: dict[str, int] = {}
    for _ in range(args.smears):
        counts = {k: int(round(gen.uniform(*NORMAL[k]) * args.cells / 100)) for k in NORMAL}
        counts["LY"] = args.cells - sum(counts.values())
        cells = [s for k, n in counts.items()
                 for s in gen.choice(pools[k], size=n, replace=n > len(pools[k]))]
        smear = [preds[s.path] for s in cells]
        cols, idx = neutrophil_anomalies(smear)
        res = mds_image_evidence(cols, n_neutrophils=len(idx))
        for d in res.drivers:
            if cells[idx[d.index]].prefix == "BNE":
                bands_flagged += 1
        bands_seen += sum(1 for i in idx if cells[i].prefix == "BNE")
        if res.state == "scored":
            fractions.append(res.fraction)
            flagged += bool(res.meets_who_threshold)
        for r in res.reasons:
            reasons[r] = reasons.get(r, 0) + 1
    print(f"anomaly outputs used: {', '.join(res.available) or 'none'}; not available: "
          f"{', '.join(res.not_available)}")
    print(f"healthy smears flagged dysplastic (>= WHO 10%): {flagged} of {args.smears} "
          f"(target <= 5)")
    if fractions:
        print(f"share of dysplastic-looking neutrophils per scored smear: median "
              f"{np.median(fractions):.1%}, 95th percentile {np.quantile(fractions, 0.95):.1%}")
    print(f"band neutrophils among the drivers: {bands_flagged} of {bands_seen} bands drawn")
    for r, n in sorted(reasons.items()):
        print(f"indeterminate: {r} ({n} smears)")


if __name__ == "__main__":
    main()
