"""A fine-tuned run averaged with the model it started from (training/average_weights.py):
tensor by tensor, counters from the run, refused for checkpoints that do not match, and the
card's commands make the averaged file before exporting it. Needs the training extra."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
REPO = Path(__file__).resolve().parents[2]


def test_average_weighs_each_tensor_and_keeps_the_runs_counters():
    from training.average_weights import average

    start = {"w": torch.zeros(2, 2), "bn.num_batches_tracked": torch.tensor(10)}
    tuned = {"w": torch.full((2, 2), 4.0), "bn.num_batches_tracked": torch.tensor(30)}
    out = average(start, tuned, 0.25)
    assert torch.equal(out["w"], torch.full((2, 2), 1.0))
    assert out["bn.num_batches_tracked"].item() == 30
    assert out["bn.num_batches_tracked"].dtype == torch.int64


@pytest.mark.parametrize("other", [{"v": torch.zeros(2, 2)}, {"w": torch.zeros(3)}])
def test_checkpoints_of_another_network_are_refused(other):
    from training.average_weights import average

    with pytest.raises(ValueError):
        average({"w": torch.zeros(2, 2)}, other, 0.5)


def test_the_command_writes_the_average_and_its_record(tmp_path):
    from training.average_weights import main

    start, run = tmp_path / "start.pt", tmp_path / "run"
    run.mkdir()
    torch.save({"w": torch.zeros(3)}, start)
    torch.save({"w": torch.ones(3)}, run / "best.pt")
    (run / "config.json").write_text(json.dumps({"args": {"init": str(start)}}))
    main(["--run-dir", str(run), "--alpha", "0.5"])
    assert torch.equal(torch.load(run / "average-0.5.pt", weights_only=True)["w"],
                       torch.full((3,), 0.5))
    record = json.loads((run / "average-0.5.json").read_text())
    assert record["start"] == str(start) and record["alpha"] == 0.5
    assert record["command"].endswith("--checkpoint best.pt --alpha 0.5")


def test_a_run_not_started_from_a_model_is_refused(tmp_path):
    from training.average_weights import main

    (tmp_path / "config.json").write_text(json.dumps({"args": {"init": "None"}}))
    with pytest.raises(SystemExit):
        main(["--run-dir", str(tmp_path)])


def test_an_averaged_export_lists_the_average_in_the_cards_commands(tmp_path):
    from training.evaluate import run_commands

    out, run = tmp_path / "2.14.0", tmp_path / "runs" / "r"
    run.mkdir(parents=True)
    made = "python -m training.average_weights --run-dir r --checkpoint best.pt --alpha 0.5"
    (run / "average-0.5.json").write_text(json.dumps({"command": made}))
    train, average, export, _ = run_commands(out, run, out.name, "", int8=False,
                                             checkpoint="average-0.5.pt")
    assert train.startswith("python -m training.train_cells")
    assert average == made
    assert export.endswith("--checkpoint average-0.5.pt")


def test_a_warm_restart_of_a_warm_restart_lists_every_run_that_made_its_start():
    """2.1.4's weights are 2.1.0's, itself started from 2.0.0: a run started from 2.1.4 is
    reproduced from both runs (its card listed 2.0.0's alone)."""
    from training.evaluate import parent_training

    card = json.loads((REPO / "models_onnx/hemaclinic-cells/2.1.4/card.json").read_text())
    runs = parent_training(card)
    assert [c.split("--out ")[1].split()[0] for c in runs] == [
        "models_onnx/hemaclinic-cells/2.0.0", "models_onnx/hemaclinic-cells/2.1.0"]
    averaged = {"reproduce": ["pip install x", runs[0], "python -m training.average_weights "
                              "--run-dir r --checkpoint best.pt --alpha 0.5",
                              "python -m training.export_onnx --out o --run-dir r"]}
    assert len(parent_training(averaged)) == 2


def test_the_cards_training_command_keeps_the_feature_distillation():
    from training.evaluate import train_options

    config = {"args": {"cell_cutout": "0.1", "cutout_od": "[0.05, 0.4]", "distil_features": "3.0",
                       "augment": "robust"}}
    options = train_options(config)
    assert "--distil-features 3" in options and "--cell-cutout 0.1" in options
    assert "--cutout-od 0.05 0.4" in options
    assert "--distil-features" not in train_options({"args": {"augment": "robust"}})
