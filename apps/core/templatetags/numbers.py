from __future__ import annotations

from typing import Any

from django import template

from apps.core.numbers import measured_value as _measured_value
from apps.core.numbers import plain_number as _plain_number
from apps.core.numbers import probability as _probability

register = template.Library()


@register.filter(name="plain_number")
def plain_number(value: Any) -> str:
    """apps.core.numbers.plain_number: 10.2 as "10.2" ("10,2" in French), never "10.20"."""
    return _plain_number(value)


@register.filter(name="measured")
def measured(value: Any, decimals: int | None) -> str:
    """apps.core.numbers.measured_value: with the decimals the analyser gave it ("5.20")."""
    return _measured_value(value, decimals)


@register.filter(name="probability")
def probability(value: Any) -> str:
    """apps.core.numbers.probability: a model's probability, never "1.00"; '' when none."""
    return "" if value is None else _probability(value)
