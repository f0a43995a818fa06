"""Calendar rules shared by the apps (no Django here)."""

from __future__ import annotations

from datetime import date


def age_in_years(birth_date: date | None, day: date) -> int | None:
    """Completed years from ``birth_date`` to ``day``; None without a birth date."""
    if birth_date is None:
        return None
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years
