"""A LISC split by original cell, for a held-out figure on a stain that was trained on.

LISC's 1,287 images are augmented copies (rotations, flips, shifts, black fill) of about 250
original cells, so a random split puts copies of one cell on both sides. This groups the
copies and splits the groups:

1. Pooled features of every LISC image through a model that never saw LISC (``--model``,
   2.0.0 by default), averaged over the eight quarter turns and flips of its view, so that a
   flipped or turned copy gets the same description; copies of one cell are near-identical
   there, different cells of one class far less.
2. Per class, the copies are the connected components of the pairs with cosine at least
   ``--link`` (single linkage: a chain of close copies is one cell, never two).
3. Per class, whole groups go to ``train`` or ``test`` (largest first, to the side that has
   fewer images relative to its share), so that each class keeps about ``--test-share``.

It writes ``lisc_split.csv`` (path, class, group, split) and ``lisc_split.json`` (the groups,
and the highest cosine between a test image and any train image of its class: what the
split leaks if anything).

    python -m training.lisc_groups --out evaluation/lisc-split

``train_cells --extra-lisc --lisc-split FILE`` then trains on the ``train`` side only, and
``domain_eval --trained-on-lisc --lisc-split FILE`` reports the ``test`` side as held out.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from apps.ml.cells import CellModel, to_tensor
from apps.ml.domain import pool_features
from training.data import REPO_ROOT, default_datasets_dir


def copy_groups(features: np.ndarray, link: float) -> np.ndarray:
    """Group index of each row: connected components of the pairs whose cosine is >= link."""
    f = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    close = (f @ f.T) >= link
    return connected_components(csr_matrix(close), directed=False)[1]


def split_groups(groups: np.ndarray, test_share: float) -> np.ndarray:
    """'train' or 'test' per row: whole groups, largest first, each to the side furthest
    below its target size (ties to train; the group number breaks size ties)."""
    sizes = np.bincount(groups)
    order = sorted(range(len(sizes)), key=lambda g: (-sizes[g], g))
    side = {}
    have = {"train": 0, "test": 0}
    target = {"train": 1.0 - test_share, "test": test_share}
    for g in order:
        if sizes[g] == 0:
            continue
        pick = min(("train", "test"), key=lambda s: (have[s] / target[s], s != "train"))
        side[g] = pick
        have[pick] += int(sizes[g])
    return np.array([side[g] for g in groups])


DIHEDRAL = (None, Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180,
            Image.Transpose.ROTATE_270, Image.Transpose.FLIP_LEFT_RIGHT,
            Image.Transpose.FLIP_TOP_BOTTOM, Image.Transpose.TRANSPOSE,
            Image.Transpose.TRANSVERSE)


def features_of(model: CellModel, images: list[Path], batch: int = 8) -> np.ndarray:
    """Pooled features of each image's view, averaged over its eight rotations by 90 degrees
    and flips: a flipped or quarter-turned copy of a cell gets the same description."""
    spec = model.card.input
    out = []
    for i in range(0, len(images), batch):
        views = []
        for p in images[i : i + batch]:
            with Image.open(p) as im:
                view = model.view(im.convert("RGB"))[0]
            views += [view if t is None else view.transpose(t) for t in DIHEDRAL]
        _, f = model.run(to_tensor(views, spec.mean, spec.std))
        pooled = pool_features(f)
        out.append(pooled.reshape(-1, len(DIHEDRAL), pooled.shape[1]).mean(axis=1))
    return np.concatenate(out)


def _shown(path: Path) -> str:
    """``path`` relative to the repository when inside it (as the cards name folders)."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--datasets", type=Path, default=default_datasets_dir())
    p.add_argument("--model", type=Path,
                   default=REPO_ROOT / "models_onnx" / "hemaclinic-cells" / "2.0.0")
    p.add_argument("--link", type=float, default=0.97)
    p.add_argument("--test-share", type=float, default=0.5)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)

    lisc = args.datasets / "lisc"
    with (lisc / "labels.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    model = CellModel.from_dir(args.model, threads=args.threads)
    feats = features_of(model, [lisc / r["path"] for r in rows])
    feats /= np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)
    group = np.zeros(len(rows), int)
    split = np.empty(len(rows), object)
    summary: dict[str, dict] = {}
    next_group = 0
    for cls in sorted({r["class"] for r in rows}):
        idx = np.array([i for i, r in enumerate(rows) if r["class"] == cls])
        g = copy_groups(feats[idx], args.link)
        s = split_groups(g, args.test_share)
        group[idx] = g + next_group
        split[idx] = s
        next_group += int(g.max()) + 1
        tr, te = idx[s == "train"], idx[s == "test"]
        leak = float((feats[te] @ feats[tr].T).max()) if len(tr) and len(te) else 0.0
        summary[cls] = {"images": len(idx), "groups": int(g.max()) + 1,
                        "largest_group": int(np.bincount(g).max()),
                        "train_images": len(tr), "test_images": len(te),
                        "max_test_train_cosine": round(leak, 4)}
        print(cls, json.dumps(summary[cls]), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "lisc_split.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "class", "group", "split"])
        for r, g, s in zip(rows, group, split, strict=True):
            w.writerow([r["path"], r["class"], int(g), s])
    (args.out / "lisc_split.json").write_text(json.dumps(
        {"model": _shown(args.model), "link": args.link, "test_share": args.test_share,
         "classes": summary}, indent=2) + "\n")


if __name__ == "__main__":
    main()
