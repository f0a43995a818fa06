"""The analysis job's Grad-CAM maps are made in parts, each once, by whichever thread is free:
a decoding thread while the inference thread classifies the next batch, or the inference
thread itself while the next batch's views are not ready. Batches still come out whole and in
order (every cell's prediction with its own map)."""

from __future__ import annotations

import io
import threading
import time

import numpy as np
import pytest
from PIL import Image

from apps.analysis import pipeline
from apps.analysis.models import AnalysisRun, CellPrediction, RunStatus
from apps.smears.services import smear_read_upload
from apps.workflow.services import smear_import
from tests.helpers import export_zip


@pytest.fixture(autouse=True)
def _fresh_runner():
    pipeline.reset_runner()
    yield
    pipeline.reset_runner()


@pytest.mark.parametrize("slow", ["decoding", "inference"])
def test_each_map_is_made_once_by_the_free_thread_and_batches_stay_whole(
        slow, technician, specimen, monkeypatch, django_capture_on_commit_callbacks):
    runner = pipeline.get_runner()
    monkeypatch.setattr(runner, "batch_size", 2)
    monkeypatch.setattr(pipeline, "MAP_PART", 1)  # one part per cell
    model = runner.model
    calls: dict[str, list] = {"classify": [], "maps": []}
    lag = 0.3  # per image (slow decoding) or per batch (slow inference)

    class Spied:
        provenance, card = model.provenance, model.card

        def prepare(self, image):  # type: ignore[no-untyped-def]
            if slow == "decoding":
                time.sleep(lag)
            return model.prepare(image)

        def classify_views(self, views):  # type: ignore[no-untyped-def]
            calls["classify"].append(threading.current_thread().name)
            if slow == "inference":
                time.sleep(lag)
            return model.classify_views(views)

        def batch_maps(self, batch):  # type: ignore[no-untyped-def]
            calls["maps"].append((threading.current_thread().name, len(batch.predictions)))
            return model.batch_maps(batch)

    monkeypatch.setattr(runner, "model", Spied())
    upload = smear_read_upload(name="e.zip", fileobj=io.BytesIO(
        export_zip({"neutrophil": 3, "lymphocyte": 2})))
    with django_capture_on_commit_callbacks(execute=True):
        outcome = smear_import(actor=technician, specimen=specimen, batch=upload)
    run = AnalysisRun.objects.get(pk=outcome.analysis_run_id)
    assert run.status == RunStatus.SUCCEEDED, run.error
    inference = threading.current_thread().name
    assert calls["classify"] == [inference] * 3  # 2 + 2 + 1 cells
    # Every cell's map made once, one part each.
    assert [n for _, n in calls["maps"]] == [1] * 5
    makers = [name for name, _ in calls["maps"]]
    if slow == "decoding":
        # Waiting for the next views, the inference thread made the maps of the batch before
        # (the first two batches': the last one's may be made on either thread).
        assert makers[:4] == [inference] * 4
    else:
        # Decoding had nothing left to do: it made every map the inference thread did not
        # wait for (all but the last batch's).
        assert all(name.startswith("decode") for name in makers[:4])
    predictions = list(CellPrediction.objects.filter(run=run).select_related("cell"))
    assert len(predictions) == 5
    for p in predictions:  # each cell with its own map, whatever batch or thread made it
        with p.cell.image.open("rb") as fh:
            image = Image.open(io.BytesIO(fh.read())).convert("RGB")
        (expected_prediction,), (expected,) = model.predict_maps([image])
        assert p.cell_class == expected_prediction.cell_class
        np.testing.assert_array_equal(p.cam_stored().values, expected.cell_class.values)
