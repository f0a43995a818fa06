"""A specimen with a blood count and no cell image yet: the image-based scores are
indeterminate for want of neutrophils ("fewer than 20 neutrophils (n=0)"), read against the
registered cell model that will analyse them, not "vacuole output not available in this model",
which would blame the model for images nobody has uploaded."""

from __future__ import annotations

from apps.analysis.models import Score
from apps.analysis.scores import scores_compute
from apps.workflow.services import cbc_import

CBC = (b"Sample No.,Date,Time,WBC(10^9/L),HGB(g/dL),MCV(fL),PLT(10^9/L),NEUT#(10^9/L)\r\n"
       b"S-0001,2026/11/20,08:00:00,3.1,9.5,106.5,88,1.2\r\n")


def test_the_reasons_name_the_missing_neutrophils(technician, specimen):
    cbc_import(actor=technician, data=CBC, specimen=specimen)
    scores_compute(specimen_id=specimen.pk, trigger="test")
    vexas = Score.objects.filter(specimen=specimen, name="vexas").latest("revision")
    codes = [r["code"] for r in vexas.reasons]
    assert vexas.state == "indeterminate"
    assert "few_neutrophils" in codes and "vacuole_output_unavailable" not in codes
    image = Score.objects.filter(specimen=specimen, name="mds_image").latest("revision")
    assert image.inputs["not_available"] == ["pseudo_pelger", "hypogranulation"]
    assert "few_neutrophils" in [r["code"] for r in image.reasons]
