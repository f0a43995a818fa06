"""A specimen whose cell images are outside the domain the cell model was validated on enters the
biologists' default worklist even when no blood count or score rule flagged it: the scores raise
a cells_outside_domain flag (the analysis' own verdict, k of n cells outside) worded in English
and French, listed in the worklist's flag filter. An unflagged specimen inside the domain stays
off the default worklist, and the flag goes once a later analysis is inside."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.utils import translation

from apps.analysis.models import AnalysisRun, CellPrediction, RunStatus
from apps.analysis.scores import FLAG_RULES_VERSION, scores_compute
from apps.patients.flag_text import flag_label, flag_reason
from apps.patients.models import Specimen, SpecimenFlag
from apps.patients.services import patient_create, specimen_create
from apps.review.selectors import worklist
from apps.smears.models import Cell
from apps.smears.services import smear_read_upload
from apps.workflow.services import smear_import
from tests.helpers import pbc_images

FLAG = "cells_outside_domain"
NAME_EN, NAME_FR = "Cells outside the validated domain", "Cellules hors du domaine validé"
REASON_EN = "3 of 3 images outside the validated domain"
REASON_FR = "3 images sur 3 hors du domaine validé"


def _export(n: int) -> bytes:
    """A CellaVision-style zip of 3 real neutrophil images, the `n`th three: images identical to
    another specimen's would flag a possible mix-up and put both on the worklist."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in pbc_images("neutrophil", 3 * n + 3)[3 * n:]:
            archive.write(path, f"export/neutrophil/{path.name}")
    return buffer.getvalue()


@pytest.fixture
def analysed(technician, monkeypatch):  # type: ignore[no-untyped-def]
    """A specimen without a blood count (so no CBC flag), 3 neutrophils analysed, `outside` of
    them outside the domain (the specimen is outside above the run's `max_outside`); the
    scores computed after it, as the worker does after an analysis."""
    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)
    monkeypatch.setattr("apps.analysis.tasks.scores_compute_task.delay", lambda *_: None)

    made: list[Specimen] = []

    def make(accession: str, *, outside: int, max_outside: float = 0.25) -> Specimen:
        patient = patient_create(actor=technician, external_id=f"MRN-{accession}", sex="M")
        specimen = specimen_create(actor=technician, accession=accession, patient=patient)
        batch = smear_read_upload(name="e.zip", fileobj=io.BytesIO(_export(len(made))))
        made.append(specimen)
        smear_import(actor=technician, specimen=specimen, batch=batch)
        run = AnalysisRun.objects.get(specimen=specimen)
        AnalysisRun.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED,
                                                     domain_max_outside=max_outside)
        for i, cell in enumerate(Cell.objects.filter(specimen=specimen).order_by("pk")):
            CellPrediction.objects.create(
                cell=cell, run=run, model_name="m", model_version="2", model_sha256="1" * 64,
                cell_class="neutrophil", cell_class_prob=0.9, class_probs={"neutrophil": 0.9},
                anomalies={"vacuole": 0.05, "pseudo_pelger": 0.05},
                view="found", domain_score=2.0 if i < outside else 0.4, in_domain=i >= outside)
        assert not worklist().filter(pk=specimen.pk).exists()   # nothing flagged it yet
        scores_compute(specimen_id=specimen.pk, trigger="analysis")
        specimen.refresh_from_db()
        return specimen

    return make


def _page(client, user, language: str, query: str = "") -> str:  # type: ignore[no-untyped-def]
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    return client.get(f"/worklist/{query}").content.decode()


def _row(page: str, accession: str) -> str:
    return page.split(f">{accession}</a>", 1)[1].split("</tr>", 1)[0]


def test_an_unflagged_specimen_outside_the_domain_enters_the_worklist(analysed):  # type: ignore[no-untyped-def]
    foreign = analysed("EXT-1", outside=3)
    flags = list(SpecimenFlag.objects.filter(specimen=foreign))
    assert [(f.name, f.source, f.weight) for f in flags] == [(FLAG, "score", 1)]
    flag = flags[0]
    assert flag.rule == REASON_EN                 # the audit trail's words, in English
    assert flag.rules_version == FLAG_RULES_VERSION
    assert flag.reason == {"code": "outside_domain",
                           "params": {"outside": 3, "cells": 3, "max_outside": 0.25}}
    assert foreign.priority == 1
    assert list(worklist()) == [foreign]
    assert list(worklist(flag=FLAG)) == [foreign]
    with translation.override("en"):
        assert (flag_label(FLAG), flag_reason(flag)) == (NAME_EN, REASON_EN)
    with translation.override("fr"):
        assert (flag_label(FLAG), flag_reason(flag)) == (NAME_FR, REASON_FR)


def test_an_unflagged_specimen_inside_the_domain_stays_off_the_worklist(analysed):  # type: ignore[no-untyped-def]
    local = analysed("IN-1", outside=0)
    assert not SpecimenFlag.objects.filter(specimen=local).exists()
    assert local.priority == 0
    assert not worklist().filter(pk=local.pk).exists()
    # The run's own limit decides: one cell of three outside is within a limit of a half.
    one = analysed("IN-2", outside=1, max_outside=0.5)
    assert not SpecimenFlag.objects.filter(specimen=one).exists()
    assert list(worklist()) == []


def test_the_flag_goes_when_the_latest_analysis_is_inside(analysed):  # type: ignore[no-untyped-def]
    foreign = analysed("EXT-1", outside=3)
    CellPrediction.objects.filter(cell__specimen=foreign).update(in_domain=True,
                                                                 domain_score=0.4)
    scores_compute(specimen_id=foreign.pk, trigger="analysis")
    foreign.refresh_from_db()
    assert not SpecimenFlag.objects.filter(specimen=foreign).exists()
    assert foreign.priority == 0 and list(worklist()) == []


def test_the_worklist_page_words_the_flag_in_english_and_french(client, biologist, analysed):  # type: ignore[no-untyped-def]
    analysed("EXT-1", outside=3)
    analysed("IN-1", outside=0)
    page = _page(client, biologist, "en")
    row = _row(page, "EXT-1")
    assert f'<span class="tag">{NAME_EN}</span> <span class="muted">{REASON_EN}</span>' in row
    assert f'title="rules {FLAG_RULES_VERSION}"' in row
    # The flag says what the domain badge said: the row does not say it twice.
    assert 'data-domain="outside"' not in row and "3 of 3 images outside</span>" not in row
    assert "IN-1" not in page
    assert f'<option value="{FLAG}">{NAME_EN}</option>' in page
    page = _page(client, biologist, "fr")
    row = _row(page, "EXT-1")
    assert f'<span class="tag">{NAME_FR}</span> <span class="muted">{REASON_FR}</span>' in row
    assert f'<option value="{FLAG}">{NAME_FR}</option>' in page
    assert NAME_EN not in page and REASON_EN not in page
    filtered = _page(client, biologist, "fr", f"?flag={FLAG}&all=1")
    assert ">EXT-1</a>" in filtered and ">IN-1</a>" not in filtered
