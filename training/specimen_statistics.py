"""What per-specimen test-time statistics give a model that never saw LISC: its BatchNorm
statistics recomputed on the cells of one smear (AdaBN, Li et al. 2016), since a smear gives
100+ cells from one slide and one stain.

    .venv/bin/python -m training.specimen_statistics [--model models_onnx/hemaclinic-cells/2.0.0]

The model's checkpoint (trained without LISC; 2.0.0 by default, PBC only) is run in PyTorch on
the views of the registered model's canonical view (``--view``, red-cell balance included).
Specimens are drawn with replacement as a blood smear's 100 white cells would be: LISC with a
normal adult differential (neutrophils 60, lymphocytes 30, monocytes 6, eosinophils 3,
basophils 1, so that its 5-class accuracy is what a differential would see) and PBC test cells
with the same differential plus immature granulocytes, erythroblasts and platelets, so that a
cost on the training lab's own smears shows. Every variant is scored on the same specimens as
the model as it is:
- ``as it is``: the training statistics;
- ``all layers``: every BatchNorm's statistics those of the specimen (one pass, each layer
  normalised on the specimen's own outputs of the layers before);
- ``blend 0.6``: 60% the training statistics, 40% the specimen's (a prior, as in Schneider et
  al. 2020);
- ``first N layers``: only the first N BatchNorm layers (the stain-level ones) adapted;
- ``first 10 layers, stain outside``: the same, only for a specimen whose stain the ``--view``
  card's domain check puts outside (more than its specimen share of cells with a stain unlike
  the training slides'); a specimen inside keeps the training statistics.

``--shift NAME`` (repeatable; ``training.domain_eval.SHIFTS``) adds specimens of PBC
validation cells with that shift applied to every image, as a whole smear restained or
magnified: where the stain gate fires on a shift the model already reads, what it costs.

It only reports: nothing here chooses or changes a model (LISC is the held-out domain).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from apps.ml.cells import CellModel, to_tensor
from training.data import default_datasets_dir, read_labels, read_split_csv
from training.domain_eval import SHIFTS, load
from training.model import MultiHeadNet

REPO = Path(__file__).resolve().parent.parent
NORMAL_DIFFERENTIAL = {"neutrophil": 60, "lymphocyte": 30, "monocyte": 6, "eosinophil": 3,
                       "basophil": 1}
PBC_EXTRA = {"ig": 1, "erythroblast": 0.5, "platelet": 0.5}


def specimens(labels: np.ndarray, share: Mapping[str, float], cells: int, draws: int,
              seed: int) -> list[np.ndarray]:
    """Indices of ``draws`` specimens of ``cells`` cells drawn with replacement, the classes in
    the proportions of ``share`` (a class absent from ``labels`` is not drawn)."""
    rng = np.random.default_rng(seed)
    classes = [c for c in sorted(share) if (labels == c).any()]
    p = np.array([share[c] for c in classes], float)
    by_class = {c: np.flatnonzero(labels == c) for c in classes}
    out = []
    for _ in range(draws):
        counts = rng.multinomial(cells, p / p.sum())
        out.append(np.concatenate([rng.choice(by_class[c], k) for c, k in
                                   zip(classes, counts, strict=True)]))
    return out


def _stat(t: torch.Tensor | None) -> torch.Tensor:
    assert t is not None, "BatchNorm layers keep running statistics"
    return t


class Adapter:
    """The checkpoint with its BatchNorm statistics switchable to a specimen's."""

    def __init__(self, net: MultiHeadNet, classes: list[str]) -> None:
        self.net, self.classes = net.eval(), np.array(classes)
        self.bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
        self.source = [(_stat(m.running_mean).clone(), _stat(m.running_var).clone())
                       for m in self.bns]

    def reset(self) -> None:
        for m, (mu, var) in zip(self.bns, self.source, strict=True):
            _stat(m.running_mean).copy_(mu)
            _stat(m.running_var).copy_(var)
            m.eval()

    def adapt(self, x: np.ndarray, *, prior: float = 0.0, layers: int | None = None) -> None:
        """Statistics of ``x`` (one batch) in the first ``layers`` BatchNorms (all: None),
        blended with the training ones by ``prior``."""
        self.reset()
        targets = self.bns if layers is None else self.bns[:layers]
        for m in targets:
            m.reset_running_stats()
            m.momentum = None  # a cumulative average: one batch gives its exact statistics
            m.train()
        with torch.no_grad():
            self.net(torch.from_numpy(x))
        for m, (mu, var) in zip(targets, self.source, strict=False):
            _stat(m.running_mean).mul_(1 - prior).add_(prior * mu)
            _stat(m.running_var).mul_(1 - prior).add_(prior * var)
            m.eval()

    def predict(self, x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            logits = [self.net(torch.from_numpy(x[i: i + 128]))[0].numpy()
                      for i in range(0, len(x), 128)]
        return self.classes[np.concatenate(logits).argmax(1)]


VARIANTS: dict[str, dict] = {
    "as it is": {},
    "all layers": {"prior": 0.0},
    "blend 0.6": {"prior": 0.6},
    "first 20 layers": {"prior": 0.0, "layers": 20},
    "first 10 layers": {"prior": 0.0, "layers": 10},
    "first 10 layers, stain outside": {"prior": 0.0, "layers": 10, "gated": True},
}


def measure(model_dir: Path, view_dir: Path, datasets: Path, draws: int, pbc_cells: int,
            seed: int, variants: list[str] | None = None,
            shifts: Sequence[str] = ()) -> dict:
    card_model = CellModel.from_dir(model_dir)
    viewer = CellModel.from_dir(view_dir)
    heads = [(h.name, len(h.labels)) for h in card_model.card.heads]
    net = MultiHeadNet(heads)
    net.load_state_dict(torch.load(model_dir / "checkpoint.pt", map_location="cpu",
                                   weights_only=True))
    adapter = Adapter(net, list(card_model.card.head("cell_class").labels))
    spec = card_model.card.input

    guard = viewer.guard()
    if guard is None or guard.stain is None or viewer.card.domain is None:
        raise SystemExit(f"{view_dir} has no stain check to gate on")
    max_outside, stain_check = viewer.card.domain.specimen_max_outside, guard.stain

    def tensors(images: list) -> tuple[np.ndarray, np.ndarray]:
        """The views as the network's input, and whether each view's stain is outside."""
        prepared = [viewer.prepare(im) for im in images]
        stains = np.stack([np.asarray(m.stain) for m in prepared])
        return (to_tensor([m.image for m in prepared], spec.mean, spec.std),
                stain_check.scores(stains) > 1.0)

    lisc_rows = list(csv.DictReader((datasets / "lisc" / "labels.csv").open()))
    lisc_x, lisc_stain = tensors([load(datasets / "lisc" / r["path"]) for r in lisc_rows])
    lisc_y = np.array([r["class"] for r in lisc_rows])
    by_path = {s.path: s for s in read_labels(datasets / "pbc" / "labels.csv")}
    test = sorted(r[0] for r in read_split_csv(model_dir / "split.csv") if r[2] == "test")
    test = random.Random(seed).sample(test, min(pbc_cells, len(test)))
    pbc_x, pbc_stain = tensors([load(datasets / "pbc" / p) for p in test])
    pbc_y = np.array([by_path[p].cell_class for p in test])
    sets = {"LISC": (lisc_x, lisc_y, lisc_stain,
                     specimens(lisc_y, NORMAL_DIFFERENTIAL, 100, draws, seed)),
            "PBC test": (pbc_x, pbc_y, pbc_stain,
                         specimens(pbc_y, {**NORMAL_DIFFERENTIAL, **PBC_EXTRA}, 100, draws,
                                   seed + 1))}
    # Validation cells with one shift applied to every image of a specimen: the stain gate may
    # fire on a shift the model already reads (hue), where the statistics can only cost.
    val = sorted(r[0] for r in read_split_csv(model_dir / "split.csv") if r[2] == "val")
    val = random.Random(seed).sample(val, min(pbc_cells, len(val)))
    val_y = np.array([by_path[p].cell_class for p in val])
    for shift in shifts:
        x, stain_out = tensors([SHIFTS[shift](load(datasets / "pbc" / p)) for p in val])
        sets[f"PBC val, {shift}"] = (x, val_y, stain_out, specimens(
            val_y, {**NORMAL_DIFFERENTIAL, **PBC_EXTRA}, 100, draws, seed + 2))
    out: dict = {"model": f"{card_model.card.name} {card_model.card.version}",
                 "view": f"{viewer.card.name} {viewer.card.version}", "specimens": draws,
                 "cells_per_specimen": 100, "variants": {}}
    only = [v for v in VARIANTS if not variants or v in variants]
    for name in only:
        how = VARIANTS[name]
        row = {}
        for label, (x, y, stain_out, draws_idx) in sets.items():
            acc, adapted = [], 0
            for idx in draws_idx:
                how_now = {k: v for k, v in how.items() if k != "gated"}
                if how.get("gated") and stain_out[idx].mean() <= max_outside:
                    how_now = {}
                if how_now:
                    adapter.adapt(x[idx], **how_now)
                    adapted += 1
                else:
                    adapter.reset()
                acc.append(float((adapter.predict(x[idx]) == y[idx]).mean()))
            row[label] = {"mean": float(np.mean(acc)), "min": float(np.min(acc)),
                          "adapted": adapted}
        out["variants"][name] = row
        print(f"  {name:16s} " + "; ".join(
            f"{k} {v['mean']:.1%} (worst specimen {v['min']:.0%}, adapted {v['adapted']})"
            for k, v in row.items()),
            flush=True)
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", type=Path, default=REPO / "models_onnx/hemaclinic-cells/2.0.0")
    p.add_argument("--view", type=Path, default=REPO / "models_onnx/hemaclinic-cells/2.1.4",
                   help="the card whose canonical view (and colour balance) makes the inputs")
    p.add_argument("--datasets", type=Path, default=default_datasets_dir())
    p.add_argument("--specimens", type=int, default=8, help="specimens drawn per source")
    p.add_argument("--pbc-cells", type=int, default=1000, help="PBC test cells to draw from")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--variant", action="append", choices=list(VARIANTS), default=None,
                   help="only these variants (repeat; default all)")
    p.add_argument("--shift", action="append", choices=list(SHIFTS), default=[],
                   help="also specimens of validation cells under this shift (repeat)")
    p.add_argument("--out", type=Path, default=None, help="also write the figures as JSON")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"specimens of 100 cells, {args.specimens} per source, 5-class LISC / 8-class PBC:")
    res = measure(args.model, args.view, args.datasets, args.specimens, args.pbc_cells,
                  args.seed, args.variant, args.shift)
    if args.out:
        args.out.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
