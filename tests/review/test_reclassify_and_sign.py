from __future__ import annotations

import json

import pytest

from apps.core import throttle
from apps.core.models import AuditEvent
from apps.review.models import Signature
from apps.review.selectors import differential
from apps.review.services import ReviewError, case_amend, content_hash, sign_blockers
from apps.smears.models import Cell
from apps.workflow.services import case_sign, cells_reclassify

PASSWORD = "correct-horse-battery"


def _neutrophils(specimen):
    return list(Cell.objects.filter(specimen=specimen, analyser_class="neutrophil")
                .values_list("pk", flat=True))


def test_reclassification_updates_the_differential_and_is_audited(biologist, analysed):
    before = {k: n for k, n in differential(analysed)["counts"].items() if n}
    assert before == {"neutrophil": 3, "lymphocyte": 2, "monocyte": 1}
    ids = _neutrophils(analysed)[:2]
    cells_reclassify(actor=biologist, specimen=analysed, cell_ids=ids, new_class="ig")
    after = differential(analysed)
    assert {k: n for k, n in after["counts"].items() if n} == {
        "neutrophil": 1, "lymphocyte": 2, "monocyte": 1, "ig": 2}
    assert after["per_100_wbc"]["ig"] == 33.3 and after["wbc_counted"] == 6
    assert after["reviewed"] == 2
    events = AuditEvent.objects.filter(action="cell.reclassify")
    assert events.count() == 2
    assert {e.before["class"] for e in events} == {"neutrophil"}
    assert {e.after["class"] for e in events} == {"ig"}
    analysed.refresh_from_db()
    assert analysed.status == "in_review"


def test_keyboard_endpoint_refuses_technicians_and_foreign_cells(client, technician, biologist,
                                                                 analysed):
    url = f"/review/{analysed.accession}/reclassify/"
    ids = _neutrophils(analysed)[:1]
    client.force_login(technician)
    assert client.post(url, json.dumps({"cells": ids, "class": "ig"}),
                       content_type="application/json").status_code == 403
    client.force_login(biologist)
    response = client.post(url, json.dumps({"cells": [999999], "class": "ig"}),
                           content_type="application/json")
    assert response.status_code == 409
    response = client.post(url, json.dumps({"cells": ids, "class": "ig"}),
                           content_type="application/json")
    assert response.status_code == 200
    # The rows as the page shows them: per 100 WBC with one decimal, the scanner's beside.
    row = next(r for r in response.json()["differential"]["rows"] if r["class"] == "ig")
    assert (row["count"], row["percent"], row["analyser_count"]) == (1, "16.7", "0.0")


def test_technician_cannot_sign(technician, analysed):
    with pytest.raises(ReviewError):
        case_sign(actor=technician, specimen=analysed, password=PASSWORD, meaning="validated",
                  count_acknowledged=True)


def test_sign_records_meaning_user_and_a_verifiable_hash_then_locks(biologist, analysed):
    signature = case_sign(actor=biologist, specimen=analysed, password=PASSWORD,
                          meaning="validated",
                          count_acknowledged=True, comment="Aspect réactionnel.")
    assert signature.version == 1 and signature.signed_by == biologist
    assert signature.content_sha256 == content_hash(signature.content)
    assert signature.content["comment"] == "Aspect réactionnel."
    assert signature.content["specimen"]["accession"] == analysed.accession
    analysed.refresh_from_db()
    assert analysed.status == "validated"
    with pytest.raises(ReviewError, match="locked"):
        cells_reclassify(actor=biologist, specimen=analysed,
                         cell_ids=_neutrophils(analysed)[:1], new_class="ig")
    with pytest.raises(ValueError):
        signature.comment = "changed"
        signature.save()


def test_amendment_produces_a_new_version_and_keeps_the_old(client, biologist, analysed):
    first = case_sign(actor=biologist, specimen=analysed, password=PASSWORD, meaning="validated",
                      count_acknowledged=True)
    case_amend(actor=biologist, specimen=analysed, reason="Blasts missed on first read")
    cells_reclassify(actor=biologist, specimen=analysed, cell_ids=_neutrophils(analysed)[:1],
                     new_class="other")
    second = case_sign(actor=biologist, specimen=analysed, password=PASSWORD, meaning="validated",
                       count_acknowledged=True)
    assert second.version == 2
    assert second.amendment_reason == "Blasts missed on first read"
    assert second.content_sha256 != first.content_sha256
    assert Signature.objects.filter(specimen=analysed).count() == 2
    first.refresh_from_db()
    assert first.content_sha256 == content_hash(first.content)
    # The case page's validation history says why version 2 exists, as the report does.
    client.force_login(biologist)
    page = client.get(f"/review/{analysed.accession}/").content.decode()
    history = page[page.index('id="sign"'):]
    assert "Reason for amendment:</strong> Blasts missed on first read" in history
    # The replaced version says so; the one in force does not.
    v2, v1 = (" ".join(p.split()) for p in history.split("</p>")[:2])
    v2 = v2.split("</h2>", 1)[1].strip()
    assert v2.startswith("<p>v2 · ") and "replaced" not in v2
    assert v1.startswith('<p class="superseded">v1 · <em>replaced by version 2</em> · ')


def test_wrong_password_is_refused_and_counts_toward_the_login_throttle(
        client, biologist, analysed, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    client.force_login(biologist)
    for _ in range(3):
        response = client.post(f"/review/{analysed.accession}/sign/",
                               {"password": "wrong", "meaning": "validated",
                                "count_acknowledged": "yes"})
        assert response.status_code == 302
    assert not Signature.objects.exists()
    assert throttle.is_locked("bio")
    client.logout()
    response = client.post("/accounts/login/", {"username": "bio", "password": PASSWORD})
    assert response.status_code == 200
    assert "locked" in response.content.decode()


def test_cannot_sign_while_the_analysis_runs_or_cells_are_unclassified(biologist, analysed):
    from datetime import timedelta

    from django.utils import timezone

    from apps.analysis.models import AnalysisRun, CellPrediction

    # Running, with a worker that renews its lease.
    AnalysisRun.objects.update(status="running",
                               lease_until=timezone.now() + timedelta(minutes=5))
    assert "The analysis is still running." in sign_blockers(analysed)
    with pytest.raises(ReviewError, match="running"):
        case_sign(actor=biologist, specimen=analysed, password=PASSWORD, meaning="validated",
                  count_acknowledged=True)
    AnalysisRun.objects.update(status="succeeded")
    CellPrediction.objects.filter(cell_id=_neutrophils(analysed)[0]).delete()
    assert any("unclassified" in b for b in sign_blockers(analysed))


def test_rescan_request_is_audited_and_amend_needs_a_reason(client, biologist, analysed):
    client.force_login(biologist)
    response = client.post(f"/review/{analysed.accession}/rescan/", {"reason": "smear too thick"},
                           follow=True)
    assert "Rescan requested" in response.content.decode()
    analysed.refresh_from_db()
    assert analysed.status == "rescan"
    event = AuditEvent.objects.get(action="case.rescan")
    assert event.after == {"reason": "smear too thick"}
    response = client.post(f"/review/{analysed.accession}/amend/", {"reason": ""}, follow=True)
    assert "Only a signed case can be amended" in response.content.decode()


def test_a_refused_rejection_comes_back_as_a_rejection(client, biologist, analysed):
    """A rejection refused for a wrong password must not come back with "Validated" chosen: the
    next password typed would validate a case the biologist meant to reject."""
    client.force_login(biologist)
    client.post(f"/review/{analysed.accession}/sign/",
                {"password": "wrong", "meaning": "rejected", "comment": "Possible tube mix-up."})
    page = client.get(f"/review/{analysed.accession}/").content.decode()
    select = page[page.index('<select id="sign-meaning"'):]
    select = select[:select.index("</select>")]
    assert '<option value="rejected" selected>' in select
    assert '<option value="validated">' in select
    # Read once: the next visit offers the default again.
    again = client.get(f"/review/{analysed.accession}/").content.decode()
    assert " selected>" not in again[again.index('<select id="sign-meaning"'):].split(
        "</select>")[0]
