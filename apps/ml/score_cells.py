"""Score every image under a folder with the cell model and write one CSV row per file.

The file name and folder are only reported, never used as evidence. A file that
cannot be read gets a row with ``error`` filled in; the run goes on.
"""

from __future__ import annotations

import csv
import os
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from apps.ml.cards import ANOMALY_KEYS
from apps.ml.cells import CellModel, CellPrediction, ModelView, stacked_stains, to_tensor
from apps.ml.domain import CellDomain, SpecimenDomain, specimen_domain

READ_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "TIFF", "BMP", "WEBP")
# A CellaVision crop is ~0.13 Mpx; 50 Mpx leaves room for scanner tiles but stops bombs.
MAX_PIXELS = 50_000_000
PROB_FORMAT = "{:.4f}"


class ImageReadError(Exception):
    """The file is not an image this runtime reads safely."""


@dataclass(frozen=True)
class ScoreSummary:
    files: int
    scored: int
    errors: int
    seconds: float
    # The folder taken as one specimen (apps.ml.domain.specimen_domain).
    domain: SpecimenDomain | None = None


def csv_columns(model: CellModel) -> list[str]:
    return [
        "file",
        "cell_class",
        "cell_class_prob",
        "subtype",
        "subtype_prob",
        *model.card.attributes,
        *(f"{k}_prob" for k in ANOMALY_KEYS),
        "view",
        "domain_score",
        "in_domain",
        "error",
    ]


def open_image(path: Path, *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode fully (first frame) with an explicit format list and a pixel limit."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=READ_FORMATS) as im:
                w, h = im.size
                if w < 1 or h < 1 or w * h > max_pixels:
                    raise ImageReadError(f"image size {w}x{h} is outside the allowed range")
                im.load()
                return im.copy()
    except UnidentifiedImageError as exc:
        raise ImageReadError(
            f"not a readable image (accepted formats: {', '.join(READ_FORMATS)})"
        ) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageReadError(f"refused: {exc}") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageReadError(f"cannot decode image: {exc}") from exc


def load_crop(path: Path, model: CellModel, *, max_pixels: int = MAX_PIXELS
              ) -> ModelView | ImageReadError:
    """Decode one file into what the network is given (``CellModel.prepare``); a failure is
    returned."""
    try:
        image = open_image(path, max_pixels=max_pixels)
    except ImageReadError as exc:
        return exc
    try:
        return model.prepare(image)
    except (OSError, ValueError) as exc:
        return ImageReadError(f"cannot convert image to RGB: {exc}")


@dataclass(frozen=True)
class ScoredFile:
    path: Path
    prediction: CellPrediction | None
    cam: np.ndarray | None  # (H, W) in [0, 1] at the model input size, when asked for
    error: str  # empty when the file was scored


def iter_scored(
    paths: Sequence[Path],
    model: CellModel,
    *,
    batch_size: int = 32,
    cam: bool = False,
    max_pixels: int = MAX_PIXELS,
    prefetch: bool = True,
) -> Iterator[ScoredFile]:
    """Score files in order, batch by batch.

    Decoding runs on ``model.threads`` threads (Pillow releases the GIL) and, with
    ``prefetch``, the next batch is decoded while the current one is inferred.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    spec = model.card.input
    chunks = [paths[i : i + batch_size] for i in range(0, len(paths), batch_size)]
    with ThreadPoolExecutor(max_workers=max(1, model.threads),
                            thread_name_prefix="decode") as pool:

        def submit(chunk: Sequence[Path]) -> list[Future[ModelView | ImageReadError]]:
            return [pool.submit(load_crop, p, model, max_pixels=max_pixels) for p in chunk]

        pending = submit(chunks[0]) if chunks else []
        for k, chunk in enumerate(chunks):
            loaded = [f.result() for f in pending]
            if prefetch and k + 1 < len(chunks):
                pending = submit(chunks[k + 1])
            good = [c for c in loaded if isinstance(c, ModelView)]
            preds: list[CellPrediction] = []
            cams: list[np.ndarray] = []
            if good:
                preds, cams = model.predict_batch(
                    to_tensor([v.image for v in good], spec.mean, spec.std), cam=cam,
                    views=[v.code for v in good], stains=stacked_stains([v.stain for v in good]))
            it_pred, it_cam = iter(preds), iter(cams)
            for path, item in zip(chunk, loaded, strict=True):
                if isinstance(item, ModelView):
                    yield ScoredFile(path, next(it_pred), next(it_cam) if cam else None, "")
                else:
                    yield ScoredFile(path, None, None, str(item) or type(item).__name__)
            if not prefetch and k + 1 < len(chunks):
                pending = submit(chunks[k + 1])


def iter_files(root: Path, skip: Path | None = None) -> Iterator[Path]:
    """Every regular file under ``root`` in a stable (sorted) order; no symlinked dirs."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_file() and (skip is None or path.resolve() != skip):
                yield path


def _anomaly_cell(model: CellModel, pred: CellPrediction, key: str) -> str:
    # Empty when unavailable, or when the predicted class is not one the output
    # applies to (a "pseudo-Pelger" value for a lymphocyte would mislead).
    value = pred.anomalies[key]
    applies_to = model.card.anomaly(key).applies_to_cell_class
    if value is None or (applies_to and pred.cell_class not in applies_to):
        return ""
    return PROB_FORMAT.format(value)


def _row(rel: str, model: CellModel, pred: CellPrediction | None, error: str) -> list[str]:
    n_att = len(model.card.attributes)
    if pred is None:
        return [rel, "", "", "", "", *([""] * n_att), *([""] * len(ANOMALY_KEYS)), "", "", "",
                error]
    return [
        rel,
        pred.cell_class,
        PROB_FORMAT.format(pred.cell_class_prob),
        pred.subtype,
        PROB_FORMAT.format(pred.subtype_prob),
        *(pred.attributes[a] for a in model.card.attributes),
        *(_anomaly_cell(model, pred, k) for k in ANOMALY_KEYS),
        pred.view,
        "" if pred.domain_score is None else PROB_FORMAT.format(pred.domain_score),
        "" if pred.in_domain is None else ("yes" if pred.in_domain else "no"),
        "",
    ]


class _Progress:
    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.done, self.enabled = total, 0, enabled and sys.stderr.isatty()
        self.start = time.monotonic()

    def update(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        frac = self.done / self.total if self.total else 1.0
        rate = self.done / max(time.monotonic() - self.start, 1e-9)
        bar = "#" * int(30 * frac)
        sys.stderr.write(
            f"\r[{bar:<30}] {self.done}/{self.total} {rate:6.1f} files/s"
        )
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def score_folder(
    root: Path,
    out_csv: Path,
    *,
    model: CellModel,
    batch_size: int = 32,
    progress: bool = False,
    max_pixels: int = MAX_PIXELS,
) -> ScoreSummary:
    """Score every file under ``root`` into ``out_csv``; returns counts.

    Every regular file is tried with Pillow (formats ``READ_FORMATS``, at most
    ``max_pixels``); symlinked folders are not followed; the CSV itself is skipped.
    Anomaly columns are empty when the card marks the output unavailable, and for
    cells whose predicted class the output does not apply to (non-neutrophils).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    root = root.resolve()
    if not root.is_dir():
        raise NotADirectoryError(str(root))
    start = time.monotonic()
    files = list(iter_files(root, skip=out_csv.resolve()))
    bar = _Progress(len(files), progress)
    scored = errors = 0
    domains: list[CellDomain | None] = []
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    with out_csv.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(csv_columns(model))
        for n, item in enumerate(
            iter_scored(files, model, batch_size=batch_size, max_pixels=max_pixels), 1
        ):
            rel = item.path.relative_to(root).as_posix()
            writer.writerow(_row(rel, model, item.prediction, item.error))
            if item.prediction is None:
                errors += 1
            else:
                scored += 1
                p = item.prediction
                domains.append(None if p.domain is None else CellDomain(p.domain_score, p.domain))
            if n % batch_size == 0 or n == len(files):
                bar.update(n - bar.done)
    bar.close()
    domain = specimen_domain(domains, model.card.domain.specimen_max_outside
                             if model.card.domain else None)
    return ScoreSummary(len(files), scored, errors, time.monotonic() - start, domain)
