"""Throughput of the cell model: stages, threads, score_folder, and PyTorch eager as a ratio.

    .venv/bin/python bench/bench_cells.py [--n 512] [--batch-size 32]

Prints figures only; nothing here is a test. PyTorch is optional (training extra).
"With CAM" here is score_cells' path, maps made on the inference thread; the analysis job
makes them in parts on whichever thread is free, a decoding thread beside the next batch's
inference or the inference thread while the next views are not ready: its own rate, upload and
storage included, is bench/bench_import_analysis.py's.
Wall-clock rates depend on what else the machine runs; the process CPU time printed next to
them (all threads) does much less, so compare CPU figures across runs on a busy machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import hemaclinic  # noqa: E402, F401  (the app's BLAS thread setting, before NumPy)

# isort: split
import numpy as np  # noqa: E402

from apps.ml.cam import upsample_maps  # noqa: E402
from apps.ml.cards import load_card  # noqa: E402
from apps.ml.cells import (  # noqa: E402
    CellModel,
    ModelView,
    default_model_dir,
    stacked_stains,
    to_tensor,
)
from apps.ml.score_cells import iter_scored, load_crop, open_image, score_folder  # noqa: E402

# decode+view: the file decoded, its model view and stain fingerprint (CellModel.prepare)
STAGES = ("decode+view", "to_tensor", "inference", "postprocess", "cam")


def sample_images(pbc: Path, n: int) -> list[Path]:
    files = sorted(pbc.glob("*/*.jpg"))
    if not files:
        sys.exit(f"no images under {pbc} (set --images)")
    step = max(1, len(files) // n)
    return files[::step][:n]


def _linked(paths: list[Path], tmp: Path) -> Path:
    """A folder of links to ``paths`` (score_folder reads a folder)."""
    root = tmp / "cells"
    root.mkdir()
    for i, src in enumerate(paths):
        (root / f"{i:05d}.jpg").symlink_to(src)
    return root


def staged_run(model: CellModel, paths: list[Path], batch_size: int
               ) -> tuple[dict[str, float], dict[str, float]]:
    """score_folder's path plus CAM, one stage after the other, each timed: wall-clock and
    process CPU seconds per stage."""
    t = dict.fromkeys(STAGES, 0.0)
    cpu = dict.fromkeys(STAGES, 0.0)
    clock = time.perf_counter

    def lap(stage: str, s: float, c: float) -> tuple[float, float]:
        now, now_cpu = clock(), time.process_time()
        t[stage] += now - s
        cpu[stage] += now_cpu - c
        return now, now_cpu

    spec = model.card.input
    with ThreadPoolExecutor(max_workers=model.threads) as pool:
        for i in range(0, len(paths), batch_size):
            s, u = clock(), time.process_time()
            loaded = list(pool.map(lambda q: load_crop(q, model), paths[i : i + batch_size]))
            s, u = lap("decode+view", s, u)
            views = [c for c in loaded if isinstance(c, ModelView)]
            batch = to_tensor([v.image for v in views], spec.mean, spec.std)
            s, u = lap("to_tensor", s, u)
            logits, features, f16 = model.run_maps(batch)
            s, u = lap("inference", s, u)
            preds, _ = model.postprocess(logits, features, views=[v.code for v in views],
                                         stains=stacked_stains([v.stain for v in views]))
            s, u = lap("postprocess", s, u)
            # The class maps as the app makes them: the stride-16 graph when the model has
            # one, else Grad-CAM of the last maps; upsampled to the input as iter_scored does.
            upsample_maps(model.class_maps(features, f16, preds), model.input_size)
            lap("cam", s, u)
    return t, cpu


def torch_eager(model_dir: Path, batch: np.ndarray, threads: int, run_dir: Path) -> float | None:
    """Seconds per image for the same network in PyTorch eager, or None without torch."""
    try:
        import torch
    except ImportError:
        print("  torch eager: skipped (torch is not installed; pip install -e '.[training]')")
        return None
    from training.model import MultiHeadNet

    heads = np.load(model_dir / "heads.npz")
    names = [k[: -len(".weight")] for k in heads.files if k.endswith(".weight")]
    net = MultiHeadNet([(n, heads[f"{n}.weight"].shape[0]) for n in names]).eval()
    ckpt = run_dir / "best.pt"
    if ckpt.exists():
        net.load_state_dict(torch.load(ckpt, map_location="cpu", weights_only=True))
    torch.set_num_threads(threads)
    x = torch.from_numpy(batch)
    with torch.no_grad():
        net(x)
        reps = 3
        s = time.perf_counter()
        for _ in range(reps):
            net(x)
    return (time.perf_counter() - s) / (reps * len(batch))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--images", type=Path, default=REPO.parent / "shared" / "datasets" / "pbc")
    p.add_argument("--models-root", type=Path, default=REPO / "models_onnx")
    p.add_argument("--run-dir", type=Path, default=None,
                   help="training run with best.pt (default training/runs/cells-<version>); "
                   "PyTorch timing uses random weights without it (same cost)")
    p.add_argument("--model", type=Path, default=None,
                   help="model folder to time (default: the one registry.json names), e.g. "
                   "models_onnx/hemaclinic-cells/1.2.0-int8")
    p.add_argument("--n", type=int, default=512)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--repeat", type=int, default=3, help="end-to-end runs (other load is noise)")
    args = p.parse_args()

    model_dir = args.model.resolve() if args.model else default_model_dir(args.models_root)
    if model_dir is None:
        sys.exit(f"no cell model registered in {args.models_root}")
    paths = sample_images(args.images, args.n)
    run_dir = args.run_dir or REPO / "training" / "runs" / f"cells-{model_dir.name}"
    if not (run_dir / "best.pt").exists():  # an int8 folder shares its float32 parent's run
        run_dir = REPO / "training" / "runs" / f"cells-{model_dir.name.split('-')[0]}"
    quant = load_card(model_dir).raw.get("compute", {}).get("quantization")
    precision = "int8 backbone (float32 heads)" if quant else "float32"
    print(f"model {model_dir.parent.name}/{model_dir.name} ({precision}), {len(paths)} PBC "
          f"images, batch {args.batch_size}, {os.cpu_count()} CPUs")
    for threads in (1, 2):
        model = CellModel.from_dir(model_dir, threads=threads)
        staged_run(model, paths[: args.batch_size], args.batch_size)  # warm-up, session init
        t, cpu = staged_run(model, paths, args.batch_size)
        total, total_cpu = sum(t.values()), sum(cpu.values())
        print(f"\nthreads={threads}")
        for prefetch in (False, True):
            rates, cpu_ms = [], []
            for _ in range(args.repeat):
                s, c = time.perf_counter(), time.process_time()
                n = sum(1 for r in iter_scored(paths, model, batch_size=args.batch_size,
                                               cam=True, prefetch=prefetch) if r.cam is not None)
                rates.append(n / (time.perf_counter() - s))
                cpu_ms.append(1000 * (time.process_time() - c) / n)
            print(f"  end to end with CAM (iter_scored, prefetch={prefetch}): best "
                  f"{max(rates):.1f}, median {statistics.median(rates):.1f} cells/s "
                  f"over {args.repeat} runs; CPU {statistics.median(cpu_ms):.2f} ms/cell "
                  "(median)")
        print(f"  stages run one after the other: {len(paths) / total:.1f} cells/s, "
              f"CPU {1000 * total_cpu / len(paths):.2f} ms/cell")
        for k in STAGES:
            print(f"  {k:<12} {1000 * t[k] / len(paths):7.3f} ms/cell  "
                  f"{100 * t[k] / total:5.1f}%   CPU {1000 * cpu[k] / len(paths):7.3f} ms/cell  "
                  f"{100 * cpu[k] / total_cpu:5.1f}%")
        with tempfile.TemporaryDirectory() as tmp:
            root = _linked(paths, Path(tmp))
            s = time.perf_counter()
            summary = score_folder(root, Path(tmp) / "out.csv", model=model,
                                   batch_size=args.batch_size)
            dt = time.perf_counter() - s
        print(f"  score_folder (CSV, no CAM): {summary.scored / dt:.1f} cells/s")
        spec = model.card.input
        batch = to_tensor([model.crop(open_image(q)) for q in paths[: args.batch_size]],
                          spec.mean, spec.std)
        s = time.perf_counter()
        for _ in range(3):
            model.run(batch)
        ort_s = (time.perf_counter() - s) / (3 * len(batch))
        pt_s = torch_eager(model_dir, batch, threads, run_dir)
        if pt_s is not None:
            print(f"  inference only: onnxruntime ({precision}) {1000 * ort_s:.2f} ms/cell, "
                  "PyTorch eager (float32) "
                  f"{1000 * pt_s:.2f} ms/cell, onnxruntime is {pt_s / ort_s:.2f}x faster")
    # The Python heap in a pass of its own: tracing every allocation slows the Python parts of
    # the view (a pass under it read 1.3-1.6 times the CPU time), so no figure above is taken
    # under it.
    tracemalloc.start()
    with tempfile.TemporaryDirectory() as tmp:
        score_folder(_linked(paths, Path(tmp)), Path(tmp) / "out.csv", model=model,
                     batch_size=args.batch_size)
    _, py_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"\npeak memory: {rss_kib / 1024:.0f} MiB RSS (process, includes torch if loaded), "
          f"{py_peak / 2**20:.0f} MiB traced Python/NumPy heap")


if __name__ == "__main__":
    main()
