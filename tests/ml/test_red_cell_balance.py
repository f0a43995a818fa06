"""Red-cell white balance (apps.ml.colour): the red cells of a smear are found apart from the
background and the nucleus, a view is brought to the reference red-cell colour, a view without
red cells is left alone, and the canonical view applies it the same way for training and at
run time when its card says so."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from apps.ml.canonical import ViewParams, canonical_view
from apps.ml.cells import CellModel
from apps.ml.colour import balance, red_cell_colour, reference_colour
from apps.ml.domain import stain_fingerprint
from training.data import load_view_image

PBC_LIKE = {"background": (250, 228, 205), "red": (207, 170, 168)}
BLUISH = {"background": (255, 255, 255), "red": (190, 185, 225)}  # LISC's bluer slides
NUCLEUS = (90, 50, 140)


def smear(background, red, nucleus=NUCLEUS, size=192) -> np.ndarray:  # type: ignore[no-untyped-def]
    im = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(im)
    for k in range(16):  # red cells around a white cell
        x, y = 20 + (k % 4) * 50, 20 + (k // 4) * 50
        if abs(x - 95) + abs(y - 95) > 40:
            draw.ellipse((x - 15, y - 15, x + 15, y + 15), fill=red)
    draw.ellipse((70, 70, 122, 122), fill=nucleus)
    return np.asarray(im)


@pytest.mark.parametrize("colours", [PBC_LIKE, BLUISH])
def test_red_cells_are_told_from_background_and_nucleus(colours):  # type: ignore[no-untyped-def]
    found = red_cell_colour(smear(**colours))
    assert found is not None
    background, red = found
    np.testing.assert_allclose(background, colours["background"], atol=3)
    np.testing.assert_allclose(red, colours["red"], atol=4)


def test_a_bluish_slide_is_brought_to_the_reference_and_the_reference_is_kept():  # type: ignore[no-untyped-def]
    reference = PBC_LIKE["red"]
    balanced = balance(smear(**BLUISH), reference)
    found = red_cell_colour(balanced)
    assert found is not None
    np.testing.assert_allclose(found[1], reference, atol=5)
    # Its nucleus keeps being the most stained part: the balance only scales channels.
    assert balanced[96, 96, 1] < balanced[20, 20, 1]
    already = smear(**PBC_LIKE)
    assert np.abs(balance(already, reference).astype(int) - already).max() <= 3


def test_a_cell_cut_out_on_black_is_left_as_it_is():  # type: ignore[no-untyped-def]
    cut_out = smear((0, 0, 0), (0, 0, 0), nucleus=NUCLEUS)
    assert red_cell_colour(cut_out) is None
    assert balance(cut_out, PBC_LIKE["red"]) is cut_out
    with pytest.raises(ValueError, match="no red cells"):
        reference_colour([cut_out])


def test_the_reference_is_the_median_red_cell_colour_of_the_views():  # type: ignore[no-untyped-def]
    views = [smear(PBC_LIKE["background"], (200 + d, 170, 168)) for d in (0, 7, 14)]
    assert reference_colour(views)[0] == pytest.approx(207, abs=2)


@pytest.mark.parametrize("on", [None, "image"])
def test_the_view_balances_the_same_way_in_training_and_at_run_time(pbc_path, on):  # type: ignore[no-untyped-def]
    rel = "neutrophil/SNE_103795.jpg"
    with Image.open(pbc_path(rel)) as im:
        image = im.convert("RGB")
    params = ViewParams(colour_reference=BLUISH["red"], colour_balance_on=on)
    card = json.loads(json.dumps(params.to_card()))  # as a card stores it
    assert ViewParams.from_card(card) == params
    runtime = np.asarray(canonical_view(image, params).image)
    assert np.array_equal(runtime, load_view_image(pbc_path(rel), 192, card))
    plain = np.asarray(canonical_view(image).image)
    found = red_cell_colour(runtime)
    assert found is not None and not np.array_equal(runtime, plain)
    np.testing.assert_allclose(found[1], BLUISH["red"], atol=8)
    # Without a reference the rule and its card are those of every earlier model.
    assert "colour_reference" not in ViewParams().to_card()
    assert "colour_balance_on" not in ViewParams().to_card()


def test_a_balance_that_is_neither_on_the_view_nor_on_the_image_is_refused():  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="colour_balance_on"):
        ViewParams(colour_reference=PBC_LIKE["red"], colour_balance_on="views")


def rimmed_smear() -> Image.Image:
    """A white cell among red cells whose bluish rims pass the nucleus threshold (LISC's bluer
    slides): fill of stain signal 53, rim 85, nucleus 163; the nucleus a disc of radius 18."""
    im = Image.new("RGB", (192, 192), (255, 255, 255))
    draw = ImageDraw.Draw(im)
    for k in range(16):
        x, y = 20 + (k % 4) * 50, 20 + (k // 4) * 50
        if abs(x - 95) + abs(y - 95) > 40:
            draw.ellipse((x - 15, y - 15, x + 15, y + 15), fill=(190, 170, 215),
                         outline=(175, 150, 225), width=4)
    draw.ellipse((78, 78, 114, 114), fill=NUCLEUS)
    return im


def test_balancing_the_whole_image_first_finds_the_nucleus_on_balanced_colours():  # type: ignore[no-untyped-def]
    image = rimmed_smear()
    nucleus_scale = 26.0 / (18 / np.sqrt(2))  # target spread over the disc's RMS radius
    on_view = canonical_view(image, ViewParams(colour_reference=PBC_LIKE["red"]))
    on_image = canonical_view(image, ViewParams(colour_reference=PBC_LIKE["red"],
                                                colour_balance_on="image"))
    assert on_image.found and on_image.scale == pytest.approx(nucleus_scale, rel=0.05)
    assert on_view.scale < 0.6 * nucleus_scale  # the rims taken for nucleus: cut too wide
    balanced, imaged = red_cell_colour(np.asarray(on_image.image)), red_cell_colour(
        np.asarray(on_image.unbalanced))
    assert balanced is not None and imaged is not None
    np.testing.assert_allclose(balanced[1], PBC_LIKE["red"], atol=8)
    np.testing.assert_allclose(imaged[1], (190, 170, 215), atol=8)  # the slide as imaged
    # The same cut: the nucleus in the middle of both, in the slide's colours in one only.
    assert tuple(np.asarray(on_image.unbalanced)[96, 96]) == NUCLEUS
    assert tuple(np.asarray(on_image.image)[96, 96]) != NUCLEUS


def test_the_network_sees_the_balanced_view_and_the_stain_check_the_slide_as_imaged(
        cell_model, pbc_path):  # type: ignore[no-untyped-def]
    """A balanced view must not hide another lab's stain from the domain check."""
    balanced_model = CellModel(cell_model.card, threads=1)
    balanced_model._view = ViewParams(colour_reference=BLUISH["red"])
    with Image.open(pbc_path("lymphocyte/LY_102859.jpg")) as im:
        image = im.convert("RGB")
    parts = balanced_model.view_parts(image)
    plain = canonical_view(image, ViewParams())
    assert np.array_equal(np.asarray(parts.stain_image), np.asarray(plain.image))
    assert not np.array_equal(np.asarray(parts.image), np.asarray(plain.image))
    prepared = balanced_model.prepare(image)
    assert np.array_equal(np.asarray(prepared.image), np.asarray(parts.image))
    assert prepared.stain is not None  # the registered model's check has a stain part
    np.testing.assert_array_equal(prepared.stain, stain_fingerprint(np.asarray(plain.image)))


@pytest.mark.parametrize(("stored", "option"), [
    ("True", " --colour-balance"), ("view", " --colour-balance"),
    ("image", " --colour-balance image"), ("None", "")])
def test_the_card_command_repeats_where_the_balance_was_made(stored, option):  # type: ignore[no-untyped-def]
    from training.evaluate import canonical_resize, train_options

    assert train_options({"args": {"colour_balance": stored}}) == option
    view = {"target_spread": 26.0, "size": 192, "colour_reference": [207.0, 170.0, 168.0],
            **({"colour_balance_on": "image"} if stored == "image" else {})}
    described = canonical_resize(view)["description"]
    assert ("before the nucleus is looked for" in described) == (stored == "image")
    assert "colour_reference" not in canonical_resize({**view, "colour_reference": None}
                                                      )["description"]
