"""verify() of a score-model folder reports tampered, missing and broken files."""

from __future__ import annotations

import json
from pathlib import Path

from apps.ml.scores.card import is_score_card, load, sha256_file, verify


def test_installed_cbc_model_verifies(mds_cbc_dir: Path):
    assert verify(mds_cbc_dir) == []
    card = load(mds_cbc_dir)
    assert card.model_sha256 == sha256_file(mds_cbc_dir / "model.onnx")
    assert is_score_card(mds_cbc_dir)
    assert not card.synthetic and card.task == "mds_cbc"


def test_one_flipped_byte_is_reported(mds_cbc_copy: Path):
    model = mds_cbc_copy / "model.onnx"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    problems = verify(mds_cbc_copy)
    assert len(problems) == 1 and "sha256" in problems[0] and "model.onnx" in problems[0]


def test_missing_model_file_is_reported(mds_cbc_copy: Path):
    (mds_cbc_copy / "model.onnx").unlink()
    assert any("missing" in p for p in verify(mds_cbc_copy))


def test_broken_or_foreign_card_is_reported(mds_cbc_copy: Path):
    card = mds_cbc_copy / "card.json"
    raw = json.loads(card.read_text())
    raw["files"]["model"]["path"] = "../elsewhere.onnx"
    card.write_text(json.dumps(raw))
    assert any("bad file name" in p for p in verify(mds_cbc_copy))
    card.write_text("{not json")
    assert any("invalid JSON" in p for p in verify(mds_cbc_copy))
    card.write_text(json.dumps({"schema": "hemaclinic-model-card/1"}))
    assert any("not a hemaclinic-score-card/1 card" in p for p in verify(mds_cbc_copy))
