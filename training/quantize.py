"""Static int8 quantization of the exported cell model (onnxruntime, QDQ format).

Used by ``python -m training.export_onnx ... --int8``. The backbone's convolutions
run in int8 (weights per channel, activations per tensor, ranges from MinMax
calibration on training-split images); the last 1x1 convolution, the pooling and
the linear heads stay in float32, so the exported feature maps and the head
weights in heads.npz still give exact Grad-CAM for the logits the model returns.

Every figure in the card is measured on the quantized file itself (training.evaluate
runs model.onnx); the export check and the evaluation also report what
quantization changed against the float32 export, on validation images only.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import numpy as np

from training.data import load_view_image, read_split_csv

CALIBRATION_IMAGES = 512
CALIBRATION_BATCH = 64
# Kept in float32: the head convolution (its output is the ``features`` output used
# for CAM), the global average pooling and every linear head.
FLOAT_OPS = ("_conv_head", "ReduceMean", "Gemm")


def calibration_paths(split_csv: Path, pbc: Path, n: int, seed: int) -> list[Path]:
    """``n`` training-split images, drawn with ``seed`` from the sorted split rows."""
    rows = sorted(r[0] for r in read_split_csv(split_csv) if r[2] == "train")
    rng = random.Random(seed)
    return [pbc / p for p in rng.sample(rows, min(n, len(rows)))]


def float_nodes(onnx_path: Path) -> list[str]:
    import onnx

    graph = onnx.load(str(onnx_path)).graph
    return [node.name for node in graph.node if any(k in node.name for k in FLOAT_OPS)]


def quantize_int8(
    fp32_path: Path, int8_path: Path, images: list[Path], size: int,
    mean: list[float], std: list[float], input_name: str, view: dict | None = None,
) -> dict:
    """Write the int8 model to ``int8_path``; returns what was done (for export.json).

    ``view``: the card's canonical-view rule (``input.resize``) when the model reads views:
    the activation ranges are calibrated on the inputs the model will be given."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from training.export_onnx import normalize_np

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.i = 0

        def get_next(self) -> dict[str, np.ndarray] | None:
            if self.i >= len(images):
                return None
            chunk = images[self.i : self.i + CALIBRATION_BATCH]
            self.i += CALIBRATION_BATCH
            u8 = np.stack([load_view_image(p, size, view) for p in chunk])
            return {input_name: normalize_np(u8, mean, std)}

    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(fp32_path), str(pre))
        keep_float = float_nodes(pre)
        quantize_static(
            str(pre), str(int8_path), Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            nodes_to_exclude=keep_float,
        )
    return {
        "method": "onnxruntime static quantization, QDQ format, MinMax calibration",
        "weights": "int8, per output channel",
        "activations": "uint8, per tensor",
        "calibration_images": len(images),
        "calibration_split": "train",
        "calibration_input": "canonical view" if view else "centred shorter-side crop",
        "float32_nodes": keep_float,
        "portability_note": "measured on a CPU with VNNI; on AVX2 CPUs without VNNI the "
        "uint8 x int8 kernels can saturate, so outputs there may differ from these figures "
        "(7-bit weights avoid that but cost 1.8 points of subtype accuracy on validation for "
        "1.2.0): re-run training.evaluate on the deployment CPU before shipping int8",
        "float32_note": "head convolution (features output), pooling and linear heads stay "
        "float32, so Grad-CAM from heads.npz stays exact for the returned logits",
    }


def compare(fp32_path: Path, int8_path: Path, x: np.ndarray, output_names: list[str],
            input_name: str) -> dict:
    """Per output: largest absolute difference; per logits output: argmax agreement."""
    import onnxruntime as ort

    def run(path: Path) -> list[np.ndarray]:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 2
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        outs = [sess.run(output_names, {input_name: x[i : i + 64]})
                for i in range(0, len(x), 64)]
        return [np.concatenate([o[k] for o in outs]) for k in range(len(output_names))]

    ref, got = run(fp32_path), run(int8_path)
    res: dict = {"images": int(len(x)), "max_abs_diff": {}, "argmax_agreement": {}}
    for name, a, b in zip(output_names, ref, got, strict=True):
        res["max_abs_diff"][name] = float(np.abs(a - b).max())
        if a.ndim == 2:
            res["argmax_agreement"][name] = float((a.argmax(1) == b.argmax(1)).mean())
    return res
