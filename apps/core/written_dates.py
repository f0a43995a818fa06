"""A date as the reader's language writes it, one rule for the pages, the signed report and the
notes: Django's ``date_format`` with the project's formats (hemaclinic/formats), and the first
day of a month as French writes it, "1er mars 2026" (an ordinal), never "1 mars 2026".
"""

from __future__ import annotations

from datetime import date, datetime

from django.utils.formats import date_format, get_format
from django.utils.translation import get_language

# Languages that write the first day of a month as an ordinal, in the formats that begin with
# the day ("j F Y").
_FIRST_DAY = {"fr": "1er"}


def written_date(value: date | datetime, fmt: str = "DATE_FORMAT") -> str:
    """``value`` in the active language's ``fmt`` (a format name or a format string)."""
    text = date_format(value, fmt)
    ordinal = _FIRST_DAY.get((get_language() or "").split("-")[0])
    if ordinal and value.day == 1 and str(get_format(fmt)).startswith("j ") \
            and text.startswith("1 "):
        return ordinal + text[1:]
    return text
