"""The VEXAS rule reads as points out of 100 with its level and cut-offs, never as a figure that
reads as a probability; each evidence column says its unit; the evidence strip shows only the
cells at or above the cut-off."""

from __future__ import annotations

import re
from dataclasses import asdict

import pytest

from apps.analysis.models import Score
from apps.ml.scores import vexas

# 3/25 vacuolated (12%: half points, 20), MCV 100.5 (25), Hb 11.1 in a woman (15),
# PLT 149.5 (10), female (0), age 50 (5): 75 points, "high".
HALF_VACUOLES = vexas.VexasInputs(
    n_neutrophils=25, vacuole_probs=[0.6] * 3 + [0.2] * 22, mcv_fl=100.5, hgb_g_dl=11.1,
    plt_10_9_l=149.5, sex="F", age_years=50.0)
EVIDENCE_CELLS = [{"cell_id": 901, "vacuole": 0.93}, {"cell_id": 902, "vacuole": 0.5},
                  {"cell_id": 903, "vacuole": 0.31}, {"cell_id": 904, "vacuole": 0.02}]


@pytest.fixture
def scored(specimen):  # type: ignore[no-untyped-def]
    result = vexas.vexas_score(HALF_VACUOLES)
    assert result.score == pytest.approx(0.75)
    Score.objects.create(
        specimen=specimen, name="vexas", revision=1, definition="vexas-suspicion",
        version=result.version, state=result.state, value=result.score,
        level=result.level or "", thresholds=result.thresholds,
        evidence={"contributions": [asdict(c) for c in result.contributions],
                  "cells": EVIDENCE_CELLS},
        reasons=[r.as_dict() for r in result.reasons], text=result.disclaimer, trigger="test")
    return specimen


def _scores_panel(client, user, specimen, language):  # type: ignore[no-untyped-def]
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    page = client.get(f"/specimens/{specimen.accession}/").content.decode()
    return page.split('id="scores"', 1)[1].split("</section>", 1)[0]


def test_points_level_and_cutoffs_in_english(client, technician, scored):
    panel = _scores_panel(client, technician, scored, "en")
    assert "<strong>75 points of 100</strong>" in panel
    assert "intermediate from 40 points, high from 70 points" in panel
    assert "0.75" not in panel and "75%" not in panel
    headings = re.findall(r"<th[^>]*>([^<]*)</th>", panel.split('class="contrib"', 1)[1])
    assert headings[:3] == ["Input", "Value (unit)", "Points (of 100)"]
    # A value with a short unit never splits at a line's end ("149.5 ×10⁹/" then "L").
    rows = re.findall(r"<tr><td>([^<]*)</td><td(?: class=\"nobreak\")?>([^<]*)</td>\s*"
                      r"<td class=\"num nobreak\">([^<]*)</td>", panel)
    assert '<td class="nobreak">149.5\u00a0×10⁹/L</td>' in panel
    assert ("vacuolated neutrophils", "12\u00a0% of neutrophils", "20 of 40") in rows
    assert ("macrocytosis", "100.5\u00a0fL", "25 of 25") in rows
    assert ("anaemia", "11.1\u00a0g/dL", "15 of 15") in rows
    assert ("thrombocytopenia", "149.5\u00a0×10⁹/L", "10 of 10") in rows
    assert ("age 50 or over", "50\u00a0years", "5 of 5") in rows


def test_points_in_french(client, technician, scored):
    panel = _scores_panel(client, technician, scored, "fr")
    assert "<strong>75 points sur 100</strong>" in panel
    assert "Points (sur 100)" in panel and "Valeur (unité)" in panel
    assert "100,5\u00a0fL" in panel and "12\u00a0% des neutrophiles" in panel


def test_the_evidence_strip_shows_only_cells_at_or_above_the_cutoff(client, technician, scored):
    panel = _scores_panel(client, technician, scored, "en")
    assert re.findall(r'data-evidence-cell="(\d+)"', panel) == ["901", "902"]
    assert ("The neutrophils counted as vacuolated: first those in which the biologist saw "
            "vacuoles, then those not read at or above the cut-off (model probability ≥ 0.50)"
            ) in panel


def test_no_cell_above_the_cutoff_shows_no_strip(client, technician, scored):
    score = Score.objects.get(specimen=scored, name="vexas")
    Score.objects.filter(pk=score.pk).update(
        evidence={**score.evidence, "cells": EVIDENCE_CELLS[2:]})
    panel = _scores_panel(client, technician, scored, "en")
    assert "data-evidence-cell" not in panel
    assert "No neutrophil counted as vacuolated." in panel
