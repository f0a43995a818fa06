"""The analysis stores, per cell, how the model input was made and the domain check, keeps the
card's specimen rule on the run, and keeps the compact Grad-CAM map the model gave.

The network is replaced by a fake with the real model's interface (prepare, classify_views,
batch_maps): what is tested here is the storage and the verdict, the network is tested in
tests/ml."""

from __future__ import annotations

import io
from types import SimpleNamespace

import numpy as np
import pytest

from apps.analysis import pipeline
from apps.analysis.models import AnalysisRun, CellPrediction, RunStatus
from apps.analysis.selectors import run_domain, specimen_domain_latest
from apps.ml.cam import CamMap, CellMaps
from apps.ml.cells import CellPrediction as ModelPrediction
from apps.ml.cells import ClassifiedBatch, ModelView
from apps.smears.services import smear_read_upload
from apps.workflow.services import smear_import
from tests.helpers import export_zip

PROVENANCE = {"name": "fake-cells", "version": "2.0.0", "sha256": "c" * 64}


class FakeModel:
    """Cells in import order get (view, domain code, domain score) from ``plan``."""

    def __init__(self, plan: list[tuple[str, str | None, float | None]],
                 max_outside: float | None) -> None:
        self.plan = plan
        self.provenance = PROVENANCE
        self.card = SimpleNamespace(domain=None if max_outside is None else SimpleNamespace(
            specimen_max_outside=max_outside))
        self.seen = 0

    def prepare(self, image):  # type: ignore[no-untyped-def]
        return ModelView(image.resize((64, 64)), "unused", (0.1, 0.1, 0.9, 0.9), None)

    def classify_views(self, views):  # type: ignore[no-untyped-def]
        preds = []
        for _view in views:
            view, code, score = self.plan[self.seen]
            self.seen += 1
            preds.append(ModelPrediction(
                "neutrophil", 0.97, {"neutrophil": 0.97, "monocyte": 0.03}, "segmented", 0.9,
                {"segmented": 0.9}, {}, {}, {"vacuole": 0.8, "pseudo_pelger": 0.1,
                                             "hypogranulation": None, "barr_body": None},
                view=view, domain_score=score, domain=code))
        return ClassifiedBatch(preds, None, None, [v.box for v in views])

    def batch_maps(self, batch):  # type: ignore[no-untyped-def]
        return [CellMaps(CamMap(np.arange(36, dtype=np.uint8).reshape(6, 6) * 7, box))
                for box in batch.boxes]


def _analyse(monkeypatch, technician, specimen, capture, model):  # type: ignore[no-untyped-def]
    runner = pipeline.CellRunner(model, batch_size=2)
    monkeypatch.setattr(pipeline, "get_runner", lambda: runner)
    batch = smear_read_upload(name="e.zip", fileobj=io.BytesIO(export_zip({"neutrophil": 5})))
    with capture(execute=True):
        outcome = smear_import(actor=technician, specimen=specimen, batch=batch)
    run = AnalysisRun.objects.get(pk=outcome.analysis_run_id)
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run


@pytest.fixture(autouse=True)
def _fresh_runner():
    pipeline.reset_runner()
    yield
    pipeline.reset_runner()


def test_views_and_domain_scores_are_stored_and_the_specimen_is_outside(
        monkeypatch, technician, specimen, django_capture_on_commit_callbacks):
    plan = [("found", "inside", 0.4), ("no_stain", "no_nucleus", 3.2),
            ("found", "outside_features", 1.7), ("found", "inside", 0.9),
            ("found", "outside_features", 2.5)]
    run = _analyse(monkeypatch, technician, specimen, django_capture_on_commit_callbacks,
                   FakeModel(plan, max_outside=0.25))
    rows = list(CellPrediction.objects.filter(run=run).order_by("cell_id"))
    assert [(p.view, p.domain_score, p.in_domain) for p in rows] == [
        ("found", 0.4, True), ("no_stain", 3.2, False), ("found", 1.7, False),
        ("found", 0.9, True), ("found", 2.5, False)]
    # The smear is outside as a whole (3 of 5): the two images inside on their own are not
    # counted on the model's class either, until a biologist confirms them.
    assert [p.domain_flag for p in rows] == ["smear_outside", "no_stain", "outside_features",
                                             "smear_outside", "outside_features"]
    assert [p.smear_outside for p in rows] == [True] * 5
    assert [p.counted_class for p in rows] == [""] * 5
    assert {(p.model_name, p.model_version) for p in rows} == {("fake-cells", "2.0.0")}
    for p in rows:
        # The map the model gave, kept compact: no overlay drawn by the job.
        assert not p.cam and p.cam_box == [0.1, 0.1, 0.9, 0.9]
        assert p.cam_stored().values.shape == (6, 6)
    assert run.domain_max_outside == 0.25
    verdict = {"code": "outside", "cells": 5, "outside": 3, "max_outside": 0.25,
               "waiting": 5}
    assert run_domain(run) == verdict
    assert specimen_domain_latest(specimen) == {**verdict, "run": run.pk,
                                                "models": [PROVENANCE]}


def test_a_few_outside_cells_leave_the_specimen_inside(
        monkeypatch, technician, specimen, django_capture_on_commit_callbacks):
    plan = [("found", "inside", 0.3)] * 4 + [("found", "outside_features", 1.2)]
    run = _analyse(monkeypatch, technician, specimen, django_capture_on_commit_callbacks,
                   FakeModel(plan, max_outside=0.25))
    assert run_domain(run) == {"code": "inside", "cells": 5, "outside": 1, "max_outside": 0.25,
                               "waiting": 1}
    rows = list(CellPrediction.objects.filter(run=run).order_by("cell_id"))
    assert [p.counted_class for p in rows] == ["neutrophil"] * 4 + [""]
    assert not any(p.smear_outside for p in rows)


def test_a_model_without_a_domain_check_is_unchecked_never_inside(
        monkeypatch, technician, specimen, django_capture_on_commit_callbacks):
    plan = [("crop", None, None)] * 5
    run = _analyse(monkeypatch, technician, specimen, django_capture_on_commit_callbacks,
                   FakeModel(plan, max_outside=None))
    rows = CellPrediction.objects.filter(run=run)
    assert {(p.view, p.domain_score, p.in_domain, p.domain_flag) for p in rows} == {
        ("crop", None, None, "")}
    assert run.domain_max_outside is None
    assert run_domain(run)["code"] == "unchecked"


def test_no_finished_run_has_no_verdict(specimen):
    assert specimen_domain_latest(specimen) is None


def test_in_a_smear_outside_only_the_biologists_classes_count(
        monkeypatch, client, technician, biologist, specimen,
        django_capture_on_commit_callbacks):
    from apps.review.selectors import differential
    from apps.smears.models import Cell
    from apps.workflow.services import cells_reclassify
    from tests.helpers import case_page_html

    plan = [("found", "inside", 0.4)] + [("found", "outside_features", 2.0)] * 2 + [
        ("found", "inside", 0.5)] * 2
    run = _analyse(monkeypatch, technician, specimen, django_capture_on_commit_callbacks,
                   FakeModel(plan, max_outside=0.25))
    assert run_domain(run)["code"] == "outside"
    # The gallery names the reason on each image that passed on its own.
    page = case_page_html(client, biologist, specimen, "en")
    assert page.count('data-domain-flag="smear_outside"') == 3
    assert ">smear outside</span>" in page
    assert "frottis hors domaine" in case_page_html(client, biologist, specimen, "fr")
    before = differential(specimen)
    assert before["wbc_counted"] == 0 and before["unclassified"] == 5
    first = Cell.objects.filter(specimen=specimen).order_by("pk").first()
    cells_reclassify(actor=biologist, specimen=specimen, cell_ids=[first.pk],
                     new_class="neutrophil")
    after = differential(specimen)
    assert after["wbc_counted"] == 1 and after["unclassified"] == 4
    assert run_domain(run)["waiting"] == 4
