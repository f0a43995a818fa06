"""A case signed before another specimen was found to share its images waits on the worklist
again, first: its released result may be another patient's, and only an amendment corrects it.
A signed case without that flag stays off the worklist. While the flag is open, the case can be
rejected but not validated."""

from __future__ import annotations

import pytest

from apps.patients.models import Specimen
from apps.patients.services import specimen_mixup_clear, specimen_mixup_flag
from apps.review.models import Signature
from apps.review.selectors import worklist
from apps.review.services import ReviewError
from apps.workflow.services import case_sign

from .test_reclassify_and_sign import PASSWORD


def test_it_is_listed_first_until_the_flag_is_cleared(client, biologist, technician, analysed):
    case_sign(actor=biologist, specimen=analysed, password=PASSWORD, meaning="validated",
              count_acknowledged=True,
              domain_acknowledged=True)
    assert analysed not in list(worklist(include_unflagged=True))
    specimen_mixup_flag(actor=technician, specimen=analysed, others=["S-0099"])
    listed = list(worklist())
    assert listed[0] == analysed
    # The warning speaks to a signed case: amend it, not "check before validating".
    client.force_login(biologist)
    page = " ".join(client.get(f"/review/{analysed.accession}/").content.decode().split())
    warning = page[page.index('id="mixup-warning"'):].split("</p>", 1)[0]
    assert "found after this case was signed" in warning and "amend it" in warning
    assert "before validating" not in warning
    assert Specimen.objects.get(pk=analysed.pk).status == "validated"
    specimen_mixup_clear(actor=technician, specimen=analysed, reason="Both tubes checked.")
    assert analysed not in list(worklist(include_unflagged=True))


def test_an_open_mixup_refuses_validation_not_rejection(client, biologist, technician,
                                                       analysed):
    specimen_mixup_flag(actor=technician, specimen=analysed, others=["S-0099"])
    client.force_login(biologist)
    page = client.get(f"/review/{analysed.accession}/").content.decode()
    assert 'id="sign-mixup"' in page  # said beside the signing form, before any password
    with pytest.raises(ReviewError, match="A possible sample mix-up is open"):
        case_sign(actor=biologist, specimen=analysed, password=PASSWORD, meaning="validated",
                  count_acknowledged=True)
    assert not Signature.objects.filter(specimen=analysed).exists()
    case_sign(actor=biologist, specimen=analysed, password=PASSWORD, meaning="rejected")
    assert Specimen.objects.get(pk=analysed.pk).status == "rejected"
    # Rejected with the flag open: the flag was not "found after this case was signed".
    for url in (f"/review/{analysed.accession}/", f"/specimens/{analysed.accession}/"):
        page = " ".join(client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode().split())
        warning = page[page.index('id="mixup-warning"'):].split("</p>", 1)[0]
        assert "the flag was open when this case was signed (rejected)" in warning, url
        assert "found after" not in warning and "amend it" not in warning
