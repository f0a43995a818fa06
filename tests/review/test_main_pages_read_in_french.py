"""The main pages rendered in French carry no English interface text from a known list, no
backquote and no Python module path (a docstring or a code leaking into the page), no figure
with a decimal point and no date that reads two ways: the
worklist, the case page (cells, large-cell pane, differential, CBC, the four scores with their
explanations, shortcuts) and the specimen page that shares the scores panel."""

from __future__ import annotations

import re
from dataclasses import asdict

import pytest

from apps.analysis.models import CellPrediction, Score
from apps.analysis.scores import scores_compute
from apps.ml.scores import vexas
from apps.smears.models import Cell
from tests.french import (
    date_problems,
    number_and_date_problems,
    percent_problems,
    problems,
    visible,
)
from tests.review.cbc import cbc_with_differential


@pytest.fixture
def full_case(analysed, technician, biologist, monkeypatch):  # type: ignore[no-untyped-def]
    """The review fixture's case with a CBC (its automated differential), morphology outputs
    on the cells, a reviewed cell and the four scores stored."""
    monkeypatch.setattr("apps.analysis.tasks.scores_compute_task.delay", lambda *_: None)
    cbc_with_differential(actor=technician, specimen=analysed)
    CellPrediction.objects.filter(cell__specimen=analysed).update(
        subtype="segmented_neutrophil", subtype_prob=0.8,
        attributes={"cell_size": "big", "nucleus_shape": "segmented-bilobed",
                    "granule_type": "small", "cytoplasm_colour": "light blue"},
        attribute_probs={"cell_size": {"big": 0.7}, "granule_type": {"small": 0.6}})
    cell = Cell.objects.filter(specimen=analysed, analyser_class="lymphocyte").first()
    Cell.objects.filter(pk=cell.pk).update(reviewed_class="ig", reviewed_by=biologist)
    scores_compute(specimen_id=analysed.pk, trigger="test")
    # A scored VEXAS with evidence cells, so that every part of the panel renders.
    result = vexas.vexas_score(vexas.VexasInputs(
        n_neutrophils=25, vacuole_probs=[0.9] * 6 + [0.1] * 19, mcv_fl=104.0, hgb_g_dl=10.0,
        plt_10_9_l=120.0, sex="M", age_years=70.0))
    latest = Score.objects.filter(specimen=analysed, name="vexas").order_by("-revision").first()
    first_cell = Cell.objects.filter(specimen=analysed).first()
    Score.objects.create(
        specimen=analysed, name="vexas", revision=(latest.revision + 1) if latest else 1,
        definition="vexas-suspicion", version=result.version, state=result.state,
        value=result.score, level=result.level or "", thresholds=result.thresholds,
        evidence={"contributions": [asdict(c) for c in result.contributions],
                  "cells": [{"cell_id": first_cell.pk, "vacuole": 0.9}]},
        reasons=[], text=result.disclaimer, trigger="test")
    from apps.patients.models import SpecimenFlag

    SpecimenFlag.objects.create(specimen=analysed, name="vexas_suspicion", source="score",
                                rule="VEXAS suspicion high (80 points of 100)",
                                reason={"code": "vexas_level",
                                        "params": {"level": "high", "points": 80}},
                                rules_version="score-flags-1")
    type(analysed).objects.filter(pk=analysed.pk).update(priority=5)
    return analysed


def _french(client, user, url):  # type: ignore[no-untyped-def]
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


@pytest.mark.parametrize("url", ["/worklist/", "/worklist/?q=S-0001", "/review/{accession}/",
                                 "/specimens/{accession}/"])
def test_the_page_in_french_has_no_english_no_backquote_no_module_path(
        client, biologist, full_case, url):
    page = _french(client, biologist, url.format(accession=full_case.accession))
    text = visible(page)
    found = problems(text)
    contexts = [text[max(0, m.start() - 80):m.end() + 80] for word in found
                for m in re.finditer(re.escape(word.split(": ")[-1]), text)][:5]
    assert not found, (found, contexts)
    assert not number_and_date_problems(text), number_and_date_problems(text)
    assert not percent_problems(page), percent_problems(page)


def test_the_check_itself_catches_english(client, biologist, full_case):
    client.force_login(biologist)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    text = visible(client.get(f"/review/{full_case.accession}/").content.decode())
    assert {"Keyboard shortcuts", "Neutrophil", "points of 100"} <= set(problems(text))
    assert number_and_date_problems("0.90 on 12/02/2026 2:38 a.m., model 1.0.0, 0,90") == [
        "0.90", "12/02/2026", "a.m."]
    assert percent_problems("12 % and 12\u00a0%, 8\n%") == ["2 %", "8\n%"]
    assert problems("see ``apps.ml.scores`` here") == [
        "a backquote: see ``apps.ml.scores`` here", "a module path: apps.ml"]


@pytest.mark.parametrize("url", ["/worklist/", "/review/{accession}/", "/specimens/{accession}/"])
def test_dates_read_one_way_in_english_too(client, biologist, full_case, url):
    """Django's English formats print 12/02/2026 and 2:38 a.m.; the pages use day, month name
    and a 24-hour time (hemaclinic/formats) in both languages."""
    client.force_login(biologist)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    text = visible(client.get(url.format(accession=full_case.accession)).content.decode())
    assert not date_problems(text), date_problems(text)
    assert re.search(r"\b\d{1,2} [A-Z][a-z]+ \d{4}\b|\b\d{4}-\d{2}-\d{2}\b", text), text[:400]


def test_keyboard_keys_are_named_as_on_a_french_keyboard(client, biologist, full_case):
    page = _french(client, biologist, "/worklist/")
    assert "<kbd>Entrée</kbd>" in page and "<kbd>Enter</kbd>" not in page
