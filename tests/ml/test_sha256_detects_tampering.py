"""verify_models reports missing files, sha256 mismatches and broken cards."""

from __future__ import annotations

import json
from pathlib import Path

from apps.ml.cards import load_card, verify_models


def _model_dir(root: Path) -> Path:
    reg = json.loads((root / "registry.json").read_text())
    return root / reg["cells"]


def test_installed_models_verify_cleanly(models_root: Path):
    assert verify_models(models_root) == []


def test_a_tampered_model_copy_is_reported(models_copy: Path):
    assert verify_models(models_copy) == []
    model = _model_dir(models_copy) / "model.onnx"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    problems = verify_models(models_copy)
    assert len(problems) == 1
    assert "sha256" in problems[0]
    assert "model.onnx" in problems[0]


def test_a_missing_head_file_is_reported(models_copy: Path):
    (_model_dir(models_copy) / "heads.npz").unlink()
    problems = verify_models(models_copy)
    assert any("heads" in p and "missing" in p for p in problems)


def test_a_broken_card_is_reported(models_copy: Path):
    (_model_dir(models_copy) / "card.json").write_text("{not json")
    problems = verify_models(models_copy)
    assert any("invalid JSON" in p for p in problems)


def test_registry_pointing_nowhere_is_reported(models_copy: Path):
    (models_copy / "registry.json").write_text(json.dumps({"cells": "hemaclinic-cells/9.9.9"}))
    assert any("9.9.9" in p for p in verify_models(models_copy))


def test_missing_models_folder_is_reported(tmp_path: Path):
    assert verify_models(tmp_path / "nope") != []


def test_card_carries_provenance_and_preprocessing(model_dir: Path):
    card = load_card(model_dir)
    assert card.provenance["sha256"] == card.model_sha256
    assert len(card.model_sha256) == 64
    assert card.input.colour_order == "RGB"
    assert card.input.height == card.input.width == card.input.shorter_side


def test_an_empty_models_folder_is_not_a_problem_and_loads_nothing(tmp_path: Path):
    from apps.ml.cells import load_default

    assert verify_models(tmp_path) == []
    assert load_default(tmp_path) is None


def test_cards_without_a_registry_are_reported(models_copy: Path):
    (models_copy / "registry.json").unlink()
    assert any("registry.json is missing" in p for p in verify_models(models_copy))


def test_runtime_refuses_to_run_a_tampered_model(models_copy: Path):
    import pytest
    from PIL import Image

    from apps.ml.cards import CardError
    from apps.ml.cells import CellModel

    model_dir = _model_dir(models_copy)
    onnx = model_dir / "model.onnx"
    onnx.write_bytes(onnx.read_bytes() + b"\\0")
    model = CellModel.from_dir(model_dir)
    with pytest.raises(CardError, match="sha256"):
        model.predict([Image.new("RGB", (64, 64))])
