"""The int8 export (training.quantize) quantizes the backbone but keeps the feature maps and
linear heads in float32, so Grad-CAM computed from heads.npz stays exact for the logits the
shipped model returns. Needs the training extra (torch, onnx)."""

from __future__ import annotations

import numpy as np
import pytest

from apps.ml.cards import x86_lacks_int8_dot
from tests.ml.conftest import GOLDEN_FILES, pbc_file

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

SIZE = 64
HEADS = [("cell_class", 3), ("nucleus_shape", 4)]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):  # type: ignore[no-untyped-def]
    from training.export_onnx import export_model
    from training.model import MultiHeadNet
    from training.quantize import quantize_int8

    tmp = tmp_path_factory.mktemp("int8")
    torch.manual_seed(0)
    model = MultiHeadNet(HEADS).eval()
    with torch.no_grad():  # trained-like head magnitudes, so int8 heads would show
        for head in model.heads.values():
            head.weight.normal_(0.0, 1.0)
            head.bias.normal_(0.0, 1.0)
    fp32, int8 = tmp / "fp32.onnx", tmp / "int8.onnx"
    export_model(model, [h for h, _ in HEADS], SIZE, fp32)
    images = [pbc_file(rel) for rel in GOLDEN_FILES.values()]
    info = quantize_int8(fp32, int8, images, SIZE, [127.0] * 3, [128.0] * 3, "input")
    return model, fp32, int8, info, images


def _run(path, x):  # type: ignore[no-untyped-def]
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, {"input": x}), strict=True))


def _batch(images):  # type: ignore[no-untyped-def]
    from training.data import load_cell_image
    from training.export_onnx import normalize_np

    return normalize_np(np.stack([load_cell_image(p, SIZE) for p in images]),
                        [127.0] * 3, [128.0] * 3)


def test_backbone_is_quantized_and_outputs_keep_their_names(exported):  # type: ignore[no-untyped-def]
    import onnx

    _, fp32, int8, info, _ = exported
    graph = onnx.load(str(int8)).graph
    ops = {n.op_type for n in graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    quantized_convs = {n.name for n in graph.node if n.op_type == "DequantizeLinear"}
    assert len(quantized_convs) > 40
    assert [o.name for o in graph.output] == [o.name for o in onnx.load(str(fp32)).graph.output]
    assert int8.stat().st_size < fp32.stat().st_size / 2
    assert info["calibration_images"] == len(GOLDEN_FILES)
    assert any("_conv_head" in n for n in info["float32_nodes"])


def test_heads_are_exact_float_linear_maps_of_the_features(exported):  # type: ignore[no-untyped-def]
    model, _, int8, _, images = exported
    out = _run(int8, _batch(images))
    pooled = out["features"].astype(np.float64).mean(axis=(2, 3))
    for name, _ in HEADS:
        w = model.heads[name].weight.detach().numpy().astype(np.float64)
        b = model.heads[name].bias.detach().numpy().astype(np.float64)
        np.testing.assert_allclose(out[f"logits_{name}"], pooled @ w.T + b, atol=1e-4)


def test_int8_stays_close_to_float32(exported):  # type: ignore[no-untyped-def]
    from training.quantize import compare

    _, fp32, int8, _, images = exported
    x = _batch(images)
    res = compare(fp32, int8, x, ["logits_cell_class", "logits_nucleus_shape", "features"],
                  "input")
    assert set(res["argmax_agreement"]) == {"logits_cell_class", "logits_nucleus_shape"}
    ref = _run(fp32, x)["features"]
    # Real: the file is not the float32 network under another name...
    assert res["max_abs_diff"]["features"] > 0
    if x86_lacks_int8_dot():
        pytest.skip("x86 CPU without VNNI: its uint8 x int8 kernels can saturate, so the int8 "
                    "error is not bounded here (the app warns, hemaclinic.W002)")
    # ...and small against the range of the float feature maps.
    assert res["max_abs_diff"]["features"] < 0.25 * float(np.abs(ref).max())


def test_a_canonical_view_model_is_calibrated_on_its_views(exported, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """The activation ranges come from the inputs the model is given: for a model that reads
    the canonical view, the views, not centred crops of the same files."""
    import training.quantize as quantize
    from apps.ml.canonical import ViewParams

    _, fp32, _, _, images = exported
    view = {**ViewParams().to_card(), "size": SIZE}
    real = quantize.load_view_image
    given: list[dict | None] = []

    def spied(path, size, v=None):  # type: ignore[no-untyped-def]
        given.append(v)
        return real(path, size, v)

    monkeypatch.setattr(quantize, "load_view_image", spied)
    info = quantize.quantize_int8(fp32, tmp_path / "int8.onnx", images, SIZE, [127.0] * 3,
                                  [128.0] * 3, "input", view=view)
    assert given and all(v == view for v in given)
    assert info["calibration_input"] == "canonical view"
