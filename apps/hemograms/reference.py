"""Adult reference intervals used to flag CBC values at import time.

The interval in force is copied onto each stored value with the version below, so a later change
of intervals never rewrites a past result. Sources: common adult intervals for Sysmex XN
analysers (e.g. Bain, Dacie and Lewis Practical Haematology, 12th ed.); each lab should review
them against its own population.
"""

from __future__ import annotations

from dataclasses import dataclass

VERSION = "adult-default-1"


@dataclass(frozen=True)
class Interval:
    low: float | None
    high: float | None


# code -> (male, female); None when the sex is unknown uses the union of both.
_INTERVALS: dict[str, tuple[Interval, Interval]] = {
    "WBC": (Interval(4.0, 10.0), Interval(4.0, 10.0)),
    "RBC": (Interval(4.5, 5.9), Interval(4.0, 5.2)),
    "HGB": (Interval(13.0, 17.0), Interval(12.0, 16.0)),
    "HCT": (Interval(40.0, 52.0), Interval(36.0, 48.0)),
    "MCV": (Interval(80.0, 100.0), Interval(80.0, 100.0)),
    "MCH": (Interval(27.0, 33.0), Interval(27.0, 33.0)),
    "MCHC": (Interval(32.0, 36.0), Interval(32.0, 36.0)),
    "RDW-CV": (Interval(11.5, 14.5), Interval(11.5, 14.5)),
    "PLT": (Interval(150.0, 400.0), Interval(150.0, 400.0)),
    "NEUT#": (Interval(1.8, 7.5), Interval(1.8, 7.5)),
    "LYMPH#": (Interval(1.0, 4.0), Interval(1.0, 4.0)),
    "MONO#": (Interval(0.2, 1.0), Interval(0.2, 1.0)),
    "EO#": (Interval(0.0, 0.5), Interval(0.0, 0.5)),
    "BASO#": (Interval(0.0, 0.1), Interval(0.0, 0.1)),
}


def interval_for(code: str, sex: str) -> Interval | None:
    pair = _INTERVALS.get(code)
    if pair is None:
        return None
    male, female = pair
    if sex == "M":
        return male
    if sex == "F":
        return female
    lows = [v for v in (male.low, female.low) if v is not None]
    highs = [v for v in (male.high, female.high) if v is not None]
    return Interval(min(lows) if lows else None, max(highs) if highs else None)


def flag_for(value: float | None, interval: Interval | None) -> str:
    """'L' below the interval, 'H' above it, '' inside it or when unknown (bounds inclusive)."""
    if value is None or interval is None:
        return ""
    if interval.low is not None and value < interval.low:
        return "L"
    if interval.high is not None and value > interval.high:
        return "H"
    return ""
