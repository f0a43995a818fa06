"""A signed case brought back to the worklist by a blood count that arrived after it kept the
weight of every flag it was signed with (anaemia, a score...) and outranked the cases still
waiting for a first read, its reasons listing findings already signed. It now waits, and
ranks, for what its signature could not have decided alone; an amendment brings back the rest."""

from __future__ import annotations

import pytest

from apps.patients.models import Specimen, SpecimenFlag
from apps.patients.services import FlagRaised, specimen_flags_replace, specimen_set_status
from apps.review.selectors import worklist, worklist_counts


@pytest.fixture
def flagged(specimen):  # type: ignore[no-untyped-def]
    specimen_flags_replace(specimen=specimen, source="cbc", rules_version="t", flags=[
        FlagRaised("anaemia", "HGB < 12", 1), FlagRaised("neutropenia", "ANC < 1.5", 2)])
    return specimen


def _priority(specimen) -> int:  # type: ignore[no-untyped-def]
    return Specimen.objects.get(pk=specimen.pk).priority


def test_signing_leaves_only_what_the_signature_could_not_decide(client, biologist, flagged):
    assert _priority(flagged) == 3
    specimen_set_status(actor=None, specimen=flagged, status="validated")
    assert _priority(flagged) == 0 and flagged not in worklist()
    specimen_flags_replace(specimen=flagged, source="cbc_held", rules_version="t",
                           flags=[FlagRaised("cbc_after_signing", "1 held", 3)])
    assert _priority(flagged) == 3 and flagged in worklist()
    assert worklist_counts() == {"validated": 1}     # the header counts what the list lists
    client.force_login(biologist)
    page = client.get("/worklist/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    row = page[page.index(f'>{flagged.accession}<'):]
    row = row[:row.index("</tr>")]
    assert 'data-flag="cbc_after_signing"' in row and 'data-flag="anaemia"' not in row
    # An amendment opens the case again: every flag waits again.
    specimen_set_status(actor=None, specimen=flagged, status="in_review")
    assert _priority(flagged) == 6
    assert SpecimenFlag.objects.filter(specimen=flagged).count() == 3
