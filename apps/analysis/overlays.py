"""Grad-CAM overlays drawn when first asked for, from the compact map an analysis stored, and kept
as a file so each is drawn once. The heat-map view and the PDF report both get their overlays
here: one way of drawing them, one place.

An overlay is the cell image (a copy bounded to ANALYSIS_MAX_SIDE, so a 40-megapixel upload is
never drawn at full size) with the map of the model's view laid where that view was. Its file name
holds the prediction's id and a digest of the map, so a re-analysis that changes the map gives a
new file, and a report signed with the old name still finds the old one. Overlays stored as PNGs
by analyses from before compact maps are served as they are.

Those old files are pruned (``overlay_files_prune``) once nothing can ask for them: no cell's
newest prediction draws under that name, and no name the caller keeps (the reports layer passes
what signed report content names) is it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import Prefetch
from PIL import Image

from apps.ml.cam import CamMap, overlay_map
from apps.smears.models import Cell

from .models import CellPrediction
from .pipeline import ANALYSIS_MAX_SIDE, FORMATS, decode_bounded

OVERLAY_DIR = "cams/overlays"
BOUNDED_DIR = "cells/bounded"
CELLS_DIR = "cells/"
# Part of every overlay's digest: a change in how overlays are drawn gives new files.
RENDERING = b"overlay-v1"
_OVERLAY_NAME = re.compile(rf"^{OVERLAY_DIR}/(\d+)-([0-9a-f]{{16}})\.png$")
# Overlays written by analyses before compact maps (FileField upload_to "cams/").
_STORED_OVERLAY_NAME = re.compile(r"^cams/[\w.-]+\.png$")
_BOUNDED_NAME = re.compile(rf"^{BOUNDED_DIR}/[0-9a-f]{{24}}\.png$")


# The outputs a stored map explains (CellPrediction.cam_map, vacuole_cam_map).
MAPS = ("cell_class", "vacuole")


def overlay_name(prediction: CellPrediction | None, which: str = "cell_class") -> str | None:
    """The media name of the prediction's overlay of ``which`` map (drawn or not yet); None
    when it has none."""
    if prediction is None:
        return None
    data = prediction.vacuole_cam_map if which == "vacuole" else prediction.cam_map
    if data and prediction.cam_box:
        digest = hashlib.sha256(RENDERING)
        digest.update(bytes(data))
        digest.update(json.dumps(prediction.cam_box).encode())
        if which != "cell_class":
            digest.update(which.encode())
        return f"{OVERLAY_DIR}/{prediction.pk}-{digest.hexdigest()[:16]}.png"
    return (prediction.cam.name or None) if which == "cell_class" else None


def overlay_file(prediction: CellPrediction | None, which: str = "cell_class") -> str | None:
    """The media name of the prediction's overlay PNG of ``which`` map, drawn and written on
    first use; None when there is none to show (no map, or an older overlay whose file is
    gone)."""
    if which not in MAPS:
        raise ValueError(f"no map {which!r}")
    name = overlay_name(prediction, which)
    if prediction is None or name is None or default_storage.exists(name):
        return name
    cam = prediction.cam_stored(which)
    if cam is None:
        return None
    with prediction.cell.image.open("rb") as fh:
        data = fh.read()
    _write(name, overlay_png(data, cam))
    return name


def cell_overlay(cell: Cell, which: str = "cell_class") -> str | None:
    """The overlay of ``which`` map of the cell's newest prediction (see ``overlay_file``)."""
    return overlay_file(cell.latest_prediction(), which)


def overlay_png(image: bytes, cam: CamMap) -> bytes:
    """The overlay of ``cam`` on a bounded copy of the stored ``image``, as PNG bytes."""
    buffer = io.BytesIO()
    overlay_map(decode_bounded(image), cam).save(buffer, format="PNG")
    return buffer.getvalue()


def report_cell_files(*, image: str | None, cam: str | None) -> tuple[str | None, str | None]:
    """For a key cell of signed report content, the media names of what to print: the image
    (a bounded copy when the stored one is larger than ANALYSIS_MAX_SIDE a side) and its overlay
    (drawn again if its file is missing and the prediction it names still holds the same map;
    None when it cannot be). Only the names the content holds are followed."""
    printed = _bounded_copy(image) if image and image.startswith(CELLS_DIR) else image
    overlay = None
    if cam and (_OVERLAY_NAME.match(cam) or _STORED_OVERLAY_NAME.match(cam)):
        if default_storage.exists(cam):
            overlay = cam
        elif match := _OVERLAY_NAME.match(cam):
            prediction = (CellPrediction.objects.select_related("cell")
                          .filter(pk=int(match[1])).first())
            if overlay_name(prediction) == cam:
                overlay = overlay_file(prediction)
    return printed, overlay


def _bounded_copy(name: str) -> str:
    """``name`` when the stored image is small enough to print as it is, else a bounded copy
    (written once): a PDF with twelve 40-megapixel key cells would decode every one in full."""
    try:
        with default_storage.open(name, "rb") as fh, Image.open(fh, formats=FORMATS) as im:
            size = im.size  # the header only
    except (OSError, SuspiciousFileOperation):
        return name  # left to the PDF's fetcher, which warns on a missing file as before
    if max(size) <= ANALYSIS_MAX_SIDE:
        return name
    copy = _bounded_name(name)
    if not default_storage.exists(copy):
        with default_storage.open(name, "rb") as fh:
            data = fh.read()
        buffer = io.BytesIO()
        decode_bounded(data).save(buffer, format="PNG")
        _write(copy, buffer.getvalue())
    return copy


def _bounded_name(name: str) -> str:
    return f"{BOUNDED_DIR}/{hashlib.sha256(name.encode()).hexdigest()[:24]}.png"


@dataclass(frozen=True)
class StoredFile:
    name: str  # media-relative
    size: int  # bytes


def overlay_files_unused(*, keep: Iterable[str]) -> list[StoredFile]:
    """The overlays (``cams/overlays/``) and bounded copies (``cells/bounded/``) nothing asks
    for any more: an overlay that no cell's newest prediction draws under that name (either
    map) and that ``keep`` does not name; a bounded copy of no image ``keep`` names. ``keep``
    holds the media names a higher layer still prints (signed report content: key cells' images
    and overlays). Other files in those folders (a ``.part`` being written) are never listed."""
    # Listed before the names are read: a file written after this is not a candidate.
    overlays = _stored(OVERLAY_DIR, _OVERLAY_NAME)
    bounded = _stored(BOUNDED_DIR, _BOUNDED_NAME)
    kept = set(keep)
    kept |= {_bounded_name(name) for name in kept if name.startswith(CELLS_DIR)}
    if overlays:
        kept |= _drawn_overlay_names()
    return [f for f in (*overlays, *bounded) if f.name not in kept]


def overlay_files_prune(*, keep: Iterable[str], dry_run: bool = False) -> list[StoredFile]:
    """Delete the files ``overlay_files_unused`` finds (none with ``dry_run``); return them."""
    unused = overlay_files_unused(keep=keep)
    if not dry_run:
        for stored in unused:
            default_storage.delete(stored.name)
    return unused


def _stored(folder: str, pattern: re.Pattern[str]) -> list[StoredFile]:
    try:
        _dirs, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return []
    names = sorted(f"{folder}/{name}" for name in files if pattern.match(f"{folder}/{name}"))
    return [StoredFile(name, default_storage.size(name)) for name in names]


def _drawn_overlay_names() -> set[str]:
    """The overlay names of every cell's newest prediction, both maps: what the heat-map view
    would draw or serve now (``Cell.latest_prediction``, the same rule)."""
    predictions = CellPrediction.objects.only(
        "pk", "cell_id", "created_at", "cam", "cam_map", "vacuole_cam_map", "cam_box")
    cells = Cell.objects.only("pk").prefetch_related(Prefetch("predictions", predictions))
    names: set[str] = set()
    for cell in cells.iterator(chunk_size=2000):
        prediction = cell.latest_prediction()
        names.update(n for which in MAPS if (n := overlay_name(prediction, which)))
    return names


def _write(name: str, data: bytes) -> None:
    # Written under a unique name, then renamed: a request arriving meanwhile never reads a
    # half-written file, and two requests drawing the same overlay both end with a whole one.
    # The storage creates the file and its folders private (FILE_UPLOAD_PERMISSIONS).
    partial = default_storage.save(f"{name}.{uuid.uuid4().hex}.part", ContentFile(data))
    os.replace(default_storage.path(partial), default_storage.path(name))
