"""The API and the specimen export give, per cell, how the model input was made and the domain
check (view, domain_score, in_domain, domain_flag), and per run and per specimen the verdict."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from apps.analysis.models import AnalysisRun, CellPrediction, RunStatus
from apps.smears.models import Cell
from apps.smears.services import smear_read_upload
from apps.workflow.services import smear_import
from tests.helpers import export_zip


@pytest.fixture
def analysed(technician, specimen, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)
    batch = smear_read_upload(name="e.zip", fileobj=io.BytesIO(export_zip({"neutrophil": 4})))
    smear_import(actor=technician, specimen=specimen, batch=batch)
    run = AnalysisRun.objects.get(specimen=specimen)

    def finish(*, max_outside: float | None, plan: list[tuple[str, float | None, bool | None]]):  # type: ignore[no-untyped-def]
        AnalysisRun.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED,
                                                     domain_max_outside=max_outside)
        for cell, (view, score, inside) in zip(Cell.objects.filter(specimen=specimen)
                                               .order_by("pk"), plan, strict=True):
            CellPrediction.objects.create(
                cell=cell, run=run, model_name="m", model_version="2.0.0", model_sha256="1" * 64,
                cell_class="neutrophil", cell_class_prob=0.9, class_probs={"neutrophil": 0.9},
                view=view, domain_score=score, in_domain=inside)
        return specimen

    return finish


def test_document_and_runs_carry_the_domain_check(client, technician, analysed):
    specimen = analysed(max_outside=0.25, plan=[
        ("found", 0.3, True), ("no_stain", 2.0, False), ("found", 1.5, False),
        ("found", 0.8, True)])
    client.force_login(technician)
    document = client.get(f"/api/specimens/{specimen.accession}/document/").json()
    cells = [(c["view"], c["domain_score"], c["in_domain"], c["domain_flag"])
             for c in sorted(document["cells"], key=lambda c: c["id"])]
    assert cells == [("found", 0.3, True, None), ("no_stain", 2.0, False, "no_stain"),
                     ("found", 1.5, False, "outside_features"), ("found", 0.8, True, None)]
    verdict = {"code": "outside", "cells": 4, "outside": 2, "max_outside": 0.25, "waiting": 2}
    run = AnalysisRun.objects.get(specimen=specimen)
    assert document["domain"] == {**verdict, "run": run.pk, "models": []}
    assert document["analysis_runs"][0]["domain"] == verdict
    runs = client.get(f"/api/specimens/{specimen.accession}/analysis/").json()
    assert runs[0]["domain"] == verdict
    out = io.StringIO()
    call_command("export_specimen", specimen.accession, stdout=out)
    assert json.loads(out.getvalue()) == document          # the export says the same


def test_a_model_without_domain_check_is_unchecked(client, technician, analysed):
    specimen = analysed(max_outside=None, plan=[("crop", None, None)] * 4)
    client.force_login(technician)
    document = client.get(f"/api/specimens/{specimen.accession}/document/").json()
    assert {(c["view"], c["domain_score"], c["in_domain"]) for c in document["cells"]} == {
        ("crop", None, None)}
    assert document["domain"]["code"] == "unchecked"
    runs = client.get(f"/api/specimens/{specimen.accession}/analysis/").json()
    assert runs[0]["domain"]["code"] == "unchecked"


def test_a_run_that_has_not_finished_has_no_verdict(client, technician, specimen, monkeypatch):
    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)
    batch = smear_read_upload(name="e.zip", fileobj=io.BytesIO(export_zip({"neutrophil": 1})))
    smear_import(actor=technician, specimen=specimen, batch=batch)
    client.force_login(technician)
    runs = client.get(f"/api/specimens/{specimen.accession}/analysis/").json()
    assert runs[0]["status"] == "queued" and runs[0]["domain"] is None
    assert client.get(f"/api/specimens/{specimen.accession}/document/").json()["domain"] is None
