"""LISC split by original cell (training/lisc_groups.py): augmented copies of one cell stay on
one side, each class keeps its share on both sides, the training and measuring commands take
the split, and the registered card quotes the held-out side of the sibling recipe."""

from __future__ import annotations

import csv
import json
import shutil
from argparse import Namespace

import numpy as np
import pytest
from PIL import Image, ImageOps

from training.data import read_lisc_split
from training.lisc_groups import copy_groups, main, split_groups


def _copies(rng: np.random.Generator, originals: int, copies: int) -> tuple[np.ndarray, list]:
    base = rng.normal(size=(originals, 32))
    feats = np.concatenate([b + 0.01 * rng.normal(size=(copies, 32)) for b in base])
    return feats, [k for k in range(originals) for _ in range(copies)]


def test_copies_of_one_cell_form_one_group_and_different_cells_do_not():
    feats, truth = _copies(np.random.default_rng(0), originals=7, copies=4)
    groups = copy_groups(feats, link=0.97)
    for k in range(7):
        members = {int(g) for g, t in zip(groups, truth, strict=True) if t == k}
        assert len(members) == 1, f"copies of cell {k} split into groups {members}"
    assert len(set(groups.tolist())) == 7


def test_whole_groups_go_to_one_side_and_the_sides_keep_their_share():
    groups = np.array([0] * 5 + [1] * 3 + [2] * 3 + [3] * 2 + [4] * 2 + [5] * 1)
    sides = split_groups(groups, test_share=0.5)
    for g in range(6):
        assert len(set(sides[groups == g].tolist())) == 1
    assert abs((sides == "test").sum() - 8) <= 1
    assert set(sides.tolist()) == {"train", "test"}


def test_split_command_keeps_an_image_and_its_flipped_copies_on_one_side(tmp_path, pbc_path,
                                                                        model_dir):
    lisc = tmp_path / "datasets" / "lisc"
    rows = []
    for k, rel in enumerate(["neutrophil/SNE_103795.jpg", "neutrophil/BNE_380387.jpg",
                             "neutrophil/BNE_797843.jpg", "neutrophil/SNE_358253.jpg"]):
        with Image.open(pbc_path(rel)) as im:
            im = im.convert("RGB")
        for j, copy in enumerate([im, ImageOps.mirror(im), ImageOps.flip(im)]):
            path = f"neutrophil/neut_{k}_{j}.png"
            (lisc / "neutrophil").mkdir(parents=True, exist_ok=True)
            copy.save(lisc / path)
            rows.append((path, "neutrophil"))
    with (lisc / "labels.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "class"])
        w.writerows(rows)
    main(["--out", str(tmp_path / "split"), "--datasets", str(tmp_path / "datasets"),
          "--model", str(model_dir), "--threads", "1"])
    sides = read_lisc_split(tmp_path / "split" / "lisc_split.csv")
    assert len(sides) == 12
    for k in range(4):
        assert len({sides[f"neutrophil/neut_{k}_{j}.png"] for j in range(3)}) == 1
    assert sorted(sides.values()).count("test") == 6
    summary = json.loads((tmp_path / "split" / "lisc_split.json").read_text())
    assert summary["classes"]["neutrophil"]["max_test_train_cosine"] < 0.97


def test_commands_refuse_a_lisc_split_without_lisc_and_the_card_command_repeats_it():
    from training.domain_eval import main as domain_eval
    from training.evaluate import train_options

    with pytest.raises(SystemExit):
        domain_eval(["--out", "x", "--lisc-split", "s.csv"])
    options = train_options({"args": {"extra_lisc": "True", "lisc_split": "ev/lisc_split.csv"}})
    assert "--extra-lisc --lisc-split ev/lisc_split.csv" in options


def test_registered_card_quotes_the_held_out_side_of_the_sibling_recipe(tmp_path, model_dir):
    from training.domain_eval import update_leave_out

    out = tmp_path / "model"
    shutil.copytree(model_dir, out)
    sibling = tmp_path / "half"
    sibling.mkdir()
    card = json.loads((model_dir / "card.json").read_text())
    card["reproduce"] = ["python -m training.train_cells --out models_onnx/"
                         f"{card['name']}/{card['version']} --extra-lisc --lisc-split s.csv"]
    card["out_of_domain"]["reproduce"] = (f"python -m training.domain_eval --out {sibling} "
                                          "--shift-cells 100 --trained-on-lisc --lisc-split s.csv")
    (sibling / "card.json").write_text(json.dumps(card))
    lisc = {"n": 640, "accuracy": 0.9, "accuracy_ci95_wilson": [0.87, 0.92],
            "per_class": {"monocyte": 0.8}, "flagged": 0.1, "confident_wrong": 3,
            "confident_wrong_not_flagged": 1, "held_out_by_cell": True}
    (sibling / "domain_eval.json").write_text(json.dumps({"new": {"model": "m half",
                                                                  "lisc": lisc}}))
    before = json.loads((out / "card.json").read_text())["out_of_domain"]["leave_lisc_out"]
    update_leave_out(out, Namespace(recipe_without_lisc=None, recipe_lisc_half=sibling))
    ood = json.loads((out / "card.json").read_text())["out_of_domain"]
    half = ood["lisc_held_out_by_cell"]
    assert half["accuracy"] == 0.9 and half["held_out_by_cell"] is True
    assert half["reproduce"][0].startswith(f"python -m training.train_cells --out {sibling}")
    assert half["reproduce"][-1].endswith("--lisc-split s.csv")
    assert ood["reproduce"].endswith(f"--recipe-lisc-half {sibling}")
    # The other sibling stays as it was, and so does the option that reads it.
    assert ood["leave_lisc_out"] == before
    assert ("--recipe-without-lisc" in ood["reproduce"]) or ("--siblings-from" in ood["reproduce"])
    update_leave_out(out, Namespace(recipe_without_lisc=None, recipe_lisc_half=sibling))
    again = json.loads((out / "card.json").read_text())["out_of_domain"]["reproduce"]
    assert again.count("--recipe-lisc-half") == 1
    readme = (out / "README.md").read_text()
    assert "90.0% (87.0-92.0%) of the 640 LISC cells of the other side" in readme


def test_a_pbc_only_domain_fit_needs_a_model_trained_on_lisc_and_excludes_the_split():
    from training.domain_eval import main as domain_eval

    with pytest.raises(SystemExit):
        domain_eval(["--out", "x", "--fit-pbc-only"])
    with pytest.raises(SystemExit):
        domain_eval(["--out", "x", "--trained-on-lisc", "--fit-pbc-only", "--lisc-split", "s"])


def test_the_registration_rule_does_not_judge_a_version_with_the_same_network(tmp_path,
                                                                              model_dir):
    from training.domain_eval import registration_rule

    same, other, viewed = tmp_path / "same", tmp_path / "other", tmp_path / "viewed"
    for d in (same, other, viewed):
        d.mkdir()
        shutil.copy(model_dir / "metrics.json", d / "metrics.json")
        card = json.loads((model_dir / "card.json").read_text())
        card["input"]["resize"]["description"] = "worded otherwise"
        (d / "card.json").write_text(json.dumps(card))
    shutil.copy(model_dir / "model.onnx", same / "model.onnx")
    (other / "model.onnx").write_bytes((model_dir / "model.onnx").read_bytes() + b"\0")
    result = {"new": {"validation_shift_mean": 0.98}, "baseline": {"validation_shift_mean": 0.98}}
    rule = registration_rule(same, model_dir, result)
    assert rule["same_network"] is True and rule["register"] is None
    rule = registration_rule(other, model_dir, result)
    assert "same_network" not in rule
    assert rule["in_domain_ok"] is True and rule["register"] is False  # not more robust
    # The same network given other views (a red-cell balance) makes other predictions: judged.
    shutil.copy(model_dir / "model.onnx", viewed / "model.onnx")
    card = json.loads((viewed / "card.json").read_text())
    card["input"]["resize"]["colour_reference"] = [201.5, 162.5, 171.5]  # not the registered one
    (viewed / "card.json").write_text(json.dumps(card))
    better = {**result, "new": {"validation_shift_mean": 0.99}}
    rule = registration_rule(viewed, model_dir, better)
    assert "same_network" not in rule and rule["register"] is True


def test_a_recipe_without_siblings_quotes_an_earlier_card_and_says_whose(tmp_path, model_dir):
    """A recipe whose siblings were not trained (domain_eval --siblings-from) quotes an earlier
    model's held-out LISC figures, marked as that model's recipe's, in the card and README."""
    from training.domain_eval import main as domain_eval
    from training.domain_eval import quoted_siblings
    from training.evaluate import render_readme

    with pytest.raises(SystemExit):
        domain_eval(["--out", "x", "--siblings-from", str(model_dir)])
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    card = json.loads((model_dir / "card.json").read_text())
    card["version"] = "9.9.9"
    for section in ("leave_lisc_out", "lisc_held_out_by_cell"):
        card["out_of_domain"][section].pop("quoted_from", None)
    (earlier / "card.json").write_text(json.dumps(card))

    quoted = quoted_siblings(earlier)
    assert set(quoted) == {"leave_lisc_out", "lisc_held_out_by_cell"}
    for section, q in quoted.items():
        assert q["accuracy"] == card["out_of_domain"][section]["accuracy"]
        assert q["quoted_from"] == f"{card['name']} 9.9.9 ({earlier})"
    later = json.loads(json.dumps(card))
    later["out_of_domain"].update(quoted)
    assert render_readme(later).count(f"Quoted from the card of {card['name']} 9.9.9") == 2
    # Quoting a quote names the model whose recipe was measured, not the one in between.
    later["version"] = "10.0.0"
    (earlier / "card.json").write_text(json.dumps(later))
    again = quoted_siblings(earlier)
    assert all(q["quoted_from"] == f"{card['name']} 9.9.9 ({earlier})" for q in again.values())


def test_the_card_command_keeps_quoting_the_same_earlier_card(tmp_path, model_dir):
    """The card's domain_eval command names the card its quoted sections were read from, when
    they are read and when a later run (without --siblings-from) keeps them."""
    from training.domain_eval import DEFAULTS, update_card

    earlier, out = tmp_path / "earlier", tmp_path / "out"
    shutil.copytree(model_dir, earlier)
    shutil.copytree(model_dir, out)
    card = json.loads((out / "card.json").read_text())
    card.pop("out_of_domain")
    (out / "card.json").write_text(json.dumps(card))
    result = json.loads((model_dir / "domain_eval.json").read_text())
    args = Namespace(out=out, baseline=None, shift_cells=DEFAULTS["shift-cells"],
                     non_cells=DEFAULTS["non-cells"], trained_on_lisc=True, fit_pbc_only=True,
                     lisc_split=None, recipe_without_lisc=None, recipe_lisc_half=None,
                     siblings_from=earlier, quantile=0.99, stain_quantile=0.995)
    for siblings_from in (earlier, None):
        args.siblings_from = siblings_from
        update_card(args, result)
        ood = json.loads((out / "card.json").read_text())["out_of_domain"]
        assert ood["reproduce"].count(f"--siblings-from {earlier}") == 1
        assert "--recipe-without-lisc" not in ood["reproduce"]
        assert ood["leave_lisc_out"]["quoted_via"] == str(earlier)
        assert "Quoted from the card of" in (out / "README.md").read_text()


def test_a_cards_training_commands_name_the_folders_it_was_written_to_and_read_from(tmp_path):
    from training.evaluate import run_commands

    out, run = tmp_path / "evaluation" / "cells-2.1.0-without-lisc", tmp_path / "runs" / "r"
    train, export, evaluate = run_commands(out, run, out.name, "--epochs 5", int8=False)
    assert train == f"python -m training.train_cells --out {out} --run-dir {run} --epochs 5"
    assert export == f"python -m training.export_onnx --out {out} --run-dir {run}"
    assert evaluate == f"python -m training.evaluate --out {out} --run-dir {run}"
    *_, again = run_commands(out, run, "2.3.0", "", int8=True)
    assert again.endswith("--version 2.3.0")
    assert run_commands(out, run, "2.3.0", "", int8=True)[1].endswith("--int8")


def test_a_quoted_derived_sibling_lists_its_domain_measurement_once(tmp_path, model_dir):
    from training.domain_eval import leave_out_section

    sibling = tmp_path / "without-lisc-balanced"
    sibling.mkdir()
    card = json.loads((model_dir / "card.json").read_text())
    run = f"python -m training.domain_eval --out {sibling} --baseline {tmp_path / 'source'}"
    card["reproduce"] = ["train", "derive", run]
    card["out_of_domain"]["reproduce"] = f"{run} --shift-cells 100 --non-cells 50"
    (sibling / "card.json").write_text(json.dumps(card))
    lisc = {"n": 1287, "accuracy": 0.68, "accuracy_ci95_wilson": [0.66, 0.71],
            "per_class": {"monocyte": 0.44}, "flagged": 0.97, "confident_wrong": 77,
            "confident_wrong_not_flagged": 0}
    (sibling / "domain_eval.json").write_text(json.dumps({"new": {"model": "m", "lisc": lisc}}))
    section = leave_out_section(sibling)
    assert section["reproduce"] == ["train", "derive", f"{run} --shift-cells 100 --non-cells 50"]
    assert section["accuracy"] == 0.68 and section["confident_wrong_not_flagged"] == 0


def test_a_card_whose_siblings_are_all_its_own_quotes_no_earlier_card(tmp_path, model_dir):
    from training.domain_eval import update_leave_out

    out = tmp_path / "model"
    shutil.copytree(model_dir, out)
    card = json.loads((out / "card.json").read_text())
    ood = card["out_of_domain"]
    ood["reproduce"] = "python -m training.domain_eval --out M --siblings-from E --trained-on-lisc"
    for section in ("leave_lisc_out", "lisc_held_out_by_cell"):
        ood[section] = {**ood[section], "quoted_via": "E"}
    (out / "card.json").write_text(json.dumps(card))
    siblings = {}
    for name in ("without", "half"):
        sibling = siblings[name] = tmp_path / name
        sibling.mkdir()
        (sibling / "card.json").write_text(json.dumps({**card, "reproduce": []}))
        lisc = {"n": 10, "accuracy": 0.5, "accuracy_ci95_wilson": [0.2, 0.8],
                "per_class": {}, "flagged": 1.0, "confident_wrong": 0,
                "confident_wrong_not_flagged": 0}
        (sibling / "domain_eval.json").write_text(json.dumps({"new": {"model": name,
                                                                      "lisc": lisc}}))
    update_leave_out(out, Namespace(recipe_without_lisc=siblings["without"],
                                    recipe_lisc_half=None))
    assert "--siblings-from E" in json.loads((out / "card.json").read_text())[
        "out_of_domain"]["reproduce"]  # the other sibling is still quoted from E
    update_leave_out(out, Namespace(recipe_without_lisc=None, recipe_lisc_half=siblings["half"]))
    got = json.loads((out / "card.json").read_text())["out_of_domain"]["reproduce"]
    assert got == ("python -m training.domain_eval --out M --trained-on-lisc "
                   f"--recipe-without-lisc {siblings['without']} "
                   f"--recipe-lisc-half {siblings['half']}")
