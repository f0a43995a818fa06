"""The score_cells management command wires settings to score_folder (no database)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

pytest.importorskip("django")


def test_score_cells_command_writes_the_csv(
    tmp_path: Path, settings, models_root, pbc_path, golden_files
):
    from django.core.management import call_command

    settings.MODELS_ONNX_DIR = models_root
    settings.ML_THREADS = 1
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(pbc_path(golden_files["eosinophil"]), folder / "cell.jpg")
    (folder / "readme.txt").write_text("hello")
    out = tmp_path / "scores.csv"
    call_command("score_cells", str(folder), "--out", str(out), "--batch-size", "4")
    with out.open(newline="") as fh:
        rows = {r["file"]: r for r in csv.DictReader(fh)}
    assert rows["cell.jpg"]["cell_class"] == "eosinophil"
    assert rows["readme.txt"]["error"]


def test_score_cells_command_rejects_a_missing_folder(tmp_path: Path, settings, models_root):
    from django.core.management import CommandError, call_command

    settings.MODELS_ONNX_DIR = models_root
    with pytest.raises(CommandError):
        call_command("score_cells", str(tmp_path / "nope"), "--out", str(tmp_path / "o.csv"))
