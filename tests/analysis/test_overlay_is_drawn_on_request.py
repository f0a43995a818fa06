"""GET /cells/<id>/cam/ draws the Grad-CAM overlay from the stored compact map on first request:
a PNG of the cell image's size, never kept by the browser (private, no-store), drawn once and then
served from its file, for the same roles as the cell image; an overlay PNG stored by an analysis
from before compact maps is served as it was stored."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from django.core.files.base import ContentFile
from PIL import Image

from apps.analysis import overlays
from apps.analysis.models import AnalysisRun, CellPrediction, RunStatus
from apps.ml.cam import CamMap
from apps.smears.models import Cell
from apps.smears.services import smear_read_upload
from apps.workflow.services import smear_import
from tests.helpers import export_zip


def _hot_corner_map() -> CamMap:
    values = np.zeros((6, 6), np.uint8)
    values[0, 0] = 255  # the model looked at the top-left of its view
    return CamMap(values, (0.0, 0.0, 1.0, 1.0))


@pytest.fixture
def cell(technician, specimen, monkeypatch) -> Cell:  # type: ignore[no-untyped-def]
    """A real CellaVision cell (360 x 363) with a prediction holding a compact map."""
    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)
    batch = smear_read_upload(name="e.zip", fileobj=io.BytesIO(export_zip({"neutrophil": 1})))
    smear_import(actor=technician, specimen=specimen, batch=batch)
    cell = Cell.objects.get(specimen=specimen)
    run = AnalysisRun.objects.get(specimen=specimen)
    run.status = RunStatus.SUCCEEDED
    run.save()
    cam = _hot_corner_map()
    CellPrediction.objects.create(
        cell=cell, run=run, model_name="m", model_version="1", model_sha256="0" * 64,
        cell_class="neutrophil", cell_class_prob=0.9, cam_map=cam.encode(),
        cam_box=list(cam.box))
    return cell


def _png(response) -> Image.Image:  # type: ignore[no-untyped-def]
    image = Image.open(io.BytesIO(b"".join(response.streaming_content)))
    image.load()
    return image


def test_overlay_is_a_png_of_the_cells_size_with_no_store(client, technician, cell):
    client.force_login(technician)
    response = client.get(f"/cells/{cell.pk}/cam/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "private, no-store"
    overlay = _png(response)
    assert overlay.format == "PNG" and overlay.mode == "RGB"
    assert overlay.size == (cell.width, cell.height) == (360, 363)
    # The map is drawn where it was: the hot top-left is red-shifted, the cold rest blue-shifted.
    with cell.image.open("rb") as fh:
        original = np.asarray(Image.open(fh).convert("RGB"), np.int32)
    drawn = np.asarray(overlay, np.int32)
    hot = (drawn - original)[10:40, 10:40].mean(axis=(0, 1))
    cold = (drawn - original)[300:, 300:].mean(axis=(0, 1))
    assert hot[0] > hot[2] and cold[2] > cold[0]


def test_overlay_is_drawn_once_then_served_from_its_file(client, biologist, cell, settings,
                                                         monkeypatch):
    calls = []
    draw = overlays.overlay_png
    monkeypatch.setattr(overlays, "overlay_png",
                        lambda image, cam: calls.append(1) or draw(image, cam))
    client.force_login(biologist)
    first = b"".join(client.get(f"/cells/{cell.pk}/cam/").streaming_content)
    second = b"".join(client.get(f"/cells/{cell.pk}/cam/").streaming_content)
    assert first == second and len(calls) == 1
    (name,) = [p for p in (Path(settings.MEDIA_ROOT) / "cams").rglob("*") if p.is_file()]
    assert name.read_bytes() == first
    assert name.stat().st_mode & 0o077 == 0  # patient data: readable by the service user only

    # A new analysis that changes the map gets a new overlay, drawn from the new map.
    prediction = cell.predictions.get()
    moved = np.zeros((6, 6), np.uint8)
    moved[5, 5] = 255
    prediction.cam_map = CamMap(moved, (0.0, 0.0, 1.0, 1.0)).encode()
    prediction.save()
    third = b"".join(client.get(f"/cells/{cell.pk}/cam/").streaming_content)
    assert third != first and len(calls) == 2


def test_only_clinical_roles_see_overlays(client, make_user, cell):
    url = f"/cells/{cell.pk}/cam/"
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    client.force_login(make_user("norole"))
    assert client.get(url).status_code == 403
    for role in ("technician", "biologist", "admin"):
        client.force_login(make_user(f"u-{role}", role))
        assert client.get(url).status_code == 200, role
        assert client.post(url).status_code == 405, role


def test_an_overlay_stored_before_compact_maps_is_served_as_stored(client, technician, cell):
    prediction = cell.predictions.get()
    prediction.cam_map, prediction.cam_box = b"", None
    stored = io.BytesIO()
    Image.new("RGB", (192, 192), (10, 200, 30)).save(stored, format="PNG")
    prediction.cam.save("old.png", ContentFile(stored.getvalue()), save=True)
    client.force_login(technician)
    response = client.get(f"/cells/{cell.pk}/cam/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert b"".join(response.streaming_content) == stored.getvalue()


def test_no_map_no_overlay(client, technician, cell):
    CellPrediction.objects.filter(cell=cell).update(cam_map=b"", cam_box=None)
    client.force_login(technician)
    assert client.get(f"/cells/{cell.pk}/cam/").status_code == 404
    CellPrediction.objects.filter(cell=cell).delete()
    assert client.get(f"/cells/{cell.pk}/cam/").status_code == 404
    assert client.get("/cells/999999/cam/").status_code == 404


def test_the_vacuole_map_is_its_own_overlay(client, biologist, cell):
    """?map=vacuole draws the vacuole output's map (another file, another picture); a cell
    without one, or an unknown map, is a 404."""
    client.force_login(biologist)
    assert client.get(f"/cells/{cell.pk}/cam/?map=vacuole").status_code == 404
    assert client.get(f"/cells/{cell.pk}/cam/?map=nothing").status_code == 404
    values = np.zeros((12, 12), np.uint8)
    values[-1, -1] = 255  # the vacuole output looked at the bottom-right
    CellPrediction.objects.filter(cell=cell).update(
        vacuole_cam_map=CamMap(values, (0.0, 0.0, 1.0, 1.0)).encode())
    prediction = CellPrediction.objects.get(cell=cell)
    assert overlays.overlay_name(prediction, "vacuole") != overlays.overlay_name(prediction)
    response = client.get(f"/cells/{cell.pk}/cam/?map=vacuole")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    drawn = np.asarray(_png(response), np.int32)
    with cell.image.open("rb") as fh:
        original = np.asarray(Image.open(fh).convert("RGB"), np.int32)
    hot = (drawn - original)[-30:, -30:].mean(axis=(0, 1))
    cold = (drawn - original)[10:40, 10:40].mean(axis=(0, 1))
    assert hot[0] > hot[2] and cold[2] > cold[0]
    # The class overlay is unchanged: still the top-left.
    klass = np.asarray(_png(client.get(f"/cells/{cell.pk}/cam/")), np.int32)
    corner = (klass - original)[10:40, 10:40].mean(axis=(0, 1))
    assert corner[0] > corner[2]
