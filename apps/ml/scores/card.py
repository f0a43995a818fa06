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

from apps.ml.cards import sha256_file

SCHEMA = "hemaclinic-score-card/1"
CARD_FILE = "card.json"


class ScoreCardError(ValueError):
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


def _safe_name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value or "/" in value or "\\" in value or ".." in value:
        raise ScoreCardError(f"{where}: bad file name {value!r}")
    return value


def load(model_dir: Path) -> ScoreCard:
    """Read and validate ``model_dir/card.json`` (does not hash; ``verify`` does)."""
    path = Path(model_dir) / CARD_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ScoreCardError(f"{path}: not found") from exc
    except json.JSONDecodeError as exc:
        raise ScoreCardError(f"{path}: invalid JSON ({exc})") from exc
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
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
            model_file=_safe_name(model["path"], "files.model"),
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
    problems = []
    for key, entry in card.raw.get("files", {}).items():
        try:
            path = card.directory / _safe_name(entry.get("path"), f"files.{key}")
        except ScoreCardError as exc:
            problems.append(str(exc))
            continue
        if not path.is_file():
            problems.append(f"{card.name} {card.version}: {key} file {path} is missing")
            continue
        digest = sha256_file(path)
        if digest != str(entry.get("sha256", "")).lower():
            problems.append(f"{card.name} {card.version}: sha256 of {path} is {digest}, "
                            f"the card says {entry.get('sha256')}")
    return problems


def is_score_card(model_dir: Path) -> bool:
    """True when ``model_dir/card.json`` declares this schema (for a dispatching verifier)."""
    try:
        raw = json.loads((Path(model_dir) / CARD_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    return isinstance(raw, dict) and raw.get("schema") == SCHEMA


def registered_dir(models_root: Path, task: str) -> Path | None:
    """The folder ``models_root/registry.json`` names for ``task``; None when absent."""
    path = Path(models_root) / "registry.json"
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ScoreCardError(f"{path}: invalid JSON ({exc})") from exc
    rel = raw.get(task) if isinstance(raw, dict) else None
    if rel is None:
        return None
    parts = str(rel).split("/")
    if len(parts) != 2 or any(not p or p == ".." or p.startswith(".") for p in parts):
        raise ScoreCardError(f"{path}: bad entry {task!r}: {rel!r} (want 'name/version')")
    return Path(models_root) / parts[0] / parts[1]
