"""Red-cell white balance: a smear image's colours brought to a reference by its red cells.

Every peripheral blood smear shows red cells, and every Romanowsky stain colours them with its
eosin; how their colour on one slide differs from the training slides' says how that slide's
stain, buffer and camera white balance differ. On LISC (another lab) the model's errors follow
that colour: the bluer a slide's red cells, the more monocytes and neutrophils it calls
eosinophils (``python -m training.colour_probe``).

``balance`` scales each channel of a view so that its red-cell colour becomes the reference
(a von Kries transform). A view with too few red cells (a cell cut out on black, a frame
filled by one cell) is left as it is.

No Django here, as in apps.ml.canonical, whose view (``ViewParams.colour_reference``) applies
it; training and the runtime share it through that view.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from apps.ml.canonical import stain_signal

ANALYSIS_PX = 160  # the colours are read on a copy this size (longer side)
RED_CELL_OD = 0.25  # summed optical density above which a pixel is not background
NUCLEUS_SIGNAL = 60.0  # canonical stain signal above which a pixel is nucleus or granules
BLACK_LEVEL = 40  # darker pixels are a segmentation fill
MIN_LIT = 0.3  # share of the image that must not be black fill
MIN_RED = 0.05  # share of the image that must be red cells
GAIN_RANGE = (0.5, 2.0)  # a channel is never scaled beyond this


def red_cell_colour(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(background, red-cell colour) of an RGB uint8 image as float RGB, or None when it shows
    too little of either.

    On a copy whose longer side is ANALYSIS_PX: the background is the median of the brightest
    8% of the pixels that are not black fill; the red cells are the pixels whose optical
    density against that background sums above RED_CELL_OD and whose stain signal is below
    NUCLEUS_SIGNAL; their colour is the median of their optical densities, back in RGB."""
    im = Image.fromarray(rgb)
    k = ANALYSIS_PX / max(im.size)
    small = np.asarray(im.resize((max(1, round(im.width * k)), max(1, round(im.height * k))),
                                 Image.Resampling.BILINEAR))
    px = small.reshape(-1, 3).astype(np.float64)
    lit = px.max(1) > BLACK_LEVEL
    if lit.mean() < MIN_LIT:
        return None
    brightness = px.sum(1)
    background = np.median(px[lit & (brightness >= np.percentile(brightness[lit], 92))], axis=0)
    od = -np.log((px + 1.0) / (background + 1.0))
    signal = stain_signal(small, BLACK_LEVEL).reshape(-1)
    red = lit & (od.sum(1) > RED_CELL_OD) & (signal < NUCLEUS_SIGNAL)
    if red.mean() < MIN_RED:
        return None
    return background, (background + 1.0) * np.exp(-np.median(od[red], axis=0)) - 1.0


def balance(rgb: np.ndarray, reference: Sequence[float]) -> np.ndarray:
    """``rgb`` (uint8) with each channel scaled so that its red-cell colour is ``reference``;
    unchanged when ``red_cell_colour`` finds none."""
    found = red_cell_colour(rgb)
    if found is None:
        return rgb
    gains = np.clip(np.asarray(reference, dtype=np.float64) / np.maximum(found[1], 1.0),
                    *GAIN_RANGE)
    return np.clip(rgb * gains + 0.5, 0, 255).astype(np.uint8)


def reference_colour(views: Sequence[np.ndarray]) -> tuple[float, float, float]:
    """The median red-cell colour of training views (those where it is found), rounded."""
    found = [c[1] for c in (red_cell_colour(v) for v in views) if c is not None]
    if not found:
        raise ValueError("no red cells found in any of the reference views")
    r, g, b = (round(float(v), 1) for v in np.median(found, axis=0))
    return r, g, b
