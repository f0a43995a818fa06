from __future__ import annotations

from typing import Any

from django import template

from apps.patients.models import Specimen
from apps.review.selectors import patient_context as patient_context_select

register = template.Library()


@register.inclusion_tag("review/patient_context.html")
def patient_context(specimen: Specimen) -> dict[str, Any]:
    """The case page's patient context (earlier specimens and CBC trend) for `specimen`."""
    return {"context": patient_context_select(specimen),
            # Whether the age is at collection or, without a collection time, at registration.
            "collected": specimen.collected_at is not None}
