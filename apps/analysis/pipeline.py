"""The cell pipeline as the worker runs it: decode, model view, classify with the domain check,
Grad-CAM overlay on the view the model saw.

The ONNX session lives in apps.ml and is created lazily, once per worker process (after the
fork), never at import time and never in the web process.
"""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from PIL import Image

PIPELINE_NAME = "cells-v1"
_lock = threading.Lock()
_runner: CellRunner | None = None


@dataclass(frozen=True)
class CellOutput:
    model: dict[str, str]
    prediction: Any  # apps.ml.cells.CellPrediction
    cam_png: bytes | None


class CellRunner:
    def __init__(self, model: Any, batch_size: int) -> None:
        self.model = model
        self.batch_size = batch_size

    def provenance(self) -> list[dict[str, str]]:
        return [dict(self.model.provenance)]

    def domain_max_outside(self) -> float | None:
        """The card's specimen rule (share of cells outside); None: no domain check."""
        domain = self.model.card.domain
        return None if domain is None else float(domain.specimen_max_outside)

    def run(self, images: list[bytes], stage_seconds: dict[str, float]) -> list[CellOutput]:
        from apps.ml.cam import overlay

        def timed(stage: str, start: float) -> None:
            stage_seconds[stage] = stage_seconds.get(stage, 0.0) + time.perf_counter() - start

        t = time.perf_counter()
        pil = [_decode(data) for data in images]
        timed("decode", t)
        t = time.perf_counter()
        predictions, cams, views = self.model.predict_views(pil, batch_size=self.batch_size)
        timed("inference_and_cam", t)
        t = time.perf_counter()
        outputs = []
        # The CAM is aligned with the model's input (re-centred and rescaled by the canonical
        # view), not with the stored image: drawn on the original it would point elsewhere.
        for view, prediction, cam in zip(views, predictions, cams, strict=True):
            buffer = io.BytesIO()
            overlay(view, cam).save(buffer, format="PNG", optimize=False)
            outputs.append(CellOutput(model=dict(self.model.provenance), prediction=prediction,
                                      cam_png=buffer.getvalue()))
        timed("overlay", t)
        return outputs


# A white-cell image needs a few hundred pixels a side (the model sees 192): the analysis works
# on a copy bounded to this, decoded one file at a time, so a batch of 40-megapixel uploads
# holds one full-size decode at most, never the whole batch. The stored original is untouched.
ANALYSIS_MAX_SIDE = 1024


def _decode(data: bytes) -> Image.Image:
    # Stored cells were validated at import; they are still opened with the same restrictions.
    image = Image.open(io.BytesIO(data), formats=["JPEG", "PNG", "TIFF", "BMP"])
    image.draft("RGB", (ANALYSIS_MAX_SIDE, ANALYSIS_MAX_SIDE))  # JPEG: decode at a reduced scale
    rgb = image.convert("RGB")
    rgb.thumbnail((ANALYSIS_MAX_SIDE, ANALYSIS_MAX_SIDE), Image.Resampling.BILINEAR)
    return rgb


def get_runner() -> CellRunner:
    global _runner
    with _lock:
        if _runner is None:
            from apps.ml.cells import load_default

            model = load_default(settings.MODELS_ONNX_DIR, threads=settings.ML_THREADS)
            if model is None:
                raise RuntimeError(
                    "No cell model is installed in models_onnx/: the cells were imported but "
                    "cannot be classified.")
            _runner = CellRunner(model, batch_size=settings.ML_BATCH_SIZE)
        return _runner


def reset_runner() -> None:
    """Forget the cached model (tests; a worker reload)."""
    global _runner
    with _lock:
        _runner = None
