from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def report_render_task(report_id: int) -> None:
    services.report_render(report_id=report_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def result_message_task(signature_id: int) -> None:
    services.result_message_produce(signature_id=signature_id)
