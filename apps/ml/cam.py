"""Class activation maps in NumPy from exported feature maps, and a Pillow overlay.

What an analysis keeps of a map is :class:`CamMap`: the map at the resolution of the last
feature maps, quantised to uint8 (a few dozen bytes), and where the model's input lay in the
source image. :func:`overlay_map` draws it on any copy of that image, at that copy's size.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
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
    return upsample_maps(grad_cam_maps(features, weight, indices), size)


def upsample_maps(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(N, h, w) maps bilinearly upsampled to ``size`` = (H, W), each scaled to a peak of 1."""
    rows = _interp_matrix(size[0], maps.shape[1])
    cols = _interp_matrix(size[1], maps.shape[2])
    return _unit_peak(np.maximum(rows @ maps @ cols.T, 0.0))  # (N, H, W)


def unit_peak_maps(maps: np.ndarray) -> np.ndarray:
    """(N, h, w) non-negative maps, each scaled to a maximum of 1 (zeros stay zeros; NaN and
    infinities read as 0)."""
    clean = np.nan_to_num(np.asarray(maps, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    return _unit_peak(np.maximum(clean, 0.0))


def grad_cam_maps(
    features: np.ndarray, weight: np.ndarray, indices: Sequence[int]
) -> np.ndarray:
    """The maps of ``grad_cam_batch`` at the feature maps' own (h, w), before upsampling:
    (N, h, w) float32, each scaled to a maximum of 1 (all zeros when nothing supports it)."""
    w = weight[np.asarray(indices, dtype=np.int64)].astype(np.float32)  # (N, C)
    feats = np.asarray(features, dtype=np.float32)
    cams = np.maximum(np.einsum("nc,nchw->nhw", w, feats), 0.0)
    return _unit_peak(np.nan_to_num(cams, nan=0.0, posinf=0.0, neginf=0.0))


def _unit_peak(maps: np.ndarray) -> np.ndarray:
    peak = maps.max(axis=(-2, -1), keepdims=True)
    return np.divide(maps, peak, out=np.zeros_like(maps), where=peak > 0)


def grad_cam(
    features: np.ndarray, weight: np.ndarray, index: int, size: tuple[int, int]
) -> np.ndarray:
    """``grad_cam_batch`` for one (C, h, w) feature map: (H, W) float32 in [0, 1]."""
    return grad_cam_batch(features[None], weight, [index], size)[0]


def jet(v: np.ndarray) -> np.ndarray:
    """Jet-like colormap: values in [0, 1] -> uint8 RGB."""
    r = np.clip(1.5 - np.abs(4.0 * v - 3.0), 0.0, 1.0)
    g = np.clip(1.5 - np.abs(4.0 * v - 2.0), 0.0, 1.0)
    b = np.clip(1.5 - np.abs(4.0 * v - 1.0), 0.0, 1.0)
    return (np.stack([r, g, b], axis=-1) * 255.0 + 0.5).astype(np.uint8)


# A stored map is small by construction; anything larger is not one of ours.
CAM_MAP_MAX_SIDE = 64


@dataclass(frozen=True)
class CellMaps:
    """The compact maps of one cell: the predicted class's, and the vacuole output's when the
    model explains it (a stride-16 graph) and the cell was predicted a neutrophil."""

    cell_class: CamMap
    vacuole: CamMap | None = None


@dataclass(frozen=True)
class CamMap:
    """What a cell's Grad-CAM needs to be drawn later, on any copy of the cell image.

    ``values``: (h, w) uint8, the map at the feature-map resolution scaled to a peak of 255.
    ``box``: the square the model's input covered in the source image, as (left, top, right,
    bottom) fractions of its width and height (may reach outside 0..1: the model's view can
    extend past the image's edges).
    """

    values: np.ndarray
    box: tuple[float, float, float, float]

    def encode(self) -> bytes:
        """The values as a .npy file (a header and h x w bytes): storable and self-describing."""
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(self.values, dtype=np.uint8), allow_pickle=False)
        return buffer.getvalue()

    @classmethod
    def decode(cls, data: bytes, box: Sequence[float]) -> CamMap:
        """The inverse of ``encode``; ValueError for anything but a small 2-D uint8 map."""
        values = np.load(io.BytesIO(bytes(data)), allow_pickle=False)
        if (values.dtype != np.uint8 or values.ndim != 2 or min(values.shape) < 1
                or max(values.shape) > CAM_MAP_MAX_SIDE):
            raise ValueError(f"not a stored CAM map: {values.dtype} {values.shape}")
        left, top, right, bottom = (float(v) for v in box)
        if not (right > left and bottom > top):
            raise ValueError(f"empty CAM box {tuple(box)}")
        return cls(values, (left, top, right, bottom))


def cam_maps_quantise(maps: np.ndarray) -> list[np.ndarray]:
    """(N, h, w) maps in [0, 1] -> N (h, w) uint8 maps (0..255, rounded)."""
    u8 = (np.clip(np.nan_to_num(maps), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return list(u8)


def _box_interp(out_size: int, in_size: int, start: float, stop: float) -> np.ndarray:
    """(out, in) bilinear weights placing ``in_size`` samples over [start, stop) of an axis of
    ``out_size`` pixels (pixel centres aligned, edges clamped); rows outside are all zero.

    With start=0 and stop=out_size these are exactly ``_interp_matrix``'s weights."""
    centres = np.arange(out_size, dtype=np.float64) + 0.5
    inside = (centres >= start) & (centres < stop)
    src = np.clip((centres - start) * in_size / (stop - start) - 0.5, 0.0, in_size - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, in_size - 1)
    frac = src - lo
    m = np.zeros((out_size, in_size), dtype=np.float32)
    rows = np.arange(out_size)[inside]
    np.add.at(m, (rows, lo[inside]), 1.0 - frac[inside])
    np.add.at(m, (rows, hi[inside]), frac[inside])
    return m


def cam_on_image(cam: CamMap, size: tuple[int, int]) -> np.ndarray:
    """The map upsampled into its box of an image of ``size`` = (width, height): (H, W)
    float32, peak 1 (0 outside the box; all zeros when the map is)."""
    width, height = size
    left, top, right, bottom = cam.box
    values = cam.values.astype(np.float32) / 255.0
    rows = _box_interp(height, values.shape[0], top * height, bottom * height)
    cols = _box_interp(width, values.shape[1], left * width, right * width)
    return _unit_peak(np.maximum(rows @ values @ cols.T, 0.0))


def overlay_map(image: Image.Image, cam: CamMap, alpha: float = 0.45) -> Image.Image:
    """Alpha-blend the jet-coloured ``cam`` over ``image`` (any copy of the cell image the map
    was computed on, at any scale): the result has ``image``'s size."""
    base = image.convert("RGB")
    heat = cam_on_image(cam, base.size)
    return Image.blend(base, Image.fromarray(jet(heat), mode="RGB"), alpha)
