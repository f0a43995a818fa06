"""A model folder whose first BatchNorm layers can take a smear's own statistics, its weights
unchanged (AdaBN on the stain-level layers, ``training.specimen_statistics``), for measuring
that as a runtime would run it (``training.smear_statistics_check``). Not registered: on the
validation split it costs smears the model already reads (docs/training.md).

    python -m training.derive_specimen_statistics \
        --source models_onnx/hemaclinic-cells/2.1.4 --out evaluation/cells-2.1.4-smear-statistics

Builds the source network from its card and checkpoint.pt and writes into --out:
- model.onnx: the source's, byte for byte (what every smear inside the domain is run with);
- adapted.onnx: the same graph and outputs, with the statistics of its first ``--layers``
  BatchNorm layers (in network order) as two more inputs, ``specimen_mean`` and
  ``specimen_var`` (the layers' channels one after the other). Given the training statistics
  it is the source: checked here on every validation and test image of the split (the largest
  difference of any output but the ReLU6 masks, printed and kept in export.json, the run
  stopping above 1e-3 or at any image whose cell class moves; and the share of mask elements
  that rounding flipped);
- specimen_statistics.onnx: from a batch of views (one smear's), the mean and variance that
  those layers see, each layer normalised with the batch's own statistics of the layers before
  it (the statistics PyTorch's BatchNorm computes in training mode). Checked against PyTorch
  on LISC views: the statistics, and the logits the adapted network gives;
- cam16.onnx, heads.npz, split.csv, domain.npz, checkpoint.pt and the evaluation files copied
  from the source;
- card.json (the source's, with this version, these files, a ``specimen_statistics`` section
  saying when the check uses them, and a ``derived_from`` section) and README.md.

When to adapt is ``training.smear_statistics_check``'s rule: only for a smear whose stain the
domain check puts outside; the domain check reads the network as it is.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

from apps.ml.cards import sha256_file
from training.cam_graph import FEATURES16_NAME, WithStride16
from training.data import default_datasets_dir, load_view_image, read_split_csv
from training.derive_cam16 import MASK_NAMES, load_network
from training.export_onnx import INPUT_NAME, OPSET, normalize_np

MEAN_NAME = "specimen_mean"
VAR_NAME = "specimen_var"
GRAPH_FILE = "specimen_statistics.onnx"
ADAPTED_FILE = "adapted.onnx"
COPIED = ("model.onnx", "cam16.onnx", "heads.npz", "split.csv", "domain.npz", "checkpoint.pt",
          "metrics.json", "domain_eval.json", "robustness.png", "confusion_attributes.png",
          "confusion_cell_class.png", "confusion_subtype.png")
# The adapted graph's BatchNorms are not folded into their convolutions: another summation
# order than the source's, so a looser bound than a re-export's (1e-4), and no class may move.
MAX_DIFF = 1e-3
# Views a smear's statistics are measured on (spread over the smear).
SAMPLE_CELLS = 64


class _Holder:
    """The statistics a forward pass reads (fed) or writes (measured), by layer."""

    def __init__(self, layers: int) -> None:
        self.mean: torch.Tensor | None = None
        self.var: torch.Tensor | None = None
        self.measured: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * layers


class FedBatchNorm(nn.Module):
    """A BatchNorm normalising with channels ``offset`` to ``offset + C`` of the fed vectors."""

    def __init__(self, bn: nn.BatchNorm2d, holder: _Holder, offset: int) -> None:
        super().__init__()
        self.weight, self.bias, self.eps = bn.weight, bn.bias, bn.eps
        self.holder, self.offset, self.channels = holder, offset, bn.num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert self.holder.mean is not None and self.holder.var is not None
        end = self.offset + self.channels
        # Scale and shift on the (C,) vectors: two operations on the maps, not four.
        scale = self.weight * torch.rsqrt(self.holder.var[self.offset:end] + self.eps)
        shift = self.bias - self.holder.mean[self.offset:end] * scale
        return x * scale.view(1, -1, 1, 1) + shift.view(1, -1, 1, 1)


class MeasuredBatchNorm(nn.Module):
    """A BatchNorm normalising with the batch's own statistics, which it records."""

    def __init__(self, bn: nn.BatchNorm2d, holder: _Holder, index: int) -> None:
        super().__init__()
        self.weight, self.bias, self.eps = bn.weight, bn.bias, bn.eps
        self.holder, self.index = holder, index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.mean(dim=(0, 2, 3))
        v = ((x - m.view(1, -1, 1, 1)) ** 2).mean(dim=(0, 2, 3))
        self.holder.measured[self.index] = (m, v)
        return ((x - m.view(1, -1, 1, 1)) * torch.rsqrt(v.view(1, -1, 1, 1) + self.eps)
                * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1))


def first_batchnorms(net: nn.Module, layers: int) -> list[tuple[str, nn.BatchNorm2d]]:
    """The first ``layers`` BatchNorm layers in network order (registration order is the
    order they run in: the stem's, then each block's expansion, depthwise, projection)."""
    found = [(n, m) for n, m in net.named_modules() if isinstance(m, nn.BatchNorm2d)]
    if len(found) < layers:
        raise SystemExit(f"the network has {len(found)} BatchNorm layers, not {layers}")
    return found[:layers]


def _replace(net: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, leaf = name.rpartition(".")
    setattr(net.get_submodule(parent) if parent else net, leaf, module)


def training_statistics(net: nn.Module, layers: int) -> tuple[np.ndarray, np.ndarray]:
    """The source's statistics of those layers, as the two vectors (the inputs' defaults)."""
    bns = [bn for _, bn in first_batchnorms(net, layers)]
    return (np.concatenate([bn.running_mean.numpy() for bn in bns]).astype(np.float32),
            np.concatenate([bn.running_var.numpy() for bn in bns]).astype(np.float32))


def with_outputs(net: nn.Module, names: list[str]) -> nn.Module:
    """The network with the outputs the source's model.onnx has (``names``): with the
    stride-16 maps and the ReLU6 masks (training.derive_cam16), or the export's own."""
    if FEATURES16_NAME in names:
        return WithStride16(net, masks=names[-len(MASK_NAMES):] == MASK_NAMES)
    return net


class WithFedStatistics(nn.Module):
    """The network with the source's outputs, its first BatchNorm layers reading the two
    inputs."""

    def __init__(self, net: nn.Module, layers: int, names: list[str]) -> None:
        super().__init__()
        self.holder = _Holder(layers)
        offset = 0
        for name, bn in first_batchnorms(net, layers):
            _replace(net, name, FedBatchNorm(bn, self.holder, offset))
            offset += bn.num_features
        self.inner = with_outputs(net, names)
        self.eval()

    def forward(self, x: torch.Tensor, mean: torch.Tensor, var: torch.Tensor
                ) -> tuple[torch.Tensor, ...]:
        self.holder.mean, self.holder.var = mean, var
        return self.inner(x)  # type: ignore[no-any-return]


class SpecimenStatistics(nn.Module):
    """From a batch of views, the two vectors: each of the first BatchNorm layers' mean and
    (biased) variance over the batch, every layer normalised with the batch's own."""

    def __init__(self, net: nn.Module, layers: int) -> None:
        super().__init__()
        self.holder = _Holder(layers)
        names = []
        for k, (name, bn) in enumerate(first_batchnorms(net, layers)):
            _replace(net, name, MeasuredBatchNorm(bn, self.holder, k))
            names.append(name)
        # The blocks to run: up to the one holding the last adapted layer.
        last = names[-1].split(".")
        self.end_block = int(last[2]) + 1 if last[1] == "_blocks" else 0
        self.backbone = net.backbone  # type: ignore[union-attr]
        self.eval()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.backbone.stem_to(x, self.end_block)
        measured = [s for s in self.holder.measured if s is not None]
        assert len(measured) == len(self.holder.measured), "every layer measured"
        return (torch.cat([m for m, _ in measured]), torch.cat([v for _, v in measured]))


def export(source: Path, card: dict, out: Path, layers: int) -> list[str]:
    """Both graphs; the model's output names (the source's)."""
    size = int(card["input"]["height"])
    src = json.loads((source / "export.json").read_text())
    names = list(src["output_names"])
    mean, var = training_statistics(load_network(source, card), layers)
    fed = WithFedStatistics(load_network(source, card), layers, names)
    torch.onnx.export(
        fed, (torch.zeros(2, 3, size, size), torch.from_numpy(mean), torch.from_numpy(var)),
        str(out / ADAPTED_FILE), input_names=[INPUT_NAME, MEAN_NAME, VAR_NAME],
        output_names=names, dynamic_axes={n: {0: "batch"} for n in [INPUT_NAME, *names]},
        opset_version=OPSET, do_constant_folding=True, dynamo=False)
    torch.onnx.export(
        SpecimenStatistics(load_network(source, card), layers),
        (torch.zeros(4, 3, size, size),), str(out / GRAPH_FILE), input_names=[INPUT_NAME],
        output_names=[MEAN_NAME, VAR_NAME], dynamic_axes={INPUT_NAME: {0: "batch"}},
        opset_version=OPSET, do_constant_folding=True, dynamo=False)
    return names


def _session(path: Path):  # noqa: ANN202 - onnxruntime is imported here only
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def check(source: Path, card: dict, out: Path, names: list[str], layers: int,
          datasets: Path) -> dict:
    """adapted.onnx given the training statistics against the source's model on every val and
    test image; the statistics graph and adapted.onnx against PyTorch's AdaBN on LISC views."""
    old, new, stats = (_session(source / "model.onnx"), _session(out / ADAPTED_FILE),
                       _session(out / GRAPH_FILE))
    spec, size = card["input"], int(card["input"]["height"])
    train_mean, train_var = training_statistics(load_network(source, card), layers)
    masks = [k for k, n in enumerate(names) if n in MASK_NAMES]

    def views(paths: list[Path]) -> np.ndarray:
        return normalize_np(np.stack([load_view_image(p, size, spec["resize"]) for p in paths]),
                            spec["mean"], spec["std"])

    rows = [r for r in read_split_csv(source / "split.csv") if r[2] in ("val", "test")]
    diff, flipped, mask_elements, checked = 0.0, 0, 0, {"val": 0, "test": 0}
    moved = 0
    for i in range(0, len(rows), 64):
        chunk = rows[i: i + 64]
        x = views([datasets / "pbc" / r[0] for r in chunk])
        a = old.run(names, {INPUT_NAME: x})
        b = new.run(names, {INPUT_NAME: x, MEAN_NAME: train_mean, VAR_NAME: train_var})
        for k, (p, q) in enumerate(zip(a, b, strict=True)):
            if k in masks:  # booleans: an activation within rounding of 0 or 6 may flip
                flipped += int((p != q).sum())
                mask_elements += p.size
            else:
                diff = max(diff, float(np.abs(p - q).max()))
        moved += int((a[0].argmax(1) != b[0].argmax(1)).sum())
        for split in ("val", "test"):
            checked[split] += sum(1 for r in chunk if r[2] == split)
    print(f"{ADAPTED_FILE} given the training statistics vs {source}: max abs difference "
          f"{diff:.3e} on {checked} images, {moved} cell classes moved; {flipped} of "
          f"{mask_elements} ReLU6 mask elements flipped by rounding", flush=True)
    if diff > MAX_DIFF or moved or flipped > 1e-4 * mask_elements:
        sys.exit(f"the adapted graph differs from the source's ({diff}, {moved} classes, "
                 f"{flipped} flips)")

    # One LISC "smear": every 20th image, as a sample spread over a smear would be.
    lisc = [datasets / "lisc" / r["path"]
            for r in csv.DictReader((datasets / "lisc" / "labels.csv").open())][::20]
    x = views(lisc[:SAMPLE_CELLS])
    mean, var = stats.run([MEAN_NAME, VAR_NAME], {INPUT_NAME: x})
    net = load_network(source, card)
    for _, bn in first_batchnorms(net, layers):
        bn.reset_running_stats()
        bn.momentum = None  # one batch: its exact statistics (variance unbiased)
        bn.train()
    with torch.no_grad():
        net(torch.from_numpy(x))
    net.eval()
    ref_mean, ref_var = training_statistics(net, layers)
    n = x.shape[0]
    # In units of each channel's standard deviation (the means range over hundreds).
    mean_diff = float(np.max(np.abs(mean - ref_mean) / np.sqrt(ref_var + 1e-3)))
    # PyTorch keeps the unbiased variance; the graph gives the biased one it normalises with.
    var_rel = float(np.max(np.abs(var - ref_var) / np.maximum(ref_var, 1e-6)))
    with torch.no_grad():
        ref_logits = net(torch.from_numpy(x))[0].numpy()
    got = new.run([names[0]], {INPUT_NAME: x, MEAN_NAME: mean, VAR_NAME: var})[0]
    logit_diff = float(np.abs(got - ref_logits).max())
    same_class = int((got.argmax(1) == ref_logits.argmax(1)).sum())
    print(f"statistics graph vs PyTorch on {n} LISC views: mean {mean_diff:.2e} (in standard "
          f"deviations), variance "
          f"{var_rel:.2e} (relative); fed model's cell-class logits {logit_diff:.2e}, the "
          f"same class for {same_class} of {n}", flush=True)
    if mean_diff > 1e-3 or var_rel > 1e-2 or logit_diff > 1e-2:
        sys.exit("the statistics graph or the fed model differs from PyTorch's AdaBN")
    return {"images": checked, "max_abs_diff_vs_source": diff,
            "cell_classes_moved": moved, "relu6_mask_elements_flipped": flipped,
            "relu6_mask_elements": mask_elements,
            "lisc_views": n, "statistics_mean_max_diff_in_sd": mean_diff,
            "statistics_var_max_rel_diff": var_rel, "adapted_logits_max_abs_diff": logit_diff,
            "adapted_same_class": same_class}


def derived_card(card: dict, source: Path, out: Path, version: str, layers: int,
                 channels: int, checked: dict, command: str) -> dict:
    card = json.loads(json.dumps(card))
    card["version"] = version
    files = card["files"]
    for entry in files.values():
        entry["sha256"] = sha256_file(out / entry["path"])
    files["adapted"] = {
        "path": ADAPTED_FILE, "sha256": sha256_file(out / ADAPTED_FILE),
        "description": f"model.onnx with the statistics of its first {layers} BatchNorm layers "
        f"as inputs {MEAN_NAME} and {VAR_NAME} ({channels},), the outputs model.onnx's"}
    files["specimen_statistics"] = {
        "path": GRAPH_FILE, "sha256": sha256_file(out / GRAPH_FILE),
        "description": f"from a batch of views (N, 3, H, W), {MEAN_NAME} and {VAR_NAME} "
        f"({channels},): the mean and variance the first {layers} BatchNorm layers see, each "
        "normalised with the batch's own statistics of the layers before it"}
    card["specimen_statistics"] = {
        "file": GRAPH_FILE, "adapted_file": ADAPTED_FILE, "layers": layers, "channels": channels,
        "mean_input": MEAN_NAME, "var_input": VAR_NAME, "sample_cells": SAMPLE_CELLS,
        "rule": "measured by training.smear_statistics_check, not run by the app: a smear "
        "whose stain the domain check puts outside (more than "
        "domain.specimen_max_outside of its sampled images with a stain unlike the training "
        f"slides') is classified with its own statistics in the first {layers} BatchNorm "
        f"layers, measured on up to {SAMPLE_CELLS} of its images spread over it; any other "
        "smear with the training statistics (the source's outputs). The domain check reads "
        "the features of the network as it is, so an adapted smear is still outside.",
        "why": "training.specimen_statistics: the first layers carry the stain; their "
        "statistics from the smear gave LISC smears 6.6-8.7 points with a model trained "
        "without LISC and cost the training lab's smears 4.2 points, hence the gate "
        "(docs/training.md)"}
    card["derived_from"] = {
        "model": f"{card['name']} {source.name}",
        "folder": str(source),
        "model_sha256": sha256_file(source / "model.onnx"),
        "note": f"the same network and weights, model.onnx byte for byte; {ADAPTED_FILE} (the "
        f"same graph taking the statistics of its first {layers} BatchNorm layers as inputs) "
        f"and {GRAPH_FILE} are new. Every figure of this card for smears inside the domain "
        "is the source's: they are run with the source's model.onnx; given the training "
        f"statistics, {ADAPTED_FILE} gives the source's outputs (see check)",
        "check": checked,
        "earlier": card.get("derived_from"),
    }
    card["reproduce"] = [*card.get("reproduce", []), command]
    return card


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--source", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--layers", type=int, default=10,
                   help="BatchNorm layers, from the first, that take a smear's statistics")
    p.add_argument("--datasets", type=Path, default=default_datasets_dir())
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    card = json.loads((args.source / "card.json").read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    names = export(args.source, card, args.out, args.layers)
    for name in COPIED:
        if (args.source / name).exists():
            shutil.copyfile(args.source / name, args.out / name)
    if (args.source / "reports").is_dir():
        shutil.copytree(args.source / "reports", args.out / "reports", dirs_exist_ok=True)
    checked = check(args.source, card, args.out, names, args.layers, args.datasets)
    channels = len(training_statistics(load_network(args.source, card), args.layers)[0])
    info = json.loads((args.source / "export.json").read_text())
    info.update(adapted_onnx_bytes=(args.out / ADAPTED_FILE).stat().st_size,
                specimen_statistics_onnx_bytes=(args.out / GRAPH_FILE).stat().st_size,
                derived_check=checked, torch=torch.__version__)
    (args.out / "export.json").write_text(json.dumps(info, indent=2) + "\n")
    command = (f"python -m training.derive_specimen_statistics --source {args.source} "
               f"--out {args.out} --layers {args.layers}")
    new = derived_card(card, args.source, args.out, args.out.name, args.layers, channels,
                       checked, command)
    (args.out / "card.json").write_text(json.dumps(new, indent=2) + "\n")
    from training.evaluate import render_readme

    (args.out / "README.md").write_text(render_readme(new))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
