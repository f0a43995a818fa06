"""What the hemograms app does when a lower app tells it something changed."""

from __future__ import annotations

from typing import Any

from apps.patients.models import Specimen


def specimen_changed_read_again(sender: Any, *, specimen: Specimen, **_kw: Any) -> None:
    """A specimen's collection time or patient changed: its blood count's file may agree with
    it now, or no longer (the worklist flag, services.record_differs_flag_update)."""
    from .services import record_differs_flag_update

    record_differs_flag_update(specimen)
