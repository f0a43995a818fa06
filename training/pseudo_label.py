"""Pseudo-labelled white cells from other laboratories' smear fields, for self-training.

TXL-PBC's fields come from four sources (Raabin-WBC, BCCD, BCD and PBC); their white cells
are boxed but not classified. This cuts the white cells of the *training* fields of the
sources other than PBC (domain_eval measures on the test and validation fields), lets a
teacher model (a model folder with its card) classify them through the runtime, and keeps
those whose class is one of the five that every source shows, with a calibrated probability
of at least ``--min-prob``. It writes the crops and a ``labels.csv`` (path, class, source,
prob) that ``train_cells --extra-labelled DIR`` reads like LISC's (class only: no subtype
beyond what the class fixes, no attributes).

    python -m training.pseudo_label --teacher models_onnx/hemaclinic-cells/2.0.0 \\
        --out evaluation/pseudo-txl-2.0.0

A teacher trained on LISC passes what it learnt from LISC on to the labels: for a
leave-LISC-out measurement, take a teacher that never saw LISC (2.0.0).
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import Counter
from pathlib import Path

from PIL import Image

from apps.ml.cards import load_card
from apps.ml.cells import CellModel, to_tensor
from training.data import default_datasets_dir, txl_white_cell_boxes, txl_white_cell_crop

FIVE = ("neutrophil", "lymphocyte", "monocyte", "eosinophil", "basophil")


def pseudo_labels(model: CellModel, crops: list[Image.Image], min_prob: float,
                  batch_size: int = 32) -> list[tuple[str, float] | None]:
    """Per crop, (class, probability) when the teacher gives one of FIVE with at least
    ``min_prob``; else None."""
    spec = model.card.input
    out: list[tuple[str, float] | None] = []
    for i in range(0, len(crops), batch_size):
        views = [model.view(c) for c in crops[i : i + batch_size]]
        preds, _ = model.predict_batch(to_tensor([v for v, _ in views], spec.mean, spec.std),
                                       views=[code for _, code in views])
        out.extend((p.cell_class, p.cell_class_prob)
                   if p.cell_class in FIVE and p.cell_class_prob >= min_prob else None
                   for p in preds)
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--teacher", type=Path, required=True, help="a model folder (with card)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--datasets", type=Path, default=default_datasets_dir())
    p.add_argument("--min-prob", type=float, default=0.9)
    p.add_argument("--sources", nargs="+", default=["Raabin-WBC", "BCCD", "BCD"])
    args = p.parse_args(argv)

    model = CellModel(load_card(args.teacher))
    boxes = txl_white_cell_boxes(args.datasets / "txl_pbc", ("train",))
    crops, names, sources = [], [], []
    fields: dict[Path, Image.Image] = {}
    for k, (img, box) in enumerate(boxes):
        if img not in fields:
            with Image.open(img) as im:
                fields = {img: im.convert("RGB")}
        crop, source = txl_white_cell_crop(fields[img], box)
        if source in args.sources:
            crops.append(crop)
            names.append(f"{source}_{img.stem}_{k}.png")
            sources.append(source)
    labels = pseudo_labels(model, crops, args.min_prob)
    rows = []
    for crop, name, source, label in zip(crops, names, sources, labels, strict=True):
        if label is None:
            continue
        cls, prob = label
        (args.out / cls).mkdir(parents=True, exist_ok=True)
        crop.save(args.out / cls / name)
        rows.append({"path": f"{cls}/{name}", "class": cls, "source": source,
                     "prob": f"{prob:.4f}"})
    with (args.out / "labels.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["path", "class", "source", "prob"])
        w.writeheader()
        w.writerows(rows)
    summary = {
        "teacher": f"{model.card.name}/{model.card.version}", "min_prob": args.min_prob,
        "crops": dict(Counter(sources)), "kept": dict(Counter(r["source"] for r in rows)),
        "classes": {s: dict(Counter(r["class"] for r in rows if r["source"] == s))
                    for s in args.sources},
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
