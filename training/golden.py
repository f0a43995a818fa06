"""Print golden values for tests/ml from the training-side code paths.

    python -m training.golden --out models_onnx/hemaclinic-cells/1.0.0

Picks, per listed class, the first test-split image (sorted by path) that the
model classifies correctly with probability > 0.9, and prints preprocessing
values (training.data.load_view_image: the card's resize rule, + training normalisation) and model
outputs (onnxruntime on that tensor, card temperatures) as Python literals.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from training.data import default_datasets_dir, load_view_image, read_labels, read_split_csv
from training.export_onnx import INPUT_NAME, normalize_np
from training.metrics import softmax

PICK = (("neutrophil", "SNE"), ("eosinophil", "EO"), ("platelet", "PLATELET"),
        ("lymphocyte", "LY"))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--datasets", type=Path, default=default_datasets_dir())
    args = p.parse_args(argv)
    import onnxruntime as ort

    card = json.loads((args.out / "card.json").read_text())
    size = card["input"]["height"]
    mean, std = card["input"]["mean"], card["input"]["std"]
    heads = card["outputs"]["heads"]
    resize = card["input"]["resize"]
    view = resize if resize["rule"] == "canonical_nucleus_v1" else None
    sess = ort.InferenceSession(str(args.out / "model.onnx"), providers=["CPUExecutionProvider"])
    pbc = args.datasets / "pbc"
    labels = {s.path: s for s in read_labels(pbc / "labels.csv")}
    test = sorted(r[0] for r in read_split_csv(args.out / "split.csv") if r[2] == "test")
    pre, outs = {}, {}
    for cls, prefix in PICK:
        for rel in test:
            s = labels[rel]
            if s.cell_class != cls or s.prefix != prefix:
                continue
            img = load_view_image(pbc / rel, size, view)
            x = normalize_np(img[None], mean, std)
            res = sess.run([h["output"] for h in heads], {INPUT_NAME: x})
            probs = {h["name"]: softmax(r, h["temperature"])[0] for h, r in zip(heads, res,
                                                                                 strict=True)}
            top = {h["name"]: (h["labels"][int(probs[h["name"]].argmax())],
                               round(float(probs[h["name"]].max()), 4)) for h in heads}
            if top["cell_class"][0] != cls or top["cell_class"][1] <= 0.9:
                continue
            pre[rel] = (tuple(int(v) for v in img[10, 20]), tuple(int(v) for v in img[96, 96]),
                        tuple(round(float(v), 5) for v in x[0].mean(axis=(1, 2))))
            outs[rel] = top
            break
    print("GOLDEN =", repr(pre))
    print("GOLDEN_OUTPUTS =", repr(outs))


if __name__ == "__main__":
    main()
