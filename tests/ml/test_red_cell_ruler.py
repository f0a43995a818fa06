"""training/red_cell_ruler.py measures what it says: red cells drawn with a known radius read
back at that radius, in image pixels whatever the image's size; an image without red cells
gives none."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.ml.test_red_cell_balance import PBC_LIKE, smear


@pytest.mark.parametrize("size", [192, 360])
def test_drawn_red_cells_read_back_at_their_radius(size):  # type: ignore[no-untyped-def]
    from training.red_cell_ruler import red_cell_radius

    # smear() draws red cells 15 px in radius on a 192 px frame; resized, they scale with it.
    image = Image.fromarray(smear(**PBC_LIKE)).resize((size, size), Image.Resampling.BILINEAR)
    radius = red_cell_radius(image)
    assert radius is not None
    assert radius == pytest.approx(15 * size / 192, rel=0.15)


def test_no_red_cell_no_radius():  # type: ignore[no-untyped-def]
    from training.red_cell_ruler import red_cell_radius

    blank = Image.fromarray(np.full((192, 192, 3), 240, np.uint8))
    assert red_cell_radius(blank) is None
