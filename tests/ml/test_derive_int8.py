"""training.derive_int8 reads what it needs from the source's card: the model input (the
canonical view when the card has one), the heads, and the source's own domain_eval command,
turned into the command that fits the int8 network's domain check and judges it against the
source. The helpers need the training extra (training.evaluate reads the exporter's names);
the committed variant's card is checked without it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ml.conftest import MODELS_ROOT


@pytest.fixture(scope="module")
def derive():  # type: ignore[no-untyped-def]
    pytest.importorskip("torch")
    from training import derive_int8

    return derive_int8


CARD = {
    "input": {"height": 192, "mean": [127.0] * 3, "std": [128.0] * 3,
              "resize": {"rule": "canonical_nucleus_v1", "size": 192, "target_spread": 26.0}},
    "outputs": {"heads": [{"name": "cell_class", "labels": ["a", "b"]},
                          {"name": "subtype", "labels": ["a1", "b1"]},
                          {"name": "cell_size", "labels": ["big", "small"]}]},
    "out_of_domain": {
        "reproduce": "python -m training.domain_eval --out models_onnx/m/2.1.3 --baseline "
        "models_onnx/m/2.1.2 --trained-on-lisc --fit-pbc-only --recipe-lisc-half "
        "evaluation/half --recipe-without-lisc evaluation/without",
        "leave_lisc_out": {"accuracy": 0.631}},
}


def test_the_source_command_is_pointed_at_the_int8_folder_and_quotes_the_source(derive):  # type: ignore[no-untyped-def]
    got = derive.domain_eval_command(CARD, Path("models_onnx/m/2.1.3"),
                                     Path("models_onnx/m/2.1.3-int8"))
    assert got == ("python -m training.domain_eval --out models_onnx/m/2.1.3-int8 --baseline "
                   "models_onnx/m/2.1.3 --trained-on-lisc --fit-pbc-only --siblings-from "
                   "models_onnx/m/2.1.3")


def test_a_source_without_sibling_recipes_quotes_none(derive):  # type: ignore[no-untyped-def]
    card = {"out_of_domain": {"reproduce": "python -m training.domain_eval --out a/1 "
                                           "--shift-cells 100"}}
    assert derive.domain_eval_command(card, Path("a/1"), Path("a/1-int8")) == (
        "python -m training.domain_eval --out a/1-int8 --baseline a/1 --shift-cells 100")


def test_input_and_heads_come_from_the_card(derive):  # type: ignore[no-untyped-def]
    spec = derive.input_spec(CARD)
    assert (spec.size, spec.mean, spec.std) == (192, [127.0] * 3, [128.0] * 3)
    assert spec.view is not None and spec.view["rule"] == "canonical_nucleus_v1"
    crop = {**CARD, "input": {**CARD["input"], "resize": {"rule": "shorter_side_then_center_crop"}}}
    assert derive.input_spec(crop).view is None
    heads, vocab = derive.heads_and_vocab(CARD)
    assert heads == ["cell_class", "subtype", "cell_size"]
    assert vocab == {"cell_size": ["big", "small"]}


def test_the_committed_int8_card_was_measured_on_its_own_file():
    """Each committed variant made by derive_int8: its card names the source it was quantized
    from, and its figures are not the source's copied over (the files differ, the test-split
    figures are its own metrics.json)."""
    made = [d for d in sorted((MODELS_ROOT / "hemaclinic-cells").glob("*-int8"))
            if "training.derive_int8" in " ".join(
                json.loads((d / "card.json").read_text())["reproduce"])]
    assert made, "no int8 variant made by training.derive_int8 is committed"
    for d in made:
        card = json.loads((d / "card.json").read_text())
        metrics = json.loads((d / "metrics.json").read_text())
        source = MODELS_ROOT / "hemaclinic-cells" / Path(card["derived_from"]["folder"]).name
        assert card["derived_from"]["model_sha256"] == json.loads(
            (source / "card.json").read_text())["files"]["model"]["sha256"]
        assert card["files"]["model"]["sha256"] != card["derived_from"]["model_sha256"]
        assert card["metrics"]["cell_class"]["accuracy"] == metrics["heads"]["cell_class"][
            "accuracy"]
        assert card["compute"]["quantization"]["validation_float32_vs_int8"] == metrics[
            "quantization_on_validation"]
