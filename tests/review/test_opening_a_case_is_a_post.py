"""Reading the case page writes nothing; a biologist starts the review with a POST."""

from __future__ import annotations

from django.urls import reverse

from apps.core.models import AuditEvent
from apps.patients.models import Specimen


def _status(specimen: Specimen) -> str:
    return Specimen.objects.get(pk=specimen.pk).status


def test_reading_the_case_page_changes_nothing(client, biologist, analysed):
    client.force_login(biologist)
    audited = AuditEvent.objects.count()
    page = client.get(reverse("review_case", args=[analysed.accession]))
    assert page.status_code == 200
    assert _status(analysed) == "analysed"
    assert AuditEvent.objects.count() == audited
    assert 'id="case-open"' in page.content.decode()


def test_a_post_starts_the_review_audited(client, biologist, analysed):
    client.force_login(biologist)
    response = client.post(reverse("review_case", args=[analysed.accession]))
    assert response.status_code == 302
    assert response["Location"] == reverse("review_case", args=[analysed.accession])
    assert _status(analysed) == "in_review"
    event = AuditEvent.objects.filter(object_id=str(analysed.pk)).order_by("-id").first()
    assert event is not None and (event.after or {}).get("status") == "in_review"
    page = client.get(reverse("review_case", args=[analysed.accession]))
    assert 'id="case-open"' not in page.content.decode()


def test_a_technician_cannot_start_the_review(client, technician, analysed):
    client.force_login(technician)
    page = client.get(reverse("review_case", args=[analysed.accession]))
    assert page.status_code == 200 and 'id="case-open"' not in page.content.decode()
    assert client.post(reverse("review_case", args=[analysed.accession])).status_code == 403
    assert _status(analysed) == "analysed"
