from __future__ import annotations

import pytest
from django.utils import timezone


@pytest.fixture
def older_man(specimen, monkeypatch):  # type: ignore[no-untyped-def]
    """The specimen of a man born in 1955, its scores computed by the test itself (the task
    the CBC import queues is not run)."""
    monkeypatch.setattr("apps.analysis.tasks.scores_compute_task.delay", lambda *_: None)
    patient = specimen.patient
    patient.birth_date = timezone.now().date().replace(year=1955)
    patient.sex = "M"
    patient.save()
    return specimen
