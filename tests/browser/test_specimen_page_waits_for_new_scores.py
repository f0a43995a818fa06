"""After a CBC import the specimen page says the scores it shows are the previous ones, and
reloads by itself once the worker has computed the new ones (its poll of the progress view)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.analysis.models import ScoresRequest
from apps.analysis.scores import scores_compute
from apps.patients.services import patient_create, specimen_create
from apps.workflow.services import cbc_import
from tests.helpers import browser_login

pytestmark = pytest.mark.browser

CBC = (b"Sample No.,Date,Time,WBC(10^9/L),HGB(g/dL),MCV(fL),PLT(10^9/L),NEUT#(10^9/L),"
       b"MONO#(10^9/L),[NE-WX]\r\n"
       b"S-POLL,2026/11/20,08:00:00,3.0,9.5,106.0,90,1.4,0.3,460\r\n")


def test_the_page_reloads_once_the_new_scores_are_there(browser_page, live_server, make_user):
    tech = make_user("tech", "technician", password="correct-horse-battery")
    patient = patient_create(actor=tech, external_id="MRN-P", sex="M")
    specimen = specimen_create(actor=tech, accession="S-POLL", patient=patient)
    cbc_import(actor=tech, data=CBC)
    scores_compute(specimen_id=specimen.pk, trigger="test")
    # A blood count came in after them, and the worker has not begun yet.
    ScoresRequest.objects.filter(specimen=specimen).update(
        requested_at=timezone.now() + timedelta(seconds=1))
    page = browser_page
    browser_login(page, live_server, "tech", "correct-horse-battery")
    page.goto(f"{live_server.url}/specimens/S-POLL/")
    page.wait_for_selector("#scores-pending")
    scores_compute(specimen_id=specimen.pk, trigger="test")  # the worker, later
    ScoresRequest.objects.filter(specimen=specimen).update(
        computed_at=timezone.now() + timedelta(seconds=2))
    page.wait_for_selector("#scores:not([data-pending])", timeout=15_000)
    assert page.locator("#scores-pending").count() == 0
    assert page.locator("#scores .score").count() >= 1
