"""Cards of the score models (tabular and fused), schema ``hemaclinic-score-card/1``.

The cell-model card (``apps.ml.cards``) describes image preprocessing and heads, which a
tabular model does not have; this is the small counterpart for score models. Same layout:
``models_onnx/<name>/<version>/card.json`` next to ``model.onnx``, files listed with sha256.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apps.ml.cards import (
    CARD_FILE,
    SCORE_CARD_SCHEMA,
    CardError,
    files_problems,
    read_json_object,
    registered_dir,
    safe_name,
    sha256_file,
)

SCHEMA = SCORE_CARD_SCHEMA
__all__ = ["SCHEMA", "ScoreCard", "ScoreCardError", "is_score_card", "load", "registered_dir",
           "sha256_file", "verify"]


class ScoreCardError(CardError):
    """The card is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class ScoreCard:
    directory: Path
    name: str
    version: str
    task: str
    model_file: str
    model_sha256: str
    synthetic: bool
    clinical_use: bool
    raw: dict[str, Any] = field(compare=False, repr=False, hash=False)

    @property
    def model_path(self) -> Path:
        return self.directory / self.model_file

    @property
    def provenance(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "sha256": self.model_sha256}


def load(model_dir: Path) -> ScoreCard:
    """Read and validate ``model_dir/card.json`` (does not hash; ``verify`` does)."""
    path = Path(model_dir) / CARD_FILE
    raw = read_json_object(path, ScoreCardError)
    if raw.get("schema") != SCHEMA:
        raise ScoreCardError(f"{path}: not a {SCHEMA} card")
    try:
        model = raw["files"]["model"]
        synthetic, clinical = raw["synthetic"], raw["clinical_use"]
        if not isinstance(synthetic, bool) or not isinstance(clinical, bool):
            raise ScoreCardError(f"{path}: synthetic and clinical_use must be true or false")
        return ScoreCard(
            directory=Path(model_dir),
            name=str(raw["name"]),
            version=str(raw["version"]),
            task=str(raw["task"]),
            model_file=safe_name(model["path"], "files.model", ScoreCardError),
            model_sha256=str(model["sha256"]).lower(),
            synthetic=synthetic,
            clinical_use=clinical,
            raw=raw,
        )
    except (KeyError, TypeError) as exc:
        raise ScoreCardError(f"{path}: missing {exc}") from exc


def verify(model_dir: Path) -> list[str]:
    """Problems with the folder: bad card, missing files, sha256 mismatches. Empty = fine."""
    try:
        card = load(model_dir)
    except ScoreCardError as exc:
        return [str(exc)]
    return files_problems(card.raw, card.directory)


def is_score_card(model_dir: Path) -> bool:
    """True when ``model_dir/card.json`` declares this schema (for a dispatching verifier)."""
    try:
        raw = json.loads((Path(model_dir) / CARD_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    return isinstance(raw, dict) and raw.get("schema") == SCHEMA
