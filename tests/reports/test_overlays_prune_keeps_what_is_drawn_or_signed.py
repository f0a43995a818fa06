"""manage.py overlays_prune: the overlays of each cell's newest prediction (both maps) and every
file a signed report names (its overlays, the bounded copy of a large key cell) stay; overlays of
maps replaced since, never signed, and bounded copies no report names go, with their bytes
printed; --dry-run lists the same files and deletes nothing; other files are never touched."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from PIL import Image

from apps.analysis.models import CellPrediction
from apps.analysis.overlays import MAPS, overlay_file, report_cell_files
from apps.ml.cam import CamMap


def _map(row: int) -> bytes:
    values = np.zeros((6, 6), np.uint8)
    values[row, 1:5] = 255
    return CamMap(values, (0.0, 0.0, 1.0, 1.0)).encode()


def _analyse(predictions: list[CellPrediction], row: int) -> set[str]:
    """Store new maps (as a re-analysis with the same model does) and draw their overlays, as
    the case page does; return the overlay names."""
    drawn = set()
    for prediction in predictions:
        prediction.cam_map, prediction.cam_box = _map(row), [0.0, 0.0, 1.0, 1.0]
        prediction.vacuole_cam_map = (_map(5 - row) if prediction.cell_class == "neutrophil"
                                      else b"")
        prediction.save()
        drawn |= {overlay_file(prediction, which) for which in ("cell_class", "vacuole")
                  if prediction.vacuole_cam_map or which == "cell_class"}
    assert None not in drawn
    return drawn  # type: ignore[return-value]


def _run(*args: str) -> list[str]:
    out = io.StringIO()
    call_command("overlays_prune", *args, stdout=out)
    return out.getvalue().splitlines()


def test_prune_removes_only_what_nothing_draws_or_names(make_specimen, sign, settings):
    media = Path(settings.MEDIA_ROOT)
    specimen = make_specimen()
    predictions = list(CellPrediction.objects.filter(cell__specimen=specimen).order_by("pk"))
    # A key cell too large to print as it is: the report prints a bounded copy of it.
    big = predictions[0].cell
    buffer = io.BytesIO()
    Image.new("RGB", (3000, 2000), (180, 150, 200)).save(buffer, format="PNG")
    (media / big.image.name).write_bytes(buffer.getvalue())

    first = _analyse(predictions, row=1)
    signature = sign(specimen)
    signed = set()
    for cell in signature.content["key_cells"]:
        image, cam = report_cell_files(image=cell["image"], cam=cell["cam"])
        signed |= {image, cam} - {cell["image"]}  # the overlay and the bounded copy
    bounded = {name for name in signed if name.startswith("cells/bounded/")}
    assert len(bounded) == 1 and {c["cam"] for c in signature.content["key_cells"]} < first

    replaced = _analyse(predictions, row=2) - first  # shown on the case page, never signed
    current = _analyse(predictions, row=3)
    # A newer model version on one cell: the older prediction's overlay is no longer drawn.
    older = predictions[1]
    newer = CellPrediction.objects.get(pk=older.pk)
    newer.pk, newer.model_version = None, "1.1.0"
    newer.save()
    superseded = {overlay_file(older, which) for which in MAPS} - {None}
    current = (current - superseded) | _analyse([newer], row=4)

    stray = default_storage.save("cells/bounded/" + "0" * 24 + ".png",
                                 ContentFile(buffer.getvalue()))
    untouched = {default_storage.save(name, ContentFile(b"x")) for name in (
        "cams/overlays/1-0123456789abcdef.png.1f2e.part", "cams/overlays/notes.txt",
        "cells/bounded/readme.png")}
    untouched |= {p.cam.name for p in predictions}  # overlays stored before compact maps
    stale = (first - {c["cam"] for c in signature.content["key_cells"]}) | replaced | superseded
    stale = (stale - current) | {stray}
    assert stale and not stale & (signed | current | untouched)
    sizes = {name: (media / name).stat().st_size for name in stale}

    lines = _run("--dry-run")
    assert sorted(lines[:-1]) == sorted(f"would remove {n} ({s} bytes)" for n, s in sizes.items())
    assert lines[-1] == f"would remove {len(stale)} files, {sum(sizes.values())} bytes"
    assert all((media / name).exists() for name in stale)

    lines = _run()
    assert sorted(lines[:-1]) == sorted(f"removed {n} ({s} bytes)" for n, s in sizes.items())
    assert lines[-1] == f"removed {len(stale)} files, {sum(sizes.values())} bytes"
    assert not any((media / name).exists() for name in stale)
    kept = signed | current | untouched
    assert all((media / name).exists() for name in kept), kept
    assert _run() == ["removed 0 files, 0 bytes"]

    # What stayed still prints: the signed report's key cells, as signed.
    for cell in signature.content["key_cells"]:
        image, cam = report_cell_files(image=cell["image"], cam=cell["cam"])
        assert cam == cell["cam"] and (image in bounded or image == cell["image"])
