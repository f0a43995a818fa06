"""Pieces of the training step (training/): the frozen-prefix split of the backbone gives
the same features as the whole network for any number of frozen blocks (0 included),
augmentation keeps the cell's pixels (dihedral moves only), and the weight average
follows the weights. Needs the training extra (torch)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

HEADS = [("cell_class", 3), ("nucleus_shape", 4)]


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    from training.model import MultiHeadNet

    torch.manual_seed(0)
    return MultiHeadNet(HEADS).eval()


@pytest.mark.parametrize("frozen", [0, 1, 3])
def test_frozen_prefix_then_rest_equals_whole_backbone(model, frozen):  # type: ignore[no-untyped-def]
    bb = model.backbone
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        whole = bb(x)
        split = bb(bb.stem_to(x, frozen), start_block=frozen)
    assert split.shape == whole.shape == (2, 1280, 2, 2)
    torch.testing.assert_close(split, whole)


def test_augmentation_only_moves_and_tints_pixels():  # type: ignore[no-untyped-def]
    from training.train_cells import PIXEL_MEAN, PIXEL_STD, augment

    gen = torch.Generator().manual_seed(1)
    img = torch.zeros(1, 32, 32, 3, dtype=torch.uint8)
    img[0, 2:6, 3:5] = 200  # an off-centre block: its size must survive any move
    out = augment(img, gen)
    assert out.shape == (1, 3, 32, 32)
    assert out.is_contiguous(memory_format=torch.channels_last)
    background = (0 - PIXEL_MEAN[0]) / PIXEL_STD[0]
    bright = (out[0].mean(0) > background + 0.5).sum().item()
    assert bright == 4 * 2  # same area: no scaling or stretching


def test_weight_average_follows_the_weights_and_copies_counters(model):  # type: ignore[no-untyped-def]
    import copy

    from training.train_cells import WeightEMA

    m = copy.deepcopy(model)
    ema = WeightEMA(m, decay=0.9)
    w0 = m.heads["cell_class"].weight.detach().clone()
    with torch.no_grad():
        m.heads["cell_class"].weight.add_(1.0)
    bn = m.backbone._bn1
    bn.num_batches_tracked += 5
    for _ in range(200):
        ema.update(m)
    shadow = ema.shadow["heads.cell_class.weight"]
    torch.testing.assert_close(shadow, w0 + 1.0, atol=1e-4, rtol=0)
    assert int(ema.shadow["backbone._bn1.num_batches_tracked"]) == int(bn.num_batches_tracked)
    # One step from a fresh average moves it only part of the way (decay warm-up).
    fresh = WeightEMA(model, decay=0.9)
    fresh.update(m)
    moved = fresh.shadow["heads.cell_class.weight"] - model.heads["cell_class"].weight.detach()
    assert 0.0 < float(moved.mean()) < 1.0


def test_region_colour_shifts_the_surroundings_not_the_nucleus():  # type: ignore[no-untyped-def]
    from training.augment import region_colour

    gen = torch.Generator().manual_seed(2)
    img = torch.empty(4, 3, 48, 48)
    img[:] = torch.tensor([230.0, 200.0, 190.0]).view(1, 3, 1, 1)  # beige background
    img[:, :, 18:30, 18:30] = torch.tensor([90.0, 40.0, 140.0]).view(1, 3, 1, 1)  # nucleus
    out = region_colour(img, gen, p=1.0)
    centre = (out[:, :, 22:26, 22:26] - img[:, :, 22:26, 22:26]).abs().max()
    corner = (out[:, :, :6, :6] - img[:, :, :6, :6]).abs().amax(dim=(1, 2, 3))
    assert centre < 2.0  # the nucleus keeps its colour
    assert (corner > 2.0).all()  # every image's background moved
    assert torch.equal(region_colour(img, gen, p=0.0), img)


def test_cell_cutout_keeps_the_cell_with_its_holes_and_drops_a_red_cell_apart():  # type: ignore[no-untyped-def]
    from training.augment import cell_cutout

    gen = torch.Generator().manual_seed(4)
    img = torch.empty(6, 3, 96, 96)
    img[:] = torch.tensor([235.0, 225.0, 215.0]).view(1, 3, 1, 1)  # slide background
    yy, xx = torch.meshgrid(torch.arange(96) - 47.5, torch.arange(96) - 47.5, indexing="ij")
    cell = (yy**2 + xx**2) < 30**2
    img[:, :, cell] = torch.tensor([200.0, 160.0, 190.0]).view(1, 3, 1)  # cytoplasm
    img[:, :, (yy**2 + xx**2) < 9**2] = torch.tensor([90.0, 40.0, 140.0]).view(1, 3, 1)
    img[:, :, ((yy - 16) ** 2 + xx**2) < 5**2] = 235.0  # a pale vacuole: a hole to fill
    img[:, :, 2:12, 2:12] = torch.tensor([200.0, 120.0, 120.0]).view(1, 3, 1, 1)  # red cell
    out = cell_cutout(img, gen, p=1.0)
    assert torch.equal(out[:, :, 47, 47], img[:, :, 47, 47])  # nucleus kept
    assert torch.allclose(out[:, :, 63, 47], img[:, :, 63, 47])  # the vacuole too
    corner = out[:, :, 6, 6]  # the red cell apart is cut off, on black or white
    assert ((corner == 0).all(dim=1) | (corner == 245).all(dim=1)).all()
    assert torch.equal(cell_cutout(img, gen, p=0.0), img)


def test_a_low_cutout_threshold_keeps_the_pale_cytoplasm_a_high_one_drops_it():  # type: ignore[no-untyped-def]
    from training.augment import cell_cutout

    img = torch.empty(4, 3, 96, 96)
    img[:] = torch.tensor([235.0, 225.0, 215.0]).view(1, 3, 1, 1)  # slide background
    yy, xx = torch.meshgrid(torch.arange(96) - 47.5, torch.arange(96) - 47.5, indexing="ij")
    # A neutrophil's pale cytoplasm: summed optical density about 0.18 against the slide.
    img[:, :, (yy**2 + xx**2) < 26**2] = torch.tensor([225.0, 205.0, 205.0]).view(1, 3, 1)
    img[:, :, (yy**2 + xx**2) < 10**2] = torch.tensor([90.0, 40.0, 140.0]).view(1, 3, 1)
    cytoplasm = (slice(None), slice(None), 47, 47 + 20)
    pale = cell_cutout(img, torch.Generator().manual_seed(5), p=1.0, od_range=(0.05, 0.08))
    tight = cell_cutout(img, torch.Generator().manual_seed(5), p=1.0, od_range=(0.2, 0.4))
    assert torch.equal(pale[cytoplasm], img[cytoplasm])
    assert ((tight[cytoplasm] == 0).all(dim=1) | (tight[cytoplasm] == 245).all(dim=1)).all()
    for out in (pale, tight):  # the nucleus is kept either way
        assert torch.equal(out[:, :, 47, 47], img[:, :, 47, 47])


def test_random_convolution_keeps_channel_statistics_and_shape():  # type: ignore[no-untyped-def]
    from training.augment import random_convolution

    gen = torch.Generator().manual_seed(3)
    img = torch.rand(3, 3, 40, 40, generator=gen) * 255
    out = random_convolution(img, gen, p=1.0)
    assert out.shape == img.shape and not torch.equal(out, img)
    torch.testing.assert_close(out.mean(dim=(2, 3)), img.mean(dim=(2, 3)), atol=1.0, rtol=0)


def test_mixstyle_is_identity_in_eval_and_mixes_statistics_in_training(model):  # type: ignore[no-untyped-def]
    import copy

    from training.model import add_mixstyle

    plain, mixed = copy.deepcopy(model), copy.deepcopy(model)
    add_mixstyle(mixed.backbone, (2, 4), p=1.0)
    x = torch.randn(4, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(mixed.backbone(x), plain.backbone(x))  # eval: not there
        plain.train()
        mixed.train()  # batch statistics in both: only the mixing differs
        torch.manual_seed(0)
        a = plain.backbone(x)
        torch.manual_seed(0)
        b = mixed.backbone(x)
    assert (a - b).abs().max() > 1e-3


def test_a_cutout_range_upside_down_is_refused_before_anything_is_read(tmp_path, capsys):  # type: ignore[no-untyped-def]
    from training.train_cells import main

    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "out"), "--run-dir", str(tmp_path / "run"),
              "--cutout-od", "0.4", "0.1"])
    assert "--cutout-od needs 0 <= LOW <= HIGH" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not (tmp_path / "run").exists()
