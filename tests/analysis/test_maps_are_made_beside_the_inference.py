"""The analysis job's inference thread only classifies: each batch's Grad-CAM maps are made on
a decoding thread while the next batch is classified, and batches still come out whole and in
order (every cell's prediction with its own map)."""

from __future__ import annotations

import io
import threading

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


def test_maps_are_made_on_a_decoding_thread_and_batches_stay_whole(
        technician, specimen, monkeypatch, django_capture_on_commit_callbacks):
    runner = pipeline.get_runner()
    monkeypatch.setattr(runner, "batch_size", 2)
    model = runner.model
    threads: dict[str, list[str]] = {"classify": [], "maps": []}

    class Spied:
        provenance, card, prepare = model.provenance, model.card, model.prepare

        def classify_views(self, views):  # type: ignore[no-untyped-def]
            threads["classify"].append(threading.current_thread().name)
            return model.classify_views(views)

        def batch_maps(self, batch):  # type: ignore[no-untyped-def]
            threads["maps"].append(threading.current_thread().name)
            return model.batch_maps(batch)

    monkeypatch.setattr(runner, "model", Spied())
    upload = smear_read_upload(name="e.zip", fileobj=io.BytesIO(
        export_zip({"neutrophil": 3, "lymphocyte": 2})))
    with django_capture_on_commit_callbacks(execute=True):
        outcome = smear_import(actor=technician, specimen=specimen, batch=upload)
    run = AnalysisRun.objects.get(pk=outcome.analysis_run_id)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert threads["classify"] == [threading.current_thread().name] * 3  # 2 + 2 + 1 cells
    assert len(threads["maps"]) == 3
    assert all(name.startswith("decode") for name in threads["maps"])
    predictions = list(CellPrediction.objects.filter(run=run).select_related("cell"))
    assert len(predictions) == 5
    for p in predictions:  # each cell with its own map, whatever batch it was in
        with p.cell.image.open("rb") as fh:
            image = Image.open(io.BytesIO(fh.read())).convert("RGB")
        (expected_prediction,), (expected,) = model.predict_maps([image])
        assert p.cell_class == expected_prediction.cell_class
        np.testing.assert_array_equal(p.cam_stored().values, expected.cell_class.values)
