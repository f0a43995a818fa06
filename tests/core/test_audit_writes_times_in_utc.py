"""The audit trail writes every time one way: a collection time typed in a form (the
laboratory's zone) and one read from the database (UTC) both read "...Z" in before and after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from apps.core.models import AuditEvent
from apps.patients.services import specimen_update


@pytest.mark.django_db
def test_times_typed_in_the_labs_zone_are_written_in_utc(technician, specimen):
    paris = timezone(timedelta(hours=1))
    specimen_update(actor=technician, specimen=specimen,
                    collected_at=datetime(2026, 11, 20, 8, 15, tzinfo=paris))
    specimen.refresh_from_db()
    specimen_update(actor=technician, specimen=specimen,
                    collected_at=datetime(2026, 11, 20, 9, 0, tzinfo=paris))
    event = AuditEvent.objects.filter(action="specimen.update").latest("at")
    assert event.before["collected_at"] == "2026-11-20T07:15:00Z"
    assert event.after["collected_at"] == "2026-11-20T08:00:00Z"


def test_nested_times_are_brought_to_utc_and_the_rest_left_alone():
    from apps.core.audit import in_utc

    paris = timezone(timedelta(hours=1))
    got = in_utc({"a": [datetime(2026, 1, 1, 1, 0, tzinfo=paris)], "b": "+01:00", "c": 3})
    assert got == {"a": [datetime(2026, 1, 1, 0, 0, tzinfo=UTC)], "b": "+01:00", "c": 3}
    assert got["a"][0].utcoffset() == timedelta(0)
