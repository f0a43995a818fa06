"""Export the CBC logistic model to ONNX with onnx.helper (no torch needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from apps.ml.scores.features import FEATURES
from training.scores.logistic import LogisticModel

OPSET = 17


def logistic_graph(model: LogisticModel, name: str) -> onnx.ModelProto:
    """features, missing_mask [N, F] -> probability [N, 1], logit [N, 1], contributions [N, F].

    Missing values are replaced by the imputation constants (Where on the mask, so NaN in
    ``features`` under a set mask is harmless), counts go through log1p, then
    z = (t - mean) / std and contributions = z * coef + mask * missing_coef.
    """
    f = len(FEATURES)
    is_log = np.array([s.transform == "log1p" for s in FEATURES])

    def const(n: str, a: np.ndarray) -> onnx.TensorProto:
        return numpy_helper.from_array(a, n)

    inits = [
        const("impute", model.impute.astype(np.float32)),
        const("is_log", is_log),
        const("mean", model.mean.astype(np.float32)),
        const("std", model.std.astype(np.float32)),
        const("coef", model.coef.astype(np.float32)),
        const("missing_coef", model.missing_coef.astype(np.float32)),
        const("intercept", np.array([model.intercept], np.float32)),
        const("half", np.array(0.5, np.float32)),
        const("zero", np.array(0.0, np.float32)),
        const("one", np.array(1.0, np.float32)),
        const("axis1", np.array([1], np.int64)),
    ]
    nodes = [
        helper.make_node("Greater", ["missing_mask", "half"], ["is_missing"]),
        helper.make_node("Cast", ["is_missing"], ["mask01"], to=TensorProto.FLOAT),
        helper.make_node("Where", ["is_missing", "impute", "features"], ["filled"]),
        helper.make_node("Max", ["filled", "zero"], ["nonneg"]),
        helper.make_node("Add", ["nonneg", "one"], ["plus1"]),
        helper.make_node("Log", ["plus1"], ["logged"]),
        helper.make_node("Where", ["is_log", "logged", "filled"], ["transformed"]),
        helper.make_node("Sub", ["transformed", "mean"], ["centred"]),
        helper.make_node("Div", ["centred", "std"], ["z"]),
        helper.make_node("Mul", ["z", "coef"], ["value_part"]),
        helper.make_node("Mul", ["mask01", "missing_coef"], ["missing_part"]),
        helper.make_node("Add", ["value_part", "missing_part"], ["contributions"]),
        helper.make_node("ReduceSum", ["contributions", "axis1"], ["summed"], keepdims=1),
        helper.make_node("Add", ["summed", "intercept"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["probability"]),
    ]
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", f]),
         helper.make_tensor_value_info("missing_mask", TensorProto.FLOAT, ["N", f])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["N", 1]),
         helper.make_tensor_value_info("logit", TensorProto.FLOAT, ["N", 1]),
         helper.make_tensor_value_info("contributions", TensorProto.FLOAT, ["N", f])],
        initializer=inits,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="hemaclinic-training")
    proto.ir_version = 8
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export_logistic(model: LogisticModel, path: Path, name: str) -> None:
    path.write_bytes(logistic_graph(model, name).SerializeToString())
