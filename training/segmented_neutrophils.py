"""Neutrophils cut out on black, as research groups publish segmented cells: recognised?

    .venv/bin/python -m training.segmented_neutrophils [--model models_onnx/hemaclinic-cells/2.1.3]

Every cell is a neutrophil (segmented or band) of the model's own PBC test split (never trained
on), shown as it is, cut out on black (``domain_eval``'s black-background shift: a disc around
the nucleus kept), and cut out on black after the cell was made to fill the frame (x1.5, x2)
and the result brought down to 120 px. Prints, per presentation, the share still called
neutrophil, the share the domain check flags, and the wrong answers above p 0.9 it leaves
unflagged. A proxy for other laboratories' segmented neutrophils in PBC's own stain: it says
whether the cut-out and the scale cost recognition, not what another stain does.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from apps.ml.cells import CellModel, default_model_dir
from apps.ml.score_cells import open_image
from training.data import default_datasets_dir, read_labels, read_split_csv
from training.domain_eval import _black_background, _shorter, _zoom

REPO = Path(__file__).resolve().parent.parent
CONFIDENT = 0.9

PRESENTATIONS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "as exported": lambda im: im,
    "cut out on black": _black_background,
    "cell fills the frame x1.5, cut out on black": lambda im: _black_background(_zoom(1.5)(im)),
    "cell fills the frame x2, cut out on black": lambda im: _black_background(_zoom(2)(im)),
    "x1.5, cut out on black, 120 px": lambda im: _shorter(120)(_black_background(_zoom(1.5)(im))),
}


def measure(model: CellModel, datasets: Path, limit: int = 0) -> dict[str, dict[str, float]]:
    """Per presentation: n, share called neutrophil, share flagged, confident wrong unflagged."""
    pbc = datasets / "pbc"
    by_path = {s.path: s for s in read_labels(pbc / "labels.csv")}
    rows = [r[0] for r in read_split_csv(model.card.directory / "split.csv")
            if r[2] == "test" and by_path[r[0]].cell_class == "neutrophil"]
    images = [open_image(pbc / r).convert("RGB") for r in rows[: limit or None]]
    out: dict[str, dict[str, float]] = {}
    for name, present in PRESENTATIONS.items():
        preds = model.predict([present(im) for im in images])
        wrong = [p for p in preds if p.cell_class != "neutrophil"]
        out[name] = {
            "n": len(preds),
            "neutrophil": sum(p.cell_class == "neutrophil" for p in preds) / len(preds),
            "flagged": sum(p.in_domain is False for p in preds) / len(preds),
            "confident_wrong_not_flagged": sum(p.cell_class_prob > CONFIDENT
                                               and p.in_domain is not False for p in wrong),
        }
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", type=Path, default=None,
                   help="model folder (default: the registered cell model)")
    p.add_argument("--datasets", type=Path, default=default_datasets_dir())
    p.add_argument("--limit", type=int, default=0, help="at most this many cells (smoke test)")
    args = p.parse_args(argv)
    model_dir = args.model or default_model_dir(REPO / "models_onnx")
    if model_dir is None:
        p.error("no cell model registered")
    model = CellModel.from_dir(model_dir, threads=2)
    print(f"{model.card.name} {model.card.version}: PBC test-split neutrophils")
    for name, r in measure(model, args.datasets, args.limit).items():
        print(f"  {name}: {r['neutrophil']:.1%} of {r['n']} called neutrophil, "
              f"{r['flagged']:.1%} flagged, {r['confident_wrong_not_flagged']} wrong with "
              f"p > {CONFIDENT} and not flagged")


if __name__ == "__main__":
    main()
