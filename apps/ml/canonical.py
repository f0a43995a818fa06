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

No Django here and no text for people: reasons are codes (``REASONS``).
"""

from __future__ import annotations

from dataclasses import dataclass

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

    def to_card(self) -> dict[str, float | int | str]:
        return {"rule": RULE, **{k: getattr(self, k) for k in self.__dataclass_fields__}}

    @classmethod
    def from_card(cls, spec: dict) -> ViewParams:
        if spec.get("rule") != RULE:
            raise ValueError(f"not a {RULE} rule: {spec.get('rule')!r}")
        return cls(**{k: spec[k] for k in cls.__dataclass_fields__ if k in spec})


@dataclass(frozen=True)
class View:
    image: Image.Image  # RGB, params.size square
    reason: str  # FOUND or a failure code
    centre: tuple[float, float]  # (x, y) in source pixels
    scale: float  # output pixels per source pixel
    nucleus_area_frac: float  # of the source image area

    @property
    def found(self) -> bool:
        return self.reason == FOUND


def stain_signal(rgb: np.ndarray, black_level: int) -> np.ndarray:
    """``255 (max(R, B) - G) / max(R, G, B)`` as float32 (brightness-free), 0 on black fill."""
    a = rgb.astype(np.float32)
    top = a.max(axis=-1)
    s = 255.0 * (np.maximum(a[..., 0], a[..., 2]) - a[..., 1]) / (top + 1.0)
    s[top < black_level] = 0.0
    return np.clip(s, 0.0, None)


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


def _disk(radius: int) -> np.ndarray:
    r = max(1, radius)
    y, x = np.ogrid[-r : r + 1, -r : r + 1]
    return x * x + y * y <= r * r


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
    closed = ndimage.binary_closing(
        mask, structure=_disk(round(p.group_radius * max(h, w))), border_value=0
    )
    labels, n = ndimage.label(closed | mask)
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx, half = (h - 1) / 2, (w - 1) / 2, max(h, w) / 2
    best, best_score = 0, 0.0
    for lab in range(1, n + 1):
        comp = (labels == lab) & mask
        area = int(comp.sum())
        if area == 0:
            continue
        my, mx = yy[comp].mean(), xx[comp].mean()
        dist = np.hypot(my - cy, mx - cx) / half
        score = area * max(0.05, 1.0 - dist) ** 2
        if score > best_score:
            best, best_score = lab, score
    comp = (labels == best) & mask
    area_frac = float(comp.sum()) / (h * w)
    my, mx = float(yy[comp].mean()), float(xx[comp].mean())
    spread = float(np.sqrt(((yy[comp] - my) ** 2 + (xx[comp] - mx) ** 2).mean()))
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
    return _locate(image.convert("RGB"), params or ViewParams())[1][0]


def _border_colour(rgb: np.ndarray) -> tuple[int, int, int]:
    edge = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    return tuple(int(v) for v in np.median(edge, axis=0))  # type: ignore[return-value]


def canonical_view(image: Image.Image, params: ViewParams | None = None) -> View:
    """The canonical view of a single-cell image (see the module docstring)."""
    p = params or ViewParams()
    im = image.convert("RGB")
    w, h = im.size
    k, (reason, (sx, sy), spread, area_frac) = _locate(im, p)
    fill = _border_colour(np.asarray(im, dtype=np.uint8))
    if reason == FOUND and spread > 0:
        cx, cy = (sx + 0.5) / k, (sy + 0.5) / k
        scale = float(np.clip(p.target_spread / (spread / k), p.min_scale, p.max_scale))
    else:  # fallback: the centred crop of the shorter side
        cx, cy = w / 2, h / 2
        scale = p.size / min(w, h)
    half = p.size / (2 * scale)
    box = (cx - half, cy - half, cx + half, cy + half)
    out = _crop_resize(im, box, p.size, fill)
    return View(out, reason, (cx, cy), scale, area_frac)


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
