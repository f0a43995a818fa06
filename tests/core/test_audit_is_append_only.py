from __future__ import annotations

from datetime import UTC

import pytest
from django.db import DatabaseError, connection, transaction

from apps.core.models import AppendOnlyError, AuditEvent
from apps.patients.services import patient_create


def test_every_creation_is_audited_with_actor_and_values(technician):
    patient = patient_create(actor=technician, external_id="MRN-9", sex="F")
    event = AuditEvent.objects.get(action="patient.create", object_id=str(patient.pk))
    assert event.actor == technician
    assert event.actor_username == "tech"
    assert event.after["external_id"] == "MRN-9"
    assert event.after["sex"] == "F"


def test_an_audit_event_cannot_be_changed_or_deleted_through_the_model(technician):
    patient_create(actor=technician)
    event = AuditEvent.objects.first()
    event.action = "tampered"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert AuditEvent.objects.filter(action="tampered").count() == 0


def _refused(action) -> None:  # type: ignore[no-untyped-def]
    """The database itself refuses: the statement raises and changes nothing."""
    with pytest.raises(DatabaseError), transaction.atomic():
        action()


def test_the_database_refuses_update_and_delete_of_audit_rows(technician):
    patient_create(actor=technician)
    count = AuditEvent.objects.count()
    event = AuditEvent.objects.get(action="patient.create")
    _refused(lambda: AuditEvent.objects.update(action="tampered"))
    _refused(lambda: AuditEvent.objects.filter(pk=event.pk).update(detail={"x": 1}))
    event.action = "tampered"
    _refused(lambda: AuditEvent.objects.bulk_update([event], ["action"]))
    _refused(lambda: AuditEvent.objects.all()._raw_delete(AuditEvent.objects.db))
    with connection.cursor() as cursor:
        _refused(lambda: cursor.execute("UPDATE core_auditevent SET action = 'tampered'"))
        _refused(lambda: cursor.execute("DELETE FROM core_auditevent"))
    assert AuditEvent.objects.count() == count
    assert not AuditEvent.objects.filter(action="tampered").exists()
    # Appending still works.
    patient_create(actor=technician)
    assert AuditEvent.objects.count() == count + 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no TRUNCATE")
def test_postgresql_refuses_truncate_of_the_audit_table(technician):
    patient_create(actor=technician)
    count = AuditEvent.objects.count()
    with connection.cursor() as cursor:
        _refused(lambda: cursor.execute("TRUNCATE core_auditevent CASCADE"))
    assert AuditEvent.objects.count() == count


def test_an_audit_event_names_its_time_in_the_laboratorys_zone(db, settings):
    """The admin's list shows local time; the event's own name, its detail page's title, did
    not (UTC, unnamed): the same act read an hour apart."""
    from datetime import datetime

    from apps.core.models import AuditEvent

    event = AuditEvent(actor_username="bio", action="cell.reclassify",
                       at=datetime(2026, 12, 6, 23, 18, 49, tzinfo=UTC))
    settings.TIME_ZONE = "Europe/Paris"
    assert str(event) == "2026-12-07 00:18:49 CET bio cell.reclassify"
