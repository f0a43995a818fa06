"""GET /api/specimens/{accession}/ carries the domain verdict of the specimen's latest finished
analysis (code, cells, outside, the limit max_outside, the run and its models), the same object
as the document's `domain` (one reader: specimen_domain_latest); null before any finished
analysis. The OpenAPI schema documents it."""

from __future__ import annotations

import io

import pytest

from apps.analysis.models import AnalysisRun, CellPrediction, RunStatus
from apps.api.serializers import SpecimenDetailSerializer
from apps.smears.models import Cell
from apps.smears.services import smear_read_upload
from apps.workflow.services import smear_import
from tests.helpers import export_zip

MODEL = {"name": "hemaclinic-cells", "version": "2.1.2", "sha256": "2" * 64}


@pytest.fixture
def imported(technician, specimen, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)
    batch = smear_read_upload(name="e.zip", fileobj=io.BytesIO(export_zip({"neutrophil": 4})))
    smear_import(actor=technician, specimen=specimen, batch=batch)
    return specimen


def _finish(specimen, *, outside: int) -> AnalysisRun:  # type: ignore[no-untyped-def]
    run = AnalysisRun.objects.get(specimen=specimen)
    AnalysisRun.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED,
                                                 domain_max_outside=0.25, models_used=[MODEL])
    for i, cell in enumerate(Cell.objects.filter(specimen=specimen).order_by("pk")):
        CellPrediction.objects.create(
            cell=cell, run=run, model_name=MODEL["name"], model_version=MODEL["version"],
            model_sha256=MODEL["sha256"], cell_class="neutrophil", cell_class_prob=0.9,
            class_probs={"neutrophil": 0.9}, view="found",
            domain_score=2.0 if i < outside else 0.4, in_domain=i >= outside)
    return run


def test_specimen_endpoint_carries_the_latest_domain_verdict(client, technician, imported):
    run = _finish(imported, outside=4)
    client.force_login(technician)
    body = client.get(f"/api/specimens/{imported.accession}/").json()
    assert body["domain"] == {"code": "outside", "cells": 4, "outside": 4, "max_outside": 0.25,
                              "waiting": 4,
                              "run": run.pk, "models": [MODEL]}
    document = client.get(f"/api/specimens/{imported.accession}/document/").json()
    assert body["domain"] == document["domain"]


def test_serializer_gives_inside_and_null_before_any_finished_analysis(imported):
    assert SpecimenDetailSerializer(imported).data["domain"] is None
    _finish(imported, outside=1)
    domain = SpecimenDetailSerializer(imported).data["domain"]
    assert (domain["code"], domain["cells"], domain["outside"]) == ("inside", 4, 1)
    assert domain["models"][0]["name"] == "hemaclinic-cells"


def test_the_list_stays_without_it(client, technician, imported):
    _finish(imported, outside=4)
    client.force_login(technician)
    listed = client.get("/api/specimens/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert rows and all("domain" not in row for row in rows)


def test_schema_documents_the_domain(client, technician):
    client.force_login(technician)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    detail = schema["components"]["schemas"]["SpecimenDetail"]["properties"]["domain"]
    assert detail["properties"]["code"]["enum"] == ["inside", "outside", "unchecked"]
    assert {"cells", "outside", "waiting", "max_outside", "run", "models"} <= set(
        detail["properties"])
    retrieve = schema["paths"]["/api/specimens/{accession}/"]["get"]
    ref = retrieve["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/SpecimenDetail")
