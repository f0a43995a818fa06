"""A worklist row says when its specimen's images (latest finished analysis) are outside the
domain the cell model was validated on, beside its flags, in English and French; rows inside
the domain or not analysed say nothing of it. The page reads the verdicts of all its rows at
once: its query count does not grow with the rows."""

from __future__ import annotations

import io

from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.analysis.models import AnalysisRun, CellPrediction, RunStatus
from apps.patients.models import Specimen
from apps.smears.models import Cell
from apps.smears.services import smear_read_upload
from apps.workflow.services import cbc_import, smear_import
from tests.helpers import export_zip

HEADER = b"Sample No.,Date,Time,WBC(10^9/L),HGB(g/dL),MCV(fL),PLT(10^9/L),NEUT#(10^9/L)\r\n"
FLAGGED = b"%s,2026/11/20,08:01:00,3.1,9.5,106.5,90,1.1\r\n"   # anaemia, macrocytosis, ...
OUTSIDE_EN = "images outside the validated domain"
OUTSIDE_FR = "images hors du domaine validé"


def _specimens(technician, accessions: list[str]) -> list[Specimen]:  # type: ignore[no-untyped-def]
    cbc_import(actor=technician, data=HEADER + b"".join(FLAGGED % a.encode()
                                                         for a in accessions))
    return [Specimen.objects.get(accession=a) for a in accessions]


def _analysed(technician, specimen: Specimen, *, outside: int) -> None:  # type: ignore[no-untyped-def]
    """3 cells analysed, `outside` of them outside the domain (the limit: more than 25%)."""
    batch = smear_read_upload(name="e.zip", fileobj=io.BytesIO(export_zip({"neutrophil": 3})))
    smear_import(actor=technician, specimen=specimen, batch=batch)
    run = AnalysisRun.objects.get(specimen=specimen)
    AnalysisRun.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED,
                                                 domain_max_outside=0.25)
    for i, cell in enumerate(Cell.objects.filter(specimen=specimen).order_by("pk")):
        CellPrediction.objects.create(
            cell=cell, run=run, model_name="m", model_version="2", model_sha256="1" * 64,
            cell_class="neutrophil", cell_class_prob=0.9, class_probs={"neutrophil": 0.9},
            view="found", domain_score=2.0 if i < outside else 0.4, in_domain=i >= outside)


def _page(client, user, language: str) -> str:  # type: ignore[no-untyped-def]
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    return client.get("/worklist/").content.decode()


def _row(page: str, accession: str) -> str:
    return page.split(f">{accession}</a>", 1)[1].split("</tr>", 1)[0]


def test_outside_rows_say_so_beside_their_flags(client, biologist, technician, monkeypatch):
    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)
    monkeypatch.setattr("apps.analysis.tasks.scores_compute_task.delay", lambda *_: None)
    foreign, local, pending = _specimens(technician, ["EXT-1", "IN-1", "NEW-1"])
    _analysed(technician, foreign, outside=3)
    _analysed(technician, local, outside=0)
    page = _page(client, biologist, "en")
    row = _row(page, "EXT-1")
    assert f'data-domain="outside"><span class="tag">{OUTSIDE_EN}</span>' in row
    assert "3 of 3 images outside" in row and "Anaemia" in row
    assert OUTSIDE_EN not in _row(page, "IN-1") and OUTSIDE_EN not in _row(page, "NEW-1")
    page = _page(client, biologist, "fr")
    row = _row(page, "EXT-1")
    assert OUTSIDE_FR in row and "3 images sur 3 hors domaine" in row and "Anémie" in row
    assert OUTSIDE_EN not in page and OUTSIDE_FR not in _row(page, "IN-1")


def test_the_page_reads_the_verdicts_at_once(client, biologist, technician, monkeypatch):
    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)
    monkeypatch.setattr("apps.analysis.tasks.scores_compute_task.delay", lambda *_: None)
    first = _specimens(technician, ["A-1"])
    _analysed(technician, first[0], outside=3)
    client.force_login(biologist)
    with CaptureQueriesContext(connection) as one:
        assert client.get("/worklist/").status_code == 200
    for specimen in _specimens(technician, ["A-2", "A-3", "A-4"]):
        _analysed(technician, specimen, outside=3)
    with CaptureQueriesContext(connection) as four:
        page = client.get("/worklist/").content.decode()
    assert page.count(f'<span class="tag">{OUTSIDE_EN}</span>') == 4
    assert len(four) == len(one)
