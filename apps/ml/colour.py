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
from dataclasses import dataclass

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


@dataclass(frozen=True)
class RedCells:
    """What ``red_cells`` reads of an image, on its ANALYSIS_PX copy."""

    scale: float  # copy pixels per image pixel
    shape: tuple[int, int]  # the copy's (height, width)
    background: np.ndarray  # float RGB of the slide
    od: list[np.ndarray]  # per channel, each pixel's optical density against the background
    mask: np.ndarray  # (h * w,) bool: the red-cell pixels


def red_cells(rgb: np.ndarray | Image.Image) -> RedCells | None:
    """The red-cell pixels of an RGB uint8 image (array or RGB image), or None when it shows
    too little of the slide or of red cells.

    On a copy whose longer side is ANALYSIS_PX: the background is the median of the brightest
    8% of the pixels that are not black fill; the red cells are the pixels whose optical
    density against that background sums above RED_CELL_OD and whose stain signal is below
    NUCLEUS_SIGNAL."""
    im = rgb if isinstance(rgb, Image.Image) else Image.fromarray(rgb)
    k = ANALYSIS_PX / max(im.size)
    small = np.asarray(im.resize((max(1, round(im.width * k)), max(1, round(im.height * k))),
                                 Image.Resampling.BILINEAR))
    # One plane per channel (uint8): NumPy reduces three planes far faster than the short last
    # axis of a pixel array, and the maxima and sums of integers are exact.
    r, g, b = (small[..., c].reshape(-1) for c in range(3))
    lit = np.maximum(np.maximum(r, g), b) > BLACK_LEVEL
    if lit.mean() < MIN_LIT:
        return None
    brightness = r.astype(np.int32) + g + b
    bright = lit & (brightness >= np.percentile(brightness[lit], 92))
    background = np.array([np.median(c[bright].astype(np.float64)) for c in (r, g, b)])
    # Optical density per channel value, looked up: the same float64 values as computed per
    # pixel, for 256 values a channel instead of one per pixel.
    table = -np.log((np.arange(256, dtype=np.float64)[:, None] + 1.0) / (background + 1.0))
    od = [table[c, i] for i, c in enumerate((r, g, b))]
    signal = stain_signal(small, BLACK_LEVEL).reshape(-1)
    red = lit & ((od[0] + od[1]) + od[2] > RED_CELL_OD) & (signal < NUCLEUS_SIGNAL)
    if red.mean() < MIN_RED:
        return None
    return RedCells(k, (small.shape[0], small.shape[1]), background, od, red)


def red_cell_colour(rgb: np.ndarray | Image.Image) -> tuple[np.ndarray, np.ndarray] | None:
    """(background, red-cell colour) of an RGB uint8 image (array or RGB image) as float RGB,
    or None when it shows too little of either (``red_cells``): the red cells' colour is the
    median of their optical densities, back in RGB."""
    found = red_cells(rgb)
    if found is None:
        return None
    median_od = np.array([np.median(d[found.mask]) for d in found.od])
    return found.background, (found.background + 1.0) * np.exp(-median_od) - 1.0


def _balance_table(rgb: np.ndarray | Image.Image, reference: Sequence[float]
                   ) -> list[int] | None:
    """The balance of ``rgb`` as PIL's per-band lookup table (R, G then B: 768 values), or None
    when ``red_cell_colour`` finds no red cells. Value v of a channel becomes
    ``clip(v * gain + 0.5)``, the gain bringing that channel's red-cell colour to
    ``reference`` (within GAIN_RANGE)."""
    found = red_cell_colour(rgb)
    if found is None:
        return None
    gains = np.clip(np.asarray(reference, dtype=np.float64) / np.maximum(found[1], 1.0),
                    *GAIN_RANGE)
    table = np.clip(np.arange(256, dtype=np.float64)[:, None] * gains + 0.5, 0, 255)
    return table.astype(np.uint8).T.reshape(-1).tolist()


def balance(rgb: np.ndarray, reference: Sequence[float]) -> np.ndarray:
    """``rgb`` (uint8) with each channel scaled so that its red-cell colour is ``reference``;
    unchanged when ``red_cell_colour`` finds none."""
    table = _balance_table(rgb, reference)
    if table is None:
        return rgb
    return np.asarray(Image.fromarray(rgb).point(table))


def balance_image(image: Image.Image, reference: Sequence[float]) -> Image.Image:
    """``balance`` of an RGB image, as an image (the canonical view's path: no array copy)."""
    table = _balance_table(image, reference)
    return image if table is None else image.point(table)


def reference_colour(views: Sequence[np.ndarray]) -> tuple[float, float, float]:
    """The median red-cell colour of training views (those where it is found), rounded."""
    found = [c[1] for c in (red_cell_colour(v) for v in views) if c is not None]
    if not found:
        raise ValueError("no red cells found in any of the reference views")
    r, g, b = (round(float(v), 1) for v in np.median(found, axis=0))
    return r, g, b
