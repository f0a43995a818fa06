"""The analysis job keeps, per cell, the compact maps (the uint8 map of the predicted class at the
stride-16 resolution, and for the cells called neutrophils the vacuole output's, with the box of
the model's view in the image) and writes no overlay file: overlays are drawn when first asked
for (tests/analysis/test_overlay_is_drawn_on_request.py)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from apps.analysis import pipeline
from apps.analysis.models import AnalysisRun, CellPrediction, RunStatus
from apps.ml.cells import load_default
from apps.smears.services import smear_read_upload
from apps.workflow.services import smear_import
from tests.helpers import export_zip


@pytest.fixture(autouse=True)
def _fresh_runner():
    pipeline.reset_runner()
    yield
    pipeline.reset_runner()


def test_each_prediction_has_its_compact_map_and_no_png_is_written(
        technician, specimen, settings, django_capture_on_commit_callbacks):
    batch = smear_read_upload(name="export.zip", fileobj=io.BytesIO(
        export_zip({"neutrophil": 2, "lymphocyte": 2, "eosinophil": 1})))
    with django_capture_on_commit_callbacks(execute=True):
        outcome = smear_import(actor=technician, specimen=specimen, batch=batch)
    run = AnalysisRun.objects.get(pk=outcome.analysis_run_id)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert "overlay" not in run.timings  # no drawing in the job

    media = Path(settings.MEDIA_ROOT)
    written = {p.relative_to(media).parts[0] for p in media.rglob("*") if p.is_file()}
    assert written == {"cells"}  # the imported images, and nothing else

    model = load_default(settings.MODELS_ONNX_DIR)
    predictions = list(CellPrediction.objects.filter(run=run).select_related("cell"))
    assert len(predictions) == 5
    with_vacuole = 0
    for p in predictions:
        assert not p.cam and p.has_cam
        assert len(bytes(p.cam_map)) < 512  # a .npy header and 12 x 12 bytes
        cam = p.cam_stored()
        assert cam is not None and cam.values.dtype == np.uint8
        assert cam.values.shape == (12, 12)  # finer than the 6x6 last feature maps
        # The same maps the model computes for this image today, in the same place.
        with p.cell.image.open("rb") as fh:
            image = Image.open(io.BytesIO(fh.read())).convert("RGB")
        _, (expected,) = model.predict_maps([image])
        np.testing.assert_array_equal(cam.values, expected.cell_class.values)
        assert cam.box == pytest.approx(expected.cell_class.box)
        vacuole = p.cam_stored("vacuole")
        if p.cell_class == "neutrophil":
            assert vacuole is not None and expected.vacuole is not None
            np.testing.assert_array_equal(vacuole.values, expected.vacuole.values)
            assert not np.array_equal(vacuole.values, cam.values)  # another output's map
            with_vacuole += 1
        else:
            assert vacuole is None and expected.vacuole is None
    assert with_vacuole >= 1
