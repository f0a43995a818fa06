from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def analysis_run_execute(run_id: int) -> None:
    services.analysis_run_execute(run_id=run_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def scores_compute_task(specimen_id: int, trigger: str) -> None:
    from .scores import scores_compute

    scores_compute(specimen_id=specimen_id, trigger=trigger)
