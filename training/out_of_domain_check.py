"""The domain check as the worker runs it, on images the model must flag: 20 seconds, so that
every change can be checked against it (domain_eval measures the card's full set).

    .venv/bin/python -m training.out_of_domain_check [--model models_onnx/hemaclinic-cells/2.1.4]

Through ``CellModel.predict`` (the canonical view, the colour balance, the feature and stain
checks): the share of domain_eval's non-cell images flagged (TXL-PBC field crops away from
every white-cell box, flat colours, noise; the same seed), and of LISC's images (another
microscope and stain), with LISC's confident errors (a wrong class above 0.9) left unflagged.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from apps.ml.cells import CellModel
from training.data import default_datasets_dir
from training.domain_eval import load, non_cell_images

REPO = Path(__file__).resolve().parent.parent
SEED = 20261202  # domain_eval's default seed: the same non-cell images
FIELD_CROPS = 157  # the card's count of field crops (with 25 flat colours and 25 noise images)


def measure(model: CellModel, datasets: Path, *, fields: int = FIELD_CROPS,
            lisc_limit: int = 0) -> dict:
    non_cells = non_cell_images(datasets, fields, SEED)
    flagged = sum(p.in_domain is False for p in model.predict(non_cells))
    rows = list(csv.DictReader((datasets / "lisc" / "labels.csv").open()))
    if lisc_limit:
        rows = rows[:: max(1, len(rows) // lisc_limit)]
    lisc = model.predict([load(datasets / "lisc" / r["path"]) for r in rows])
    outside = [p.in_domain is False for p in lisc]
    confident_wrong = sum(1 for p, r, out in zip(lisc, rows, outside, strict=True)
                          if p.cell_class != r["class"] and p.cell_class_prob > 0.9 and not out)
    return {"non_cells": len(non_cells), "non_cells_flagged": flagged, "lisc": len(rows),
            "lisc_flagged": sum(outside), "lisc_confident_wrong_not_flagged": confident_wrong}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", type=Path, default=REPO / "models_onnx/hemaclinic-cells/2.1.4")
    p.add_argument("--datasets", type=Path, default=default_datasets_dir())
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    model = CellModel.from_dir(args.model, threads=args.threads)
    r = measure(model, args.datasets)
    print(f"{model.card.name} {model.card.version}:")
    print(f"  non-cell images flagged: {r['non_cells_flagged']} of {r['non_cells']} "
          f"({r['non_cells_flagged'] / r['non_cells']:.1%})")
    print(f"  LISC images flagged: {r['lisc_flagged']} of {r['lisc']} "
          f"({r['lisc_flagged'] / r['lisc']:.1%}); wrong above p 0.9 and not flagged: "
          f"{r['lisc_confident_wrong_not_flagged']}")


if __name__ == "__main__":
    main()
