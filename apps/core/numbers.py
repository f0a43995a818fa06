"""A measured value as the laboratory wrote it: localised, without float noise or padding zeros.

One rule for the page and the signed report: 10.2 g/dL reads "10.2" (French "10,2"), never
"10.20"; 50.0 reads "50"; a value whose decimals the analyser gave keeps them ("1.30": trailing
zeros are precision), on the page, in the report and in a worklist reason.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
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


# A model's probability is never printed as a certainty: beyond these ends it reads "> 0.99"
# or "< 0.01" ("> 99 %", "< 1 %"), not 1.00 or 100 %, which no model's output is.
PROBABILITY_ENDS = (0.005, 0.995)


def probability_end(value: float) -> int:
    """-1 below PROBABILITY_ENDS, 1 above, 0 between (where the value is printed)."""
    return -1 if value < PROBABILITY_ENDS[0] else 1 if value >= PROBABILITY_ENDS[1] else 0


def probability(value: float) -> str:
    """A model's probability the reader's way, always two decimals ("0,90", never "0,9" beside
    "0,89") and never a certainty ("> 0,99", "< 0,01"): one rule for the page, the worklist
    and the report."""
    end = probability_end(float(value))
    if end:
        # A no-break space: the sign never ends a line without its figure.
        return (">\u00a0" if end > 0 else "<\u00a0") + number_format(
            Decimal("0.99" if end > 0 else "0.01"), decimal_pos=2)
    return number_format(Decimal(f"{float(value):.2f}"), decimal_pos=2)


def figures_apart(value: float, limit: float, *, decimals: int = 2, most: int = 4) -> int:
    """The fewest decimals, from ``decimals`` up to ``most``, at which ``value`` and ``limit``
    print differently: an output just below its threshold (0.6835 against 0.6849) must not
    read "0.68, below 0.68"."""
    for digits in range(decimals, most + 1):
        if f"{value:.{digits}f}" != f"{limit:.{digits}f}":
            return digits
    return most


def probability_against(value: float, limit: float) -> tuple[str, str]:
    """A probability and the threshold it is read against, each printed with as many decimals
    as it takes them to differ (``figures_apart``; two at least, as ``probability``)."""
    digits = figures_apart(value, limit)
    if digits == 2:
        return probability(value), number_format(Decimal(f"{limit:.2f}"), decimal_pos=2)
    return (number_format(Decimal(f"{value:.{digits}f}"), decimal_pos=digits),
            number_format(Decimal(f"{limit:.{digits}f}"), decimal_pos=digits))


def half_up(exact: Decimal, decimals: int) -> float:
    """``exact`` rounded half up to ``decimals``, as a laboratory rounds (4.895 -> 4.90, where
    binary floating point gives 4.89): one rule for the figures HemaClinic computes."""
    return float(exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))
