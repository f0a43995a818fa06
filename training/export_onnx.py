"""Export the trained network to ONNX and check it against PyTorch.

    python -m training.export_onnx --out models_onnx/hemaclinic-cells/1.0.0 \
        --run-dir training/runs/cells-1.0.0

Writes model.onnx (dynamic batch; outputs: logits of every head and the last
conv feature maps before pooling), heads.npz (the linear head weights, for CAM
in NumPy) and export.json (max abs difference PyTorch vs onnxruntime, FLOPs, params).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

from training.data import default_datasets_dir, load_cell_image, read_split_csv
from training.model import MultiHeadNet

OPSET = 17
INPUT_NAME = "input"
FEATURES_NAME = "features"


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
    args = p.parse_args(argv)
    torch.set_num_threads(2)

    model, config = load_trained(args.run_dir, args.checkpoint)
    size = int(config["size"])
    heads = [n for n, _ in config["heads"]]
    output_names = [logits_name(h) for h in heads] + [FEATURES_NAME]
    onnx_path = args.out / "model.onnx"
    dummy = torch.zeros(2, 3, size, size)
    torch.onnx.export(
        model,
        (dummy,),
        str(onnx_path),
        input_names=[INPUT_NAME],
        output_names=output_names,
        dynamic_axes={n: {0: "batch"} for n in [INPUT_NAME, *output_names]},
        opset_version=OPSET,
        do_constant_folding=True,
        dynamo=False,
    )
    np.savez(
        args.out / "heads.npz",
        **{f"{h}.weight": model.heads[h].weight.detach().numpy().astype(np.float32) for h in heads},
        **{f"{h}.bias": model.heads[h].bias.detach().numpy().astype(np.float32) for h in heads},
    )

    # Export check on real validation images (never the test split).
    import onnxruntime as ort

    rows = [r for r in read_split_csv(args.out / "split.csv") if r[2] == "val"][:16]
    imgs = np.stack([load_cell_image(args.datasets / "pbc" / r[0], size) for r in rows])
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
        "macs_per_image": macs,
        "params": params,
        "onnx_bytes": onnx_path.stat().st_size,
        "torch": torch.__version__,
        "onnxruntime": ort.__version__,
    }
    (args.out / "export.json").write_text(json.dumps(info, indent=2))
    print(f"MACs/image {macs / 1e9:.3f} G, params {params / 1e6:.2f} M")
    if max_diff > 1e-3:
        sys.exit("export check failed: difference above 1e-3")


if __name__ == "__main__":
    main()
