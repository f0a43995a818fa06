"""A fine-tuned run's weights averaged with those of the model it started from.

    python -m training.average_weights --run-dir training/runs/cells-2.13.0 --alpha 0.5

A fine-tune that starts from a model and is trained a few epochs on a new augmentation stays
close to it in weight space; the average of the two (weight-space ensembling, Wortsman et al.,
"Robust fine-tuning of zero-shot models", CVPR 2022) often keeps what the start model did well
and part of what the fine-tune learnt. This writes into --run-dir, beside the run's own
checkpoints:
- ``average-<alpha>.pt``: ``(1 - alpha) * start + alpha * fine-tuned``, tensor by tensor
  (batch-norm running statistics included; a counter such as ``num_batches_tracked`` is taken
  from the fine-tuned run);
- ``average-<alpha>.json``: the two checkpoints, their sha256 and alpha.

The start model is the run's own ``--init`` (config.json), so nothing else can be averaged
in. Export it with ``export_onnx --checkpoint average-<alpha>.pt``; the card's ``reproduce``
then lists this command (``training.evaluate`` reads the json).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from apps.ml.cards import sha256_file


def averaged_name(alpha: float) -> str:
    return f"average-{alpha:g}.pt"


def average(start: dict[str, torch.Tensor], tuned: dict[str, torch.Tensor],
            alpha: float) -> dict[str, torch.Tensor]:
    """``(1 - alpha) * start + alpha * tuned`` for every floating tensor; others from tuned."""
    if start.keys() != tuned.keys():
        missing = sorted(set(start) ^ set(tuned))[:5]
        raise ValueError(f"the two checkpoints hold different tensors: {missing}")
    out = {}
    for name, t in tuned.items():
        s = start[name]
        if s.shape != t.shape:
            raise ValueError(f"{name}: shape {tuple(s.shape)} against {tuple(t.shape)}")
        out[name] = (s * (1 - alpha) + t * alpha).to(t.dtype) if t.is_floating_point() else t
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run-dir", type=Path, required=True)
    p.add_argument("--checkpoint", default="best.pt", help="the fine-tuned run's checkpoint")
    p.add_argument("--alpha", type=float, default=0.5,
                   help="weight of the fine-tuned run (0: the start model, 1: the run)")
    args = p.parse_args(argv)
    if not 0.0 < args.alpha < 1.0:
        p.error("--alpha must be strictly between 0 and 1")
    config = json.loads((args.run_dir / "config.json").read_text())
    init = config["args"].get("init", "None")
    if init == "None":
        p.error(f"{args.run_dir} was not started from another model (no --init)")
    tuned_path = args.run_dir / args.checkpoint
    start = torch.load(init, map_location="cpu", weights_only=True)
    tuned = torch.load(tuned_path, map_location="cpu", weights_only=True)
    out = args.run_dir / averaged_name(args.alpha)
    torch.save(average(start, tuned, args.alpha), out)
    record = {"alpha": args.alpha, "start": init, "start_sha256": sha256_file(Path(init)),
              "tuned": str(tuned_path), "tuned_sha256": sha256_file(tuned_path),
              "command": f"python -m training.average_weights --run-dir {args.run_dir} "
                         f"--checkpoint {args.checkpoint} --alpha {args.alpha:g}"}
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out}: {1 - args.alpha:g} x {init} + {args.alpha:g} x {tuned_path}")


if __name__ == "__main__":
    main()
