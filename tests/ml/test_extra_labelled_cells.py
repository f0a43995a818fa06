"""Cells added to training with class labels only (training/pseudo_label.py, a laboratory's own
five-class folders): the crops cut around other laboratories' white-cell boxes, the teacher's
probability floor, the labels refused when they are not five-class labels, and the card's
command that repeats every training option."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from PIL import Image

from training.data import txl_white_cell_crop


def test_white_cell_crop_is_one_and_a_half_boxes_and_names_its_source():
    field = Image.new("RGB", (575, 575), (230, 200, 190))
    crop, source = txl_white_cell_crop(field, (0.5, 0.4, 0.2, 0.1))
    side = 1.5 * 0.2 * 575  # corners rounded one by one: within a pixel
    assert all(abs(n - side) <= 1 for n in crop.size)
    assert source == "Raabin-WBC"
    assert txl_white_cell_crop(Image.new("RGB", (500, 300)), (0.5, 0.5, 0.1, 0.1))[1] == "other"


def test_teacher_keeps_only_confident_five_class_labels(cell_model, pbc_path, golden_files):
    from training.pseudo_label import pseudo_labels

    cells = [Image.open(pbc_path(golden_files[c])).convert("RGB")
             for c in ("neutrophil", "platelet")]
    labelled = pseudo_labels(cell_model, cells, min_prob=0.5)
    assert labelled[0] is not None and labelled[0][0] == "neutrophil"
    assert labelled[1] is None  # a platelet is not one of the five classes every source shows
    p = labelled[0][1]
    assert pseudo_labels(cell_model, cells[:1], min_prob=min(1.0, p + 1e-6)) == [None]


def _labels(folder: Path, rows: list[tuple[str, str]]) -> Path:
    folder.mkdir()
    with (folder / "labels.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "class"])
        w.writerows(rows)
    return folder


def test_class_only_folders_read_as_lisc_and_refuse_other_classes(tmp_path):
    pytest.importorskip("torch")
    from training.train_cells import lisc_samples

    good = lisc_samples(_labels(tmp_path / "good", [("a.png", "monocyte")]))
    assert [(s.path, s.cell_class, s.attributes) for s in good] == [("a.png", "monocyte", {})]
    with pytest.raises(SystemExit, match="blast"):
        lisc_samples(_labels(tmp_path / "bad", [("b.png", "blast")]))


def test_card_command_repeats_the_robustness_options_and_the_extra_folders():
    from training.evaluate import train_options

    config = {"args": {"randconv": "0.25", "mixstyle": "0.0", "region_colour": "0.5",
                       "extra_lisc": "True"},
              "extra_labelled": ["evaluation/pseudo-txl"]}
    options = train_options(config)
    assert "--randconv 0.25" in options and "--region-colour 0.5" in options
    assert "--mixstyle" not in options
    assert "--extra-lisc --extra-labelled evaluation/pseudo-txl" in options
    assert train_options({"args": {}}) == ""
