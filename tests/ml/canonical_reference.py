"""The nucleus-locating rule as 2.1.0 was trained with it (binary closing by ndimage, a loop over
the labels, float arithmetic for the stain signal): the reference apps.ml.canonical's faster code
is compared with, by tests/ml/test_nucleus_location_matches_reference.py and by
bench/check_canonical_view.py on every image. Do not optimise."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from apps.ml import canonical
from apps.ml.canonical import ViewParams


def ref_disk(radius: int) -> np.ndarray:
    r = max(1, radius)
    y, x = np.ogrid[-r : r + 1, -r : r + 1]
    return x * x + y * y <= r * r


def ref_closing(mask: np.ndarray, radius: int) -> np.ndarray:
    return ndimage.binary_closing(mask, structure=ref_disk(radius), border_value=0)


def ref_stain_signal(rgb: np.ndarray, black_level: float) -> np.ndarray:
    a = rgb.astype(np.float32)
    top = a.max(axis=-1)
    s = 255.0 * (np.maximum(a[..., 0], a[..., 2]) - a[..., 1]) / (top + 1.0)
    s[top < black_level] = 0.0
    return np.clip(s, 0.0, None)


def ref_choose(mask: np.ndarray, grouped: np.ndarray
               ) -> tuple[tuple[float, float], float, float]:
    h, w = mask.shape
    labels, n = ndimage.label(grouped)
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
    return (mx, my), spread, area_frac


def ref_locate(rgb: np.ndarray, p: ViewParams) -> tuple[str, tuple[float, float], float, float]:
    h, w = rgb.shape[:2]
    sig = ndimage.uniform_filter(ref_stain_signal(rgb, p.black_level), size=3)
    mask = sig > max(canonical.otsu(sig), p.min_signal)
    if not mask.any():
        return canonical.NO_STAIN, (w / 2, h / 2), 0.0, 0.0
    closed = ref_closing(mask, round(p.group_radius * max(h, w)))
    centre, spread, area_frac = ref_choose(mask, closed | mask)
    if area_frac < p.min_area_frac:
        return canonical.TOO_SMALL, centre, spread, area_frac
    if area_frac > p.max_area_frac:
        return canonical.TOO_LARGE, centre, spread, area_frac
    return canonical.FOUND, centre, spread, area_frac
