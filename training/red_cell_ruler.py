"""Could the red cells be the canonical view's ruler? Their size, measured as the view would.

    .venv/bin/python -m training.red_cell_ruler [--per-class 80] [--lisc 400]

A red cell is about 7.5 um across on every slide, so scaling a view by its red cells rather
than by the white cell's nucleus (``apps.ml.canonical``) would keep a cell's true size (a
small lymphocyte against a large monocyte) across microscopes. That needs the red cells
measured reliably in every stain. This measures, on PBC (the training lab) and on LISC
(another stain), per white-cell class: the nucleus' RMS radius as the canonical view finds it
and the red cells' radius from the red-cell mask the colour balance uses
(``apps.ml.colour.red_cells``): the median, over the red-cell regions not cut by the image's
edge, of the largest disc inside each (a touching pair still holds one red cell's disc). A
ruler that holds gives the same red-cell radius whatever the white cell, and the same ratio
nucleus / red cell per class in both labs.

It only reports; nothing here chooses or changes a model.
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from apps.ml.canonical import ViewParams, _locate, as_rgb
from apps.ml.colour import red_cells
from training.data import default_datasets_dir

CLASSES = ("neutrophil", "lymphocyte", "monocyte", "eosinophil", "basophil")
MIN_DISC = 3.0  # analysis-copy pixels: a smaller region is a fragment, not a red cell


def red_cell_radius(image: Image.Image) -> float | None:
    """The red cells' radius in image pixels, or None when none is found whole."""
    found = red_cells(image)
    if found is None:
        return None
    h, w = found.shape
    mask = ndimage.binary_fill_holes(ndimage.binary_opening(found.mask.reshape(h, w)))
    labels, n = ndimage.label(mask)
    if n == 0:
        return None
    discs = ndimage.maximum(ndimage.distance_transform_edt(mask), labels, np.arange(1, n + 1))
    whole = [d for d, box in zip(discs, ndimage.find_objects(labels), strict=True)
             if box[0].start > 0 and box[1].start > 0 and box[0].stop < h and box[1].stop < w
             and d >= MIN_DISC]
    return float(np.median(whole)) / found.scale if whole else None


def measure(path: Path) -> tuple[float, float | None]:
    """(nucleus RMS radius, red-cell radius), both in image pixels."""
    image = as_rgb(Image.open(path))
    k, (_reason, _centre, spread, _area) = _locate(image, ViewParams())
    return spread / k, red_cell_radius(image)


def summary(rows: list[tuple[float, float | None]]) -> dict[str, float]:
    nucleus = np.array([a for a, _b in rows])
    red = np.array([np.nan if b is None else b for _a, b in rows])
    ratio = nucleus / red
    return {"n": len(rows), "nucleus_px": float(np.median(nucleus)),
            "red_cell_px": float(np.nanmedian(red)),
            "red_cell_px_iqr": (float(np.nanpercentile(red, 25)), float(np.nanpercentile(red, 75))),
            "found": float(np.mean(~np.isnan(red))), "ratio": float(np.nanmedian(ratio))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--datasets", type=Path, default=default_datasets_dir())
    p.add_argument("--per-class", type=int, default=80, help="PBC images per class")
    p.add_argument("--lisc", type=int, default=400, help="LISC images (all classes)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    rng = random.Random(args.seed)
    groups: dict[tuple[str, str], list[tuple[float, float | None]]] = {}
    for cls in CLASSES:
        files = sorted((args.datasets / "pbc" / cls).glob("*.jpg"))
        for f in rng.sample(files, min(args.per_class, len(files))):
            groups.setdefault(("pbc", cls), []).append(measure(f))
    lisc = args.datasets / "lisc"
    with (lisc / "labels.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rng.sample(rows, min(args.lisc, len(rows))):
        groups.setdefault(("lisc", row["class"]), []).append(measure(lisc / row["path"]))
    print("source  class       n  nucleus px  red cell px (IQR)     found  nucleus/red cell")
    for (source, cls), measured in sorted(groups.items()):
        s = summary(measured)
        lo, hi = s["red_cell_px_iqr"]
        print(f"{source:6}  {cls:10} {s['n']:3}  {s['nucleus_px']:10.1f}  {s['red_cell_px']:5.1f} "
              f"({lo:4.1f}-{hi:4.1f})  {100 * s['found']:5.0f}%  {s['ratio']:.2f}")


if __name__ == "__main__":
    main()
