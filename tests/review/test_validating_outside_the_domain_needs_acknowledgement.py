"""Validating a case whose cell images are outside the cell model's validated domain needs the
biologist's explicit acknowledgement that they reviewed the cells; the signed content and the
audit trail record it. Rejecting needs none, and a case inside the domain is unchanged."""

from __future__ import annotations

import pytest
from django.db.models import F

from apps.analysis.models import AnalysisRun, CellPrediction
from apps.core.models import AuditEvent
from apps.review.models import Signature
from apps.review.selectors import differential
from apps.review.services import DOMAIN_NOT_ACKNOWLEDGED, ReviewError
from apps.smears.models import Cell
from apps.workflow.services import case_sign

PASSWORD = "correct-horse-battery"


def _outside(specimen) -> None:  # type: ignore[no-untyped-def]
    AnalysisRun.objects.filter(specimen=specimen).update(domain_max_outside=0.25)
    CellPrediction.objects.filter(cell__specimen=specimen).update(
        view="found", in_domain=False, domain_score=3.0)


@pytest.fixture
def outside(analysed):  # type: ignore[no-untyped-def]
    """Every image outside the domain, each one confirmed by the biologist (a cell outside
    waits unclassified until then)."""
    _outside(analysed)
    Cell.objects.filter(specimen=analysed).update(reviewed_class=F("analyser_class"))
    return analysed


def test_cells_outside_the_domain_are_not_counted_until_confirmed(biologist, analysed):
    _outside(analysed)
    with pytest.raises(ReviewError, match=r"6 images wait for your class \(outside the domain "
                                          r"the model was validated on, on their own or as "
                                          r"part of their smear\): confirm or reclassify them"):
        case_sign(actor=biologist, specimen=analysed, password=PASSWORD, meaning="validated",
                  count_acknowledged=True,
                  domain_acknowledged=True)
    assert differential(analysed)["unclassified"] == 6


def test_validating_outside_the_domain_is_refused_without_acknowledgement(biologist, outside):
    with pytest.raises(ReviewError, match="confirm that you reviewed the cells"):
        case_sign(actor=biologist, specimen=outside, password=PASSWORD, meaning="validated",
                  count_acknowledged=True)
    assert not Signature.objects.filter(specimen=outside).exists()
    assert str(DOMAIN_NOT_ACKNOWLEDGED).startswith("The cell images are outside")


def test_the_acknowledgement_is_signed_and_audited(biologist, outside):
    signature = case_sign(actor=biologist, specimen=outside, password=PASSWORD,
                          meaning="validated", count_acknowledged=True, domain_acknowledged=True)
    assert signature.content["domain"]["code"] == "outside"
    assert signature.content["signature"]["domain_acknowledged"] is True
    event = AuditEvent.objects.filter(action="case.sign").latest("at")
    assert event.after["domain_acknowledged"] is True


def test_rejecting_needs_no_acknowledgement(biologist, outside):
    signature = case_sign(actor=biologist, specimen=outside, password=PASSWORD,
                          meaning="rejected")
    assert signature.content["signature"]["domain_acknowledged"] is False


def test_inside_the_domain_nothing_changes(biologist, analysed):
    AnalysisRun.objects.filter(specimen=analysed).update(domain_max_outside=0.25)
    CellPrediction.objects.filter(cell__specimen=analysed).update(
        view="found", in_domain=True, domain_score=0.4)
    signature = case_sign(actor=biologist, specimen=analysed, password=PASSWORD,
                          meaning="validated", count_acknowledged=True)
    assert "domain_acknowledged" not in signature.content["signature"]


def test_the_page_form_sends_the_acknowledgement(client, biologist, outside):
    client.force_login(biologist)
    url = f"/review/{outside.accession}/sign/"
    client.post(url, {"password": PASSWORD, "meaning": "validated", "count_acknowledged": "yes"})
    assert not Signature.objects.filter(specimen=outside).exists()
    client.post(url, {"password": PASSWORD, "meaning": "validated", "count_acknowledged": "yes",
                      "domain_acknowledged": "yes"})
    assert Signature.objects.get(specimen=outside).content["signature"]["domain_acknowledged"]


def test_the_page_offers_the_box_and_says_why_in_french(client, biologist, outside):
    client.force_login(biologist)
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    page = client.get(f"/review/{outside.accession}/").content.decode()
    assert 'name="domain_acknowledged"' in page
    assert "J'ai revu les cellules moi-même" in " ".join(page.split()).replace("&#x27;", "'")
    response = client.post(f"/review/{outside.accession}/sign/",
                           {"password": PASSWORD, "meaning": "validated",
                            "count_acknowledged": "yes"}, follow=True)
    text = " ".join(response.content.decode().split()).replace("&#x27;", "'")
    assert "confirmez avoir revu les cellules vous-même" in text


def test_no_box_inside_the_domain(client, biologist, analysed):
    AnalysisRun.objects.filter(specimen=analysed).update(domain_max_outside=0.25)
    CellPrediction.objects.filter(cell__specimen=analysed).update(
        view="found", in_domain=True, domain_score=0.4)
    client.force_login(biologist)
    assert 'name="domain_acknowledged"' not in client.get(
        f"/review/{analysed.accession}/").content.decode()
