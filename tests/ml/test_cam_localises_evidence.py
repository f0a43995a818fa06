"""Grad-CAM from exported feature maps: shape, range, peak location, exactness (overlays:
test_compact_cam_draws_the_same_map)."""

from __future__ import annotations

import numpy as np

from apps.ml.cam import grad_cam


def _features_with_hotspot(c: int = 8, h: int = 6, w: int = 6, at: tuple[int, int] = (1, 4)):
    rng = np.random.default_rng(0)
    feats = rng.uniform(0.0, 0.1, size=(c, h, w)).astype(np.float32)
    feats[3, at[0], at[1]] = 5.0  # channel 3 fires at one location
    weight = np.zeros((2, c), np.float32)
    weight[0, 3] = 1.0  # class 0 reads channel 3
    weight[1, 5] = 1.0
    return feats, weight


def test_cam_has_input_size_and_unit_range():
    feats, weight = _features_with_hotspot()
    cam = grad_cam(feats, weight, 0, (192, 192))
    assert cam.shape == (192, 192)
    assert cam.dtype == np.float32
    assert cam.min() >= 0.0
    assert cam.max() == np.float32(1.0)


def test_cam_peak_is_at_the_hot_feature_location():
    feats, weight = _features_with_hotspot(at=(1, 4))
    cam = grad_cam(feats, weight, 0, (192, 192))
    y, x = np.unravel_index(int(cam.argmax()), cam.shape)
    # Feature cell (1, 4) of a 6x6 grid covers rows 32..63 and columns 128..159.
    assert 32 <= y < 64
    assert 128 <= x < 160


def test_cam_equals_relu_of_weighted_feature_sum():
    rng = np.random.default_rng(1)
    feats = rng.normal(size=(16, 6, 6)).astype(np.float32)
    weight = rng.normal(size=(3, 16)).astype(np.float32)
    cam = grad_cam(feats, weight, 2, (6, 6))
    manual = np.maximum(np.einsum("c,chw->hw", weight[2], feats), 0)
    np.testing.assert_allclose(cam, manual / manual.max(), atol=1e-5)


def test_cam_is_zero_when_no_location_supports_the_class():
    feats = np.ones((4, 6, 6), np.float32)
    weight = -np.ones((1, 4), np.float32)
    assert not grad_cam(feats, weight, 0, (48, 48)).any()
