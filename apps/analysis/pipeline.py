"""The cell pipeline as the worker runs it: decode a bounded copy, model view, classify with the
domain check, and keep the compact Grad-CAM map (apps.ml.cam.CamMap) of each cell.

Overlays are not drawn here: apps.analysis.overlays draws one when it is first asked for.

The ONNX session lives in apps.ml and is created lazily, once per worker process (after the
fork), never at import time and never in the web process.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from django.conf import settings
from PIL import Image

from apps.ml.cam import CamMap

if TYPE_CHECKING:  # the model module (and its runtime) loads in the worker, when first used
    from apps.ml.cells import ClassifiedBatch, ModelView

PIPELINE_NAME = "cells-v1"
_lock = threading.Lock()
_runner: CellRunner | None = None


@dataclass(frozen=True)
class CellOutput:
    model: dict[str, str]
    prediction: Any  # apps.ml.cells.CellPrediction
    cam: CamMap | None
    # The vacuole output's map (neutrophils, models with a stride-16 graph), else None.
    vacuole_cam: CamMap | None = None


C = TypeVar("C")


class CellRunner:
    def __init__(self, model: Any, batch_size: int, threads: int = 1) -> None:
        self.model = model
        self.batch_size = batch_size
        self.threads = max(1, threads)

    def provenance(self) -> list[dict[str, str]]:
        return [dict(self.model.provenance)]

    def domain_max_outside(self) -> float | None:
        """The card's specimen rule (share of cells outside); None: no domain check."""
        domain = self.model.card.domain
        return None if domain is None else float(domain.specimen_max_outside)

    def _view(self, data: bytes) -> ModelView:
        # The bounded copy lives only here, one per thread: a batch holds views (the model's
        # 192 px input), never the decoded images.
        return self.model.prepare(decode_bounded(data))

    def run_batches(
        self, batches: Iterable[Sequence[C]], stage_seconds: dict[str, float], *,
        read: Callable[[C], bytes], before: Callable[[], None] | None = None,
    ) -> Iterator[tuple[Sequence[C], list[CellOutput]]]:
        """Each batch with its outputs, in order. On ``threads`` other threads, the next batch
        is read, decoded and turned into model views while the inference thread classifies
        this one. A classified batch's Grad-CAM maps are made in parts of MAP_PART cells, each
        by whichever thread is free first: a decoding thread, or the inference thread while
        the next views are not ready (so neither waits while the other has work). A batch is
        yielded once its maps are made. ``before`` is called before each batch's inference."""
        with ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="decode") as pool:

            def submit(batch: Sequence[C]) -> list[Future[ModelView]]:
                return [pool.submit(lambda item: self._view(read(item)), item) for item in batch]

            queue = iter(batches)
            current = next(queue, None)
            pending = submit(current) if current is not None else []
            mapping: tuple[Sequence[C], ClassifiedBatch, list[_Once[list[Any]]]] | None = None
            while current is not None:
                if mapping is not None:
                    # The views are not ready: make the last batch's maps here meanwhile, a
                    # part at a time (each part once, here or on a decoding thread).
                    for part in mapping[2]:
                        if all(f.done() for f in pending):
                            break
                        part.run()
                t = time.perf_counter()
                views = [f.result() for f in pending]
                # Only the wait counts: the rest ran beside the previous batch's inference.
                _timed(stage_seconds, "decode", t)
                following = next(queue, None)
                pending = submit(following) if following is not None else []
                try:
                    if before is not None:
                        before()
                    classified = self.run(views, stage_seconds)
                except Exception:
                    if mapping is not None:  # the batch before is done: it is not lost
                        yield self._outputs(*mapping)
                    raise
                parts = [_Once(partial(self._maps, classified.part(i, i + MAP_PART),
                                       stage_seconds))
                         for i in range(0, len(classified.predictions), MAP_PART)]
                for part in parts:
                    pool.submit(part.run)
                if mapping is not None:
                    yield self._outputs(*mapping)
                mapping = (current, classified, parts)
                current = following
            if mapping is not None:
                yield self._outputs(*mapping)

    def run(self, views: Sequence[ModelView], stage_seconds: dict[str, float]
            ) -> ClassifiedBatch:
        """Classify one batch of model views (the network, the predictions and the domain
        check); its maps are made in parts, beside it (``_maps``)."""
        t = time.perf_counter()
        classified: ClassifiedBatch = self.model.classify_views(views)
        _timed(stage_seconds, "inference", t)
        return classified

    def _maps(self, classified: ClassifiedBatch, stage_seconds: dict[str, float]) -> list[Any]:
        t = time.perf_counter()
        maps: list[Any] = self.model.batch_maps(classified)
        _timed(stage_seconds, "cam", t)  # on a decoding thread or the inference thread
        return maps

    def _outputs(self, batch: Sequence[C], classified: ClassifiedBatch,
                 parts: list[_Once[list[Any]]]) -> tuple[Sequence[C], list[CellOutput]]:
        provenance = dict(self.model.provenance)
        maps = [cell for part in parts for cell in part.result()]
        return batch, [CellOutput(model=provenance, prediction=prediction, cam=cell.cell_class,
                                  vacuole_cam=cell.vacuole)
                       for prediction, cell in zip(classified.predictions, maps, strict=True)]


# Cells whose maps are made together: the unit of work the inference thread can take over
# from the decoding threads when it would otherwise wait for the next batch's views.
MAP_PART = 8
T = TypeVar("T")


class _Once(Generic[T]):
    """Work done once, by the first thread that runs it; ``result`` runs it when no thread
    has (nothing left for the caller to wait on), else waits for it."""

    def __init__(self, work: Callable[[], T]) -> None:
        self._work = work
        self._claimed = threading.Lock()  # held for good by the thread that does the work
        self._done: Future[T] = Future()

    def run(self) -> None:
        if not self._claimed.acquire(blocking=False):
            return
        try:
            self._done.set_result(self._work())
        except BaseException as exc:  # handed to whoever asks for the result
            self._done.set_exception(exc)

    def result(self) -> T:
        self.run()
        return self._done.result()


def _timed(stage_seconds: dict[str, float], stage: str, start: float) -> None:
    elapsed = time.perf_counter() - start
    with _timing_lock:  # maps are timed on whichever thread makes them
        stage_seconds[stage] = stage_seconds.get(stage, 0.0) + elapsed


_timing_lock = threading.Lock()


# A white-cell image needs a few hundred pixels a side (the model sees 192): the analysis, and
# every overlay drawn later, works on a copy bounded to this, decoded one file at a time. The
# stored original is untouched.
ANALYSIS_MAX_SIDE = 1024
# What cells are stored as (DICOM is stored as a PNG rendering).
FORMATS = ["JPEG", "PNG", "TIFF", "BMP"]
# Cells decoded together (one batch) hold at most this many bounded pixels, whatever
# ML_BATCH_SIZE says: 32 copies of the largest bounded size, about 130 MB as Pillow holds RGB.
BATCH_MAX_PIXELS = 32 * ANALYSIS_MAX_SIDE * ANALYSIS_MAX_SIDE


def bounded_size(width: int, height: int) -> tuple[int, int]:
    """The size ``decode_bounded`` gives an image of ``width`` x ``height`` (within a pixel)."""
    k = min(1.0, ANALYSIS_MAX_SIDE / max(width, height, 1))
    return max(1, round(width * k)), max(1, round(height * k))


class _Sized(Protocol):
    width: int
    height: int


S = TypeVar("S", bound=_Sized)


def batches(cells: Sequence[S], batch_size: int) -> Iterator[list[S]]:
    """``cells`` in order, in batches of at most ``batch_size`` whose bounded copies hold at
    most BATCH_MAX_PIXELS together (read from the stored width and height, before decoding)."""
    batch: list[S] = []
    pixels = 0
    for cell in cells:
        w, h = bounded_size(cell.width, cell.height)
        if batch and (len(batch) >= batch_size or pixels + w * h > BATCH_MAX_PIXELS):
            yield batch
            batch, pixels = [], 0
        batch.append(cell)
        pixels += w * h
    if batch:
        yield batch


def decode_bounded(data: bytes) -> Image.Image:
    """The RGB copy of a stored cell image that the analysis and the overlays work on: longest
    side at most ANALYSIS_MAX_SIDE, aspect kept."""
    # Stored cells were validated at import; they are still opened with the same restrictions.
    image = Image.open(io.BytesIO(data), formats=FORMATS)
    image.draft("RGB", (ANALYSIS_MAX_SIDE, ANALYSIS_MAX_SIDE))  # JPEG: decode at a reduced scale
    bound = (ANALYSIS_MAX_SIDE, ANALYSIS_MAX_SIDE)
    if image.mode in ("RGB", "L"):
        # Shrunk before any conversion: a full-size PNG is decoded once, never copied at full
        # size (convert("RGB") of an RGB image is a copy). Other modes (palette, 16-bit) are
        # converted first, as resizing them directly would not be bilinear.
        image.thumbnail(bound, Image.Resampling.BILINEAR)
        return image.convert("RGB")
    rgb = image.convert("RGB")
    rgb.thumbnail(bound, Image.Resampling.BILINEAR)
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
            _runner = CellRunner(model, batch_size=settings.ML_BATCH_SIZE,
                                 threads=settings.ML_THREADS)
        return _runner


def reset_runner() -> None:
    """Forget the cached model (tests; a worker reload)."""
    global _runner
    with _lock:
        _runner = None
