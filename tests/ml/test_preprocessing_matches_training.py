"""The runtime crop/normalisation reproduces training's, pinned by golden values.

The expected numbers were computed once with ``training.data.load_cell_image``
and the training normalisation (see training/golden.py).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from apps.ml.cells import crop_image, to_tensor

# rel path -> (pixel (y=10, x=20) RGB, pixel (96, 96) RGB, mean per channel of the
# normalised tensor)
GOLDEN = {
    "neutrophil/SNE_103795.jpg": ((255, 227, 190), (200, 171, 179), (0.71335, 0.50344, 0.44528)),
    "eosinophil/EO_100884.jpg": ((204, 162, 171), (190, 106, 128), (0.72876, 0.48613, 0.43573)),
    "platelet/PLATELET_106342.jpg": ((248, 222, 194), (177, 90, 148), (0.82664, 0.5676, 0.49599)),
    "lymphocyte/LY_102859.jpg": ((255, 235, 203), (62, 30, 127), (0.69511, 0.47234, 0.42786)),
}


def test_crop_and_normalise_match_training_golden_values(cell_model, pbc_path):
    spec = cell_model.card.input
    for rel, (px_a, px_b, channel_means) in GOLDEN.items():
        with Image.open(pbc_path(rel)) as im:
            crop = cell_model.crop(im)
        arr = np.asarray(crop)
        assert arr.shape == (spec.height, spec.width, 3)
        assert tuple(int(v) for v in arr[10, 20]) == px_a, rel
        assert tuple(int(v) for v in arr[96, 96]) == px_b, rel
        x = to_tensor([crop], spec.mean, spec.std)
        assert x.shape == (1, 3, spec.height, spec.width)
        assert x.dtype == np.float32
        np.testing.assert_allclose(x[0].mean(axis=(1, 2)), channel_means, atol=1e-5)


def test_crop_keeps_aspect_ratio_and_centres():
    # A 400x200 image whose outer eighths are red: resizing the short side to
    # 100 (not stretching) and cropping the centre 100x100 must show no red.
    arr = np.zeros((200, 400, 3), np.uint8)
    arr[:, :50] = (255, 0, 0)
    arr[:, 350:] = (255, 0, 0)
    crop = np.asarray(crop_image(Image.fromarray(arr), 100))
    assert crop.shape == (100, 100, 3)
    assert crop[..., 0].max() == 0


def test_grey_and_palette_images_become_rgb():
    crop = crop_image(Image.new("L", (50, 80), 128), 32)
    assert crop.mode == "RGB"
    assert crop.size == (32, 32)
