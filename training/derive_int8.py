"""The int8 variant of an exported cell model whose training run is gone: its network quantized,
every figure measured again on the quantized file.

    python -m training.derive_int8 --source models_onnx/hemaclinic-cells/2.1.3 \
        --out models_onnx/hemaclinic-cells/2.1.3-int8

``training.export_onnx --int8`` quantizes at export, from the run folder. A registered model
that was derived later (training.derive_cam16, a refitted domain check) has no run folder of its
own; this quantizes its ``model.onnx`` as it is, with every output it has (the stride-16
features and ReLU6 masks its cam16.onnx reads included), using ``training.quantize`` with the
activation ranges of 512 training-split canonical views, and writes into --out:
- model.onnx (int8 backbone; head convolution, pooling and heads float32), and cam16.onnx,
  heads.npz, split.csv and checkpoint.pt copied from the source (the checkpoint is the float32
  weights: a lab fine-tunes from it as from the source);
- metrics.json, confusion matrices, reports/ and the temperatures: ``training.evaluate``'s own
  measurement (``evaluate.measure``) of the int8 file on the test split, with what quantization
  cost on the validation split against the source;
- card.json: the source's, with these files and figures, ``compute.quantization`` and a
  ``derived_from`` section; README.md.

The domain check is not copied: it is fitted on the features of the network that runs, so fit
it on this one (``training.domain_eval``, the command is added to the card's ``reproduce``).
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import time
from pathlib import Path

from apps.ml.cards import sha256_file
from training.data import default_datasets_dir
from training.evaluate import (
    InputSpec,
    card_calibration,
    card_metrics,
    card_quantization,
    measure,
    render_readme,
)
from training.export_onnx import CHECKPOINT_FILE, INPUT_NAME
from training.quantize import CALIBRATION_IMAGES, calibration_paths, quantize_int8

COPIED = ("cam16.onnx", "heads.npz", "split.csv", CHECKPOINT_FILE)
INT8_LIMITATION = (
    "int8: the backbone runs in 8-bit integers; its figures are measured on this file on a "
    "CPU with VNNI, and on x86 CPUs without VNNI the kernels can saturate (manage.py check "
    "warns, hemaclinic.W002): re-run the measurement there before relying on them")


def input_spec(card: dict) -> InputSpec:
    inp = card["input"]
    resize = inp["resize"]
    view = resize if resize.get("rule", "").startswith("canonical") else None
    return InputSpec(int(inp["height"]), list(inp["mean"]), list(inp["std"]), view)


def heads_and_vocab(card: dict) -> tuple[list[str], dict[str, list[str]]]:
    heads = [h["name"] for h in card["outputs"]["heads"]]
    vocab = {h["name"]: list(h["labels"]) for h in card["outputs"]["heads"]
             if h["name"] not in ("cell_class", "subtype")}
    return heads, vocab


def domain_eval_command(card: dict, source: Path, out: Path) -> str:
    """The source's own domain_eval command (its card's ``out_of_domain.reproduce``) for
    ``out``, judged against the source, quoting the source's sibling recipes (their folders
    are the source's evaluation, not re-run for a quantization)."""
    ood = card.get("out_of_domain") or {}
    words = shlex.split(ood.get("reproduce", "python -m training.domain_eval --out X"))
    kept: list[str] = []
    skip = False
    for i, word in enumerate(words):
        if skip:
            skip = False
            continue
        if word in ("--out", "--baseline", "--recipe-without-lisc", "--recipe-lisc-half",
                    "--siblings-from"):
            skip = i + 1 < len(words)
            continue
        kept.append(word)
    siblings = any(ood.get(k) for k in ("leave_lisc_out", "lisc_held_out_by_cell"))
    return " ".join([*kept[:3], "--out", str(out), "--baseline", str(source), *kept[3:],
                     *(["--siblings-from", str(source)] if siblings else [])])


def remeasured_card(card: dict, source: Path, out: Path, version: str, metrics: dict,
                    temps: dict[str, float], *, note: str, limitation: str, command: str,
                    domain_command: str) -> dict:
    """The source's card for a version made from it and measured again (this module,
    training.derive_balanced): its version, files and their sha256, temperatures, figures,
    one more limitation, a ``derived_from`` section saying what changed (``note``), and the
    commands that made it; the domain check left out until domain_eval fits it again."""
    card = json.loads(json.dumps(card))
    heads, _ = heads_and_vocab(card)
    card["version"] = version
    files = card["files"]
    files.pop("domain", None)  # fitted again on this network's features (domain_eval)
    for entry in files.values():
        entry["sha256"] = sha256_file(out / entry["path"])
    for h in card["outputs"]["heads"]:
        h["temperature"] = round(temps[h["name"]], 4)
    card.pop("domain", None)
    card.pop("out_of_domain", None)
    card["metrics"] = card_metrics(metrics, heads)
    card["calibration"] = card_calibration(temps, metrics, heads)
    card["limitations"] = [*card["limitations"], limitation]
    card["derived_from"] = {
        "model": f"{card['name']} {source.name}",
        "folder": str(source),
        "model_sha256": sha256_file(source / "model.onnx"),
        "note": note,
        **({"earlier": card["derived_from"]} if card.get("derived_from") else {}),
    }
    card["reproduce"] = [*card.get("reproduce", []), command, domain_command]
    return card


def derived_card(card: dict, source: Path, out: Path, version: str, quant: dict,
                 metrics: dict, temps: dict[str, float], command: str,
                 domain_command: str) -> dict:
    card = remeasured_card(
        card, source, out, version, metrics, temps, limitation=INT8_LIMITATION,
        note="the source's network and outputs, quantized to int8 (training.quantize); "
        "cam16.onnx, heads.npz, split.csv and checkpoint.pt are the source's. Every figure of "
        "this card is measured on this model.onnx (training.evaluate.measure); the domain "
        "check is fitted on its own features",
        command=command, domain_command=domain_command)
    card["architecture"] += ("; backbone convolutions quantized to int8 after training "
                             "(onnxruntime static QDQ), head convolution, pooling and heads in "
                             "float32")
    compute = card["compute"]
    compute["onnx_bytes"] = (out / "model.onnx").stat().st_size
    compute["export_note"] = ("the PyTorch-vs-onnxruntime difference is the source's float32 "
                              "export's; model.onnx is its int8 quantization")
    compute["quantization"] = card_quantization(
        quant, metrics, (source / "model.onnx").stat().st_size)
    return card


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--source", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--datasets", type=Path, default=default_datasets_dir())
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0, help="calibration draw and bootstrap seed")
    args = p.parse_args(argv)
    t0 = time.time()
    card = json.loads((args.source / "card.json").read_text())
    if "quantization" in card["compute"]:
        p.error(f"{args.source} is already quantized")
    spec = input_spec(card)
    heads, vocab = heads_and_vocab(card)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        if (args.source / name).exists():
            shutil.copyfile(args.source / name, args.out / name)
    images = calibration_paths(args.source / "split.csv", args.datasets / "pbc",
                               CALIBRATION_IMAGES, args.seed)
    quant = quantize_int8(args.source / "model.onnx", args.out / "model.onnx", images,
                          spec.size, spec.mean, spec.std, INPUT_NAME, view=spec.view)
    metrics, temps = measure(args.out, spec, heads, vocab, args.datasets, args.threads,
                             args.seed, fp32=args.source / "model.onnx")
    metrics["elapsed_seconds"] = time.time() - t0
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    export = json.loads((args.source / "export.json").read_text())
    export.update(quantization=quant, onnx_bytes=(args.out / "model.onnx").stat().st_size,
                  fp32_onnx_bytes=(args.source / "model.onnx").stat().st_size,
                  derived_from=str(args.source))
    (args.out / "export.json").write_text(json.dumps(export, indent=2) + "\n")
    command = f"python -m training.derive_int8 --source {args.source} --out {args.out}"
    domain_command = domain_eval_command(card, args.source, args.out)
    new = derived_card(card, args.source, args.out, args.out.name, quant, metrics, temps,
                       command, domain_command)
    (args.out / "card.json").write_text(json.dumps(new, indent=2) + "\n")
    (args.out / "README.md").write_text(render_readme(new))
    cost = metrics["quantization_on_validation"]
    print(json.dumps({"validation_float32_vs_int8": cost,
                      "test_cell_class": metrics["heads"]["cell_class"]["accuracy"],
                      "test_subtype": metrics["heads"]["subtype"]["accuracy"]}, indent=2))


if __name__ == "__main__":
    main()
