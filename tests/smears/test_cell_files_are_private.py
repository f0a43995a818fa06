"""Cell images and heat maps are written readable by the service user only (0600, folders 0700)
and served with Cache-Control: no-store, so no browser or proxy keeps a copy."""

from __future__ import annotations

import io
import stat
from pathlib import Path

from django.core.files.base import ContentFile

from apps.analysis.models import AnalysisRun, CellPrediction
from apps.smears.models import Cell
from apps.smears.services import smear_read_upload
from apps.workflow.services import smear_import

from .builders import pbc_bytes


def _cell(technician, specimen, monkeypatch) -> Cell:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)
    batch = smear_read_upload(name="a.jpg", fileobj=io.BytesIO(pbc_bytes()))
    smear_import(actor=technician, specimen=specimen, batch=batch)
    return Cell.objects.get(specimen=specimen)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_stored_images_are_0600_in_0700_folders(technician, specimen, settings, monkeypatch):
    cell = _cell(technician, specimen, monkeypatch)
    stored = Path(settings.MEDIA_ROOT) / cell.image.name
    assert _mode(stored) == 0o600
    folder = stored.parent
    while folder != Path(settings.MEDIA_ROOT):
        assert _mode(folder) == 0o700, folder
        folder = folder.parent


def test_cell_image_and_heat_map_are_not_cached(client, technician, specimen, monkeypatch,
                                                settings):
    cell = _cell(technician, specimen, monkeypatch)
    run = AnalysisRun.objects.get(specimen=specimen)
    prediction = CellPrediction(cell=cell, run=run, model_name="m", model_version="1",
                                model_sha256="0" * 64, cell_class="neutrophil",
                                cell_class_prob=0.9)
    prediction.cam.save("cam.png", ContentFile(b"\x89PNG fake"), save=False)
    prediction.save()
    assert _mode(Path(settings.MEDIA_ROOT) / prediction.cam.name) == 0o600
    client.force_login(technician)
    for kind in ("image", "cam"):
        response = client.get(f"/cells/{cell.pk}/{kind}/")
        assert response.status_code == 200, kind
        assert response["Cache-Control"] == "private, no-store"
