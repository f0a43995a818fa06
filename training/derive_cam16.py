"""A model version that adds stride-16 Grad-CAM to an exported one, its weights unchanged.

    python -m training.derive_cam16 --source models_onnx/hemaclinic-cells/2.1.0 \
        --out models_onnx/hemaclinic-cells/2.1.1

Builds the source network from its card and checkpoint.pt and writes into --out:
- model.onnx: the same network with one more output, ``features16`` (the stride-16 maps it
  computes anyway; training.cam_graph.WithStride16) and, with ``--masks``, the ReLU6 masks
  of the layers after it, which cam16.onnx then reads instead of running them again;
- cam16.onnx: Layer-CAM at stride 16 of any output linear in the pooled features
  (training.cam_graph.Cam16), run by the app only for the maps it stores;
- heads.npz, split.csv, domain.npz, checkpoint.pt and the evaluation files (metrics,
  confusions, reports, domain_eval.json, robustness.png) copied from the source: the
  network's outputs are the source's, which is checked here on every validation and test
  image of the split (the largest difference of any output, printed and kept in export.json;
  the run stops above 1e-4), and cam16.onnx is checked against PyTorch's autograd on the
  validation images (within 0.5% of the largest map value: float summation order; with
  ``--masks``, a map whose masks differ from PyTorch's own forward pass, a pre-activation
  that rounding put on the other side of 0 or 6, is checked against the PyTorch graph given
  the same masks instead, and counted; the run stops when more than MAX_FLIPPED_SHARE of the
  maps are);
- card.json (the source's, with this version, these files, the two new outputs and a
  ``derived_from`` section saying all this) and README.md.
The checkpoint is the source's (the same weights), so a lab fine-tunes from this folder as
from any other (training.train_cells --init).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

from apps.ml.cards import sha256_file
from training.cam_graph import (
    CAM16_NAME,
    FEATURES16_NAME,
    MASKS16_NAME,
    MASKS32_NAME,
    SPLIT,
    TARGET_NAME,
    Cam16,
    WithStride16,
    _tail_with_masks,
    map_from_gradient,
    vacuole_target,
)
from training.data import default_datasets_dir, load_view_image, read_split_csv
from training.export_onnx import (
    CHECKPOINT_FILE,
    FEATURES_NAME,
    INPUT_NAME,
    OPSET,
    logits_name,
    normalize_np,
)
from training.model import MultiHeadNet

COPIED = ("heads.npz", "split.csv", "domain.npz", CHECKPOINT_FILE, "metrics.json",
          "domain_eval.json", "robustness.png", "confusion_attributes.png",
          "confusion_cell_class.png", "confusion_subtype.png")
MAX_DIFF = 1e-4


def load_network(source: Path, card: dict) -> MultiHeadNet:
    net = MultiHeadNet([(h["name"], len(h["labels"])) for h in card["outputs"]["heads"]])
    state = torch.load(source / CHECKPOINT_FILE, map_location="cpu", weights_only=True)
    net.load_state_dict(state)
    return net.eval()


MASK_NAMES = [MASKS16_NAME, MASKS32_NAME]


def export(net: MultiHeadNet, card: dict, out: Path, masks: bool = False) -> list[str]:
    """Both graphs; the model's output names (the source's, then features16 and, with
    ``masks``, the two mask outputs)."""
    size = int(card["input"]["height"])
    extra = MASK_NAMES if masks else []
    names = [h["output"] for h in card["outputs"]["heads"]] + [FEATURES_NAME, FEATURES16_NAME,
                                                               *extra]
    if [logits_name(n) for n in net.head_names] != names[: -2 - len(extra)]:
        sys.exit("the card's head outputs are not the network's heads in order")
    with16 = WithStride16(net, masks=masks)
    torch.onnx.export(
        with16, (torch.zeros(2, 3, size, size),), str(out / "model.onnx"),
        input_names=[INPUT_NAME], output_names=names,
        dynamic_axes={n: {0: "batch"} for n in [INPUT_NAME, *names]},
        opset_version=OPSET, do_constant_folding=True, dynamo=False)
    with torch.no_grad():
        outs = WithStride16(net, masks=masks)(torch.zeros(2, 3, size, size))
    k = len(card["outputs"]["heads"])  # then the features, features16 and any masks
    sample = (outs[k + 1], torch.zeros(2, net.heads["cell_class"].in_features), *outs[k + 2 :])
    inputs = [FEATURES16_NAME, TARGET_NAME, *extra]
    torch.onnx.export(
        Cam16(net, masks=masks), sample, str(out / "cam16.onnx"), input_names=inputs,
        output_names=[CAM16_NAME],
        dynamic_axes={n: {0: "batch"} for n in [*inputs, CAM16_NAME]},
        opset_version=OPSET, do_constant_folding=True, dynamo=False)
    return names


# Maps whose ReLU6 masks (read from onnxruntime's forward pass) differ from PyTorch's in some
# element: an activation within rounding of 0 or 6 (of about 500,000 per map), so the two
# gradients legitimately differ there (2.5.3: 136 of 3,664 validation maps, by at most 0.05
# of a largest value of 3); above this share the masks themselves are suspect.
MAX_FLIPPED_SHARE = 0.1


def _flipped_maps(net: MultiHeadNet, f16: np.ndarray, masks: dict[str, np.ndarray]
                  ) -> np.ndarray:
    """Per map, whether PyTorch's forward pass from ``f16`` gives other ReLU6 masks than
    ``masks`` (the exported model's outputs); all False without masks."""
    if not masks:
        return np.zeros(len(f16), bool)
    with torch.no_grad():
        _, own16, own32 = _tail_with_masks(net.backbone, torch.from_numpy(f16))
    flips = np.zeros(len(f16), bool)
    for own, name in ((own16, MASKS16_NAME), (own32, MASKS32_NAME)):
        flips |= (own.numpy() != masks[name].astype(bool)).reshape(len(f16), -1).any(axis=1)
    return flips


def check(net: MultiHeadNet, card: dict, source: Path, out: Path, names: list[str],
          datasets: Path) -> dict:
    """Outputs of the new model.onnx against the source's on every val and test image; the
    cam16 graph against autograd on the validation images."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    old = ort.InferenceSession(str(source / "model.onnx"), opts,
                               providers=["CPUExecutionProvider"])
    new = ort.InferenceSession(str(out / "model.onnx"), opts,
                               providers=["CPUExecutionProvider"])
    cam = ort.InferenceSession(str(out / "cam16.onnx"), opts,
                               providers=["CPUExecutionProvider"])
    spec, size = card["input"], int(card["input"]["height"])
    vac_labels = next(h["labels"] for h in card["outputs"]["heads"]
                      if h["name"] == "cytoplasm_vacuole")
    vac = vacuole_target(net, vac_labels).numpy()
    class_w = net.heads["cell_class"].weight.detach().numpy()
    rows = [r for r in read_split_csv(source / "split.csv") if r[2] in ("val", "test")]
    n_source = names.index(FEATURES16_NAME)  # the source's outputs come first
    diff, cam_diff, cam_peak, checked = 0.0, 0.0, 0.0, {"val": 0, "test": 0}
    flipped = 0
    # The written-out graph on the exported masks, for maps where PyTorch's own differ.
    given_masks = Cam16(net, masks=True) if len(names) > n_source + 1 else None
    for i in range(0, len(rows), 64):
        chunk = rows[i : i + 64]
        x = normalize_np(np.stack([load_view_image(datasets / "pbc" / r[0], size,
                                                   spec["resize"]) for r in chunk]),
                         spec["mean"], spec["std"])
        a = old.run(names[:n_source], {INPUT_NAME: x})
        b = new.run(names, {INPUT_NAME: x})
        diff = max(diff, *(float(np.abs(p - q).max())
                           for p, q in zip(a, b[:n_source], strict=True)))
        for split in ("val", "test"):
            checked[split] += sum(1 for r in chunk if r[2] == split)
        val = [k for k, r in enumerate(chunk) if r[2] == "val"]
        if not val:
            continue
        twice = val + val  # each image's class map, then its vacuole map
        f16 = b[n_source][twice]
        cls = b[0][val].argmax(axis=1)
        target = np.concatenate([class_w[cls], np.repeat(vac[None], len(val), axis=0)])
        masks = {n: m[twice] for n, m in zip(names[n_source + 1 :], b[n_source + 1 :],
                                              strict=True)}
        (got,) = cam.run([CAM16_NAME], {FEATURES16_NAME: f16, TARGET_NAME: target, **masks})
        ref = _autograd_cam(net, f16, target)
        same = ~_flipped_maps(net, f16, masks)
        flipped += int((~same).sum())
        if given_masks is not None and not same.all():
            with torch.no_grad():
                ref[~same] = given_masks(
                    *(torch.from_numpy(a[~same]) for a in (f16, target, *masks.values()))
                ).numpy()
        cam_diff = max(cam_diff, float(np.abs(got - ref).max()))
        cam_peak = max(cam_peak, float(ref.max()))
    print(f"outputs vs {source}: max abs difference {diff:.3e} on {checked} images")
    n_maps = 2 * checked["val"]
    print(f"cam16.onnx vs autograd: max abs difference {cam_diff:.3e} (largest map value "
          f"{cam_peak:.3f}) on {n_maps} maps ({flipped} with a ReLU6 mask that rounding "
          f"flipped between onnxruntime and PyTorch: against the PyTorch graph given it)")
    if diff > MAX_DIFF:
        sys.exit(f"the derived model's outputs differ from the source's by {diff}")
    if cam_diff > 5e-3 * max(cam_peak, 1.0):  # float summation order; maps are 0..peak
        sys.exit(f"cam16.onnx differs from autograd by {cam_diff}")
    if flipped > MAX_FLIPPED_SHARE * n_maps:
        sys.exit(f"{flipped} of {n_maps} maps have ReLU6 masks other than PyTorch's")
    return {"images": checked, "max_abs_diff_vs_source": diff,
            "cam16_max_abs_diff_vs_autograd": cam_diff, "cam16_largest_value": cam_peak,
            "cam16_maps_with_a_flipped_relu6_mask": flipped}


def _autograd_cam(net: MultiHeadNet, f16: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The maps with the gradient from PyTorch's autograd instead of the written-out one."""
    f = torch.from_numpy(f16).requires_grad_(True)
    pooled = net.backbone(f, start_block=SPLIT).mean(dim=(2, 3))
    (grad,) = torch.autograd.grad((pooled * torch.from_numpy(target)).sum(), f)
    return map_from_gradient(f.detach(), grad).numpy()


def derived_card(card: dict, source: Path, out: Path, version: str, checked: dict,
                 command: str, masks: bool = False) -> dict:
    card = json.loads(json.dumps(card))
    card["version"] = version
    files = card["files"]
    for entry in files.values():
        entry["sha256"] = sha256_file(out / entry["path"])
    files["cam16"] = {
        "path": "cam16.onnx", "sha256": sha256_file(out / "cam16.onnx"),
        "description": "Layer-CAM at stride 16 (training.cam_graph.Cam16): inputs "
        f"{FEATURES16_NAME} (N, C, 12, 12) and {TARGET_NAME} (N, 1280), the gradient of the "
        "explained output with respect to the pooled features; output cam16 (N, 12, 12)"}
    card["outputs"]["features16"] = {
        "name": FEATURES16_NAME, "shape": [112, 12, 12],
        "description": "feature maps at stride 16 (output of block 10), the input of cam16.onnx"}
    card["outputs"]["cam16"] = {
        "file": "cam16.onnx", "features_input": FEATURES16_NAME, "target_input": TARGET_NAME,
        "output": CAM16_NAME, "method": "Layer-CAM (Jiang et al. 2021) at the stride-16 "
        "stage: each location's 112 activations weighted by that location's positive "
        "gradient; the gradient through the last five blocks written out as convolutions "
        "(training.cam_graph), checked against PyTorch autograd. Chosen over Grad-CAM at "
        "this stage (channel weights averaged over the map), whose peaks fell on red cells "
        "and the frame's edge (tests/ml/test_vacuole_map_peaks_inside_the_cell.py)",
        "maps": {"cell_class": "logit of the predicted cell class",
                 "vacuole": "log-odds of the vacuole attribute, logit(yes) - logit(no) of "
                            "the cytoplasm_vacuole head (neutrophils)"}}
    if masks:
        card["outputs"]["cam16"]["masks"] = MASK_NAMES
        card["outputs"]["relu6_masks"] = {
            "names": MASK_NAMES,
            "description": "booleans, 0 < z < 6 for every ReLU6 after features16 (the first "
            "expansion at stride 16, then the rest at stride 32 and the head, concatenated in "
            "network order): what the gradient through those layers needs, so that cam16.onnx "
            "does not run them again; inputs of cam16.onnx under the same names"}
        files["cam16"]["description"] += f"; also reads {' and '.join(MASK_NAMES)}"
    card["derived_from"] = {
        "model": f"{card['name']} {source.name}",
        "folder": str(source),
        "model_sha256": sha256_file(source / "model.onnx"),
        "note": "the same network and weights; model.onnx has more outputs ("
        + ("features16 and the ReLU6 masks cam16.onnx reads" if masks else "features16")
        + ") and cam16.onnx is new. Every figure of this card is the source's evaluation, valid "
        "here because the outputs are the source's: checked on every validation and test "
        "image (see check)",
        "check": checked,
    }
    card["compute"]["onnx_bytes"] = (out / "model.onnx").stat().st_size
    card["reproduce"] = [*card.get("reproduce", []), command]
    return card


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--source", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--datasets", type=Path, default=default_datasets_dir())
    p.add_argument("--masks", action="store_true",
                   help="the model also outputs the ReLU6 masks of its last blocks and "
                   "cam16.onnx reads them instead of running those blocks again (2.1.2 on; "
                   "2.1.1 was made without)")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    card = json.loads((args.source / "card.json").read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    net = load_network(args.source, card)
    names = export(net, card, args.out, masks=args.masks)
    for name in COPIED:
        if (args.source / name).exists():
            shutil.copyfile(args.source / name, args.out / name)
    if (args.source / "reports").is_dir():
        shutil.copytree(args.source / "reports", args.out / "reports", dirs_exist_ok=True)
    # A network the exports never touched (an exporter may leave modules in training mode).
    checked = check(load_network(args.source, card), card, args.source, args.out, names,
                    args.datasets)
    info = json.loads((args.source / "export.json").read_text())
    info.update(output_names=names, onnx_bytes=(args.out / "model.onnx").stat().st_size,
                cam16_onnx_bytes=(args.out / "cam16.onnx").stat().st_size,
                derived_check=checked, torch=torch.__version__)
    (args.out / "export.json").write_text(json.dumps(info, indent=2) + "\n")
    command = (f"python -m training.derive_cam16 --source {args.source} --out {args.out}"
               + (" --masks" if args.masks else ""))
    new = derived_card(card, args.source, args.out, args.out.name, checked, command,
                       masks=args.masks)
    (args.out / "card.json").write_text(json.dumps(new, indent=2) + "\n")
    from training.evaluate import render_readme

    (args.out / "README.md").write_text(render_readme(new))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
