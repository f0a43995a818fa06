"""Train the multi-head cell classifier (cell class, subtype, 11 WBCAtt attributes).

    python -m training.train_cells --out models_onnx/hemaclinic-cells/1.0.0 \
        --run-dir training/runs/cells-1.0.0

Writes split.csv (path, sha256, split) into --out, checkpoints and logs into --run-dir.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import math
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from apps.ml.canonical import ViewParams
from apps.ml.cards import sha256_file
from apps.ml.colour import balance, reference_colour
from training.augment import CUTOUT_OD, cell_cutout, robust_augment
from training.data import (
    ATTRIBUTES,
    CELL_CLASSES,
    IGNORE,
    SUBTYPES,
    Sample,
    attribute_vocab,
    dedup_by_hash,
    default_datasets_dir,
    extend_split,
    load_view_image,
    read_labels,
    read_lisc_split,
    read_split_csv,
    stratified_split,
    write_split_csv,
)
from training.model import MultiHeadNet, add_mixstyle, load_imagenet_weights

PIXEL_MEAN = (127.0, 127.0, 127.0)  # EfficientNet-Lite convention, 0..255 scale
PIXEL_STD = (128.0, 128.0, 128.0)
SPLIT_FRACTIONS = (0.70, 0.15, 0.15)
# --mixstyle: after the last block of the 24-, 40- and 80-channel stages (low-level style).
MIXSTYLE_BLOCKS = (2, 4, 7)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def head_sizes(vocab: dict[str, tuple[str, ...]]) -> list[tuple[str, int]]:
    return [("cell_class", len(CELL_CLASSES)), ("subtype", len(SUBTYPES))] + [
        (a, len(vocab[a])) for a in ATTRIBUTES
    ]


def encode_targets(samples: list[Sample], vocab: dict[str, tuple[str, ...]]) -> np.ndarray:
    """Integer targets (N, 2 + 11): class, subtype, attributes; IGNORE where unlabelled."""
    y = np.full((len(samples), 2 + len(ATTRIBUTES)), IGNORE, dtype=np.int64)
    for i, s in enumerate(samples):
        y[i, 0] = CELL_CLASSES.index(s.cell_class)
        if s.subtype is not None:
            y[i, 1] = SUBTYPES.index(s.subtype)
        for j, a in enumerate(ATTRIBUTES):
            if a in s.attributes:
                y[i, 2 + j] = vocab[a].index(s.attributes[a])
    return y


def load_images(paths: list[Path], size: int, workers: int, view: dict | None = None
                ) -> np.ndarray:
    with ProcessPoolExecutor(workers) as pool:
        arrays = list(pool.map(partial(load_view_image, size=size, view=view), paths,
                               chunksize=64))
    return np.stack(arrays)


def normalize(x: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(PIXEL_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(PIXEL_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def augment(batch_u8: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Morphology-respecting augmentation on (B, H, W, 3) uint8 -> normalised NCHW.

    Dihedral group (flips, 90-degree rotations): a cell has no canonical
    orientation. Mild brightness/contrast/saturation and per-channel (stain)
    gains. No scaling, shearing or stretching: cell size is a diagnostic feature.
    """
    x = batch_u8.permute(0, 3, 1, 2).float()
    b = x.shape[0]
    k = torch.randint(0, 4, (b,), generator=gen)
    flip = torch.randint(0, 2, (b,), generator=gen)
    out = []
    for i in range(b):
        xi = torch.rot90(x[i], int(k[i]), dims=(1, 2))
        out.append(torch.flip(xi, dims=(2,)) if flip[i] else xi)
    x = torch.stack(out)

    def u(lo: float, hi: float, shape: tuple[int, ...]) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(shape, generator=gen)

    x = x * u(0.9, 1.1, (b, 1, 1, 1))  # brightness
    gray = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)
    mean = gray.mean(dim=(2, 3), keepdim=True)
    x = (x - mean) * u(0.9, 1.1, (b, 1, 1, 1)) + mean  # contrast
    gray = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)
    x = gray + (x - gray) * u(0.9, 1.1, (b, 1, 1, 1))  # saturation
    x = x * u(0.95, 1.05, (b, 3, 1, 1))  # stain / white-balance gain per channel
    # channels_last: oneDNN's CPU convolutions run about twice as fast in NHWC.
    return normalize(x.clamp(0, 255)).contiguous(memory_format=torch.channels_last)


class WeightEMA:
    """Exponential moving average of the weights and batch-norm statistics.

    With ``--ema`` the averaged weights are the ones validated and checkpointed:
    averaging smooths the noise of the last steps of a short CPU schedule.
    """

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        self.decay = decay
        self.updates = 0
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.updates += 1
        # Short warm-up so the average does not keep the ImageNet weights for long.
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for k, v in model.state_dict().items():
            if v.dtype.is_floating_point:
                self.shadow[k].lerp_(v.detach(), 1 - d)
            else:
                self.shadow[k].copy_(v)


def attribute_class_weights(
    y: np.ndarray, vocab: dict[str, tuple[str, ...]]
) -> list[torch.Tensor]:
    """Inverse-square-root-frequency weights per attribute value (train split only)."""
    weights = []
    for j, a in enumerate(ATTRIBUTES):
        col = y[:, 2 + j]
        col = col[col != IGNORE]
        counts = np.bincount(col, minlength=len(vocab[a])).astype(np.float64)
        w = np.sqrt(counts.sum() / (len(counts) * np.maximum(counts, 1)))
        weights.append(torch.tensor(w, dtype=torch.float32))
    return weights


def multihead_loss(
    logits: list[torch.Tensor], y: torch.Tensor, attr_weights: list[torch.Tensor],
    attr_loss_weight: float = 1.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    parts: dict[str, torch.Tensor] = {}
    parts["cell_class"] = F.cross_entropy(logits[0], y[:, 0])
    if (y[:, 1] != IGNORE).any():
        parts["subtype"] = F.cross_entropy(logits[1], y[:, 1], ignore_index=IGNORE)
    attr_losses = []
    for j in range(len(ATTRIBUTES)):
        t = y[:, 2 + j]
        if (t != IGNORE).any():
            attr_losses.append(
                F.cross_entropy(logits[2 + j], t, weight=attr_weights[j], ignore_index=IGNORE)
            )
    if attr_losses:
        parts["attributes"] = torch.stack(attr_losses).mean()
    # The 11 attribute losses are averaged into one term, so with weight 1 they count
    # as much as the class head alone; --attr-weight shifts capacity towards them.
    total = sum(attr_loss_weight * v if k == "attributes" else v for k, v in parts.items())
    return total, {k: float(v.detach()) for k, v in parts.items()}


@torch.no_grad()
def predict(model: MultiHeadNet, images: np.ndarray, batch_size: int = 64) -> list[np.ndarray]:
    model.eval()
    outs: list[list[np.ndarray]] = []
    for i in range(0, len(images), batch_size):
        x = normalize(torch.from_numpy(images[i : i + batch_size]).permute(0, 3, 1, 2).float())
        x = x.contiguous(memory_format=torch.channels_last)
        res = model(x)[:-1]
        outs.append([r.numpy() for r in res])
    return [np.concatenate([o[h] for o in outs]) for h in range(len(outs[0]))]


def val_summary(logits: list[np.ndarray], y: np.ndarray) -> dict[str, float]:
    res: dict[str, float] = {}
    for h, name in enumerate(["cell_class", "subtype", *ATTRIBUTES]):
        m = y[:, h] != IGNORE
        res[name] = float((logits[h][m].argmax(1) == y[m, h]).mean()) if m.any() else float("nan")
    res["attr_mean"] = float(np.mean([res[a] for a in ATTRIBUTES]))
    res["score"] = res["cell_class"] + res["subtype"] + res["attr_mean"]
    return res


# LISC class -> the PBC subtype prefix that says the same (neutrophil: band or segmented
# is not given, so its subtype stays unlabelled).
LISC_PREFIX = {"basophil": "BA", "eosinophil": "EO", "lymphocyte": "LY", "monocyte": "MO",
               "neutrophil": "NEUTROPHIL"}


# Training views the red-cell colour reference is read from (--colour-balance).
COLOUR_REFERENCE_VIEWS = 500


def with_colour_reference(view: dict | None, train_paths: list[Path], size: int,
                          workers: int, seed: int) -> dict:
    """``view`` with ``colour_reference``: the median red-cell colour of up to
    COLOUR_REFERENCE_VIEWS training views (drawn with ``seed``)."""
    if view is None:
        sys.exit("--colour-balance needs --view canonical")
    paths = random.Random(seed).sample(train_paths, min(COLOUR_REFERENCE_VIEWS,
                                                        len(train_paths)))
    views = load_images(paths, size, workers, view)
    return {**view, "colour_reference": list(reference_colour(list(views)))}


def balance_batch(x: torch.Tensor, reference: list[float]) -> torch.Tensor:
    """Each image of an unnormalised float NCHW batch (0..255) white-balanced on its red
    cells (apps.ml.colour.balance), as the canonical view does at run time."""
    out = x.clamp(0, 255).round().byte().permute(0, 2, 3, 1).numpy()
    balanced = np.stack([balance(np.ascontiguousarray(im), reference) for im in out])
    return torch.from_numpy(balanced).permute(0, 3, 1, 2).float()


def lisc_samples(lisc: Path) -> list[Sample]:
    """The samples of a folder of images with a ``labels.csv`` (path, class) of five-class
    labels, as LISC's: the subtype where the class fixes it, no attributes."""
    labels = lisc / "labels.csv"
    if not labels.exists():
        raise SystemExit(f"dataset not found: {labels}")
    with labels.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    unknown = sorted({r["class"] for r in rows} - set(LISC_PREFIX))
    if unknown:
        raise SystemExit(f"{labels}: classes {unknown} are not among {sorted(LISC_PREFIX)}")
    return [Sample(r["path"], r["class"], LISC_PREFIX[r["class"]], {}) for r in rows]


def build_split(
    datasets: Path, seed: int, keep_split: Path | None = None
) -> tuple[list[Sample], list[str], list[str], list[tuple[str, str]]]:
    pbc = datasets / "pbc"
    labels = pbc / "labels.csv"
    if not labels.exists():
        raise SystemExit(f"dataset not found: {labels} (set --datasets or HEMACLINIC_DATASETS)")
    samples = read_labels(labels)
    hashes = [sha256_file(pbc / s.path) for s in samples]
    kept, dropped = dedup_by_hash(samples, hashes)
    ks = [s for s, _ in kept]
    kh = [h for _, h in kept]
    strata = [s.stratum for s in ks]
    if keep_split is None:
        splits = stratified_split(strata, SPLIT_FRACTIONS, seed)
    else:
        previous = {h: sp for _, h, sp in read_split_csv(keep_split)}
        splits = extend_split(kh, strata, previous, SPLIT_FRACTIONS, seed)
    return ks, kh, splits, dropped


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", type=Path, required=True, help="model folder (split.csv goes here)")
    p.add_argument("--run-dir", type=Path, required=True, help="checkpoints and logs")
    p.add_argument("--datasets", type=Path, default=default_datasets_dir())
    p.add_argument("--size", type=int, default=192)
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--freeze-blocks", type=int, default=5, help="stem + this many MBConv blocks")
    p.add_argument("--seed", type=int, default=20261123)
    p.add_argument("--attr-weight", type=float, default=1.0,
                   help="weight of the mean attribute loss against the class and subtype losses")
    p.add_argument("--ema", type=float, default=0.0,
                   help="validate and save an exponential moving average of the weights "
                   "with this decay (e.g. 0.998; 0 = off)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-minutes", type=float, default=0, help="stop early (0 = no limit)")
    p.add_argument(
        "--max-steps", type=int, default=0,
        help="stop after this many optimiser steps, schedule unchanged (reproduces a run "
        "that --max-minutes stopped)",
    )
    p.add_argument("--init", type=Path, default=None,
                   help="start from this checkpoint (e.g. training/runs/cells-1.2.0/best.pt) "
                   "instead of the ImageNet weights: a warm restart of the schedule")
    p.add_argument(
        "--keep-split",
        type=Path,
        default=None,
        help="split.csv of an earlier model: its files keep their split (matched by sha256), "
        "only new files are split; use with --init so no earlier test image is trained on",
    )
    p.add_argument("--no-pretrained", action="store_true")
    # Defaults keep the commands in the cards of 1.x reproducible; 2.x cards pass both.
    p.add_argument("--view", choices=("crop", "canonical"), default="crop",
                   help="model input: the centred shorter-side crop (models up to 1.3.0) or the "
                   "canonical view (apps.ml.canonical: nucleus centred at a fixed size)")
    p.add_argument("--extra-lisc", action="store_true",
                   help="also train on all of LISC (second microscope and stain; 5 classes, "
                   "subtype where the class fixes it, no attributes). Its held-out figure then "
                   "comes from the same recipe without this option")
    p.add_argument("--lisc-split", type=Path, default=None,
                   help="with --extra-lisc: train on the 'train' side of this lisc_split.csv only "
                   "(training/lisc_groups.py: copies of one cell on one side), so that "
                   "domain_eval --lisc-split reports the other side as held out")
    p.add_argument("--extra-labelled", type=Path, action="append", default=[],
                   help="also train on a folder of images with a labels.csv (path, class) of the "
                   "five classes, read as LISC's (e.g. training/pseudo_label.py's output); "
                   "repeatable")
    p.add_argument("--augment", choices=("mild", "robust"), default="mild",
                   help="mild: flips and +-10%% colour (1.3.0); robust: training/augment.py "
                   "(stain, scale, background, blur, JPEG, down-sampling)")
    p.add_argument("--robust-share", type=float, default=1.0,
                   help="with --augment robust: share of each batch given the robust shifts, "
                   "the rest the mild recipe (default 1: all of it, as 2.0.0)")
    p.add_argument("--region-colour", type=float, default=0.0,
                   help="with --augment robust: share of the robust part whose nucleus and "
                   "surroundings get independent hue shifts (training/augment.py "
                   "region_colour; default 0, as models up to 2.1)")
    p.add_argument("--randconv", type=float, default=0.0,
                   help="with --augment robust: share of the robust part given a random "
                   "convolution (training/augment.py random_convolution; default 0)")
    p.add_argument("--cell-cutout", type=float, default=0.0,
                   help="with --augment robust: share of the robust part whose cell is cut out "
                   "along its own edge on black or white (training/augment.py cell_cutout; "
                   "default 0, as models up to 2.1)")
    p.add_argument("--cutout-od", type=float, nargs=2, default=list(CUTOUT_OD),
                   metavar=("LOW", "HIGH"),
                   help="with --cell-cutout: range of the summed optical density above which "
                   f"a pixel is kept as the cell's (default {CUTOUT_OD[0]:g} {CUTOUT_OD[1]:g}: "
                   "tight, as 2.5; a low end near 0.05 keeps a neutrophil's pale cytoplasm)")
    p.add_argument("--distil-features", type=float, default=0.0, metavar="WEIGHT",
                   help="with --init and --cell-cutout: keep the network's last feature maps "
                   "those of the model it starts from, shown the same view before the cut "
                   "(the cut-out is then made after the other robust shifts), with this weight "
                   "against the class losses: a cut-out cell is read where the whole cell was, "
                   "and an uncut one as before (default 0: off)")
    p.add_argument("--mixstyle", type=float, default=0.0,
                   help="probability of MixStyle (feature-statistics mixing between images) "
                   f"after MBConv blocks {MIXSTYLE_BLOCKS} in training (default 0: off, as "
                   "models up to 2.1)")
    p.add_argument("--colour-balance", nargs="?", const="view", choices=["view", "image"],
                   help="with --view canonical: white-balance every view on its red cells to "
                   "the median red-cell colour of the training views (apps.ml.colour), also "
                   "after the robust augmentation; the card records the reference. 'image': "
                   "balance the whole image before the view is cut, so that the nucleus is "
                   "found on balanced colours (default 'view': the view after the cut)")
    p.add_argument("--limit", type=int, default=0, help="smoke test: images per split")
    args = p.parse_args(argv)
    if args.lisc_split and not args.extra_lisc:
        p.error("--lisc-split needs --extra-lisc")
    if not 0 <= args.cutout_od[0] <= args.cutout_od[1]:
        p.error(f"--cutout-od needs 0 <= LOW <= HIGH, not {args.cutout_od[0]:g} "
                f"{args.cutout_od[1]:g}")
    if args.distil_features and (args.init is None or not args.cell_cutout
                                 or args.augment != "robust"):
        p.error("--distil-features needs --init, --cell-cutout and --augment robust")

    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    args.run_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.time()

    samples, hashes, splits, dropped = build_split(args.datasets, args.seed, args.keep_split)
    write_split_csv(
        args.out / "split.csv",
        [(s.path, h, sp) for s, h, sp in zip(samples, hashes, splits, strict=True)],
    )
    vocab = attribute_vocab(samples)
    counts = {k: splits.count(k) for k in ("train", "val", "test")}
    log(f"split {counts}, dropped {len(dropped)} duplicates")

    idx = {k: [i for i, sp in enumerate(splits) if sp == k] for k in ("train", "val")}
    if args.limit:
        idx = {k: v[: args.limit] for k, v in idx.items()}
    pbc = args.datasets / "pbc"
    y_all = encode_targets(samples, vocab)
    view = ViewParams(size=args.size).to_card() if args.view == "canonical" else None
    if args.colour_balance:
        view = with_colour_reference(view, [pbc / samples[i].path for i in idx["train"]],
                                     args.size, args.threads, args.seed)
        if args.colour_balance == "image":
            view["colour_balance_on"] = "image"
        log(f"red-cell colour reference {view['colour_reference']}, balance on the "
            f"{args.colour_balance}")
    data = {}
    for k, ii in idx.items():
        imgs = load_images([pbc / samples[i].path for i in ii], args.size, args.threads, view)
        data[k] = (imgs, y_all[ii])
        log(f"decoded {k}: {imgs.shape}")

    model = MultiHeadNet(head_sizes(vocab))
    if args.init is not None:
        try:
            model.load_state_dict(torch.load(args.init, map_location="cpu", weights_only=True))
        except RuntimeError as exc:  # e.g. an attribute value the checkpoint's heads lack
            raise SystemExit(
                f"{args.init} does not fit these labels (heads {head_sizes(vocab)}): keep the "
                f"label vocabulary of the model it comes from.\n{exc}"
            ) from exc
        log(f"initialised from {args.init}")
    elif not args.no_pretrained:
        load_imagenet_weights(model.backbone)
    model = model.to(memory_format=torch.channels_last)
    bb = model.backbone
    # The model it starts from, frozen: what the last feature maps of a view were before.
    teacher = copy.deepcopy(model).eval().requires_grad_(False) if args.distil_features else None
    if args.mixstyle:
        if min(MIXSTYLE_BLOCKS) < args.freeze_blocks:
            sys.exit(f"--mixstyle needs blocks {MIXSTYLE_BLOCKS} trainable (--freeze-blocks)")
        add_mixstyle(bb, MIXSTYLE_BLOCKS, args.mixstyle)
    frozen = [bb._conv_stem, bb._bn0, *bb._blocks[: args.freeze_blocks]]
    for mod in frozen:
        for prm in mod.parameters():
            prm.requires_grad_(False)
    trainable = [prm for prm in model.parameters() if prm.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=args.weight_decay)
    extra = ([("lisc", args.datasets / "lisc")] if args.extra_lisc else []) + [
        (f"extra_{folder.name}", folder) for folder in args.extra_labelled]
    for name, folder in extra:
        more = lisc_samples(folder)
        if name == "lisc" and args.lisc_split:
            sides = read_lisc_split(args.lisc_split)
            more = [s for s in more if sides.get(s.path) == "train"]
        if args.limit:
            more = more[: args.limit]
        imgs = load_images([folder / s.path for s in more], args.size, args.threads, view)
        x, y = data["train"]
        data["train"] = (np.concatenate([x, imgs]),
                         np.concatenate([y, encode_targets(more, vocab)]))
        counts[f"train_{name}"] = len(more)
        log(f"added {folder} to training: {imgs.shape}")
    x_tr, y_tr = data["train"]
    steps_per_epoch = math.ceil(len(x_tr) / args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    warmup = min(100, total_steps // 10)

    def lr_at(step: int) -> float:
        if step < warmup:
            return args.lr * (step + 1) / warmup
        t = (step - warmup) / max(1, total_steps - warmup)
        return args.lr * 0.5 * (1 + math.cos(math.pi * t))

    attr_w = attribute_class_weights(y_tr, vocab)
    ema = WeightEMA(model, args.ema) if args.ema else None
    eval_model = copy.deepcopy(model) if ema else model
    gen = torch.Generator().manual_seed(args.seed)
    config = {
        "size": args.size,
        "view": view,
        "pixel_mean": PIXEL_MEAN,
        "pixel_std": PIXEL_STD,
        "heads": head_sizes(vocab),
        "cell_classes": CELL_CLASSES,
        "subtypes": SUBTYPES,
        "attributes": ATTRIBUTES,
        "attribute_vocab": vocab,
        "attribute_class_weights": {
            a: w.tolist() for a, w in zip(ATTRIBUTES, attr_w, strict=True)
        },
        "split_counts": counts,
        "dropped_duplicates": dropped,
        "args": {k: str(v) for k, v in vars(args).items()},
        "extra_labelled": [str(folder) for folder in args.extra_labelled],
        "torch": torch.__version__,
    }
    (args.run_dir / "config.json").write_text(json.dumps(config, indent=2))
    log_path = args.run_dir / "train_log.jsonl"
    log_path.write_text("")
    best = -1.0
    step = 0
    stopped_early = False
    for epoch in range(args.epochs):
        model.train()
        for mod in frozen:
            mod.eval()
        perm = torch.randperm(len(x_tr), generator=gen).numpy()
        te = time.time()
        running: dict[str, float] = {}
        for bi in range(steps_per_epoch):
            ii = perm[bi * args.batch_size : (bi + 1) * args.batch_size]
            if args.augment == "robust":
                # The first robust_share of the (shuffled) batch gets the strong shifts, the
                # rest the mild recipe, so that the training lab's own look is still learnt.
                k = round(args.robust_share * len(ii))
                parts_x, parts_t = [], []
                if k:
                    shifted = robust_augment(torch.from_numpy(x_tr[ii[:k]]), gen,
                                             args.region_colour, args.randconv,
                                             0.0 if teacher else args.cell_cutout,
                                             tuple(args.cutout_od))
                    whole = shifted
                    if teacher is not None:  # the same view, then cut: the teacher sees it whole
                        shifted = cell_cutout(whole, gen, args.cell_cutout,
                                              tuple(args.cutout_od))
                    if view is not None and view.get("colour_reference") is not None:
                        # As another lab's view would be: its colours, then the balance.
                        shifted = balance_batch(shifted, view["colour_reference"])
                        whole = balance_batch(whole, view["colour_reference"])
                    parts_x.append(normalize(shifted))
                    parts_t.append(normalize(whole))
                if k < len(ii):
                    parts_x.append(augment(torch.from_numpy(x_tr[ii[k:]]), gen))
                    parts_t.append(parts_x[-1])
                x = torch.cat(parts_x).contiguous(memory_format=torch.channels_last)
                x_whole = torch.cat(parts_t).contiguous(memory_format=torch.channels_last)
            else:
                x = augment(torch.from_numpy(x_tr[ii]), gen)
            y = torch.from_numpy(y_tr[ii])
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            with torch.no_grad():
                h = bb.stem_to(x, args.freeze_blocks)
            feats = bb(h, start_block=args.freeze_blocks)
            loss, parts = multihead_loss(model.heads_from_features(feats), y, attr_w,
                                         args.attr_weight)
            if teacher is not None:
                with torch.no_grad():
                    tb = teacher.backbone
                    before = tb(tb.stem_to(x_whole, args.freeze_blocks),
                                start_block=args.freeze_blocks)
                distil = ((feats - before) ** 2).mean() / (before**2).mean().clamp_min(1e-6)
                loss = loss + args.distil_features * distil
                parts["distil"] = float(distil.detach())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if ema:
                ema.update(model)
            step += 1
            for k, v in parts.items():
                running[k] = 0.98 * running.get(k, v) + 0.02 * v
            if bi % 25 == 0:
                rate = (bi + 1) * args.batch_size / (time.time() - te)
                log(f"epoch {epoch} step {bi}/{steps_per_epoch} {rate:.1f} img/s "
                    + " ".join(f"{k}={v:.3f}" for k, v in running.items()))
            if (args.max_minutes and time.time() - t0 > args.max_minutes * 60) or (
                args.max_steps and step >= args.max_steps
            ):
                stopped_early = True
                break
        if ema:
            eval_model.load_state_dict(ema.shadow)
        vs = val_summary(predict(eval_model, data["val"][0]), data["val"][1])
        rec = {"epoch": epoch, "step": step, "train_loss": running, "val": vs,
               "epoch_seconds": time.time() - te, "stopped_early": stopped_early}
        with log_path.open("a") as fh:
            fh.write(json.dumps(rec) + "\n")
        log(f"epoch {epoch} val " + " ".join(f"{k}={v:.4f}" for k, v in vs.items()))
        torch.save(eval_model.state_dict(), args.run_dir / "last.pt")
        if vs["score"] > best:
            best = vs["score"]
            torch.save(eval_model.state_dict(), args.run_dir / "best.pt")
            (args.run_dir / "best.json").write_text(json.dumps(rec, indent=2))
        if stopped_early:
            log(f"budget reached after {step} steps; stopping")
            break
    log(f"done in {(time.time() - t0) / 60:.1f} min; best val score {best:.4f}")


if __name__ == "__main__":
    main()
