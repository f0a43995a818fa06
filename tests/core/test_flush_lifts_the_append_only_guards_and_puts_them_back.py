"""`manage.py flush` (and the test runner after a transactional test) still empties the database;
the append-only triggers are back afterwards."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import DatabaseError, transaction

from apps.core.models import AuditEvent
from apps.patients.services import patient_create


def test_flush_empties_the_audit_table_and_the_guard_comes_back(technician):
    patient_create(actor=technician)
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEvent.objects.exists()
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("again", password="x" * 12)
    patient_create(actor=user)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.update(action="tampered")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.all()._raw_delete(AuditEvent.objects.db)
    assert AuditEvent.objects.filter(action="patient.create").count() == 1
