"""An exported cell model run on red-cell white-balanced images: the same network, its canonical
view made on the image after the balance, every figure measured again.

    python -m training.derive_balanced --source models_onnx/hemaclinic-cells/2.1.3 \
        --out models_onnx/hemaclinic-cells/2.1.4

The balance (apps.ml.colour, ``train_cells --colour-balance``) scales each channel of a smear
image so that its red cells take the training slides' colour; on another laboratory's bluer
slides the model's errors follow that colour (``python -m training.colour_probe``). A network
trained without it can still be given balanced images: this writes into --out
- model.onnx, cam16.onnx, heads.npz, split.csv and checkpoint.pt copied from the source;
- card.json: the source's, whose ``input.resize`` gains ``colour_reference`` (the median
  red-cell colour of COLOUR_REFERENCE_VIEWS training-split views, drawn with --seed as
  ``train_cells --colour-balance`` draws them) and ``colour_balance_on`` ("image": the whole
  image is balanced before the nucleus is looked for); its figures, temperatures included,
  ``training.evaluate``'s own measurement (``evaluate.measure``) on those views; a
  ``derived_from`` section; README.md.

The domain check is not copied: the network's features on balanced views are not the source's,
so it is fitted again (``training.domain_eval``, the command is added to the card's
``reproduce``; its stain part still reads the image as imaged). ``--recipe-without-lisc``:
the source's recipe trained without LISC, derived the same way, whose held-out LISC figures
that command then quotes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from training.data import default_datasets_dir, read_split_csv
from training.derive_int8 import domain_eval_command, heads_and_vocab, input_spec, remeasured_card
from training.evaluate import (
    InputSpec,
    canonical_resize,
    measure,
    render_readme,
)
from training.export_onnx import CHECKPOINT_FILE
from training.train_cells import with_colour_reference

COPIED = ("model.onnx", "cam16.onnx", "heads.npz", "split.csv", CHECKPOINT_FILE, "export.json")
BALANCE_LIMITATION = (
    "red-cell white balance: an image is brought to the training slides' colours by its red "
    "cells; a cell segmented on black or a frame filled by one cell has too few of them and is "
    "classified on its colours as imaged")


def view_rule(view: dict) -> dict:
    """The card's ``input.resize`` without the words about it: the rule's constants."""
    return {k: v for k, v in view.items() if k not in ("interpolation", "description")}


def balanced_view(view: dict, reference: list[float]) -> dict:
    """The card's ``input.resize`` with the balance made on the whole image."""
    return canonical_resize({**view_rule(view), "colour_reference": reference,
                             "colour_balance_on": "image"})


def balanced_card(card: dict, source: Path, out: Path, version: str, view: dict,
                  metrics: dict, temps: dict[str, float], command: str,
                  domain_command: str) -> dict:
    card = remeasured_card(
        card, source, out, version, metrics, temps, limitation=BALANCE_LIMITATION,
        note="the source's network and files, byte for byte; its canonical view is made on "
        "the image after a red-cell white balance to colour_reference (input.resize). Every "
        "figure of this card is measured on those views (training.evaluate.measure); the "
        "domain check is fitted on their features",
        command=command, domain_command=domain_command)
    card["input"]["resize"] = view
    return card


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--recipe-without-lisc", type=Path, default=None,
                   help="the source's recipe trained without LISC, derived the same way: the "
                   "domain_eval command quotes its held-out LISC figures")
    p.add_argument("--datasets", type=Path, default=default_datasets_dir())
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=20261202,
                   help="draw of the reference views (train_cells' --seed) and bootstrap seed")
    args = p.parse_args(argv)
    t0 = time.time()
    card = json.loads((args.source / "card.json").read_text())
    source_spec = input_spec(card)
    if source_spec.view is None:
        p.error(f"{args.source} has no canonical view to balance")
    if source_spec.view.get("colour_reference") is not None:
        p.error(f"{args.source} is already balanced")
    heads, vocab = heads_and_vocab(card)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        if (args.source / name).exists():
            shutil.copyfile(args.source / name, args.out / name)
    pbc = args.datasets / "pbc"
    train = [pbc / r[0] for r in read_split_csv(args.source / "split.csv") if r[2] == "train"]
    reference = with_colour_reference(view_rule(source_spec.view), train, source_spec.size,
                                      args.threads, args.seed)["colour_reference"]
    view = balanced_view(source_spec.view, reference)
    spec = InputSpec(source_spec.size, source_spec.mean, source_spec.std, view)
    metrics, temps = measure(args.out, spec, heads, vocab, args.datasets, args.threads,
                             args.seed)
    metrics["elapsed_seconds"] = time.time() - t0
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    command = f"python -m training.derive_balanced --source {args.source} --out {args.out}" + (
        f" --recipe-without-lisc {args.recipe_without_lisc}" if args.recipe_without_lisc else "")
    domain_command = domain_eval_command(card, args.source, args.out)
    if args.recipe_without_lisc:
        domain_command += f" --recipe-without-lisc {args.recipe_without_lisc}"
    new = balanced_card(card, args.source, args.out, args.out.name, view, metrics, temps,
                        command, domain_command)
    (args.out / "card.json").write_text(json.dumps(new, indent=2) + "\n")
    (args.out / "README.md").write_text(render_readme(new))
    print(json.dumps({"colour_reference": reference,
                      "test_cell_class": metrics["heads"]["cell_class"]["accuracy"],
                      "test_subtype": metrics["heads"]["subtype"]["accuracy"],
                      "test_attributes": metrics["attributes_summary"]["mean_accuracy"]},
                     indent=2))


if __name__ == "__main__":
    main()
