from __future__ import annotations

from datetime import date
from typing import Any

from django import template

from apps.core.written_dates import written_date as _written_date

register = template.Library()


@register.filter(name="written_date", expects_localtime=True)
def written_date(value: Any, fmt: str = "DATE_FORMAT") -> str:
    """apps.core.written_dates.written_date in templates: "1er mars 2026" in French; '' for
    no date, as Django's ``date`` filter (whose local time it takes)."""
    if not isinstance(value, date):
        return ""
    return _written_date(value, fmt)
