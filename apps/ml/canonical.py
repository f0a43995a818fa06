"""Canonical cell view: find the white cell, centre it, give it a fixed size.

One function, :func:`canonical_view`, shared by training (``training/``) and the
runtime (``apps.ml.cells``), so that a cell photographed at another magnification,
cropped tighter or looser, or segmented on a black background reaches the model
at the same place and scale as the training cells.

The rule, with its constants recorded in the model card (``input.resize``):

1. Work on a copy whose longer side is ``analysis_px`` (speed; the result does
   not depend on the source resolution).
2. Stain signal ``(max(R, B) - G) / max(R, G, B)``: white-cell nuclei (blue-purple in
   May-Grunwald-Giemsa, magenta in other Romanowsky stains) and eosinophil or
   basophil granules absorb green far more than red or blue; red cells, the
   white or beige background and a black fill score near zero. Pixels darker
   than ``black_level`` (a segmentation fill) are background.
3. Otsu threshold on that signal (floored at ``min_signal`` so a field with no
   nucleus does not produce one), a closing of radius ``group_radius`` x the
   image side that joins the lobes of a segmented neutrophil, connected components;
   the component chosen is the one with most stained pixels, discounted by its
   distance from the centre (a CellaVision crop centres its cell).
4. Centre = the chosen nucleus' centroid; spread = root-mean-square distance of
   its pixels to that centre. The output is the square of side
   ``size * spread / target_spread`` around the centre, resized to ``size``, so
   the nucleus spread is ``target_spread`` pixels whatever the source scale.
   Outside the source image the view is filled with the median border colour.
5. No nucleus found (too small, too large, touching most of the border): the view
   falls back to the centred shorter-side crop and the reason code says why;
   the caller records it and the domain check treats the cell as outside.
6. With ``colour_reference`` (models trained with it only), the view is white-balanced on
   its red cells to that colour (apps.ml.colour). With ``colour_balance_on="image"`` the
   whole image is balanced first and the nucleus is found on the balanced colours (on a slide
   whose red cells are bluish, they otherwise pass the nucleus threshold and the view is cut
   too wide); else the view is balanced after the cut.

No Django here and no text for people: reasons are codes (``REASONS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image
from scipy import ndimage

RULE = "canonical_nucleus_v1"

# Reason codes of a view (see REASONS for their meaning, the UI translates).
FOUND = "found"
NO_STAIN = "no_stain"
TOO_SMALL = "nucleus_too_small"
TOO_LARGE = "nucleus_too_large"

REASONS = {
    FOUND: "a nucleus was found, centred and rescaled",
    NO_STAIN: "no nucleus-coloured region: the image may not show a stained white cell",
    TOO_SMALL: "the stained region is too small to be a white-cell nucleus",
    TOO_LARGE: "the stained region fills the image: not a single-cell crop",
}


@dataclass(frozen=True)
class ViewParams:
    """Constants of the rule; a model card stores them and builds these back."""

    size: int = 192
    target_spread: float = 26.0  # nucleus RMS radius in output pixels
    analysis_px: int = 160
    black_level: int = 40
    min_signal: float = 70.0
    group_radius: float = 0.035
    min_area_frac: float = 0.004
    max_area_frac: float = 0.45
    max_scale: float = 4.0  # never magnify more than this (a tiny speck is not a cell)
    min_scale: float = 0.25
    # Red-cell white balance of the view (apps.ml.colour) to this RGB colour; None: none.
    colour_reference: tuple[float, float, float] | None = None
    # Where that balance is made: "image" (before the cut) or None (the view, after it).
    colour_balance_on: str | None = None

    def __post_init__(self) -> None:
        if self.colour_balance_on not in (None, "image"):
            raise ValueError(f"colour_balance_on must be 'image' or absent, "
                             f"not {self.colour_balance_on!r}")

    def to_card(self) -> dict[str, object]:
        return {"rule": RULE, **{k: getattr(self, k) for k in self.__dataclass_fields__
                                 if getattr(self, k) is not None}}

    @classmethod
    def from_card(cls, spec: dict) -> ViewParams:
        if spec.get("rule") != RULE:
            raise ValueError(f"not a {RULE} rule: {spec.get('rule')!r}")
        values = {k: spec[k] for k in cls.__dataclass_fields__ if k in spec}
        if values.get("colour_reference") is not None:
            values["colour_reference"] = tuple(values["colour_reference"])
        return cls(**values)


@dataclass(frozen=True)
class View:
    image: Image.Image  # RGB, params.size square
    reason: str  # FOUND or a failure code
    centre: tuple[float, float]  # (x, y) in source pixels
    scale: float  # output pixels per source pixel
    nucleus_area_frac: float  # of the source image area
    # The view before the red-cell white balance (``colour_reference``), else None: the
    # slide's colours as imaged, which the domain check's stain part reads.
    unbalanced: Image.Image | None = None

    @property
    def found(self) -> bool:
        return self.reason == FOUND


def stain_signal(rgb: np.ndarray, black_level: int) -> np.ndarray:
    """``255 (max(R, B) - G) / max(R, G, B)`` as float32 (brightness-free), 0 on black fill."""
    if rgb.dtype != np.uint8 or rgb.shape[-1] != 3:
        a = rgb.astype(np.float32)
        top = a.max(axis=-1)
        s = 255.0 * (np.maximum(a[..., 0], a[..., 2]) - a[..., 1]) / (top + 1.0)
        s[top < black_level] = 0.0
        return np.clip(s, 0.0, None)
    # uint8 pixels: the clipped signal depends only on the lift max(R, B) - G when positive
    # and on max(R, G, B), so a table of the same float32 quotients replaces the arithmetic.
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    top = np.maximum(np.maximum(r, b), g)
    lift = top - g  # max(max(R, B) - G, 0) without wrapping
    index = lift.astype(np.uint16)
    index <<= 8
    index |= top
    return _signal_table(black_level)[index]


@lru_cache(maxsize=8)
def _signal_table(black_level: float) -> np.ndarray:
    """``stain_signal`` of every (lift, top) pair, indexed by ``lift * 256 + top``."""
    lift = np.arange(256, dtype=np.float32)[:, None]
    top = np.arange(256, dtype=np.float32)[None, :]
    table = 255.0 * lift / (top + 1.0)  # the float32 operations of the formula, in order
    table[:, np.arange(256) < black_level] = 0.0
    table = table.reshape(-1)
    table.flags.writeable = False
    return table


def otsu(values: np.ndarray) -> float:
    hist, edges = np.histogram(values, bins=128)
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres)
    mu0 = m0 / np.maximum(w0, 1)
    mu1 = (m0[-1] - m0) / np.maximum(w1, 1)
    between = w0 * w1 * (mu0 - mu1) ** 2
    return float(centres[int(np.argmax(between))])


def _disk_rows(radius: int) -> list[int]:
    """Half-width of the disk ``x^2 + y^2 <= r^2`` on each row ``|y| = 0..r`` (integers)."""
    r = max(1, radius)
    half = []
    for dy in range(r + 1):
        k = 0
        while (k + 1) ** 2 + dy * dy <= r * r:
            k += 1
        half.append(k)
    return half


def _dilate_disk(mask: np.ndarray, radius: int, outside: bool) -> np.ndarray:
    """Binary dilation of ``mask`` by the disk of ``radius``, pixels beyond the image edge
    taken as ``outside``: the disk is a stack of horizontal segments, so the dilation is the
    OR of row-shifted running-window maxima (window sums of one cumulative sum)."""
    half = _disk_rows(radius)
    r = len(half) - 1
    h, w = mask.shape
    padded = np.pad(mask, r, constant_values=outside)
    csum = np.zeros((h + 2 * r, w + 2 * r + 1), np.int32)
    np.cumsum(padded, axis=1, out=csum[:, 1:])
    rows = {k: csum[:, r + k + 1 : r + k + 1 + w] > csum[:, r - k : r - k + w]
            for k in set(half)}
    out = rows[half[r]][0:h].copy()
    for dy in range(1 - r, r + 1):
        out |= rows[half[abs(dy)]][r + dy : r + dy + h]
    return out


def disk_closing(mask: np.ndarray, radius: int) -> np.ndarray:
    """``ndimage.binary_closing(mask, disk, border_value=0)`` for the disk
    ``x^2 + y^2 <= max(1, radius)^2``: the same pixels, about 13 times faster at radius 6
    (the 160 px analysis copy) and 100 times at radius 22 (ndimage tries every disk offset).

    Dilation then erosion; the erosion with the image edge as background is the complement
    of the dilation of the complement with the edge as foreground."""
    return ~_dilate_disk(~_dilate_disk(mask, radius, False), radius, True)


def _choose_component(mask: np.ndarray, grouped: np.ndarray
                      ) -> tuple[tuple[float, float], float, float]:
    """The stained pixels (``mask``) of one connected component of ``grouped``: the one with
    the most, discounted by their centroid's distance from the image centre (the first in
    label order on a tie). Their centroid (x, y), RMS spread and share of the image."""
    h, w = mask.shape
    labels, n = ndimage.label(grouped)
    # Every label's stained area and coordinate sums in one pass. Coordinates are integers,
    # so their float64 sums are exact and sum / area is the very mean of the label's
    # coordinates; np.nonzero lists pixels in row-major order, as a boolean index does.
    ys, xs = np.nonzero(mask)
    own = labels[ys, xs]
    areas = np.bincount(own, minlength=n + 1)
    sum_y = np.bincount(own, weights=ys, minlength=n + 1)
    sum_x = np.bincount(own, weights=xs, minlength=n + 1)
    cy, cx, half = (h - 1) / 2, (w - 1) / 2, max(h, w) / 2
    best, best_score = 0, 0.0
    for lab in range(1, n + 1):
        area = int(areas[lab])
        if area == 0:
            continue
        dist = np.hypot(sum_y[lab] / area - cy, sum_x[lab] / area - cx) / half
        score = area * max(0.05, 1.0 - dist) ** 2
        if score > best_score:
            best, best_score = lab, score
    chosen = own == best
    cys, cxs = ys[chosen], xs[chosen]
    my, mx = float(cys.mean()), float(cxs.mean())
    spread = float(np.sqrt(((cys - my) ** 2 + (cxs - mx) ** 2).mean()))
    return (mx, my), spread, float(cys.size) / (h * w)


def locate_nucleus(
    rgb: np.ndarray, p: ViewParams
) -> tuple[str, tuple[float, float], float, float]:
    """(reason, centre (x, y), RMS spread, area fraction) in ``rgb`` pixel units."""
    h, w = rgb.shape[:2]
    sig = ndimage.uniform_filter(stain_signal(rgb, p.black_level), size=3)
    thr = max(otsu(sig), p.min_signal)
    mask = sig > thr
    if not mask.any():
        return NO_STAIN, (w / 2, h / 2), 0.0, 0.0
    closed = disk_closing(mask, round(p.group_radius * max(h, w)))
    (mx, my), spread, area_frac = _choose_component(mask, closed | mask)
    if area_frac < p.min_area_frac:
        return TOO_SMALL, (mx, my), spread, area_frac
    if area_frac > p.max_area_frac:
        return TOO_LARGE, (mx, my), spread, area_frac
    return FOUND, (mx, my), spread, area_frac


def _locate(im: Image.Image, p: ViewParams
            ) -> tuple[float, tuple[str, tuple[float, float], float, float]]:
    """``locate_nucleus`` on a copy whose longer side is ``analysis_px`` (and that scale)."""
    w, h = im.size
    k = p.analysis_px / max(w, h)
    small = im.resize((max(1, round(w * k)), max(1, round(h * k))), Image.Resampling.BILINEAR)
    return k, locate_nucleus(np.asarray(small, dtype=np.uint8), p)


def nucleus_reason(image: Image.Image, params: ViewParams | None = None) -> str:
    """FOUND when the image holds a white-cell nucleus by the canonical rule, else why not.

    Also used for models whose input is the plain centre crop: a cell image without a stained
    nucleus is outside the validated domain whatever the network makes of it."""
    return _locate(as_rgb(image), params or ViewParams())[1][0]


def as_rgb(image: Image.Image) -> Image.Image:
    """``image`` in RGB; an RGB image itself (``convert`` would copy it, nothing writes it)."""
    return image if image.mode == "RGB" else image.convert("RGB")


def _border_colour(im: Image.Image) -> tuple[int, int, int]:
    """Median colour of the outermost rows and columns (corners twice), of an RGB image."""
    w, h = im.size
    edge = np.concatenate([np.asarray(im.crop(box), dtype=np.uint8).reshape(-1, 3) for box in
                           ((0, 0, w, 1), (0, h - 1, w, h), (0, 0, 1, h), (w - 1, 0, w, h))])
    return tuple(int(v) for v in np.median(edge, axis=0))  # type: ignore[return-value]


def canonical_view(image: Image.Image, params: ViewParams | None = None) -> View:
    """The canonical view of a single-cell image (see the module docstring)."""
    p = params or ViewParams()
    im = as_rgb(image)
    imaged = im  # the slide's colours, for ``View.unbalanced``
    if p.colour_reference is not None and p.colour_balance_on == "image":
        from apps.ml.colour import balance_image  # it reads this module's stain signal

        im = balance_image(im, p.colour_reference)
    w, h = im.size
    k, (reason, (sx, sy), spread, area_frac) = _locate(im, p)
    fill = _border_colour(im)
    if reason == FOUND and spread > 0:
        cx, cy = (sx + 0.5) / k, (sy + 0.5) / k
        scale = float(np.clip(p.target_spread / (spread / k), p.min_scale, p.max_scale))
    else:  # fallback: the centred crop of the shorter side
        cx, cy = w / 2, h / 2
        scale = p.size / min(w, h)
    half = p.size / (2 * scale)
    box = (cx - half, cy - half, cx + half, cy + half)
    out = _crop_resize(im, box, p.size, fill)
    if p.colour_reference is None:
        return View(out, reason, (cx, cy), scale, area_frac)
    if p.colour_balance_on == "image":
        return View(out, reason, (cx, cy), scale, area_frac,
                    unbalanced=_crop_resize(imaged, box, p.size, _border_colour(imaged)))
    from apps.ml.colour import balance  # it reads this module's stain signal

    balanced = Image.fromarray(balance(np.asarray(out), p.colour_reference))
    return View(balanced, reason, (cx, cy), scale, area_frac, unbalanced=out)


def _crop_resize(
    im: Image.Image, box: tuple[float, float, float, float], size: int,
    fill: tuple[int, int, int],
) -> Image.Image:
    """The square ``box`` of ``im`` (may extend outside) resized to ``size``, antialiased."""
    w, h = im.size
    left, top, right, bottom = box
    pad = int(np.ceil(max(0.0, -left, -top, right - w, bottom - h)))
    if pad:
        canvas = Image.new("RGB", (w + 2 * pad, h + 2 * pad), fill)
        canvas.paste(im, (pad, pad))
        im = canvas
        box = (left + pad, top + pad, right + pad, bottom + pad)
    return im.resize((size, size), Image.Resampling.BILINEAR, box=box, reducing_gap=2.0)
