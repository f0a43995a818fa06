"""Fused MDS model (attention-MIL over a patient's neutrophils + CBC) at run time.

No fused model ships with HemaClinic: there is no real cohort with both images and CBCs
yet. ``load_fused`` therefore normally returns ``(None, reason)``; it also refuses a model
whose card says ``"synthetic": true`` or ``"clinical_use": false``, a model whose file
does not match its card, and a model whose embeddings came from another cell model.

Per-cell embeddings are the cell model's last feature maps, global-average-pooled
(``embed_cells``); training (training/scores/fused.py) uses the same function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from apps.ml.cards import CardError
from apps.ml.domain import pool_features
from apps.ml.runtime import OnnxModel, load_cached
from apps.ml.scores.card import ScoreCard, ScoreCardError, load, registered_dir
from apps.ml.scores.features import FEATURE_NAMES, REQUIRED, CBCFeatures, to_arrays
from apps.ml.scores.reasons import (
    FEW_NEUTROPHILS,
    INPUT_REQUIRED,
    MODEL_INVALID,
    MODEL_NOT_RELEASED,
    MODEL_OTHER_CELL_MODEL,
    MODEL_SYNTHETIC,
    Reason,
)
from apps.ml.scores.reasons import NO_MODEL as NO_MODEL_CODE

if TYPE_CHECKING:
    from PIL import Image

TASK = "mds_fused"
NO_MODEL = Reason(NO_MODEL_CODE, {"kind": "fused"})
DISCLAIMER = (
    "Fused image + CBC MDS probability with per-cell attention. Attention shows which cells "
    "weighed most, not which cells are abnormal. Decision support, never a diagnosis."
)


def embed_cells(cell_model: Any, images: Sequence[Image.Image], *,
                batch_size: int = 32) -> np.ndarray:
    """[N, C] float32: the cell model's feature maps (N, C, h, w), averaged over h and w."""
    out = []
    for i in range(0, len(images), batch_size):
        _, features = cell_model.run(cell_model.preprocess(images[i : i + batch_size]))
        out.append(pool_features(features))
    if not out:
        raise ValueError("no image")
    return np.concatenate(out, axis=0)


@dataclass(frozen=True)
class FusedResult:
    state: Literal["scored", "indeterminate"]
    probability: float | None
    above_threshold: bool | None
    threshold: float
    attention: tuple[float, ...]  # one weight per cell, in input order; sums to 1
    top_cells: tuple[int, ...]  # cell indices, highest attention first
    missing: tuple[str, ...]
    reasons: tuple[Reason, ...]
    model: dict[str, str]
    disclaimer: str


class FusedModel(OnnxModel):
    """One fused model folder: lazy onnxruntime session. No policy here (see load_fused)."""

    MIN_CELLS = 1

    def __init__(self, card: ScoreCard, *, threads: int = 1) -> None:
        if card.task != TASK:
            raise ScoreCardError(f"{card.directory}: task {card.task!r}, expected {TASK!r}")
        names = tuple(f["name"] for f in card.raw["cbc_features"])
        if names != FEATURE_NAMES:
            raise ScoreCardError(f"{card.directory}: CBC features {names} != {FEATURE_NAMES}")
        super().__init__(model_path=card.model_path, model_sha256=card.model_sha256,
                         threads=threads)
        self.card = card
        self.dim = int(card.raw["embedding"]["dim"])
        self.threshold = float(card.raw["operating_point"]["threshold"])
        self.min_cells = int(card.raw.get("min_cells", self.MIN_CELLS))

    @classmethod
    def from_dir(cls, model_dir: Path, *, threads: int = 1) -> FusedModel:
        return cls(load(model_dir), threads=threads)

    def run(self, embeddings: np.ndarray, x: np.ndarray,
            m: np.ndarray) -> tuple[float, np.ndarray]:
        p, att = self.session().run(
            ["probability", "attention"],
            {"embeddings": np.asarray(embeddings, np.float32),
             "cbc": np.asarray(x, np.float32).reshape(1, -1),
             "mask": np.asarray(m, np.float32).reshape(1, -1)},
        )
        return float(p.reshape(-1)[0]), np.asarray(att, np.float64).reshape(-1)

    def predict(self, embeddings: np.ndarray, cbc: CBCFeatures) -> FusedResult:
        emb = np.asarray(embeddings, np.float32)
        if emb.ndim != 2 or emb.shape[1] != self.dim:
            raise ValueError(f"embeddings must be [N, {self.dim}], got {emb.shape}")
        missing = cbc.missing()
        reasons = [Reason(INPUT_REQUIRED, {"input": r}) for r in REQUIRED if r in missing]
        if emb.shape[0] < self.min_cells:
            reasons.append(Reason(FEW_NEUTROPHILS, {"n": int(emb.shape[0]), "min": self.min_cells}))
        if reasons:
            return FusedResult("indeterminate", None, None, self.threshold, (), (), missing,
                               tuple(reasons), self.card.provenance, DISCLAIMER)
        x, m = to_arrays([cbc])
        p, att = self.run(emb, x, m)
        order = tuple(int(i) for i in np.argsort(-att, kind="stable"))
        return FusedResult("scored", p, p >= self.threshold, self.threshold,
                           tuple(float(a) for a in att), order, missing, (),
                           self.card.provenance, DISCLAIMER)


def refusal(card: ScoreCard) -> Reason | None:
    """Why this card must not be used on patients; None when it may."""
    model = f"{card.name} {card.version}"
    if card.synthetic:
        return Reason(MODEL_SYNTHETIC, {"model": model})
    if not card.clinical_use:
        return Reason(MODEL_NOT_RELEASED, {"model": model})
    return None


def load_fused(models_root: Path, *, threads: int = 1,
               cell_sha256: str | None = None) -> tuple[FusedModel | None, Reason | None]:
    """(model, None) when a usable fused model is registered, else (None, reason).

    ``cell_sha256``: sha256 of the cell model that will produce the embeddings; when given,
    a fused model trained on another cell model's embeddings is refused.
    """
    try:
        model_dir = registered_dir(Path(models_root), TASK)
        if model_dir is None:
            return None, NO_MODEL
        model = load_cached(FusedModel.from_dir, model_dir, threads=threads)
    except (CardError, KeyError, TypeError, ValueError) as exc:
        return None, Reason(MODEL_INVALID, {"detail": f"{models_root}: {TASK}: {exc}"})
    card = model.card
    reason = refusal(card)
    if reason:
        return None, reason
    source = card.raw.get("embedding", {}).get("cell_model", {}).get("sha256")
    if cell_sha256 is not None and source != cell_sha256:
        return None, Reason(MODEL_OTHER_CELL_MODEL, {"model": f"{card.name} {card.version}",
                                                     "trained_on": source,
                                                     "installed": cell_sha256})
    try:
        model.session()  # checks the file's sha256 against the card, once per process
    except CardError as exc:
        return None, Reason(MODEL_INVALID, {"detail": str(exc)})
    return model, None
