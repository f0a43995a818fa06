"""What a smear's own statistics in the first BatchNorm layers give, applied as a runtime would
apply them, against the same model as it is. A measurement only: the app does not use them
(docs/training.md, "A smear's own BatchNorm statistics").

    .venv/bin/python -m training.derive_specimen_statistics \
        --source models_onnx/hemaclinic-cells/2.1.4 --out evaluation/cells-2.1.4-smear-statistics
    .venv/bin/python -m training.smear_statistics_check \
        --model evaluation/cells-2.1.4-smear-statistics --split val

The rule measured: a smear whose stain the model's domain check puts outside (more than the
card's ``specimen_max_outside`` of a sample of up to ``sample_cells`` images, spread over the
smear, with a stain unlike the training slides') is classified by the derived folder's
``adapted.onnx`` given the statistics its ``specimen_statistics.onnx`` measures on that
sample; any other smear by the model as it is. The domain check reads the network as it is,
so a smear's verdict is the same either way.

Smears are made of one source's images, each image in exactly one smear:
- ``LISC, all``: all of LISC shuffled into smears of 100 (LISC's own class mix), every image
  scored once: the figure to set beside ``domain_eval``'s leave-LISC-out accuracy;
- ``LISC, normal differential`` and ``PBC <split>, normal differential``: specimens of 100
  drawn as a smear's differential (``training.specimen_statistics.specimens``);
- ``PBC <split>, all``: the split shuffled into smears of 100 (``--split``: test or val);
- ``PBC <split>, <shift>``: the first ``--shift-smears`` of those smears with one of
  ``training.domain_eval.SHIFTS`` applied to every image (a whole smear magnified, restained,
  cut out on black...): where the rule adapts, what the statistics give or cost.
Per set: the cell-class accuracy as it is and under the rule, the smears adapted, and the
smears the domain check puts outside. It only reports; it chooses nothing.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from apps.ml.cells import CellModel, ModelView, stacked_stains, to_tensor
from apps.ml.domain import SPECIMEN_OUTSIDE, CellDomain, specimen_domain, specimen_domain_counts
from training.data import default_datasets_dir, read_labels, read_split_csv
from training.derive_specimen_statistics import _session
from training.domain_eval import SHIFTS, load
from training.specimen_statistics import NORMAL_DIFFERENTIAL, PBC_EXTRA, specimens

SMEAR_CELLS = 100


def shuffled_smears(n: int, seed: int, size: int = SMEAR_CELLS) -> list[np.ndarray]:
    """Every index of ``n`` in exactly one smear of about ``size`` (the last ones a little
    larger rather than one small smear)."""
    order = np.random.default_rng(seed).permutation(n)
    k = max(1, n // size)
    return [np.sort(part) for part in np.array_split(order, k)]


def spread(items: Sequence[Any], n: int) -> list[Any]:
    """At most ``n`` of ``items`` spread evenly over them, in order (an export lists its cells
    class by class)."""
    if len(items) <= n:
        return list(items)
    return [items[(k * len(items)) // n] for k in range(n)]


class Adapted:
    """A derived folder's two graphs and the rule."""

    def __init__(self, folder: Path, model: CellModel) -> None:
        spec = model.card.raw["specimen_statistics"]
        self.model, self.spec = model, spec
        self.measure = _session(folder / spec["file"])
        self.adapted = _session(folder / spec["adapted_file"])
        self.labels = np.array(model.card.head("cell_class").labels)

    def statistics(self, views: Sequence[ModelView]) -> tuple[np.ndarray, np.ndarray] | None:
        """The smear's statistics from a sample spread over it, when its stain is outside."""
        sample = spread(views, int(self.spec["sample_cells"]))
        guard, domain = self.model.guard(), self.model.card.domain
        stains = stacked_stains([v.stain for v in sample])
        if guard is None or guard.stain is None or domain is None or stains is None:
            return None
        outside = int((guard.stain.scores(stains) > 1.0).sum())
        if specimen_domain_counts(checked=len(sample), outside=outside,
                                  max_outside=domain.specimen_max_outside
                                  ).code != SPECIMEN_OUTSIDE:
            return None
        mean, var = self.measure.run([self.spec["mean_input"], self.spec["var_input"]],
                                     {self.model.card.input.name: self._batch(sample)})
        return mean, var

    def classes(self, views: Sequence[ModelView], stats: tuple[np.ndarray, np.ndarray]
                ) -> np.ndarray:
        head = self.model.card.head("cell_class").output
        (logits,) = self.adapted.run([head], {
            self.model.card.input.name: self._batch(views),
            self.spec["mean_input"]: stats[0], self.spec["var_input"]: stats[1]})
        return self.labels[logits.argmax(axis=1)]

    def _batch(self, views: Sequence[ModelView]) -> np.ndarray:
        spec = self.model.card.input
        return to_tensor([v.image for v in views], spec.mean, spec.std)


def score_smears(adapted: Adapted, views: Sequence[ModelView], labels: np.ndarray,
                 smears: list[np.ndarray]) -> dict:
    """Cell-class accuracy over all the smears' cells, as it is and under the rule."""
    model = adapted.model
    max_out = model.card.domain.specimen_max_outside if model.card.domain else None
    right_as_is = right_rule = cells = n_adapted = outside = 0
    worst = 1.0
    for idx in smears:
        smear = [views[i] for i in idx]
        plain = model.classify_views(smear).predictions
        as_is = np.array([p.cell_class for p in plain])
        stats = adapted.statistics(smear)
        rule = as_is if stats is None else adapted.classes(smear, stats)
        y = labels[idx]
        right_as_is += int((as_is == y).sum())
        right_rule += int((rule == y).sum())
        worst = min(worst, float((rule == y).mean()))
        cells += len(idx)
        n_adapted += stats is not None
        outside += specimen_domain(
            [None if p.domain is None else CellDomain(p.domain_score, p.domain) for p in plain],
            max_out).code == SPECIMEN_OUTSIDE
    return {"smears": len(smears), "cells": cells, "adapted": n_adapted,
            "accuracy_as_is": right_as_is / cells, "accuracy_rule": right_rule / cells,
            "worst_smear_rule": worst, "outside": outside}


def measure(model_dir: Path, datasets: Path, draws: int, seed: int, shift_smears: int,
            split: str = "test") -> dict:
    model = CellModel.from_dir(model_dir, threads=2)
    adapted = Adapted(model_dir, model)
    lisc_rows = list(csv.DictReader((datasets / "lisc" / "labels.csv").open()))
    lisc = [model.prepare(load(datasets / "lisc" / r["path"])) for r in lisc_rows]
    lisc_y = np.array([r["class"] for r in lisc_rows])
    by_path = {s.path: s for s in read_labels(datasets / "pbc" / "labels.csv")}
    test = sorted(r[0] for r in read_split_csv(model_dir / "split.csv") if r[2] == split)
    pbc = [model.prepare(load(datasets / "pbc" / p)) for p in test]
    pbc_y = np.array([by_path[p].cell_class for p in test])
    pbc_smears = shuffled_smears(len(pbc), seed)
    sets = {
        "LISC, all": (lisc, lisc_y, shuffled_smears(len(lisc), seed)),
        "LISC, normal differential": (lisc, lisc_y, specimens(
            lisc_y, NORMAL_DIFFERENTIAL, SMEAR_CELLS, draws, seed)),
        f"PBC {split}, all": (pbc, pbc_y, pbc_smears),
        f"PBC {split}, normal differential": (pbc, pbc_y, specimens(
            pbc_y, {**NORMAL_DIFFERENTIAL, **PBC_EXTRA}, SMEAR_CELLS, draws, seed + 1)),
    }
    some = np.concatenate(pbc_smears[:shift_smears])
    bounds = np.cumsum([0, *(len(idx) for idx in pbc_smears[:shift_smears])])
    for shift, change in SHIFTS.items():
        shifted = [model.prepare(change(load(datasets / "pbc" / test[i]))) for i in some]
        sets[f"PBC {split}, {shift}"] = (shifted, pbc_y[some], [
            np.arange(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)])
    out: dict = {"model": f"{model.card.name} {model.card.version}", "sets": {}}
    for name, (views, y, smears) in sets.items():
        row = score_smears(adapted, views, y, smears)
        out["sets"][name] = row
        print(f"  {name:42s} {row['accuracy_as_is']:.1%} as it is, {row['accuracy_rule']:.1%} "
              f"under the rule (worst smear {row['worst_smear_rule']:.0%}); "
              f"{row['adapted']} of {row['smears']} smears adapted, {row['outside']} outside",
              flush=True)
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--datasets", type=Path, default=default_datasets_dir())
    p.add_argument("--specimens", type=int, default=8, help="differential specimens per source")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", choices=["val", "test"], default="test",
                   help="the PBC split the smears are made of")
    p.add_argument("--shift-smears", type=int, default=3,
                   help="PBC test smears shifted, per shift")
    p.add_argument("--out", type=Path, default=None, help="also write the figures as JSON")
    args = p.parse_args(argv)
    print(f"smears of {SMEAR_CELLS} cells, cell-class accuracy:")
    res = measure(args.model, args.datasets, args.specimens, args.seed, args.shift_smears,
                  args.split)
    if args.out:
        args.out.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
