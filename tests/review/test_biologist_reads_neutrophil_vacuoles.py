"""The biologist reads a neutrophil's cytoplasmic vacuoles (key V: seen; Shift+V: none seen; the
large-cell pane's "not read" gives the cell back to the model): the read is audited, counts in
the VEXAS rule in place of the model's vacuole output, either way, and is named in the score's
text, its evidence cells and the signed report's key cells. Before, the rule counted the model's
output alone (vacuole AUROC 0.84 on the test split), and a biologist who saw that a "vacuolated"
neutrophil had none could only sign the points it gave."""

from __future__ import annotations

import json

import pytest
from django.utils import translation

from apps.analysis.models import Score
from apps.analysis.score_text import evidence_cells, reason_text
from apps.analysis.scores import scores_compute
from apps.core.models import AuditEvent
from apps.ml.scores import vexas
from apps.ml.scores.vexas import VexasInputs, vexas_score
from apps.review.selectors import report_content
from apps.review.services import ReviewError
from apps.smears.models import Cell
from apps.workflow.services import case_sign, cbc_import, cells_vacuoles_read
from tests.analysis.test_scores import CBC, neutrophil_specimen  # noqa: F401 (fixture)
from tests.helpers import case_page_html
from tests.review.test_reclassify_and_sign import PASSWORD


def _vacuole_part(**reads):  # type: ignore[no-untyped-def]
    """The vacuole part of 25 neutrophils, 6 of them at 0.9 (24%: all points)."""
    probs = [0.9] * 6 + [0.05] * 19
    result = vexas_score(VexasInputs(n_neutrophils=25, vacuole_probs=probs, **reads,
                                     mcv_fl=104, hgb_g_dl=10, plt_10_9_l=120, sex="M",
                                     age_years=70))
    return next(c for c in result.contributions if c.name == "vacuoles")


def test_the_rule_counts_the_biologists_read_either_way():
    assert _vacuole_part().points == 0.4
    # 4 of the 6 the model calls vacuolated have none: 2/25 = 8%, half the points.
    none = [False] * 4 + [None] * 21
    part = _vacuole_part(vacuole_reads=none)
    assert (part.reason.params["k"], part.reason.params["read"], part.points) == (2, 4, 0.2)
    # Vacuoles the model missed count too: 2 + 3 = 5/25 = 20%, all the points.
    seen = none[:6] + [True] * 3 + [None] * 16
    part = _vacuole_part(vacuole_reads=seen)
    assert (part.reason.params["k"], part.reason.params["read"], part.points) == (5, 7, 0.4)
    with pytest.raises(ValueError):
        _vacuole_part(vacuole_reads=[True])


@pytest.fixture
def neutrophils(biologist, neutrophil_specimen):  # noqa: F811
    """The 30 neutrophils, the first 8 at 0.9 (vacuolated for the model), in order."""
    return list(Cell.objects.filter(specimen=neutrophil_specimen).order_by("pk"))


def test_the_read_is_audited_and_refused_on_other_cells(biologist, analysed):
    cells = {c.analyser_class: c for c in Cell.objects.filter(specimen=analysed)}
    cells_vacuoles_read(actor=biologist, specimen=analysed,
                        cell_ids=[cells["neutrophil"].pk], seen=True)
    cells_vacuoles_read(actor=biologist, specimen=analysed,
                        cell_ids=[cells["neutrophil"].pk], seen=None, undo=True)
    events = list(AuditEvent.objects.filter(action="cell.vacuoles").order_by("id"))
    assert [(e.before, e.after) for e in events] == [
        ({"vacuoles": None}, {"vacuoles": True}), ({"vacuoles": True}, {"vacuoles": None})]
    assert events[1].detail["undo"] is True
    with pytest.raises(ReviewError, match="not a neutrophil"):
        cells_vacuoles_read(actor=biologist, specimen=analysed,
                            cell_ids=[cells["lymphocyte"].pk], seen=True)
    assert not Cell.objects.filter(specimen=analysed, reviewed_vacuoles__isnull=False).exists()


def test_the_vexas_score_and_its_evidence_follow_the_read(biologist, technician,
                                                          neutrophil_specimen, neutrophils):  # noqa: F811
    cbc_import(actor=technician, data=CBC)
    scores_compute(specimen_id=neutrophil_specimen.pk, trigger="test")
    before = Score.objects.filter(specimen=neutrophil_specimen, name="vexas").latest("revision")
    assert before.evidence["contributions"][0]["points"] == 0.4      # 8/30 = 27%
    # 6 of the model's 8 have no vacuoles; 1 the model missed has some: 3/30 = 10%, half.
    cells_vacuoles_read(actor=biologist, specimen=neutrophil_specimen,
                        cell_ids=[c.pk for c in neutrophils[:6]], seen=False)
    cells_vacuoles_read(actor=biologist, specimen=neutrophil_specimen,
                        cell_ids=[neutrophils[20].pk], seen=True)
    scores_compute(specimen_id=neutrophil_specimen.pk, trigger="test")
    score = Score.objects.filter(specimen=neutrophil_specimen, name="vexas").latest("revision")
    part = score.evidence["contributions"][0]
    assert part["points"] == 0.2 and score.version == vexas.VERSION
    assert reason_text(part["reason"]).endswith(
        "; vacuoles read by the biologist in 7 of the 30")
    # The cells counted: the one the biologist saw first, then the model's 2 left; none of
    # the 6 read as without vacuoles, whatever the model's 0.9.
    shown = evidence_cells("vexas", score.evidence, score.thresholds)
    assert [c["cell_id"] for c in shown] == [neutrophils[i].pk for i in (20, 6, 7)]
    assert shown[0] == {"cell_id": neutrophils[20].pk, "vacuole": 0.05, "read": "seen"}
    # A read that leaves the points where they are still changes the count and its cells.
    cells_vacuoles_read(actor=biologist, specimen=neutrophil_specimen,
                        cell_ids=[neutrophils[21].pk], seen=True)
    scores_compute(specimen_id=neutrophil_specimen.pk, trigger="test")
    latest = Score.objects.filter(specimen=neutrophil_specimen, name="vexas").latest("revision")
    assert latest.revision == score.revision + 1 and latest.value == score.value
    assert latest.evidence["contributions"][0]["reason"]["params"]["k"] == 4
    assert neutrophils[21].pk in [c["cell_id"] for c in latest.evidence["cells"]]
    # The signed report's key cells name the read.
    content = report_content(neutrophil_specimen)
    key = {c["cell_id"]: c for c in content["key_cells"]}
    assert key[neutrophils[20].pk]["vacuoles_read"] == "seen"
    assert content["key_cells"][0]["cell_id"] == neutrophils[20].pk


def test_the_endpoint_and_the_page(client, technician, biologist, analysed):
    neutrophil = Cell.objects.filter(specimen=analysed, analyser_class="neutrophil").first()
    url = f"/review/{analysed.accession}/vacuoles/"
    body = json.dumps({"cells": [neutrophil.pk], "vacuoles": "none"})
    client.force_login(technician)
    assert client.post(url, body, content_type="application/json").status_code == 403
    client.force_login(biologist)
    bad = client.post(url, json.dumps({"cells": [neutrophil.pk], "vacuoles": "maybe"}),
                      content_type="application/json")
    assert bad.status_code == 400
    response = client.post(url, body, content_type="application/json")
    assert response.json() == {"ok": True, "vacuoles": {str(neutrophil.pk): "none"}}
    neutrophil.refresh_from_db()
    assert neutrophil.reviewed_vacuoles is False
    page = case_page_html(client, biologist, analysed, "fr")
    assert 'class="vac-read none" data-read="none"' in page
    assert "Vacuoles, votre lecture" in page
    with translation.override("en"):
        page = case_page_html(client, biologist, analysed, "en")
    assert "<kbd>V</kbd> · <kbd>Shift</kbd>+<kbd>V</kbd>" in page
    # A signed case is changed only by an amendment.
    for cell in Cell.objects.filter(specimen=analysed):
        cell.reviewed_class = cell.analyser_class
        cell.save()
    case_sign(actor=biologist, specimen=analysed, password=PASSWORD, meaning="validated",
              count_acknowledged=True)
    assert client.post(url, body, content_type="application/json").status_code == 409
