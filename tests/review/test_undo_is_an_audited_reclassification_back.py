"""Ctrl-Z on the case page sends the cells back to their class through the reclassify endpoint:
one more audited reclassification, marked as an undo; a technician cannot undo either."""

from __future__ import annotations

import json

from apps.core.models import AuditEvent
from apps.smears.models import Cell


def _post(client, specimen, body):  # type: ignore[no-untyped-def]
    return client.post(f"/review/{specimen.accession}/reclassify/", json.dumps(body),
                       content_type="application/json")


def test_undo_is_recorded_as_a_reclassification_back(client, biologist, technician, analysed):
    cell = Cell.objects.filter(specimen=analysed, analyser_class="monocyte").first()
    client.force_login(biologist)
    assert _post(client, analysed, {"cells": [cell.pk], "class": "ig"}).status_code == 200
    response = _post(client, analysed, {"cells": [cell.pk], "class": "monocyte", "undo": True})
    assert response.status_code == 200
    assert Cell.objects.get(pk=cell.pk).final_class == "monocyte"
    events = list(AuditEvent.objects.filter(action="cell.reclassify", object_id=str(cell.pk))
                  .order_by("id"))
    assert [(e.before["class"], e.after["class"]) for e in events] == [
        ("monocyte", "ig"), ("ig", "monocyte")]
    assert ["undo" in e.detail for e in events] == [False, True]
    row = {r["class"]: r for r in response.json()["differential"]["rows"]}
    assert row["monocyte"]["label"] == "Monocytes" and row["monocyte"]["count"] == 1

    client.force_login(technician)
    assert _post(client, analysed, {"cells": [cell.pk], "class": "ig", "undo": True}
                 ).status_code in (403, 302)


def test_undo_gives_a_cell_back_the_models_class_not_a_biologists(client, biologist, analysed):
    """A cell the biologist had not classified is, after an undo, the model's again: not counted
    as classified one by one in the report, not marked reviewed on the page."""
    from apps.review.selectors import differential

    cell = Cell.objects.filter(specimen=analysed, analyser_class="monocyte").first()
    client.force_login(biologist)
    assert _post(client, analysed, {"cells": [cell.pk], "class": "ig"}).json()["reviewed"] == {
        str(cell.pk): True}
    response = _post(client, analysed, {"cells": [cell.pk], "class": "monocyte", "undo": True})
    assert response.json()["reviewed"] == {str(cell.pk): False}
    cell.refresh_from_db()
    assert cell.reviewed_class == "" and cell.reviewed_by is None and cell.final_class == "monocyte"
    assert differential(analysed)["reviewed"] == 0
    undo = AuditEvent.objects.filter(action="cell.reclassify", object_id=str(cell.pk)).latest("id")
    assert undo.after == {"class": "monocyte", "reviewed_class": ""}

    # A cell the biologist had classified keeps that class after an undo of a later move.
    assert _post(client, analysed, {"cells": [cell.pk], "class": "lymphocyte"}).status_code == 200
    assert _post(client, analysed, {"cells": [cell.pk], "class": "eosinophil"}).status_code == 200
    response = _post(client, analysed, {"cells": [cell.pk], "class": "lymphocyte", "undo": True})
    assert response.json()["reviewed"] == {str(cell.pk): True}
    assert Cell.objects.get(pk=cell.pk).reviewed_class == "lymphocyte"
