"""A measured value as the laboratory wrote it: localised, without float noise or padding zeros.

One rule for the page and the signed report: 10.2 g/dL reads "10.2" (French "10,2"), never
"10.20"; 50.0 reads "50"; a value whose decimals the analyser gave keeps them ("1.30": trailing
zeros are precision), on the page, in the report and in a worklist reason.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.formats import number_format


def plain_number(value: Any, digits: int = 4) -> str:
    """A localised number without float noise or padding zeros ('9,8' in French); '' for None,
    anything that is not a number as it is."""
    if value is None or isinstance(value, bool):
        return ""
    if not isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, int):
        return number_format(value)
    text = f"{float(value):.{digits}f}".rstrip("0").rstrip(".")
    return number_format(Decimal(text))


def measured_value(value: Any, decimals: int | None) -> str:
    """A measured value in the reader's language with the decimals the analyser gave it
    ("32.0", "1.30": trailing zeros are precision), else without padding zeros."""
    if decimals is None or not isinstance(value, int | float) or isinstance(value, bool):
        return plain_number(value)
    return number_format(round(Decimal(str(value)), decimals), decimal_pos=decimals)


def probability(value: float) -> str:
    """A model's probability the reader's way, always two decimals ("0,90", never "0,9" beside
    "0,89"): one rule for the page, the worklist and the report."""
    return number_format(Decimal(f"{float(value):.2f}"), decimal_pos=2)
