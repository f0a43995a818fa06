"""Class activation maps in NumPy from exported feature maps, and a Pillow overlay."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from PIL import Image


@lru_cache(maxsize=16)
def _interp_matrix(out_size: int, in_size: int) -> np.ndarray:
    """(out, in) bilinear interpolation weights, pixel centres aligned, edges clamped.

    The same weights as Pillow's BILINEAR when upsampling, as a matrix so a whole
    batch of maps is resized with two matrix products.
    """
    src = (np.arange(out_size, dtype=np.float64) + 0.5) * in_size / out_size - 0.5
    src = np.clip(src, 0.0, in_size - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, in_size - 1)
    frac = src - lo
    m = np.zeros((out_size, in_size), dtype=np.float32)
    rows = np.arange(out_size)
    np.add.at(m, (rows, lo), 1.0 - frac)
    np.add.at(m, (rows, hi), frac)
    m.setflags(write=False)
    return m


def grad_cam_batch(
    features: np.ndarray, weight: np.ndarray, indices: Sequence[int], size: tuple[int, int]
) -> np.ndarray:
    """Grad-CAM for a global-average-pooled linear head, exactly, without autograd.

    ``features`` is (N, C, h, w), ``weight`` the head's (K, C) matrix, ``indices``
    the class per map. The logit is b + w_k . mean(F), so dlogit/dF_c(i, j) =
    w_kc / (h w): the Grad-CAM channel weights are w_kc / (h w) and the map is
    ReLU(sum_c w_kc F_c) up to a positive scale. Returns (N, H, W) float32 for
    ``size`` = (H, W), bilinearly upsampled, each map scaled to a maximum of 1
    (all zeros when no location supports the class).
    """
    w = weight[np.asarray(indices, dtype=np.int64)].astype(np.float32)  # (N, C)
    feats = np.asarray(features, dtype=np.float32)
    cams = np.maximum(np.einsum("nc,nchw->nhw", w, feats), 0.0)
    cams = np.nan_to_num(cams, nan=0.0, posinf=0.0, neginf=0.0)
    rows = _interp_matrix(size[0], cams.shape[1])
    cols = _interp_matrix(size[1], cams.shape[2])
    up = np.maximum(rows @ cams @ cols.T, 0.0)  # (N, H, W)
    peak = up.max(axis=(1, 2), keepdims=True)
    return np.divide(up, peak, out=np.zeros_like(up), where=peak > 0)


def grad_cam(
    features: np.ndarray, weight: np.ndarray, index: int, size: tuple[int, int]
) -> np.ndarray:
    """``grad_cam_batch`` for one (C, h, w) feature map: (H, W) float32 in [0, 1]."""
    return grad_cam_batch(features[None], weight, [index], size)[0]


def uncrop(cam: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """Map a square CAM of the centre crop back onto the original image geometry.

    Inverts "resize the shorter side to S, centre-crop S x S" for an image of
    ``image_size`` = (width, height); the cropped-away margins get 0.
    """
    s = cam.shape[0]
    w, h = image_size
    scale = s / min(w, h)
    nw, nh = max(s, round(w * scale)), max(s, round(h * scale))
    left, top = (nw - s) // 2, (nh - s) // 2
    canvas = np.zeros((nh, nw), dtype=np.float32)
    canvas[top : top + s, left : left + s] = cam
    out = Image.fromarray(canvas, mode="F").resize((w, h), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(out, np.float32), 0.0, 1.0)


def jet(v: np.ndarray) -> np.ndarray:
    """Jet-like colormap: values in [0, 1] -> uint8 RGB."""
    r = np.clip(1.5 - np.abs(4.0 * v - 3.0), 0.0, 1.0)
    g = np.clip(1.5 - np.abs(4.0 * v - 2.0), 0.0, 1.0)
    b = np.clip(1.5 - np.abs(4.0 * v - 1.0), 0.0, 1.0)
    return (np.stack([r, g, b], axis=-1) * 255.0 + 0.5).astype(np.uint8)


def overlay(image: Image.Image, cam: np.ndarray, alpha: float = 0.45) -> Image.Image:
    """Alpha-blend a jet-coloured CAM over ``image``.

    ``cam`` may be at the image's size, or the square map of the model's centre
    crop (as ``CellModel`` returns it), which is mapped back onto the original image.
    """
    base = image.convert("RGB")
    heat = np.clip(np.nan_to_num(np.asarray(cam, np.float32)), 0.0, 1.0)
    if heat.shape != (base.height, base.width):
        if heat.ndim != 2 or heat.shape[0] != heat.shape[1]:
            raise ValueError(f"cam shape {heat.shape} matches neither the image nor a crop")
        heat = uncrop(heat, base.size)
    return Image.blend(base, Image.fromarray(jet(heat), mode="RGB"), alpha)
