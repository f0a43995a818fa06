"""A differential short of its target count (DIFFERENTIAL_TARGET_WBC white cells, 100 by
default) is validated only when the biologist says so: the signing form's box, recorded in the
signed content and the audit trail, printed in the report and sent to the laboratory system.
Before, a 6-cell differential could be validated like a 100-cell one; its intervals and note
were there, but nobody had to read them. Rejecting needs no such word; nor does a full count."""

from __future__ import annotations

import pytest

from apps.core.models import AuditEvent
from apps.reports.hl7_result import limits
from apps.review.services import ReviewError
from apps.smears.models import Cell
from apps.workflow.services import case_sign
from tests.helpers import case_page_html
from tests.review.test_reclassify_and_sign import PASSWORD


def test_validating_a_short_count_needs_the_signers_word(biologist, analysed):
    with pytest.raises(ReviewError, match="fewer white cells than its target"):
        case_sign(actor=biologist, specimen=analysed, password=PASSWORD, meaning="validated")
    signature = case_sign(actor=biologist, specimen=analysed, password=PASSWORD,
                          meaning="validated", count_acknowledged=True)
    assert signature.content["signature"]["count_acknowledged"] is True
    event = AuditEvent.objects.get(action="case.sign")
    assert event.after["count_acknowledged"] is True
    notes = limits(signature.content)
    assert "Differential from 6 white cells, fewer than the target of 100." in notes
    assert "The validating biologist validated the differential on this count." in notes


def test_rejecting_needs_none(biologist, analysed):
    rejected = case_sign(actor=biologist, specimen=analysed, password=PASSWORD,
                         meaning="rejected")
    assert rejected.content["signature"]["count_acknowledged"] is False
    assert "The validating biologist validated the differential on this count." not in limits(
        rejected.content)


def test_a_full_count_is_validated_without_the_box(biologist, analysed, settings):
    settings.DIFFERENTIAL_TARGET_WBC = Cell.objects.filter(specimen=analysed).count()
    signature = case_sign(actor=biologist, specimen=analysed, password=PASSWORD,
                          meaning="validated")
    assert "count_acknowledged" not in signature.content["signature"]


def _signed_on_the_form(client, specimen, **fields) -> str:  # type: ignore[no-untyped-def]
    """The page the signing form leads to, sent validated with ``fields``."""
    return client.post(f"/review/{specimen.accession}/sign/",
                       {"password": PASSWORD, "meaning": "validated", **fields},
                       follow=True).content.decode()


def test_the_form_offers_the_box_when_short_and_a_refusal_keeps_the_comment(
        client, biologist, analysed):
    page = case_page_html(client, biologist, analysed, "fr")
    assert 'id="sign-count-acknowledge">' in page
    assert "Je valide la formule sur les leucocytes comptés" in page
    refused = _signed_on_the_form(client, analysed,
                                  comment="Neutropénie : formule sur 6 cellules.")
    assert "confirmez que vous la validez sur ce nombre de leucocytes" in refused
    # The refusal keeps the conclusion typed: it is not to be written again; nor is it said to
    # come from a signed version.
    assert ">\nNeutropénie : formule sur 6 cellules.</textarea>" in refused
    assert "avez envoyé avec la signature refusée." in refused
    assert "Repris de la dernière version signée" not in refused
    _signed_on_the_form(client, analysed, count_acknowledged="yes")
    page = case_page_html(client, biologist, analysed, "en")
    assert ("The signer confirmed validating the differential on fewer white cells than its "
            "target count.") in page


def test_the_box_is_hidden_on_a_full_count(client, biologist, analysed, settings):
    settings.DIFFERENTIAL_TARGET_WBC = 6
    page = case_page_html(client, biologist, analysed, "en")
    assert 'id="sign-count-acknowledge" hidden>' in page


def test_a_refusal_names_every_box_missing_and_keeps_those_ticked(client, biologist, outside):
    """Outside the validated domain and short of the target: both boxes are needed; a refusal
    names both, and gives back the one ticked."""
    for c in Cell.objects.filter(specimen=outside):  # nothing waits unclassified
        c.reviewed_class = "neutrophil"
        c.save()
    with pytest.raises(ReviewError) as refused:
        case_sign(actor=biologist, specimen=outside, password=PASSWORD, meaning="validated")
    assert "reviewed the cells yourself" in str(refused.value)
    assert "fewer white cells than its target" in str(refused.value)
    client.force_login(biologist)
    page = _signed_on_the_form(client, outside, count_acknowledged="yes")
    assert "reviewed the cells yourself" in page
    assert 'id="sign-count-acknowledged" checked>' in page
    assert 'id="sign-domain-acknowledged">' in page
