"""The stride-16 map graph (training.cam_graph, shipped as cam16.onnx beside the registered
model) computes what it computes with PyTorch's autograd: the gradient of the explained output
at the 12x12 maps, through the last blocks written out as convolutions. Real PBC views; the
network is built from the shipped checkpoint. Needs the training extra."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from tests.ml.conftest import pbc_file

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

FILES = ("neutrophil/BNE_141509.jpg", "lymphocyte/LY_102859.jpg", "eosinophil/EO_100884.jpg")


@pytest.fixture(scope="module")
def network(model_dir):  # type: ignore[no-untyped-def]
    from training.derive_cam16 import load_network

    card = json.loads((model_dir / "card.json").read_text())
    return load_network(model_dir, card), card


def _views(cell_model) -> np.ndarray:  # type: ignore[no-untyped-def]
    images = []
    for rel in FILES:
        with Image.open(pbc_file(rel)) as im:
            images.append(im.convert("RGB"))
    return cell_model.preprocess(images)


def _autograd(net, f16: np.ndarray, target: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    from training.derive_cam16 import _autograd_cam

    return _autograd_cam(net, f16, target)


@pytest.mark.parametrize("masks", [False, True], ids=["forward-again", "forward-masks"])
def test_the_written_out_gradient_is_autograds(network, cell_model, masks):  # type: ignore[no-untyped-def]
    from training.cam_graph import Cam16, WithStride16, vacuole_target

    net, card = network
    x = torch.from_numpy(_views(cell_model))
    with torch.no_grad():
        plain, with16 = net(x), WithStride16(net, masks=masks)(x)
    n = len(plain)
    for a, b in zip(plain, with16[:n], strict=True):  # the network's own outputs, unchanged
        assert torch.equal(a, b)
    f16 = with16[n]
    assert tuple(f16.shape[1:]) == (112, 12, 12)
    mask_inputs = [torch.cat([m, m]) for m in with16[n + 1 :]]
    assert len(mask_inputs) == (2 if masks else 0)
    vac_labels = next(h["labels"] for h in card["outputs"]["heads"]
                      if h["name"] == "cytoplasm_vacuole")
    classes = net.heads["cell_class"].weight[plain[0].argmax(dim=1)]
    target = torch.cat([classes, vacuole_target(net, vac_labels).expand_as(classes)])
    f16 = torch.cat([f16, f16])
    with torch.no_grad():
        written = Cam16(net, masks=masks)(f16, target, *mask_inputs).numpy()
    expected = _autograd(net, f16.numpy(), target.detach().numpy())
    assert expected.max() > 0
    np.testing.assert_allclose(written, expected, atol=1e-5 * float(expected.max()))
    # A wrong target gives another map: the check can fail.
    assert np.abs(written[: len(FILES)] - written[len(FILES):]).max() > 0.01 * expected.max()


def test_the_shipped_graph_is_autograds(network, cell_model):  # type: ignore[no-untyped-def]
    net, _ = network
    if cell_model.card.cam16 is None:
        pytest.fail("the registered cell model has no stride-16 CAM graph")
    logits, _features, f16 = cell_model.run_maps(_views(cell_model))
    assert f16 is not None and f16.features.shape[1:] == (112, 12, 12)
    weights = cell_model.head_weights()["cell_class"]
    target = weights[logits["cell_class"].argmax(axis=1)]
    shipped = cell_model.maps16(f16, target)
    expected = _autograd(net, f16.features, target)
    peak = expected.max(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(shipped, expected / peak, atol=1e-3)


def test_a_map_whose_relu6_mask_rounding_flipped_is_told_apart(network, cell_model):  # type: ignore[no-untyped-def]
    """derive_cam16's check compares maps with autograd only where the exported masks are
    PyTorch's own; one element on the other side of 0 or 6 marks that map, and only it."""
    from training.cam_graph import MASKS16_NAME, MASKS32_NAME, WithStride16
    from training.derive_cam16 import _flipped_maps

    net, _ = network
    x = torch.from_numpy(_views(cell_model))
    with torch.no_grad():
        out = WithStride16(net, masks=True)(x)
    f16, m16, m32 = (t.numpy() for t in out[-3:])
    masks = {MASKS16_NAME: m16.copy(), MASKS32_NAME: m32.copy()}
    assert not _flipped_maps(net, f16, masks).any()
    masks[MASKS32_NAME][1, 5, 2, 3] = ~masks[MASKS32_NAME][1, 5, 2, 3]
    assert _flipped_maps(net, f16, masks).tolist() == [False, True, False]
    assert not _flipped_maps(net, f16, {}).any()  # a graph without masks: nothing to compare
