from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def analysis_run_execute(run_id: int) -> None:
    services.analysis_run_execute(run_id=run_id)
