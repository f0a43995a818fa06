"""Outside the training lab: held-out domain, controlled shifts, and the domain check.

    python -m training.domain_eval --out models_onnx/hemaclinic-cells/2.0.0 \
        --baseline models_onnx/hemaclinic-cells/1.3.0

Runs after ``training.evaluate`` (it needs the card) and through the runtime itself
(``apps.ml.cells.CellModel``: the same view, session and temperatures as the app).

1. Fits the domain check (``apps.ml.domain``) on the training split's features
   (class means, probabilistic-PCA covariance) and sets its threshold at the
   ``--quantile`` of the validation split's distances. Writes ``domain.npz``.
2. Measures, on data none of it was fitted on:
   - PBC test split: accuracy and the share of cells flagged;
   - controlled shifts of a fixed, stratified subset of the test split (rescaling,
     frame-filling crops, 120 px sources, a black background, stain and hue shifts,
     blur, JPEG): accuracy and share flagged, against ``--baseline``;
   - LISC, all of it (another microscope, camera and stain; never trained on):
     5-class accuracy, share flagged, confident errors that pass the check;
   - images that are not white cells (TXL-PBC smear fields away from every white-cell
     box, flat colours, noise): share flagged;
   - 100-cell specimens drawn from the test split: share of specimens flagged.
3. Adds ``files.domain``, ``domain`` and ``out_of_domain`` to card.json and writes
   ``domain_eval.json`` and ``robustness.png``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from apps.ml.canonical import FOUND, ViewParams, locate_nucleus
from apps.ml.cards import sha256_file
from apps.ml.cells import CellModel, softmax, to_tensor
from apps.ml.domain import (
    CELL_INSIDE,
    CELL_OUTSIDE,
    CellDomain,
    DomainGuard,
    StainCheck,
    pool_features,
    specimen_domain,
    stain_fingerprints,
)
from training.augment import RGB_FROM_HED, RGB_TO_YIQ
from training.data import (
    default_datasets_dir,
    read_labels,
    read_lisc_split,
    read_split_csv,
    txl_white_cell_boxes,
    txl_white_cell_crop,
)
from training.metrics import wilson_ci

FIVE = ("basophil", "eosinophil", "lymphocyte", "monocyte", "neutrophil")
SPECIMEN_MAX_OUTSIDE = 0.25
DEFAULTS = {"shift-cells": 600, "non-cells": 300}
COMPONENTS = 64


# --- controlled shifts (applied to the source image, before the model's own view) ---

def _resize(f: float) -> Callable[[Image.Image], Image.Image]:
    def shift(im: Image.Image) -> Image.Image:
        w, h = im.size
        return im.resize((max(1, round(w * f)), max(1, round(h * f))), Image.Resampling.BILINEAR)
    return shift


def _zoom(f: float) -> Callable[[Image.Image], Image.Image]:
    """Magnification x f in the same frame: f > 1 the cell fills more of it."""
    def shift(im: Image.Image) -> Image.Image:
        w, h = im.size
        if f >= 1:
            cw, ch = w / f, h / f
            box = ((w - cw) / 2, (h - ch) / 2, (w + cw) / 2, (h + ch) / 2)
            return im.resize((w, h), Image.Resampling.BILINEAR, box=box)
        small = im.resize((round(w * f), round(h * f)), Image.Resampling.BILINEAR)
        edge = np.asarray(im)[[0, -1]].reshape(-1, 3)
        canvas = Image.new("RGB", (w, h), tuple(int(v) for v in np.median(edge, 0)))
        canvas.paste(small, ((w - small.width) // 2, (h - small.height) // 2))
        return canvas
    return shift


def _shorter(side: int) -> Callable[[Image.Image], Image.Image]:
    def shift(im: Image.Image) -> Image.Image:
        w, h = im.size
        k = side / min(w, h)
        return im.resize((round(w * k), round(h * k)), Image.Resampling.BILINEAR)
    return shift


def _black_background(im: Image.Image) -> Image.Image:
    """The cell segmented on black, as research datasets publish them: a disc around the
    nucleus (radius 2.2 x its RMS spread, about the cell's edge) is kept."""
    rgb = np.asarray(im.convert("RGB"))
    reason, (cx, cy), spread, _ = locate_nucleus(rgb, ViewParams(analysis_px=max(rgb.shape)))
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    r = 2.2 * spread if reason == FOUND else min(h, w) / 3
    out = rgb.copy()
    out[(yy - cy) ** 2 + (xx - cx) ** 2 > r * r] = 0
    return Image.fromarray(out)


def _hue(deg: float) -> Callable[[Image.Image], Image.Image]:
    def shift(im: Image.Image) -> Image.Image:
        a = np.asarray(im.convert("RGB"), np.float32)
        yiq = RGB_TO_YIQ.numpy()
        t = np.radians(deg)
        rot = np.array([[1, 0, 0], [0, np.cos(t), -np.sin(t)], [0, np.sin(t), np.cos(t)]],
                       np.float32)
        m = np.linalg.inv(yiq) @ rot @ yiq
        return Image.fromarray(np.clip(a @ m.T, 0, 255).astype(np.uint8))
    return shift


def _stain(h_gain: float, e_gain: float) -> Callable[[Image.Image], Image.Image]:
    """A heavier or lighter haematoxylin and eosin (colour deconvolution)."""
    rgb_from_hed = RGB_FROM_HED.numpy().astype(np.float64)
    hed_from_rgb = np.linalg.inv(rgb_from_hed)

    def shift(im: Image.Image) -> Image.Image:
        a = np.asarray(im.convert("RGB"), np.float64)
        od = -np.log((a + 1) / 256)
        c = od @ hed_from_rgb
        c[..., 0] *= h_gain
        c[..., 1] *= e_gain
        out = 256 * np.exp(-(c @ rgb_from_hed)) - 1
        return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))
    return shift


def _jpeg(q: int) -> Callable[[Image.Image], Image.Image]:
    def shift(im: Image.Image) -> Image.Image:
        buf = io.BytesIO()
        im.convert("RGB").save(buf, format="JPEG", quality=q)
        buf.seek(0)
        return Image.open(buf).convert("RGB")
    return shift


SHIFTS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "resize x0.5": _resize(0.5),
    "resize x2": _resize(2.0),
    "zoom x0.67 (cell smaller in frame)": _zoom(0.67),
    "zoom x1.5 (cell fills frame)": _zoom(1.5),
    "zoom x2 (cell fills frame)": _zoom(2.0),
    "120 px source": _shorter(120),
    "black background": _black_background,
    "hue +20 deg": _hue(20),
    "hue -20 deg": _hue(-20),
    "stain H x1.4 E x0.7": _stain(1.4, 0.7),
    "stain H x0.7 E x1.3": _stain(0.7, 1.3),
    "blur sigma 1.5": lambda im: im.filter(ImageFilter.GaussianBlur(1.5)),
    "JPEG q30": _jpeg(30),
}


# --- running a model over images ---

def run_model(model: CellModel, images: list[Image.Image], batch: int = 64
              ) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Calibrated class probabilities (N, K), pooled features (N, C), view codes and the
    views' stain fingerprints (N, STAIN_DIMS), read before any colour balance."""
    spec = model.card.input
    probs, feats, codes, stains = [], [], [], []
    temp = model.card.head("cell_class").temperature  # calibrated as the app shows it
    for i in range(0, len(images), batch):
        views = [model.view_parts(im) for im in images[i : i + batch]]
        logits, f = model.run(to_tensor([v.image for v in views], spec.mean, spec.std))
        probs.append(softmax(logits["cell_class"], temp))
        feats.append(pool_features(f))
        codes += [v.code for v in views]
        # The slide's colours as imaged, before any colour balance (as CellModel.prepare).
        stains.append(stain_fingerprints([np.asarray(v.stain_image) for v in views]))
    return np.concatenate(probs), np.concatenate(feats), codes, np.concatenate(stains)


def load(path: Path) -> Image.Image:
    with Image.open(path) as im:
        return im.convert("RGB")


def fit_guard(feats: np.ndarray, labels: np.ndarray, k: int) -> DomainGuard:
    classes = sorted(set(labels.tolist()))
    means = np.stack([feats[labels == c].mean(0) for c in classes])
    centred = feats - means[np.searchsorted(classes, labels)]
    cov = centred.T @ centred / len(centred)
    evals, evecs = np.linalg.eigh(cov)
    order = np.argsort(evals)[::-1]
    evals, evecs = evals[order], evecs[:, order]
    residual = max(float(evals[k:].mean()), 1e-3 * float(evals[k - 1]))
    return DomainGuard(means, evecs[:, :k], np.maximum(evals[:k], residual), residual, 1.0)


def accuracy(probs: np.ndarray, labels: list[str], classes: list[str]) -> dict:
    pred = [classes[i] for i in probs.argmax(1)]
    ok = int(sum(p == t for p, t in zip(pred, labels, strict=True)))
    lo, hi = wilson_ci(ok, len(labels))
    return {"n": len(labels), "correct": ok, "accuracy": ok / len(labels),
            "accuracy_ci95_wilson": [lo, hi]}


def non_cell_images(datasets: Path, n_fields: int, seed: int) -> list[Image.Image]:
    """Smear-field crops with no white cell in them, flat colours and noise."""
    rng = random.Random(seed)
    root = datasets / "txl_pbc"
    out: list[Image.Image] = []
    fields = sorted((root / "images" / "test").glob("*.jpg")) + sorted(
        (root / "images" / "val").glob("*.jpg"))
    rng.shuffle(fields)
    for img_path in fields:
        if len(out) >= n_fields:
            break
        split = img_path.parent.name
        lab = root / "labels" / split / (img_path.stem + ".txt")
        im = load(img_path)
        w, h = im.size
        wbc = []
        for line in lab.read_text().splitlines() if lab.exists() else []:
            c, x, y, bw, bh = (float(v) for v in line.split())
            if int(c) == 0:
                wbc.append(((x - bw / 2) * w, (y - bh / 2) * h, (x + bw / 2) * w,
                            (y + bh / 2) * h))
        for _ in range(20):
            side = rng.uniform(0.3, 0.5) * min(w, h)
            x0, y0 = rng.uniform(0, w - side), rng.uniform(0, h - side)
            box = (x0, y0, x0 + side, y0 + side)
            if all(box[2] < b[0] or box[0] > b[2] or box[3] < b[1] or box[1] > b[3]
                   for b in wbc):
                out.append(im.crop(tuple(round(v) for v in box)))
                break
    gen = np.random.default_rng(seed)
    for _ in range(25):
        out.append(Image.new("RGB", (360, 363), tuple(int(v) for v in gen.integers(0, 256, 3))))
    for _ in range(25):
        out.append(Image.fromarray(gen.integers(0, 256, (363, 360, 3), dtype=np.uint8)))
    return out


def other_lab_white_cells(datasets: Path, n: int, seed: int
                          ) -> tuple[list[Image.Image], list[str]]:
    """Square crops around the white-cell boxes of TXL-PBC fields (other labs' microscopes and
    stains: Raabin-WBC, BCCD, BCD fields, besides PBC): real cells, but no class labels. With
    each crop, its source (by the field's size, TXL_SOURCES). Test and validation fields only:
    training may use the training fields (training/pseudo_label.py)."""
    rng = random.Random(seed)
    boxes = txl_white_cell_boxes(datasets / "txl_pbc", ("test", "val"))
    rng.shuffle(boxes)
    out, sources = [], []
    for img, box in boxes[:n]:
        crop, source = txl_white_cell_crop(load(img), box)
        out.append(crop)
        sources.append(source)
    return out, sources


def specimen_outside(flags: np.ndarray) -> bool:
    """The runtime's specimen rule (apps.ml.domain.specimen_domain) on per-cell flags."""
    cells = [CellDomain(None, CELL_OUTSIDE if f else CELL_INSIDE) for f in flags]
    return not specimen_domain(cells, SPECIMEN_MAX_OUTSIDE).inside


def specimen_flag_rate(flags: np.ndarray, size: int, draws: int, seed: int) -> float:
    gen = np.random.default_rng(seed)
    hits = 0
    for _ in range(draws):
        idx = gen.choice(len(flags), size=min(size, len(flags)), replace=False)
        hits += int(specimen_outside(flags[idx]))
    return hits / draws


def stratified_subset(labels: list[str], n: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    by: dict[str, list[int]] = {}
    for i, c in enumerate(labels):
        by.setdefault(c, []).append(i)
    out: list[int] = []
    for c in sorted(by):
        k = max(1, round(n * len(by[c]) / len(labels)))
        out += rng.sample(by[c], min(k, len(by[c])))
    return sorted(out)


def leave_out_section(folder: Path) -> dict:
    """Held-out LISC figures of a sibling recipe, from that folder's own domain_eval.json (its
    flags from its own domain check), with the commands that made that folder (its card's):
    the card's ``leave_lisc_out`` (the recipe trained without LISC, all of LISC) or
    ``lisc_held_out_by_cell`` (trained on one side of LISC's split by cell, the other side)."""
    other = json.loads((folder / "domain_eval.json").read_text())["new"]
    card = json.loads((folder / "card.json").read_text())
    shipped = f"models_onnx/{card['name']}/{card['version']}"  # where its card says it went
    own = card.get("out_of_domain", {}).get("reproduce")
    if not own or "--shift-cells" not in own:  # folders measured before the card said so
        own = f"python -m training.domain_eval --out {folder} --shift-cells 100 --non-cells 50"
    # The card's commands, its domain_eval last as it was run (a derived folder's card also
    # lists the command its maker proposed for it).
    made = [c.replace(shipped, str(folder)) for c in card.get("reproduce", [])
            if not c.startswith(f"python -m training.domain_eval --out {folder} ")]
    return {"model": other["model"], "folder": str(folder), "reproduce": [*made, own],
            **{x: other["lisc"][x] for x in ("n", "accuracy", "accuracy_ci95_wilson",
                                             "per_class", "flagged", "confident_wrong",
                                             "confident_wrong_not_flagged", "held_out_by_cell")
               if x in other["lisc"]}}


SIBLINGS = {"recipe_without_lisc": "leave_lisc_out", "recipe_lisc_half": "lisc_held_out_by_cell"}


def quoted_siblings(folder: Path) -> dict[str, dict]:
    """The sibling sections of an earlier model's card, each marked ``quoted_from`` that model:
    its recipe's figures, quoted by a model whose own recipe was not trained without LISC."""
    card = json.loads((folder / "card.json").read_text())
    ood = card.get("out_of_domain") or {}
    source = f"{card['name']} {card['version']} ({folder})"
    return {section: {**ood[section], "quoted_from": ood[section].get("quoted_from", source),
                      "quoted_via": str(folder)}  # what --siblings-from read, for reproduce
            for section in SIBLINGS.values() if ood.get(section)}


def _without_option(command: str, flag: str) -> str:
    """``command`` without ``flag`` (" --name ") and the one word after it."""
    head, found, tail = command.partition(flag)
    return head + "".join(f" {w}" for w in tail.split(" ")[1:]) if found else command


def update_leave_out(out: Path, args: argparse.Namespace) -> None:
    """``--leave-out-only``: replace the card's sections quoted from sibling recipes
    (``--recipe-without-lisc``, ``--recipe-lisc-half``) and its README, the rest as it is."""
    from training.evaluate import render_readme

    path = out / "card.json"
    card = json.loads(path.read_text())
    ood = card["out_of_domain"]
    reproduce = ood["reproduce"]
    for option, section in SIBLINGS.items():
        folder = getattr(args, option)
        if folder:
            ood[section] = leave_out_section(folder)
            flag = f" --{option.replace('_', '-')} "
            reproduce = f"{_without_option(reproduce, flag)}{flag}{folder}"
    if not any("quoted_via" in ood.get(section, {}) for section in SIBLINGS.values()):
        # Every sibling figure is now this recipe's own: nothing left to quote.
        reproduce = _without_option(reproduce, " --siblings-from ")
    ood["reproduce"] = reproduce
    path.write_text(json.dumps(card, indent=2) + "\n")
    (out / "README.md").write_text(render_readme(card))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", type=Path, required=True, help="model folder (with card.json)")
    p.add_argument("--baseline", type=Path, default=None, help="older model folder to compare")
    p.add_argument("--datasets", type=Path, default=default_datasets_dir())
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--fit-cells", type=int, default=4000, help="training cells for the fit")
    p.add_argument("--shift-cells", type=int, default=DEFAULTS["shift-cells"],
                   help="test cells per shift")
    p.add_argument("--non-cells", type=int, default=DEFAULTS["non-cells"],
                   help="smear-field crops")
    p.add_argument("--quantile", type=float, default=0.99)
    p.add_argument("--stain-quantile", type=float, default=0.995,
                   help="threshold of the stain check: this quantile of the validation cells")
    p.add_argument("--seed", type=int, default=20261202)
    p.add_argument("--trained-on-lisc", action="store_true",
                   help="the model was trained with LISC (train_cells --extra-lisc): LISC joins "
                   "the domain fit and its figures are not held-out ones")
    p.add_argument("--recipe-without-lisc", type=Path, default=None,
                   help="with --trained-on-lisc: the folder of the same recipe trained without "
                   "LISC, whose held-out LISC figures the card then quotes")
    p.add_argument("--fit-pbc-only", action="store_true",
                   help="with --trained-on-lisc: fit the domain check on PBC alone, the one "
                   "source with a held-out test split, so that LISC-like cells are outside the "
                   "validated domain although trained on (their held-out figure: "
                   "--recipe-lisc-half)")
    p.add_argument("--lisc-split", type=Path, default=None,
                   help="with --trained-on-lisc, for a model trained with train_cells "
                   "--lisc-split: the domain fit takes that split's train side, and the LISC "
                   "figures are those of its test side (held out by cell)")
    p.add_argument("--recipe-lisc-half", type=Path, default=None,
                   help="with --trained-on-lisc: the folder of the same recipe trained on one "
                   "side of LISC's split by cell (--lisc-split), whose held-out side the card "
                   "then quotes as the figure for LISC's stain when trained on")
    p.add_argument("--siblings-from", type=Path, default=None,
                   help="with --trained-on-lisc, for a recipe whose siblings were not trained: "
                   "quote the sibling figures (leave-LISC-out, LISC held out by cell) of this "
                   "earlier model folder's card, marked as measured for that model's recipe")
    p.add_argument("--leave-out-only", action="store_true",
                   help="with --recipe-without-lisc or --recipe-lisc-half: only replace the "
                   "card's figures quoted from those folders (their own domain_eval.json), "
                   "nothing recomputed here")
    p.add_argument("--limit", type=int, default=0,
                   help="smoke test: at most this many cells per set (figures meaningless)")
    args = p.parse_args(argv)
    if (args.lisc_split or args.fit_pbc_only) and not args.trained_on_lisc:
        p.error("--lisc-split and --fit-pbc-only need --trained-on-lisc")
    if args.lisc_split and args.fit_pbc_only:
        p.error("--lisc-split and --fit-pbc-only exclude each other")
    if args.siblings_from and not args.trained_on_lisc:
        p.error("--siblings-from needs --trained-on-lisc")
    if args.leave_out_only:
        if not (args.recipe_without_lisc or args.recipe_lisc_half):
            p.error("--leave-out-only needs --recipe-without-lisc or --recipe-lisc-half")
        update_leave_out(args.out, args)
        return
    t0 = time.time()

    pbc = args.datasets / "pbc"
    by_path = {s.path: s for s in read_labels(pbc / "labels.csv")}
    rows = read_split_csv(args.out / "split.csv")
    split = {k: [by_path[r[0]] for r in rows if r[2] == k] for k in ("train", "val", "test")}
    rng = random.Random(args.seed)
    fit_samples = rng.sample(split["train"], min(args.fit_cells, len(split["train"])))
    lisc_rows = list(csv.DictReader((args.datasets / "lisc" / "labels.csv").open()))
    # The LISC images of the domain fit (with --trained-on-lisc, unless --fit-pbc-only).
    lisc_fit_rows = [] if args.fit_pbc_only else lisc_rows
    if args.lisc_split:  # trained on one side: fit on it, measure the other
        sides = read_lisc_split(args.lisc_split)
        lisc_fit_rows = [r for r in lisc_rows if sides.get(r["path"]) == "train"]
        lisc_rows = [r for r in lisc_rows if sides.get(r["path"]) == "test"]
    if args.limit:
        split = {k: v[: args.limit] for k, v in split.items()}
        lisc_rows = lisc_rows[:: max(1, len(lisc_rows) // args.limit)]
        lisc_fit_rows = lisc_fit_rows[:: max(1, len(lisc_fit_rows) // args.limit)]
    test_labels = [s.cell_class for s in split["test"]]
    shift_idx = stratified_subset(test_labels, args.shift_cells, args.seed)
    val_idx = stratified_subset([s.cell_class for s in split["val"]], args.shift_cells, args.seed)

    def evaluate_model(model_dir: Path, fit: bool) -> dict:
        model = CellModel.from_dir(model_dir, threads=args.threads)
        classes = list(model.card.head("cell_class").labels)
        res: dict = {"model": f"{model.card.name} {model.card.version}"}
        guard = None
        if fit:
            fit_imgs = [load(pbc / s.path) for s in fit_samples]
            lab = np.array([s.cell_class for s in fit_samples]
                           + ([r["class"] for r in lisc_fit_rows] if args.trained_on_lisc
                              else []))
            if args.trained_on_lisc:
                fit_imgs += [load(args.datasets / "lisc" / r["path"]) for r in lisc_fit_rows]
            _, f_fit, c_fit, s_fit = run_model(model, fit_imgs)
            ok = np.array([c in (FOUND, "crop") for c in c_fit])
            guard = fit_guard(f_fit[ok], lab[ok], COMPONENTS)
            sources = np.array(["pbc"] * len(fit_samples)
                               + (["lisc"] * len(lisc_fit_rows) if args.trained_on_lisc
                                  else []))
            guard.stain = StainCheck.fit(s_fit[ok], list(sources[ok]))
            _, f_val, c_val, s_val = run_model(model,
                                               [load(pbc / s.path) for s in split["val"]])
            d_val = guard.distance(f_val)
            guard.threshold = float(np.quantile(d_val, args.quantile))
            guard.stain.calibrate(s_val, args.stain_quantile)
            guard.save(model_dir / "domain.npz")
            res["fit"] = {"training_cells": int(ok.sum()), "validation_cells": len(d_val),
                          "components": COMPONENTS, "quantile": args.quantile,
                          "threshold": guard.threshold,
                          "stain_sources": guard.stain.sources,
                          "stain_quantile": args.stain_quantile,
                          "stain_thresholds": list(guard.stain.thresholds)}

        def flags(f: np.ndarray, codes: list[str], stains: np.ndarray) -> np.ndarray:
            """Outside by the runtime's own rule (DomainGuard.cells)."""
            if guard is None:
                return np.zeros(len(codes), bool)
            found = [c in (FOUND, "crop") for c in codes]
            return np.array([not c.inside for c in guard.cells(f, found, stains)])

        test_imgs = [load(pbc / s.path) for s in split["test"]]
        pr, f, codes, st = run_model(model, test_imgs)
        fl = flags(f, codes, st)
        res["test"] = {**accuracy(pr, test_labels, classes), "flagged": float(fl.mean()),
                       "no_nucleus": sum(c not in (FOUND, "crop") for c in codes)}
        if guard is not None:
            res["test"]["specimens_of_100_flagged"] = specimen_flag_rate(fl, 100, 1000, 1)
        sub_labels = [test_labels[i] for i in shift_idx]
        res["shift_reference"] = {**accuracy(pr[shift_idx], sub_labels, classes),
                                  "flagged": float(fl[shift_idx].mean())}
        def shifted(imgs: list[Image.Image], labels: list[str], tag: str) -> dict:
            out = {}
            for name, fn in SHIFTS.items():
                prs, fs, cs, sts = run_model(model, [fn(im) for im in imgs])
                fls = flags(fs, cs, sts)
                out[name] = {**accuracy(prs, labels, classes), "flagged": float(fls.mean())}
                print(f"  {res['model']} {tag} {name}: {out[name]['accuracy']:.3f} "
                      f"flagged {fls.mean():.3f}", flush=True)
            return out

        res["shifts"] = shifted([test_imgs[i] for i in shift_idx], sub_labels, "test")
        # The registration rule (docs/training.md) reads the validation split only.
        val_sub = [split["val"][i] for i in val_idx]
        res["validation_shifts"] = shifted([load(pbc / s.path) for s in val_sub],
                                           [s.cell_class for s in val_sub], "val")
        res["validation_shift_mean"] = float(np.mean(
            [v["accuracy"] for v in res["validation_shifts"].values()]))
        lisc_imgs = [load(args.datasets / "lisc" / r["path"]) for r in lisc_rows]
        lisc_labels = [r["class"] for r in lisc_rows]
        pr, f, codes, st = run_model(model, lisc_imgs)
        fl = flags(f, codes, st)
        pred = np.array([classes[i] for i in pr.argmax(1)])
        wrong = pred != np.array(lisc_labels)
        conf = pr.max(1) > 0.9
        res["lisc"] = {
            "trained_on": bool(fit and args.trained_on_lisc and not args.lisc_split),
            "held_out_by_cell": bool(args.lisc_split),
            **accuracy(pr, lisc_labels, classes),
            "per_class": {c: accuracy(pr[[i for i, t in enumerate(lisc_labels) if t == c]],
                                      [c] * lisc_labels.count(c), classes)["accuracy"]
                          for c in FIVE},
            "flagged": float(fl.mean()),
            "confident_wrong": int((wrong & conf).sum()),
            "confident_wrong_not_flagged": int((wrong & conf & ~fl).sum()),
            "accuracy_of_unflagged": float((~wrong & ~fl).sum() / max(1, (~fl).sum())),
            "as_one_specimen_flagged": specimen_outside(fl) if guard is not None else None,
        }
        if guard is not None:
            ncs = non_cell_images(args.datasets, args.non_cells, args.seed)
            pr, f, codes_nc, st = run_model(model, ncs)
            fl_nc = flags(f, codes_nc, st)
            wbc, wbc_sources = other_lab_white_cells(args.datasets, args.non_cells, args.seed)
            pr, f, codes, st = run_model(model, wbc)
            fl = flags(f, codes, st)
            pred = [classes[i] for i in pr.argmax(1)]
            by_source = {}
            for src in sorted(set(wbc_sources)):
                idx = [i for i, x in enumerate(wbc_sources) if x == src]
                by_source[src] = {
                    "n": len(idx), "flagged": float(fl[idx].mean()),
                    "predicted_classes_unflagged": {
                        c: sum(1 for i in idx if pred[i] == c and not fl[i]) for c in classes}}
            res["other_lab_white_cells"] = {
                "n": len(wbc), "flagged": float(fl.mean()), "by_source": by_source,
                "predicted_classes": {c: pred.count(c) for c in classes},
                "predicted_classes_unflagged": {
                    c: sum(1 for p, x in zip(pred, fl, strict=True) if p == c and not x)
                    for c in classes},
                "source": "TXL-PBC white-cell boxes (PBC, Raabin-WBC, BCCD, BCD fields), "
                "crops 1.5x the box, no class labels",
            }
            res["non_cells"] = {"n": len(ncs), "flagged": float(fl_nc.mean()),
                                "no_nucleus": sum(c not in (FOUND, "crop") for c in codes_nc),
                                "composition": f"{len(ncs) - 50} TXL-PBC field crops away from "
                                "every white-cell box, 25 flat colours, 25 noise images"}
        return res

    result = {"new": evaluate_model(args.out, fit=True)}
    if args.baseline:
        result["baseline"] = evaluate_model(args.baseline, fit=False)
    if args.baseline:
        result["registration_rule"] = registration_rule(args.out, args.baseline, result)
    result["elapsed_seconds"] = time.time() - t0
    (args.out / "domain_eval.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(result, args.out / "robustness.png")
    update_card(args, result)
    print(json.dumps({k: result[k]["lisc"]["accuracy"] for k in ("new", "baseline")
                      if k in result}, indent=2))
    if "registration_rule" in result:
        print("registration rule:", json.dumps(result["registration_rule"], indent=2))


def card_input(folder: Path) -> dict:
    """What a model folder's network is given: its card's ``input``, the words about it
    (``description``) aside. The same network given other views (training.derive_balanced)
    makes other predictions, and the rule judges it."""
    inp = json.loads((folder / "card.json").read_text())["input"]
    return {**inp, "resize": {k: v for k, v in inp.get("resize", {}).items()
                              if k != "description"}}


def registration_rule(new_dir: Path, old_dir: Path, result: dict) -> dict:
    """The rule of docs/training.md, fixed before 2.0.0 was trained, on validation only."""
    def val_score(d: Path) -> float:
        v = json.loads((d / "metrics.json").read_text())["validation"]
        return float(v["heads"]["cell_class"]["accuracy"] + v["heads"]["subtype"]["accuracy"]
                     + v["attributes"]["mean_accuracy"])

    new_s, old_s = val_score(new_dir), val_score(old_dir)
    new_r = result["new"]["validation_shift_mean"]
    old_r = result["baseline"]["validation_shift_mean"]
    same = (sha256_file(new_dir / "model.onnx") == sha256_file(old_dir / "model.onnx")
            and card_input(new_dir) == card_input(old_dir))
    if same:  # a version that only changes the domain check or the files around the network
        return {"validation_score": {"new": new_s, "registered": old_s},
                "validation_shift_mean": {"new": new_r, "registered": old_r},
                "same_network": True, "register": None}
    return {
        "validation_score": {"new": new_s, "registered": old_s},
        "validation_shift_mean": {"new": new_r, "registered": old_r},
        "in_domain_ok": new_s >= old_s - 0.02,
        "robustness_better": new_r > old_r,
        "register": new_s >= old_s - 0.02 and new_r > old_r,
    }


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ["in-domain test subset", *SHIFTS, "LISC (held-out lab)"]
    fig, ax = plt.subplots(figsize=(11, 5), dpi=90)
    width = 0.38
    for j, key in enumerate(k for k in ("baseline", "new") if k in result):
        r = result[key]
        vals = [r["shift_reference"]["accuracy"], *(r["shifts"][n]["accuracy"] for n in SHIFTS),
                r["lisc"]["accuracy"]]
        ax.bar(np.arange(len(names)) + (j - 0.5) * width, vals, width, label=r["model"])
    ax.set_xticks(range(len(names)), names, rotation=40, ha="right", fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("cell-class accuracy")
    ax.set_title("Accuracy under controlled shifts of the PBC test split, and on LISC")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def update_card(args: argparse.Namespace, result: dict) -> None:
    path = args.out / "card.json"
    card = json.loads(path.read_text())
    new = result["new"]
    card["files"]["domain"] = {
        "path": "domain.npz", "sha256": sha256_file(args.out / "domain.npz"),
        "description": "domain-check statistics (apps.ml.domain.DomainGuard): class means, "
        f"{COMPONENTS} principal within-class directions and variances, residual variance, "
        "threshold; stain statistics per training source (apps.ml.domain.StainCheck)",
    }
    card["domain"] = {
        "method": "class-conditional Mahalanobis distance of the pooled features, "
        f"probabilistic-PCA covariance ({COMPONENTS} components), minimum over classes; "
        "a cell whose canonical view finds no nucleus is outside; and the stain check: "
        "nucleus and background optical densities of the view against a Gaussian per "
        "training source (" + ", ".join(new["fit"]["stain_sources"]) + "), threshold the "
        f"{args.stain_quantile:.1%} quantile of the validation cells",
        "fitted_on": f"{new['fit']['training_cells']} training cells"
        + (" (PBC training split and the train side of LISC's split by cell)"
           if args.lisc_split else " (PBC training split and all of LISC)"
           if args.trained_on_lisc and not args.fit_pbc_only else " (PBC training split"
           + ("; LISC, although trained on, is not a validated source: see "
              "lisc_held_out_by_cell)" if args.fit_pbc_only else ")")),
        "threshold": f"{args.quantile:.0%} quantile of {new['fit']['validation_cells']} "
        "validation-split cells",
        "specimen_max_outside": SPECIMEN_MAX_OUTSIDE,
        "specimen_rule": f"a specimen is outside when more than {SPECIMEN_MAX_OUTSIDE:.0%} of "
        "its cells are",
    }
    # A sibling recipe's figures not re-measured now stay as the card quoted them (its folder
    # may be gone; the card keeps the commands that make it again), or with --siblings-from
    # come from an earlier model's card, marked as that model's.
    before = card.get("out_of_domain") or {}
    quoted = quoted_siblings(args.siblings_from) if args.siblings_from else {}
    leave_out = (leave_out_section(args.recipe_without_lisc) if args.recipe_without_lisc
                 else quoted.get("leave_lisc_out") or before.get("leave_lisc_out"))
    by_cell = (leave_out_section(args.recipe_lisc_half) if args.recipe_lisc_half
               else quoted.get("lisc_held_out_by_cell") or before.get("lisc_held_out_by_cell"))
    kept = [option for option, section in SIBLINGS.items()
            if not getattr(args, option) and before.get(section) and section not in quoted
            and "quoted_via" not in before[section]]
    # The card a quoted section was read from, whether read now or kept from before.
    quoted_via = next((sec["quoted_via"] for sec in (leave_out, by_cell)
                       if sec and "quoted_via" in sec), None)
    card["out_of_domain"] = {
        "reproduce": f"python -m training.domain_eval --out {args.out}"
        + (f" --baseline {args.baseline}" if args.baseline else "")
        + "".join(f" --{k} {getattr(args, k.replace('-', '_'))}"
                  for k in ("shift-cells", "non-cells")
                  if getattr(args, k.replace("-", "_")) != DEFAULTS[k])
        + (" --trained-on-lisc" if args.trained_on_lisc else "")
        + (" --fit-pbc-only" if args.fit_pbc_only else "")
        + (f" --lisc-split {args.lisc_split}" if args.lisc_split else "")
        + (f" --recipe-without-lisc {args.recipe_without_lisc}"
           if args.recipe_without_lisc else "")
        + (f" --recipe-lisc-half {args.recipe_lisc_half}" if args.recipe_lisc_half else "")
        + "".join(f" --{option.replace('_', '-')} {before[section]['folder']}"
                  for option, section in SIBLINGS.items() if option in kept)
        + (f" --siblings-from {quoted_via}" if quoted_via else ""),
        "lisc_in_training": ("train side of LISC's split by cell" if args.lisc_split
                             else bool(args.trained_on_lisc)),
        "leave_lisc_out": leave_out,
        **({"lisc_held_out_by_cell": by_cell} if by_cell else {}),
        "summary": {
            k: {"test": v["test"], "lisc": {x: v["lisc"][x] for x in (
                "accuracy", "accuracy_ci95_wilson", "flagged", "confident_wrong",
                "confident_wrong_not_flagged")},
                "shifts": {n: round(s["accuracy"], 4) for n, s in v["shifts"].items()},
                **({"non_cells": v["non_cells"]} if "non_cells" in v else {}),
                **({"other_lab_white_cells": v["other_lab_white_cells"]}
                   if "other_lab_white_cells" in v else {})}
            for k, v in result.items() if k in ("new", "baseline")
        },
        "registration_rule": result.get("registration_rule"),
        "details": "domain_eval.json; figure robustness.png",
    }
    path.write_text(json.dumps(card, indent=2) + "\n")
    from training.evaluate import render_readme

    (args.out / "README.md").write_text(render_readme(card))


if __name__ == "__main__":
    main()
