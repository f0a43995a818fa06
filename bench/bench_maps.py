"""What the analysis job's model step costs per cell, for two model versions in one run.

    .venv/bin/python bench/bench_maps.py [--n 256] \
        [--models models_onnx/hemaclinic-cells/2.1.1 models_onnx/hemaclinic-cells/2.1.2]

The job's step is ``CellModel.predict_views_maps``: inference, the domain check and the
compact maps (every cell's class map, and the vacuole map of the cells shown as
neutrophils). Views are made once, outside the timing; the models take turns batch by
batch, so that other load on the machine falls on both alike. Prints process CPU time per
cell (all threads) and its ratio, and the largest difference between the two models' maps
and probabilities (0 when one is derived from the other with the same weights).
Figures only; nothing here is a test.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import hemaclinic  # noqa: E402, F401  (the app's BLAS thread setting, before NumPy)

# isort: split
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from apps.ml.cells import CellModel  # noqa: E402

DEFAULT_MODELS = ("models_onnx/hemaclinic-cells/2.1.1", "models_onnx/hemaclinic-cells/2.1.2")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--images", type=Path, default=REPO.parent / "shared" / "datasets" / "pbc")
    p.add_argument("--models", type=Path, nargs=2, default=[REPO / m for m in DEFAULT_MODELS])
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()

    files = sorted(args.images.glob("*/*.jpg"))
    if not files:
        sys.exit(f"no images under {args.images}")
    paths = files[:: max(1, len(files) // args.n)][: args.n]
    models = [CellModel.from_dir(m, threads=args.threads) for m in args.models]
    views = []
    for q in paths:
        with Image.open(q) as im:
            views.append(models[0].prepare(im.convert("RGB")))
    if any(m.card.input != models[0].card.input for m in models):
        sys.exit("the two models do not read the same view")
    batches = [views[i : i + args.batch_size] for i in range(0, len(views), args.batch_size)]
    for m in models:  # sessions, head weights, domain statistics
        m.predict_views_maps(batches[0])
    cpu = [0.0, 0.0]
    results: list[list] = [[], []]
    for rep in range(args.repeat):
        for batch in batches:
            for k, m in enumerate(models):
                c = time.process_time()
                out = m.predict_views_maps(batch)
                cpu[k] += time.process_time() - c
                if rep == 0:
                    results[k].append(out)
    n = args.repeat * len(views)
    neutrophils = sum(1 for preds, _ in results[0] for q in preds if q.cell_class == "neutrophil")
    names = [f"{m.card.name} {m.card.version}" for m in models]
    print(f"{len(views)} PBC views ({neutrophils} shown as neutrophils: a vacuole map each), "
          f"batch {args.batch_size}, onnxruntime threads {args.threads}, {args.repeat} rounds")
    for name, c in zip(names, cpu, strict=True):
        print(f"  {name}: {1000 * c / n:.2f} ms CPU per cell (predict_views_maps)")
    print(f"  ratio {names[1]} / {names[0]}: {cpu[1] / cpu[0]:.3f}")
    map_diff = prob_diff = 0
    for (pa, ma), (pb, mb) in zip(results[0], results[1], strict=True):
        for a, b, x, y in zip(pa, pb, ma, mb, strict=True):
            prob_diff = max(prob_diff, max(abs(a.class_probs[k] - b.class_probs[k])
                                           for k in a.class_probs))
            pairs = [(x.cell_class, y.cell_class)]
            if x.vacuole is not None or y.vacuole is not None:
                if x.vacuole is None or y.vacuole is None:
                    sys.exit("one model made a vacuole map the other did not")
                pairs.append((x.vacuole, y.vacuole))
            for u, v in pairs:
                map_diff = max(map_diff, int(np.abs(u.values.astype(int)
                                                    - v.values.astype(int)).max()))
    print(f"  largest difference: class probability {prob_diff:.2e}, "
          f"map value {map_diff} of 255")


if __name__ == "__main__":
    main()
