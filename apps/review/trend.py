"""A small trend plot of a few CBC values over a patient's specimens, drawn server-side.

Pure geometry: dated values in, SVG coordinates out as ready-formatted strings (a template that
printed floats would localise them, and a French decimal comma breaks SVG). No script and no
style attribute, so the page's Content-Security-Policy holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

WIDTH = 240
HEIGHT = 64
PAD_X = 6
PAD_Y = 8
# The axis' two ends are printed left of the plot, in a 34-unit margin the template
# (review/trend_svg.html) adds; the plot itself keeps x from 0 to WIDTH.
# Two dots closer than this (two counts of one day, on a plot spanning months) are moved apart
# in time order, so that each is seen and its tooltip reached; the caption gives the dates.
MIN_GAP = 6.0


@dataclass(frozen=True)
class Point:
    at: datetime
    value: float
    current: bool = False
    decimals: int | None = None  # as the analyser gave the value ("5.20": 2), None unknown


@dataclass(frozen=True)
class Mark:
    x: str
    y: str
    value: float
    at: datetime
    current: bool
    decimals: int | None


@dataclass(frozen=True)
class Panel:
    """One analyte's plot: the polyline, its dots, and the reference band when known."""

    points: str
    marks: tuple[Mark, ...]
    low: float
    high: float
    decimals: int | None  # the range's two ends are printed with one precision: the most
    # decimals any point was given ("110.0–112.0", not "110.0–112"); None unknown
    band: tuple[str, str] | None  # (y of the upper limit, band height), clipped to the plot
    axis_low: float = 0.0  # the values at the foot and the top of the plot (its scale, printed
    axis_high: float = 0.0  # without padding zeros: a scale, not a measurement)


def _fmt(v: float) -> str:
    return f"{v:.1f}"


def trend_panel(points: list[Point], *, ref_low: float | None = None,
                ref_high: float | None = None) -> Panel | None:
    """The plot of `points` (any order), x proportional to time; None without any point."""
    if not points:
        return None
    points = sorted(points, key=lambda p: p.at)
    values = [p.value for p in points]
    low, high = min(values), max(values)
    # The axis holds the reference interval too, so a value inside it reads as inside.
    lo_axis = min([low, *(v for v in (ref_low,) if v is not None)])
    hi_axis = max([high, *(v for v in (ref_high,) if v is not None)])
    if hi_axis == lo_axis:
        lo_axis, hi_axis = lo_axis - 1, hi_axis + 1
    t0, t1 = points[0].at.timestamp(), points[-1].at.timestamp()
    span = t1 - t0

    def x(p: Point) -> float:
        if span <= 0:
            return WIDTH / 2
        return PAD_X + (p.at.timestamp() - t0) / span * (WIDTH - 2 * PAD_X)

    def y(v: float) -> float:
        return HEIGHT - PAD_Y - (v - lo_axis) / (hi_axis - lo_axis) * (HEIGHT - 2 * PAD_Y)

    xs = _spread([x(p) for p in points])
    marks = tuple(Mark(x=_fmt(xs[i]), y=_fmt(y(p.value)), value=p.value, at=p.at,
                       current=p.current, decimals=p.decimals) for i, p in enumerate(points))
    band = None
    if ref_low is not None and ref_high is not None and ref_high > ref_low:
        top, bottom = y(ref_high), y(ref_low)
        band = (_fmt(top), _fmt(bottom - top))
    return Panel(points=" ".join(f"{m.x},{m.y}" for m in marks), marks=marks, low=low,
                 high=high, decimals=_decimals(points), band=band,
                 axis_low=lo_axis, axis_high=hi_axis)


def _spread(xs: list[float]) -> list[float]:
    """``xs`` (in time order) with every dot at least MIN_GAP after the one before, kept
    inside the plot: pushed right, then the whole row fitted back between the paddings."""
    out = list(xs)
    for i in range(1, len(out)):
        out[i] = max(out[i], out[i - 1] + MIN_GAP)
    right = WIDTH - PAD_X
    if not out or out[-1] <= right:
        return out
    if out[-1] - out[0] <= right - PAD_X:  # fits once moved left
        shift = out[-1] - right
        return [v - shift for v in out]
    scale = (right - PAD_X) / (out[-1] - out[0])
    return [PAD_X + (v - out[0]) * scale for v in out]


def _decimals(points: list[Point]) -> int | None:
    """The decimals the range is printed with: the most any point was given."""
    known = [p.decimals for p in points if p.decimals is not None]
    return max(known) if known else None
