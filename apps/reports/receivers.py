"""What reports does when the review signs a case (connected in ReportsConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from apps.review.models import Signature
from apps.review.signals import case_signed

from .services import result_message_request


@receiver(case_signed, sender=Signature, dispatch_uid="reports.result_message_on_signature")
def result_message_on_signature(sender: type[Signature], signature: Signature,
                                **kwargs: Any) -> None:
    result_message_request(signature=signature)
