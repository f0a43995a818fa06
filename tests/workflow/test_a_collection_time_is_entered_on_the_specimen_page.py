"""A specimen registered without a collection time (by a CBC file or an image upload) had no
way to get one, and a case could be signed with "Collected at —" beside "Age at collection":
the collection time is entered or corrected on the specimen page (audited, refused once the
case is signed), the sign form says when there is none, and the age says what it is read at."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from apps.core.models import AuditEvent
from apps.patients.models import Specimen, SpecimenStatus


def _post(client, accession: str, value: str):  # type: ignore[no-untyped-def]
    return client.post(f"/specimens/{accession}/", {"action": "collection_time",
                                                    "collected_at": value},
                       HTTP_ACCEPT_LANGUAGE="en", follow=True)


def test_the_collection_time_is_entered_and_audited(client, technician, specimen, settings):
    settings.TIME_ZONE = "UTC"
    client.force_login(technician)
    page = client.get(f"/specimens/{specimen.accession}/", HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert 'id="no-collection-time"' in text and "Enter the collection time" in text

    answer = _post(client, specimen.accession, "2026-11-20T07:40")
    assert "The collection time was saved; the change is audited." in answer.content.decode()
    specimen.refresh_from_db()
    assert specimen.collected_at == datetime(2026, 11, 20, 7, 40, tzinfo=UTC)
    event = AuditEvent.objects.filter(action="specimen.update").latest("at")
    assert event.actor == technician and event.before["collected_at"] is None
    assert 'id="no-collection-time"' not in answer.content.decode()
    _post(client, specimen.accession, "2026-11-20T07:40")       # saved again, unchanged
    assert AuditEvent.objects.filter(action="specimen.update").latest("at") == event
    assert "Correct the collection time" in answer.content.decode()
    # The picker shows the time registered, to be corrected rather than typed again.
    assert 'name="collected_at" value="2026-11-20T07:40"' in answer.content.decode()

    # Later than now (beyond a clock's drift): refused, even the same day.
    later = (timezone.localtime() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    for value in ("2999-01-01T00:00", later):
        refused = _post(client, specimen.accession, value)
        assert "The collection time must lie between 1900 and now." in refused.content.decode()
    specimen.refresh_from_db()
    assert specimen.collected_at == datetime(2026, 11, 20, 7, 40, tzinfo=UTC)


def test_a_signed_case_keeps_its_collection_time(client, technician, specimen):
    Specimen.objects.filter(pk=specimen.pk).update(status=SpecimenStatus.VALIDATED)
    client.force_login(technician)
    page = client.get(f"/specimens/{specimen.accession}/").content.decode()
    assert 'id="collection-time"' not in page  # no form on a signed case
    answer = _post(client, specimen.accession, "2026-11-20T07:40")
    assert "is signed (validated) and locked: amend the case first." in answer.content.decode()
    specimen.refresh_from_db()
    assert specimen.collected_at is None
