"""Export the trained network to ONNX and check it against PyTorch.

    python -m training.export_onnx --out models_onnx/hemaclinic-cells/1.0.0 \
        --run-dir training/runs/cells-1.0.0

Writes model.onnx (dynamic batch; outputs: logits of every head and the last
conv feature maps before pooling), heads.npz (the linear head weights, for CAM
in NumPy) and export.json (max abs difference PyTorch vs onnxruntime, FLOPs, params).

With ``--int8`` the float32 export goes to <run-dir>/model_fp32.onnx (checked against
PyTorch as above) and model.onnx is its static int8 quantization (training.quantize),
compared with the float32 file on validation images; export.json records both.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

from training.data import default_datasets_dir, load_view_image, read_split_csv
from training.model import MultiHeadNet

OPSET = 17
INPUT_NAME = "input"
FEATURES_NAME = "features"
CHECKPOINT_FILE = "checkpoint.pt"


def logits_name(head: str) -> str:
    return f"logits_{head}"


def load_trained(run_dir: Path, checkpoint: str = "best.pt") -> tuple[MultiHeadNet, dict]:
    config = json.loads((run_dir / "config.json").read_text())
    model = MultiHeadNet([(n, k) for n, k in config["heads"]])
    state = torch.load(run_dir / checkpoint, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval(), config


def count_macs(model: nn.Module, size: int) -> int:
    """Multiply-accumulates for one image (convolutions and linear layers).

    This is the convention under which ResNet-34 at 224 px is "3.6 GFLOPs".
    """
    total = 0

    def conv_hook(mod: nn.Conv2d, _inp: tuple, out: torch.Tensor) -> None:
        nonlocal total
        k = mod.kernel_size[0] * mod.kernel_size[1] * (mod.in_channels // mod.groups)
        total += int(out.numel() // out.shape[0]) * k

    def linear_hook(mod: nn.Linear, _inp: tuple, out: torch.Tensor) -> None:
        nonlocal total
        total += mod.in_features * mod.out_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    for h in hooks:
        h.remove()
    return total


def export_model(model: MultiHeadNet, heads: list[str], size: int, path: Path) -> None:
    """ONNX with a dynamic batch: one logits output per head, then the feature maps."""
    output_names = [logits_name(h) for h in heads] + [FEATURES_NAME]
    torch.onnx.export(
        model.eval(),
        (torch.zeros(2, 3, size, size),),
        str(path),
        input_names=[INPUT_NAME],
        output_names=output_names,
        dynamic_axes={n: {0: "batch"} for n in [INPUT_NAME, *output_names]},
        opset_version=OPSET,
        do_constant_folding=True,
        dynamo=False,
    )


def normalize_np(images_u8: np.ndarray, mean: list[float], std: list[float]) -> np.ndarray:
    x = images_u8.astype(np.float32).transpose(0, 3, 1, 2)
    return (x - np.asarray(mean, np.float32)[None, :, None, None]) / np.asarray(
        std, np.float32
    )[None, :, None, None]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--run-dir", type=Path, required=True)
    p.add_argument("--checkpoint", default="best.pt")
    p.add_argument("--datasets", type=Path, default=default_datasets_dir())
    p.add_argument("--int8", action="store_true",
                   help="ship the int8-quantized network (float32 copy kept in --run-dir)")
    p.add_argument("--seed", type=int, default=20261123, help="calibration image draw")
    args = p.parse_args(argv)
    torch.set_num_threads(2)

    model, config = load_trained(args.run_dir, args.checkpoint)
    size = int(config["size"])
    heads = [n for n, _ in config["heads"]]
    output_names = [logits_name(h) for h in heads] + [FEATURES_NAME]
    onnx_path = (args.run_dir / "model_fp32.onnx") if args.int8 else (args.out / "model.onnx")
    export_model(model, heads, size, onnx_path)
    np.savez(
        args.out / "heads.npz",
        **{f"{h}.weight": model.heads[h].weight.detach().numpy().astype(np.float32) for h in heads},
        **{f"{h}.bias": model.heads[h].bias.detach().numpy().astype(np.float32) for h in heads},
    )

    # Export check on real validation images (never the test split).
    import onnxruntime as ort

    rows = [r for r in read_split_csv(args.out / "split.csv") if r[2] == "val"][:16]
    view = config.get("view")
    imgs = np.stack([load_view_image(args.datasets / "pbc" / r[0], size, view) for r in rows])
    x = normalize_np(imgs, config["pixel_mean"], config["pixel_std"])
    with torch.no_grad():
        ref = [t.numpy() for t in model(torch.from_numpy(x))]
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    got = sess.run(output_names, {INPUT_NAME: x})
    diffs = {
        n: float(np.abs(a - b).max())
        for n, a, b in zip(output_names, ref, got, strict=True)
    }
    max_diff = max(diffs.values())
    print(f"export check: max abs difference PyTorch vs onnxruntime = {max_diff:.3e}")
    for n, d in diffs.items():
        print(f"  {n}: {d:.3e}")
    macs = count_macs(model, size)
    params = sum(p.numel() for p in model.parameters())
    info = {
        "opset": OPSET,
        "input_name": INPUT_NAME,
        "output_names": output_names,
        "features_shape": list(got[-1].shape[1:]),
        "max_abs_diff": max_diff,
        "max_abs_diff_per_output": diffs,
        "check_images": len(rows),
        "checkpoint": args.checkpoint,
        "macs_per_image": macs,
        "params": params,
        "onnx_bytes": onnx_path.stat().st_size,
        "torch": torch.__version__,
        "onnxruntime": ort.__version__,
    }
    if max_diff > 1e-3:
        sys.exit("export check failed: difference above 1e-3")
    # The weights themselves, so a lab can fine-tune the shipped model (train_cells --init).
    shutil.copyfile(args.run_dir / args.checkpoint, args.out / CHECKPOINT_FILE)
    if args.int8:
        info["fp32_onnx_bytes"] = info.pop("onnx_bytes")
        info["quantization"] = quantize(args, config, onnx_path, output_names)
        info["onnx_bytes"] = (args.out / "model.onnx").stat().st_size
    (args.out / "export.json").write_text(json.dumps(info, indent=2))
    print(f"MACs/image {macs / 1e9:.3f} G, params {params / 1e6:.2f} M")


def quantize(args: argparse.Namespace, config: dict, fp32_path: Path,
             output_names: list[str]) -> dict:
    from training.quantize import calibration_paths, compare, quantize_int8

    size = int(config["size"])
    pbc = args.datasets / "pbc"
    split_csv = args.out / "split.csv"
    info = quantize_int8(
        fp32_path, args.out / "model.onnx",
        calibration_paths(split_csv, pbc, 512, args.seed), size,
        config["pixel_mean"], config["pixel_std"], INPUT_NAME, view=config.get("view"))
    rows = [r for r in read_split_csv(split_csv) if r[2] == "val"][:256]
    view = config.get("view")
    x = normalize_np(np.stack([load_view_image(pbc / r[0], size, view) for r in rows]),
                     config["pixel_mean"], config["pixel_std"])
    check = compare(fp32_path, args.out / "model.onnx", x, output_names, INPUT_NAME)
    info["check_vs_fp32_on_val"] = check
    print(f"int8 check on {check['images']} validation images (agreement of argmax with "
          "float32):")
    for name, agree in check["argmax_agreement"].items():
        print(f"  {name}: {agree:.4f} (max abs logit diff {check['max_abs_diff'][name]:.3f})")
    return info


if __name__ == "__main__":
    main()
