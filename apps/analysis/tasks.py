from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import connections

from . import services

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def analysis_run_execute(run_id: int) -> None:
    services.analysis_run_execute(run_id=run_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def scores_compute_task(specimen_id: int, trigger: str) -> None:
    from .scores import scores_compute

    scores_compute(specimen_id=specimen_id, trigger=trigger)


@worker_ready.connect
def analysis_sweep_when_worker_starts(sender: Any, **kwargs: Any) -> None:
    """Sweep when the worker starts (it may be the restart of one that died holding a run),
    then every ANALYSIS_SWEEP_SECONDS while it runs, in its main process: no beat needed."""
    analysis_sweep_once()
    sender.timer.call_repeatedly(settings.ANALYSIS_SWEEP_SECONDS, analysis_sweep_once)


def analysis_sweep_once() -> None:
    try:
        services.analysis_runs_sweep()
    except Exception:
        # Raised into the worker's timer it would stop the sweeps (or the worker): log it and
        # let the next sweep try again.
        logger.exception("analysis sweep failed")
    finally:
        # The main process keeps no connection between sweeps (nor hands one to a new child).
        connections.close_all()
