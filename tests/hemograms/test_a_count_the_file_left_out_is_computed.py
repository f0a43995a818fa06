"""A CBC file that gives the white cells' shares and the WBC but not their absolute counts (a
generic CSV): the neutropenia is flagged on the ANC the analyser would have computed, and the
CBC MDS model reads the computed counts, each said to be computed, not measured."""

from __future__ import annotations

from django.utils import translation

from apps.analysis.score_text import score_display
from apps.analysis.scores import scores_compute, scores_current
from apps.patients.models import SpecimenFlag
from apps.workflow.services import cbc_import

CSV = (b"accession,measured_at,sex,birth_date,WBC(10^9/L),HGB(g/dL),MCV(fL),PLT(10^9/L),"
       b"NEUT%(%),MONO%(%)\r\n"
       b"S-0001,2026-11-20 08:00,M,1950-03-01,2.40,10.1,101.0,120,25.0,10.0\r\n")


def test_a_neutropenia_is_flagged_on_the_computed_anc(technician, specimen, monkeypatch):
    monkeypatch.setattr("apps.analysis.tasks.scores_compute_task.delay", lambda *_: None)
    outcome = cbc_import(actor=technician, data=CSV, specimen=specimen)
    assert outcome.results_created == 1, outcome.errors
    flag = SpecimenFlag.objects.get(specimen=specimen, name="neutropenia")
    assert flag.reason["params"]["computed_from"] == "NEUT%"
    assert flag.reason["params"]["value"] == 0.6   # 25% of 2.40
    assert flag.rule.endswith("(computed: NEUT% x WBC)")

    scores_compute(specimen_id=specimen.pk, trigger="test")
    mds = {s.name: s for s in scores_current(specimen)}["mds_cbc"]
    assert mds.inputs["computed"] == {"NEUT#": "NEUT%", "MONO#": "MONO%"}
    assert mds.inputs["values"]["MONO#"] == 0.24 and mds.inputs["values"]["NEUT#"] == 0.6
    with translation.override("en"):
        table = score_display(mds)["table"]
    rows = {r["name"]: r for r in table["rows"]}
    computed = [r for r in table["rows"] if r["text"].startswith("computed: ")]
    assert sorted(r["text"] for r in computed) == [
        "computed: MONO% × WBC (the file gave no count)",
        "computed: NEUT% × WBC (the file gave no count)"]
    assert not any(r["missing"] for r in computed), rows
