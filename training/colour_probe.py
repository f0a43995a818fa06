"""What LISC's colours cost a model that never saw LISC, and what a colour correction made at
test time gives back.

    .venv/bin/python -m training.colour_probe [--model models_onnx/hemaclinic-cells/2.0.0]

For a model trained without LISC (2.0.0: PBC only), the 5-class accuracy on all of LISC and the
cell-class accuracy on 600 PBC validation cells (so that a correction which costs PBC shows),
the source image handed to the model (canonical view included):
- as it is; in grey; with its hue turned by +-30 degrees;
- stain-normalised to PBC, image by image: Reinhard (mean and deviation in Lab) and Macenko
  (two stain vectors from optical density), torchstain's implementations, fitted on a mosaic
  of 64 PBC training views;
- white-balanced on its red cells (apps.ml.colour.balance): each channel scaled so that the
  view's red-cell colour becomes the median red-cell colour of 300 PBC training views; and the
  same balance on the whole image before the view is cut (the nucleus then found on balanced
  colours).
And LISC's accuracy as it is, per quarter of its images' red-cell tint (blue minus red of the
red-cell colour): whether the errors follow the colour of the slide.

It only reports: LISC is the held-out domain, and nothing here chooses or changes a model.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from apps.ml.cells import CellModel, softmax, to_tensor
from apps.ml.colour import balance, red_cell_colour, reference_colour
from training.data import default_datasets_dir, read_labels, read_split_csv
from training.domain_eval import _hue, load

REPO = Path(__file__).resolve().parent.parent


def red_cell_balance(reference: tuple[float, float, float]
                     ) -> Callable[[Image.Image], Image.Image]:
    return lambda im: Image.fromarray(balance(np.asarray(im.convert("RGB")), reference))


def tint(rgb: np.ndarray) -> float | None:
    """Blue minus red of the red-cell colour (PBC's pink red cells are negative)."""
    found = red_cell_colour(rgb)
    return None if found is None else float(found[1][2] - found[1][0])


def _grey(im: Image.Image) -> Image.Image:
    return im.convert("L").convert("RGB")


def _torchstain(kind: str, target: np.ndarray) -> Callable[[Image.Image], Image.Image]:
    from torchstain.numpy.normalizers import NumpyMacenkoNormalizer, NumpyReinhardNormalizer

    norm = NumpyMacenkoNormalizer() if kind == "macenko" else NumpyReinhardNormalizer()
    norm.fit(target)

    def normalise(im: Image.Image) -> Image.Image:
        rgb = np.asarray(im.convert("RGB"))
        try:
            out = (norm.normalize(I=rgb, stains=False)[0] if kind == "macenko"
                   else norm.normalize(rgb))
        except (np.linalg.LinAlgError, ValueError):  # too few stained pixels to fit
            return im
        return Image.fromarray(np.asarray(out, dtype=np.uint8))
    return normalise


def views(model: CellModel, images: list[Image.Image]) -> list[Image.Image]:
    return [model.view(im)[0] for im in images]


def accuracy(model: CellModel, views: list[Image.Image], labels: list[str]
             ) -> tuple[float, dict[str, float]]:
    """Cell-class accuracy on the model's views, overall and per true class."""
    classes = list(model.card.head("cell_class").labels)
    spec = model.card.input
    probs = []
    for i in range(0, len(views), 64):
        logits, _ = model.run(to_tensor(views[i : i + 64], spec.mean, spec.std))
        probs.append(softmax(logits["cell_class"]))
    pred = np.array([classes[i] for i in np.concatenate(probs).argmax(1)])
    truth = np.array(labels)
    return float((pred == truth).mean()), {
        c: float((pred[truth == c] == c).mean()) for c in sorted(set(labels))}


def measure(model: CellModel, datasets: Path, pbc_cells: int = 600, limit: int = 0,
            seed: int = 0) -> dict:
    pbc = datasets / "pbc"
    by_path = {s.path: s for s in read_labels(pbc / "labels.csv")}
    rows = read_split_csv(model.card.directory / "split.csv")
    rng = random.Random(seed)
    val = rng.sample(sorted(r[0] for r in rows if r[2] == "val"), pbc_cells)
    train = rng.sample(sorted(r[0] for r in rows if r[2] == "train"), 300)
    lisc_rows = list(csv.DictReader((datasets / "lisc" / "labels.csv").open()))
    if limit:
        lisc_rows, val, train = lisc_rows[:: max(1, len(lisc_rows) // limit)], val[:limit], \
            train[:limit]
    lisc_images = [load(datasets / "lisc" / r["path"]) for r in lisc_rows]
    lisc = views(model, lisc_images)
    lisc_labels = [r["class"] for r in lisc_rows]
    pbc_images = [load(pbc / p) for p in val]
    pbc_views = views(model, pbc_images)
    pbc_labels = [by_path[p].cell_class for p in val]
    train_views = views(model, [load(pbc / p) for p in train])
    reference = reference_colour([np.asarray(v) for v in train_views])
    mosaic = np.concatenate([np.asarray(v) for v in train_views[:64]])
    corrections: dict[str, Callable[[Image.Image], Image.Image]] = {
        "as it is": lambda im: im,
        "grey": _grey,
        "hue +30 deg": _hue(30),
        "hue -30 deg": _hue(-30),
        "Reinhard to PBC, per image": _torchstain("reinhard", mosaic),
        "Macenko to PBC, per image": _torchstain("macenko", mosaic),
        "white balance on the red cells": red_cell_balance(reference),
    }
    out: dict = {"model": f"{model.card.name} {model.card.version}",
                 "pbc_red_cell_colour": list(reference),
                 "corrections": {}}
    for name, correct in corrections.items():
        lisc_acc, per_class = accuracy(model, [correct(im) for im in lisc], lisc_labels)
        pbc_acc, _ = accuracy(model, [correct(v) for v in pbc_views], pbc_labels)
        out["corrections"][name] = {"lisc": lisc_acc, "lisc_per_class": per_class,
                                    "pbc_validation": pbc_acc}
    # The same balance on the whole image before the view is cut: the nucleus is then found
    # on balanced colours too (bluish red cells no longer pass for nucleus).
    balanced = red_cell_balance(reference)
    lisc_acc, per_class = accuracy(model, views(model, [balanced(im) for im in lisc_images]),
                                   lisc_labels)
    pbc_acc, _ = accuracy(model, views(model, [balanced(im) for im in pbc_images]), pbc_labels)
    out["corrections"]["white balance on the red cells, before the view"] = {
        "lisc": lisc_acc, "lisc_per_class": per_class, "pbc_validation": pbc_acc}
    tints = [tint(np.asarray(im)) for im in lisc_images]
    known = [i for i, t in enumerate(tints) if t is not None]
    edges = np.quantile([tints[i] for i in known], [0.25, 0.5, 0.75])
    bins = np.digitize([tints[i] for i in known], edges)
    out["lisc_by_red_cell_tint"] = []
    for b in range(4):
        idx = [i for i, k in zip(known, bins, strict=True) if k == b]
        acc, per_class = accuracy(model, [lisc[i] for i in idx], [lisc_labels[i] for i in idx])
        lo = "-inf" if b == 0 else f"{edges[b - 1]:.1f}"
        hi = "inf" if b == 3 else f"{edges[b]:.1f}"
        out["lisc_by_red_cell_tint"].append({"tint": f"{lo} to {hi}", "n": len(idx),
                                             "accuracy": acc, "per_class": per_class})
    out["lisc_images"] = len(lisc)
    out["lisc_no_red_cells"] = len(lisc) - len(known)
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", type=Path, default=REPO / "models_onnx/hemaclinic-cells/2.0.0")
    p.add_argument("--datasets", type=Path, default=default_datasets_dir())
    p.add_argument("--out", type=Path, default=None, help="also write the figures as JSON")
    p.add_argument("--limit", type=int, default=0, help="smoke test: images per set")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    model = CellModel.from_dir(args.model, threads=args.threads)
    res = measure(model, args.datasets, pbc_cells=min(600, args.limit or 600), limit=args.limit)
    n_lisc = sum(b["n"] for b in res["lisc_by_red_cell_tint"]) + res["lisc_no_red_cells"]
    print(f"{res['model']}: LISC (5 classes, n={n_lisc}) and PBC validation, by test-time "
          "correction")
    for name, r in res["corrections"].items():
        per = ", ".join(f"{c} {v:.0%}" for c, v in r["lisc_per_class"].items())
        print(f"  {name:34s} LISC {r['lisc']:.1%} ({per}); PBC {r['pbc_validation']:.1%}")
    print("LISC as it is, by red-cell tint (blue - red; PBC's red cells "
          f"{res['pbc_red_cell_colour']}):")
    for b in res["lisc_by_red_cell_tint"]:
        per = ", ".join(f"{c} {v:.0%}" for c, v in b["per_class"].items())
        print(f"  tint {b['tint']:>14s}: n={b['n']:4d} {b['accuracy']:.1%} ({per})")
    if args.out:
        args.out.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
