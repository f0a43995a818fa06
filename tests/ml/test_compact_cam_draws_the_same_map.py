"""The compact Grad-CAM an analysis stores (the map at feature resolution, uint8, and the box of
the model's view in the image) draws the same map as the full-size CAM, in the right place of
the original image; it survives its byte encoding; anything else is refused."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from apps.ml.cam import CamMap, cam_on_image, grad_cam, grad_cam_maps, overlay_map
from apps.ml.canonical import ViewParams
from apps.ml.cells import CellModel


def test_map_in_a_full_box_equals_the_upsampled_grad_cam():
    rng = np.random.default_rng(3)
    feats = rng.normal(size=(16, 6, 6)).astype(np.float32)
    weight = rng.normal(size=(3, 16)).astype(np.float32)
    full = grad_cam(feats, weight, 1, (192, 192))
    (low,) = grad_cam_maps(feats[None], weight, [1])
    values = (low * 255 + 0.5).astype(np.uint8)
    drawn = cam_on_image(CamMap(values, (0.0, 0.0, 1.0, 1.0)), (192, 192))
    # Only the uint8 quantisation separates them.
    np.testing.assert_allclose(drawn, full, atol=2.5 / 255)


def test_map_is_placed_in_its_box_of_a_larger_image():
    values = np.zeros((6, 6), np.uint8)
    values[0, 5] = 255  # top-right feature cell
    # The view covered the square x in [100, 300), y in [50, 250) of a 400 x 300 image.
    cam = CamMap(values, (100 / 400, 50 / 300, 300 / 400, 250 / 300))
    heat = cam_on_image(cam, (400, 300))
    assert heat.shape == (300, 400)
    assert heat[:50].max() == 0 and heat[250:].max() == 0  # outside the box: nothing
    assert heat[:, :100].max() == 0 and heat[:, 300:].max() == 0
    y, x = np.unravel_index(int(heat.argmax()), heat.shape)
    # Feature cell (0, 5) covers the box's top row and right column: y 50..83, x 266..300.
    assert 50 <= y < 84 and 266 <= x < 300
    assert heat.max() == pytest.approx(1.0)


def test_overlay_has_the_size_of_the_image_it_is_drawn_on():
    values = np.full((6, 6), 128, np.uint8)
    cam = CamMap(values, (0.0, 0.0, 1.0, 1.0))
    for size in ((360, 363), (90, 91)):
        out = overlay_map(Image.new("RGB", size, (200, 200, 200)), cam)
        assert out.size == size and out.mode == "RGB"


def test_encoding_round_trips_and_refuses_what_is_not_a_map():
    cam = CamMap(np.arange(36, dtype=np.uint8).reshape(6, 6), (0.0, 0.01, 1.0, 0.99))
    data = cam.encode()
    assert len(data) < 256  # a few dozen bytes of map and a .npy header
    back = CamMap.decode(data, [0.0, 0.01, 1.0, 0.99])
    np.testing.assert_array_equal(back.values, cam.values)
    assert back.box == cam.box
    for bad in (np.zeros((6, 6), np.float32), np.zeros((6,), np.uint8),
                np.zeros((200, 200), np.uint8), np.array([{"a": 1}], dtype=object)):
        buffer = io.BytesIO()
        np.save(buffer, bad, allow_pickle=True)
        with pytest.raises(ValueError):
            CamMap.decode(buffer.getvalue(), (0, 0, 1, 1))
    with pytest.raises(ValueError):
        CamMap.decode(data, (0.5, 0.0, 0.5, 1.0))  # an empty box


def test_a_real_cell_map_matches_the_full_cam_of_its_view(cell_model, pbc_path):
    with Image.open(pbc_path("neutrophil/SNE_103795.jpg")) as im:
        image = im.convert("RGB")
    preds, maps = cell_model.predict_maps([image])
    _, full = cell_model.predict_with_cam([image])
    (cam,) = (m.cell_class for m in maps)
    assert cam.values.dtype == np.uint8 and cam.values.max() == 255
    assert max(cam.values.shape) <= 64
    # Drawn over the model's own view (the box's content), it is the full-size CAM.
    view_map = CamMap(cam.values, (0.0, 0.0, 1.0, 1.0))
    np.testing.assert_allclose(cam_on_image(view_map, cell_model.input_size[::-1]), full[0],
                               atol=2.5 / 255)
    # The box is the square the model saw, in the image's own pixels.
    left, top, right, bottom = cam.box
    w, h = image.size
    assert (right - left) * w == pytest.approx((bottom - top) * h, abs=2.0)
    assert right > 0 and left < 1 and bottom > 0 and top < 1


def test_the_box_of_a_canonical_view_is_where_the_view_was_cut(cell_model, pbc_path):
    canonical = CellModel(cell_model.card, threads=1)
    canonical._view = ViewParams()  # the canonical rule instead of the centre crop
    with Image.open(pbc_path("lymphocyte/LY_102859.jpg")) as im:
        image = im.convert("RGB")
    view, code, box = canonical.view_box(image)
    assert code == "found"
    w, h = image.size
    left, top, right, bottom = box
    cut = image.resize(view.size, Image.Resampling.BILINEAR,
                       box=(left * w, top * h, right * w, bottom * h))
    # This cell's view lies inside the image: the box's content, resized, is the view itself.
    assert 0 < left < right < 1 and 0 < top < bottom < 1
    diff = np.abs(np.asarray(cut, np.int16) - np.asarray(view, np.int16))
    assert diff.mean() < 3
    # A box shifted by a tenth of its side is not.
    shift = (right - left) * w / 10
    moved = image.resize(view.size, Image.Resampling.BILINEAR,
                         box=(left * w + shift, top * h, right * w + shift, bottom * h))
    assert np.abs(np.asarray(moved, np.int16) - np.asarray(view, np.int16)).mean() > 3
