"""Scores that rest on the cells (VEXAS suspicion, MDS image evidence) are indeterminate, with
the reason code cells_outside_domain, when the specimen's images are outside the domain the
cell model was validated on; cells outside it one by one never feed the neutrophil evidence.
The CBC model does not read the cells and is unaffected."""

from __future__ import annotations

import io

import pytest
from django.utils import timezone, translation

from apps.analysis.models import AnalysisRun, CellPrediction, RunStatus
from apps.analysis.score_text import reason_text, score_display
from apps.analysis.scores import CELLS_OUTSIDE_DOMAIN, scores_compute, scores_current
from apps.smears.models import Cell
from apps.smears.services import smear_read_upload
from apps.workflow.services import cbc_import, smear_import
from tests.helpers import export_zip

CBC = (b"Sample No.,Date,Time,WBC(10^9/L),HGB(g/dL),MCV(fL),PLT(10^9/L),NEUT#(10^9/L),"
       b"MONO#(10^9/L),[NE-WX]\r\n"
       b"S-0001,2026/11/20,08:00:00,3.0,9.5,106.0,90,1.4,0.3,460\r\n")


@pytest.fixture
def make_neutrophils(technician, specimen, monkeypatch):  # type: ignore[no-untyped-def]
    """30 real neutrophil images, 8 of them vacuolated, with the domain check as given."""
    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)
    monkeypatch.setattr("apps.analysis.tasks.scores_compute_task.delay", lambda *_: None)
    patient = specimen.patient
    patient.birth_date = timezone.now().date().replace(year=1955)
    patient.save()
    batch = smear_read_upload(name="e.zip", fileobj=io.BytesIO(export_zip({"neutrophil": 30})))
    smear_import(actor=technician, specimen=specimen, batch=batch)
    cbc_import(actor=technician, data=CBC)

    def make(*, outside: set[int], max_outside: float | None = 0.1):  # type: ignore[no-untyped-def]
        run = AnalysisRun.objects.get(specimen=specimen)
        AnalysisRun.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED,
                                                     domain_max_outside=max_outside)
        for i, cell in enumerate(Cell.objects.filter(specimen=specimen).order_by("pk")):
            CellPrediction.objects.create(
                cell=cell, run=run, model_name="fixture", model_version="2", model_sha256="f" * 64,
                cell_class="neutrophil", cell_class_prob=0.95, class_probs={"neutrophil": 0.95},
                anomalies={"vacuole": 0.9 if i < 8 else 0.05, "pseudo_pelger": 0.1,
                           "hypogranulation": None, "barr_body": None},
                view="found", domain_score=2.0 if i in outside else 0.5,
                in_domain=i not in outside)
        scores_compute(specimen_id=specimen.pk, trigger="test")
        return {s.name: s for s in scores_current(specimen)}

    return make


def test_inside_the_domain_the_scores_are_computed(make_neutrophils):
    current = make_neutrophils(outside=set())
    assert current["vexas"].state == "scored"
    assert CELLS_OUTSIDE_DOMAIN not in [r["code"] for r in current["vexas"].reasons]
    assert current["vexas"].inputs["domain"] == {"code": "inside", "cells": 30, "outside": 0,
                                                 "max_outside": 0.1}


def test_outside_the_domain_cell_scores_are_indeterminate_with_the_reason(make_neutrophils):
    current = make_neutrophils(outside=set(range(10, 30)))   # 20 of 30 > 10%
    for name in ("vexas", "mds_image"):
        score = current[name]
        assert score.state == "indeterminate", name
        assert score.value is None and score.level == ""
        assert score.reasons[0] == {"code": CELLS_OUTSIDE_DOMAIN, "params": {}}
        assert score.inputs["domain"]["code"] == "outside"
        assert score.inputs["domain"]["outside"] == 20
        assert not score.evidence.get("cells")
    assert CELLS_OUTSIDE_DOMAIN not in [r["code"] for r in current["mds_cbc"].reasons]
    assert current["mds_cbc"].state == "scored"


def test_cells_outside_one_by_one_do_not_feed_the_neutrophil_evidence(make_neutrophils):
    # 2 of 30 outside (under the specimen's 10%): both are vacuolated cells.
    current = make_neutrophils(outside={0, 1})
    vexas = current["vexas"]
    assert vexas.state == "scored"
    assert vexas.inputs["domain"]["code"] == "inside"
    assert vexas.inputs["n_neutrophils"] == 28
    assert vexas.inputs["neutrophils_outside_domain"] == 2
    outside_ids = set(Cell.objects.filter(predictions__in_domain=False)
                      .values_list("pk", flat=True))
    assert len(outside_ids) == 2
    evidence = vexas.evidence["cells"]
    assert not {c["cell_id"] for c in evidence} & outside_ids
    # The 6 vacuolated cells inside; the cells under the cut-off are not stored as evidence.
    assert [c["vacuole"] for c in evidence] == [0.9] * 6


def test_a_model_without_domain_check_changes_nothing(make_neutrophils):
    current = make_neutrophils(outside=set(), max_outside=None)
    assert current["vexas"].state == "scored"
    assert current["vexas"].inputs["domain"]["code"] == "unchecked"


def test_the_reason_is_shown_in_french_and_english():
    with translation.override("en"):
        en = reason_text({"code": CELLS_OUTSIDE_DOMAIN, "params": {}})
    with translation.override("fr"):
        fr = reason_text({"code": CELLS_OUTSIDE_DOMAIN, "params": {}})
    assert "outside the domain the cell model was validated on" in en
    assert "hors du domaine" in fr and fr != en


def test_outside_the_domain_the_vexas_rule_counts_the_biologists_reads_once_all_are_read(
        make_neutrophils, biologist):
    """Another lab's stain: the model's outputs are not read, but once the biologist has
    classed every cell and read every neutrophil's vacuoles, the rule counts those reads alone
    (the image evidence for MDS, which has no such read, stays indeterminate). Reading only
    some is not enough: the reads would be those the biologist chose to make."""
    from apps.ml.scores.vexas import VERSION
    from apps.workflow.services import cells_reclassify, cells_vacuoles_read

    outside = set(range(30))
    make_neutrophils(outside=outside)
    specimen = Cell.objects.first().specimen
    cells = list(Cell.objects.filter(specimen=specimen).order_by("pk"))
    cells_reclassify(actor=biologist, specimen=specimen, cell_ids=[c.pk for c in cells],
                     new_class="neutrophil")
    # The model's 0.9 on the first 8 is not counted; the biologist sees vacuoles in 7 others.
    cells_vacuoles_read(actor=biologist, specimen=specimen,
                        cell_ids=[c.pk for c in cells[10:17]], seen=True)
    scores_compute(specimen_id=specimen.pk, trigger="test")
    vexas = {s.name: s for s in scores_current(specimen)}["vexas"]
    assert vexas.state == "indeterminate"
    assert vexas.reasons[-1] == {"code": "vexas_needs_reads",
                                 "params": {"n": 30, "read": 7, "waiting": False}}
    with translation.override("en"):
        assert reason_text(vexas.reasons[-1]).endswith(": 7 of 30 read")

    cells_vacuoles_read(actor=biologist, specimen=specimen,
                        cell_ids=[c.pk for c in cells[:10] + cells[17:]], seen=False)
    scores_compute(specimen_id=specimen.pk, trigger="test")
    current = {s.name: s for s in scores_current(specimen)}
    vexas = current["vexas"]
    assert (vexas.state, vexas.version) == ("scored", VERSION)
    assert vexas.inputs["counted_on"] == "biologist_reads"
    assert vexas.inputs["domain"]["code"] == "outside"
    part = vexas.evidence["contributions"][0]
    assert part["reason"]["params"]["k"] == 7 and part["points"] == 0.4   # 7/30 = 23%
    assert [c["cell_id"] for c in vexas.evidence["cells"]] == [c.pk for c in cells[10:17]]
    assert current["mds_image"].state == "indeterminate"
    # Its reason still counts every neutrophil outside: read, they are still the model's there.
    few = [r for r in current["mds_image"].reasons if r["code"] == "few_neutrophils_in_domain"]
    assert few and few[0]["params"]["outside"] == 30
    from apps.analysis.score_text import score_display
    with translation.override("fr"):
        assert score_display(vexas)["on_reads"].startswith(
            "Comptée sur les seules lectures du biologiste")


def test_a_neutrophil_outside_the_domain_counts_once_the_biologist_classed_and_read_it(
        make_neutrophils, biologist):
    """In a smear inside the domain as a whole, a neutrophil whose image is not is left out of
    the VEXAS count, until the biologist has given both what the rule reads of it: its class
    and its vacuoles. Then it counts on that read, never on the model's output for it, and
    the image evidence for MDS, which has no such read, still leaves it out."""
    from apps.workflow.services import cells_reclassify, cells_vacuoles_read

    current = make_neutrophils(outside={0, 1})  # two vacuolated cells by the model's output
    specimen = Cell.objects.first().specimen
    cells = list(Cell.objects.filter(specimen=specimen).order_by("pk"))
    outside = cells[:2]
    # Classed only: still outside, still not counted.
    cells_reclassify(actor=biologist, specimen=specimen, cell_ids=[outside[0].pk],
                     new_class="neutrophil")
    scores_compute(specimen_id=specimen.pk, trigger="test")
    vexas = {s.name: s for s in scores_current(specimen)}["vexas"]
    assert vexas.inputs["n_neutrophils"] == 28
    assert vexas.inputs["neutrophils_outside_domain"] == 2
    # The differential counts 30 neutrophils, the rule 28: said beside the score, with what
    # would count them (the walkthrough's "1/59 vacuolated" beside 60 neutrophils).
    assert vexas.inputs["outside_not_counted"] == 2
    with translation.override("en"):
        assert score_display(vexas)["not_counted"] == (
            "2 neutrophils of the differential are not counted by the rule: their images are "
            "outside the validated domain. Read their vacuoles (V: seen, Shift+V: none) to "
            "count them.")
    with translation.override("fr"):
        assert score_display(vexas, report=True)["not_counted"] == (
            "2 polynucléaires neutrophiles de la formule n'ont pas été comptés par la "
            "règle\u00a0: leurs images sont hors du domaine validé et leurs vacuoles n'ont pas "
            "été lues.")
    # Classed and read (no vacuoles, against the model's 0.9): counted, as not vacuolated.
    cells_vacuoles_read(actor=biologist, specimen=specimen, cell_ids=[outside[0].pk],
                        seen=False)
    scores_compute(specimen_id=specimen.pk, trigger="test")
    current = {s.name: s for s in scores_current(specimen)}
    vexas = current["vexas"]
    assert vexas.state == "scored"
    assert vexas.inputs["n_neutrophils"] == 29
    assert vexas.inputs["neutrophils_outside_domain"] == 2
    assert vexas.inputs["outside_domain_read"] == 1
    assert vexas.inputs["outside_not_counted"] == 1
    with translation.override("en"):
        assert score_display(vexas)["not_counted"].startswith(
            "1 neutrophil of the differential is not counted by the rule: its image is outside")
    part = vexas.evidence["contributions"][0]
    assert (part["reason"]["params"]["k"], part["reason"]["params"]["read"]) == (6, 1)
    assert outside[0].pk not in {c["cell_id"] for c in vexas.evidence["cells"]}
    # The model's pseudo-Pelger output of that cell is not given: no read of it exists.
    assert vexas.evidence["contributions"][-1]["name"] == "pseudo_pelger"
    assert vexas.evidence["contributions"][-1]["value"] is None
    assert current["mds_image"].inputs["n_neutrophils"] == 28
    # For the image evidence both cells are still outside, and its reason counts them.
    few = [r for r in current["mds_image"].reasons if r["code"] == "few_neutrophils_in_domain"]
    assert few and few[0]["params"]["outside"] == 2
    # Read as vacuolated: counted and shown as the biologist's read.
    cells_vacuoles_read(actor=biologist, specimen=specimen, cell_ids=[outside[0].pk],
                        seen=True)
    scores_compute(specimen_id=specimen.pk, trigger="test")
    vexas = {s.name: s for s in scores_current(specimen)}["vexas"]
    assert vexas.evidence["contributions"][0]["reason"]["params"]["k"] == 7
    assert vexas.evidence["cells"][0] == {"cell_id": outside[0].pk, "vacuole": 0.9,
                                          "read": "seen"}
