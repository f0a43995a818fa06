"""Patient-level scores stored with provenance; new revisions on change, old ones kept;
indeterminate with reasons when evidence is missing; the fused score only with a real model."""

from __future__ import annotations

import io

import pytest
from django.utils import timezone

from apps.analysis.models import AnalysisRun, CellPrediction, RunStatus, Score
from apps.analysis.scores import scores_compute, scores_current
from apps.analysis.selectors import specimen_document
from apps.ml.scores import vexas
from apps.patients.models import SpecimenFlag
from apps.smears.models import Cell
from apps.smears.services import smear_read_upload
from apps.workflow.services import cbc_import, cells_reclassify, smear_import
from tests.helpers import export_zip

CBC = (b"Sample No.,Date,Time,WBC(10^9/L),HGB(g/dL),MCV(fL),PLT(10^9/L),NEUT#(10^9/L),"
       b"MONO#(10^9/L),[NE-WX]\r\n"
       b"S-0001,2026/11/20,08:00:00,3.0,9.5,106.0,90,1.4,0.3,460\r\n")


@pytest.fixture
def neutrophil_specimen(technician, specimen, monkeypatch):
    """30 real neutrophil images with stored per-cell outputs: 8 of them with a vacuole
    probability above the cut-off (the outputs are set here; the network is tested elsewhere)."""
    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)
    monkeypatch.setattr("apps.analysis.tasks.scores_compute_task.delay", lambda *_: None)
    patient = specimen.patient
    patient.birth_date = timezone.now().date().replace(year=1955)
    patient.save()
    batch = smear_read_upload(name="e.zip", fileobj=io.BytesIO(export_zip({"neutrophil": 30})))
    smear_import(actor=technician, specimen=specimen, batch=batch)
    run = AnalysisRun.objects.get(specimen=specimen)
    AnalysisRun.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED)
    for i, cell in enumerate(Cell.objects.filter(specimen=specimen).order_by("pk")):
        CellPrediction.objects.create(
            cell=cell, run=run, model_name="fixture", model_version="0", model_sha256="f" * 64,
            cell_class="neutrophil", cell_class_prob=0.95, class_probs={"neutrophil": 0.95},
            anomalies={"vacuole": 0.9 if i < 8 else 0.05, "pseudo_pelger": 0.1,
                       "hypogranulation": None, "barr_body": None})
    return specimen


def test_scores_with_complete_inputs_are_stored_with_provenance(technician,
                                                                neutrophil_specimen):
    cbc_import(actor=technician, data=CBC)
    scores_compute(specimen_id=neutrophil_specimen.pk, trigger="test")
    current = {s.name: s for s in scores_current(neutrophil_specimen)}
    v = current["vexas"]
    assert v.state == "scored" and v.version == vexas.VERSION
    assert v.level in ("intermediate", "high")
    assert v.inputs["n_neutrophils"] == 30
    assert v.inputs["values"]["MCV"] == 106.0
    assert v.evidence["cells"][0]["vacuole"] == 0.9
    assert "UBA1" in v.text
    image = current["mds_image"]
    assert image.state == "indeterminate"          # 30 < the minimum for the WHO fraction
    assert "hypogranulation" in image.inputs["not_available"]
    fused = current["mds_fused"]
    assert fused.state == "unavailable"
    assert fused.reasons == [{"code": "no_model", "params": {"kind": "fused"}}]
    flags = set(SpecimenFlag.objects.filter(specimen=neutrophil_specimen, source="score")
                .values_list("name", flat=True))
    assert "vexas_suspicion" in flags
    doc = specimen_document(neutrophil_specimen)
    assert {s["name"] for s in doc["scores"]} == {"vexas", "mds_cbc", "mds_image", "mds_fused"}


def test_cbc_model_score_uses_the_registered_model(technician, neutrophil_specimen, settings):
    from apps.ml.scores.mds_cbc import load_default

    model = load_default(settings.MODELS_ONNX_DIR)
    assert model is not None, "models_onnx/registry.json must register the mds_cbc model"
    cbc_import(actor=technician, data=CBC)
    scores_compute(specimen_id=neutrophil_specimen.pk, trigger="test")
    score = Score.objects.get(specimen=neutrophil_specimen, name="mds_cbc")
    assert score.state == "scored"
    assert score.sha256 == model.card.provenance["sha256"]
    assert 0.0 <= score.value <= 1.0
    assert "ne_wx" not in score.inputs["missing"] and "mcv" not in score.inputs["missing"]


def test_missing_cbc_makes_scores_indeterminate_with_reasons(neutrophil_specimen):
    scores_compute(specimen_id=neutrophil_specimen.pk, trigger="test")
    current = {s.name: s for s in scores_current(neutrophil_specimen)}
    assert current["vexas"].state == "indeterminate"
    assert {"code": "input_missing", "params": {"input": "mcv"}} in current["vexas"].reasons
    assert current["mds_cbc"].state in ("indeterminate", "unavailable")
    assert current["mds_cbc"].value is None


def test_a_correction_adds_a_revision_and_keeps_the_old_one(biologist, technician,
                                                            neutrophil_specimen):
    cbc_import(actor=technician, data=CBC)
    scores_compute(specimen_id=neutrophil_specimen.pk, trigger="test")
    first = Score.objects.get(specimen=neutrophil_specimen, name="vexas")
    scores_compute(specimen_id=neutrophil_specimen.pk, trigger="test")   # nothing changed
    assert Score.objects.filter(specimen=neutrophil_specimen, name="vexas").count() == 1

    vacuolated = list(Cell.objects.filter(specimen=neutrophil_specimen)
                      .order_by("pk").values_list("pk", flat=True))[:8]
    cells_reclassify(actor=biologist, specimen=neutrophil_specimen, cell_ids=vacuolated,
                     new_class="monocyte")
    scores_compute(specimen_id=neutrophil_specimen.pk, trigger="review")
    revisions = list(Score.objects.filter(specimen=neutrophil_specimen, name="vexas")
                     .order_by("revision"))
    assert [s.revision for s in revisions] == [1, 2]
    assert revisions[1].inputs["n_neutrophils"] == 22
    assert revisions[1].value < first.value
    revisions[0].refresh_from_db()
    assert revisions[0].value == first.value            # the old revision is untouched
    with pytest.raises(ValueError):
        revisions[0].save()


def test_cbc_model_is_indeterminate_without_age(technician, neutrophil_specimen):
    patient = neutrophil_specimen.patient
    patient.birth_date = None
    patient.save()
    cbc_import(actor=technician, data=CBC)
    scores_compute(specimen_id=neutrophil_specimen.pk, trigger="test")
    score = Score.objects.get(specimen=neutrophil_specimen, name="mds_cbc")
    assert score.state == "indeterminate" and score.value is None
    assert score.reasons == [{"code": "demographics_required", "params": {"input": "age"}}]
