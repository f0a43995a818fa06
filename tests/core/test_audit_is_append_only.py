from __future__ import annotations

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


@pytest.mark.skipif(connection.vendor != "postgresql", reason="database trigger is PostgreSQL's")
def test_postgresql_refuses_update_and_delete_of_audit_rows(technician):
    patient_create(actor=technician)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.update(action="tampered")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.all()._raw_delete(AuditEvent.objects.db)
    assert AuditEvent.objects.count() == 1
