"""The MDS image evidence lists as available only the dysplasia outputs the cell model's card
marks available, whatever the number of neutrophils: with none analysed (all outside the
validated domain, or none in the smear) an empty column is not an output. The card's one
available output, vacuoles, is not dysplasia: none is listed, and the evidence says so. The "too
few neutrophils" reason says it counts those inside the validated domain."""

from __future__ import annotations

import io

import pytest
from django.utils import translation

from apps.analysis.models import AnalysisRun, CellPrediction, RunStatus
from apps.analysis.score_text import reason_text
from apps.analysis.scores import FEW_NEUTROPHILS_IN_DOMAIN, scores_compute, scores_current
from apps.ml.cards import load_card
from apps.smears.models import Cell
from apps.smears.services import smear_read_upload
from apps.workflow.services import smear_import
from tests.helpers import export_zip

CARD_AVAILABLE = ("vacuole",)
AVAILABLE: list[str] = []  # of the dysplasia outputs: vacuoles are not dysplasia
NOT_AVAILABLE = ["pseudo_pelger", "hypogranulation"]


@pytest.fixture
def analysed(technician, specimen, monkeypatch, settings):  # type: ignore[no-untyped-def]
    """9 neutrophil images analysed by the installed hemaclinic-cells 2.1.2 (its card: vacuole
    available, the three others not), each inside or outside the domain as asked."""
    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)
    monkeypatch.setattr("apps.analysis.tasks.scores_compute_task.delay", lambda *_: None)
    card = load_card(settings.MODELS_ONNX_DIR / "hemaclinic-cells" / "2.1.2")
    assert card.available_anomalies == CARD_AVAILABLE
    batch = smear_read_upload(name="e.zip", fileobj=io.BytesIO(export_zip({"neutrophil": 9})))
    smear_import(actor=technician, specimen=specimen, batch=batch)

    def finish(*, cell_class: str, inside: bool):  # type: ignore[no-untyped-def]
        run = AnalysisRun.objects.get(specimen=specimen)
        AnalysisRun.objects.filter(pk=run.pk).update(
            status=RunStatus.SUCCEEDED, domain_max_outside=0.25, models_used=[card.provenance])
        for cell in Cell.objects.filter(specimen=specimen):
            CellPrediction.objects.create(
                cell=cell, run=run, model_name=card.name, model_version=card.version,
                model_sha256=card.model_sha256, cell_class=cell_class, cell_class_prob=0.9,
                class_probs={cell_class: 0.9},
                anomalies={"vacuole": 0.1, "pseudo_pelger": None, "hypogranulation": None,
                           "barr_body": None},
                view="found", domain_score=0.5 if inside else 3.0, in_domain=inside)
        scores_compute(specimen_id=specimen.pk, trigger="test")
        return {s.name: s for s in scores_current(specimen)}

    return finish


def test_no_neutrophil_inside_the_domain_lists_only_what_the_card_offers(analysed):
    image = analysed(cell_class="neutrophil", inside=False)["mds_image"]
    assert image.inputs["n_neutrophils"] == 0
    assert image.inputs["available"] == AVAILABLE
    assert image.inputs["not_available"] == NOT_AVAILABLE


def test_no_neutrophil_at_all_lists_only_what_the_card_offers(analysed):
    image = analysed(cell_class="lymphocyte", inside=True)["mds_image"]
    assert image.inputs["n_neutrophils"] == 0
    assert image.inputs["available"] == AVAILABLE
    assert image.inputs["not_available"] == NOT_AVAILABLE


def test_neutrophils_inside_the_domain_list_the_same(analysed):
    image = analysed(cell_class="neutrophil", inside=True)["mds_image"]
    assert image.inputs["n_neutrophils"] == 9
    assert image.inputs["available"] == AVAILABLE
    assert image.inputs["not_available"] == NOT_AVAILABLE
    assert image.state == "indeterminate" and image.value is None
    assert "no_dysplasia_output" in [r["code"] for r in image.reasons]


def test_too_few_says_it_counts_the_neutrophils_inside_the_domain(analysed):
    current = analysed(cell_class="neutrophil", inside=False)
    for name, minimum in (("vexas", 20), ("mds_image", 50)):
        reason = next(r for r in current[name].reasons
                      if r["code"] == FEW_NEUTROPHILS_IN_DOMAIN)
        assert reason["params"] == {"n": 0, "min": minimum, "outside": 9}, name
    reason = next(r for r in current["mds_image"].reasons
                  if r["code"] == FEW_NEUTROPHILS_IN_DOMAIN)
    with translation.override("en"):
        assert reason_text(reason) == ("fewer than 50 neutrophils inside the validated domain "
                                       "(0; 9 more outside it, whose model outputs are not "
                                       "read)")
    with translation.override("fr"):
        assert reason_text(reason) == ("moins de 50 neutrophiles dans le domaine validé "
                                       "(0\u00a0; 9 de plus hors domaine, dont les sorties du "
                                       "modèle ne sont pas lues)")
