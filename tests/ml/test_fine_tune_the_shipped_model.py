"""A lab fine-tunes the registered cell model (docs/training.md): training starts from the
checkpoint.pt shipped beside model.onnx, keeps the shipped split (no earlier test image is
trained on), and the export of the result passes the PyTorch-vs-onnxruntime check and ships
its own checkpoint. A one-step run on a few real images; needs the training extra."""

from __future__ import annotations

import json

import pytest

from tests.ml.conftest import pbc_file

pytest.importorskip("torch")
pytest.importorskip("onnx")


def test_fine_tune_from_the_shipped_checkpoint_keeps_the_split(model_dir, tmp_path):  # type: ignore[no-untyped-def]
    from training import export_onnx, train_cells
    from training.data import read_split_csv

    card = json.loads((model_dir / "card.json").read_text())
    ckpt = model_dir / card["files"]["checkpoint"]["path"]
    assert ckpt.is_file()
    datasets = pbc_file("labels.csv").parent.parent  # fails (never skips) without the data
    out, run = tmp_path / "out", tmp_path / "run"
    train_cells.main([
        "--datasets", str(datasets), "--out", str(out), "--run-dir", str(run),
        "--init", str(ckpt), "--keep-split", str(model_dir / "split.csv"),
        "--limit", "32", "--epochs", "1", "--max-steps", "1", "--freeze-blocks", "2",
        "--ema", "0.999", "--seed", "99",  # another seed: the kept split must not move
    ])
    shipped = {h: sp for _, h, sp in read_split_csv(model_dir / "split.csv")}
    new = read_split_csv(out / "split.csv")
    assert len(new) == len(shipped)
    assert all(shipped[h] == sp for _, h, sp in new)

    config = json.loads((run / "config.json").read_text())
    assert config["args"]["init"] == str(ckpt)
    assert (run / "best.pt").is_file()

    export_onnx.main(["--datasets", str(datasets), "--out", str(out), "--run-dir", str(run)])
    export = json.loads((out / "export.json").read_text())
    assert export["max_abs_diff"] < 1e-3
    assert (out / "model.onnx").is_file() and (out / "checkpoint.pt").is_file()


def test_a_checkpoint_that_does_not_fit_the_labels_is_refused_clearly(tmp_path):  # type: ignore[no-untyped-def]
    import torch

    from training import train_cells
    from training.model import MultiHeadNet

    datasets = pbc_file("labels.csv").parent.parent  # fails (never skips) without the data
    other = tmp_path / "other.pt"
    torch.save(MultiHeadNet([("cell_class", 3)]).state_dict(), other)
    with pytest.raises(SystemExit, match="does not fit these labels"):
        train_cells.main([
            "--datasets", str(datasets), "--out", str(tmp_path / "out"),
            "--run-dir", str(tmp_path / "run"), "--init", str(other), "--limit", "8",
        ])
