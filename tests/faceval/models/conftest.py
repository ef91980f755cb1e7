"""Fixtures for the models tests: tiny ONNX graphs built in the test run (needs the onnx package)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest


def make_tiny_model(
    path: Path,
    *,
    outputs: tuple[tuple[str, int], ...] = (("out0", 136),),
    batch: int | str = "batch",
    layout: str = "NCHW",
    size: int = 8,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Input image -> GlobalAveragePool -> Flatten -> one Gemm per output (deterministic weights)."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes, inits = [], []
    in_shape = [batch, 3, size, size] if layout == "NCHW" else [batch, size, size, 3]
    x = "input"
    if layout == "NHWC":
        nodes.append(helper.make_node("Transpose", ["input"], ["nchw"], perm=[0, 3, 1, 2]))
        x = "nchw"
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"]))
    nodes.append(helper.make_node("Flatten", ["gap"], ["feat"], axis=1))
    outs = []
    for name, n in outputs:
        inits.append(numpy_helper.from_array(rng.normal(size=(3, n)).astype(np.float32), f"{name}_w"))
        inits.append(numpy_helper.from_array(rng.normal(size=(n,)).astype(np.float32), f"{name}_b"))
        nodes.append(helper.make_node("Gemm", ["feat", f"{name}_w", f"{name}_b"], [name]))
        outs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch, n]))
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("input", TensorProto.FLOAT, in_shape)], outs, initializer=inits
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))
    return path


@pytest.fixture
def tiny_model(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``tiny_model(name="m.onnx", **make_tiny_model kwargs)`` -> path."""

    def factory(name: str = "tiny.onnx", **kwargs: object) -> Path:
        return make_tiny_model(tmp_path / name, **kwargs)  # type: ignore[arg-type]

    return factory


def tiny_weights(points: int = 98) -> tuple[np.ndarray, np.ndarray]:
    """The weights of :func:`make_hostile_model`'s head (so tests compute its outputs independently)."""
    rng = np.random.default_rng(1)
    return rng.normal(size=(3, 2 * points)).astype(np.float32), rng.normal(size=(2 * points,)).astype(np.float32)


def tiny_expected(x: np.ndarray, points: int = 98) -> np.ndarray:
    """What :func:`make_hostile_model` computes for an NCHW float input ``x``: sigmoid(GAP(x) @ W + b)."""
    w, b = tiny_weights(points)
    z = x.astype(np.float64).mean(axis=(2, 3)) @ w.astype(np.float64) + b
    return 1.0 / (1.0 + np.exp(-z))


def make_hostile_model(
    path: Path,
    *,
    in_type: str = "float",
    batch: int | str = "N",
    size: int | str = 16,
    rows: str = "same",
    out_type: str = "float",
    fail_above: float | None = None,
    two_inputs: bool = False,
    points: int = 98,
    spec: dict | None = None,
) -> Path:
    """Input [batch,3,size,size] -> (Cast) -> GAP -> Gemm -> Sigmoid = 2K values in [0,1] per image.

    Hostile variants: ``rows="one"`` keeps only the first row ([1,2K] for any batch), ``rows="double"``
    returns 2N rows; ``out_type="int64"|"uint8"|"bool"`` casts the landmark output; ``in_type="float16"|
    "uint8"`` changes the input type; ``fail_above=t`` makes the model raise (Gather out of bounds)
    on a batch holding an image whose channel-0 mean exceeds ``t``; ``two_inputs`` adds a second input.
    The spec (98 WFLW points, unit coords, pixel/255) is embedded unless ``spec`` replaces it.
    """
    onnx = pytest.importorskip("onnx")
    import json

    from onnx import TensorProto, helper, numpy_helper

    types = {"float": TensorProto.FLOAT, "float16": TensorProto.FLOAT16, "uint8": TensorProto.UINT8,
             "int64": TensorProto.INT64, "bool": TensorProto.BOOL}
    w, b = tiny_weights(points)
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")]
    nodes = []
    x = "input"
    if in_type != "float":
        nodes.append(helper.make_node("Cast", ["input"], ["xf"], to=TensorProto.FLOAT))
        x = "xf"
    nodes += [
        helper.make_node("GlobalAveragePool", [x], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["feat"], axis=1),
        helper.make_node("Gemm", ["feat", "w", "b"], ["z"]),
        helper.make_node("Sigmoid", ["z"], ["lm"]),
    ]
    lm = "lm"
    if fail_above is not None:
        inits += [
            numpy_helper.from_array(np.array([0], np.int64), "c0"), numpy_helper.from_array(np.array([1], np.int64), "c1"),
            numpy_helper.from_array(np.array([1], np.int64), "ax1"),
            numpy_helper.from_array(np.array([fail_above], np.float32), "t"),
            numpy_helper.from_array(np.array([1000], np.int64), "big"),
            numpy_helper.from_array(np.array([0.0, 0.0], np.float32), "two"),
        ]
        nodes += [
            helper.make_node("Slice", ["feat", "c0", "c1", "ax1"], ["ch0"]),
            helper.make_node("Greater", ["ch0", "t"], ["hot"]),
            helper.make_node("Cast", ["hot"], ["hot_i"], to=TensorProto.INT64),
            helper.make_node("Mul", ["hot_i", "big"], ["idx"]),
            helper.make_node("Gather", ["two", "idx"], ["zero"], axis=0),
            helper.make_node("Add", ["lm", "zero"], ["lm_checked"]),
        ]
        lm = "lm_checked"
    inputs = [helper.make_tensor_value_info("input", types[in_type], [batch, 3, size, size])]
    if two_inputs:
        inputs.append(helper.make_tensor_value_info("scale", TensorProto.FLOAT, [1]))
        nodes.append(helper.make_node("Mul", [lm, "scale"], ["lm_scaled"]))
        lm = "lm_scaled"
    out_rows: int | str = batch
    if rows == "one":
        inits += [numpy_helper.from_array(np.array([0], np.int64), "r0"),
                  numpy_helper.from_array(np.array([1], np.int64), "r1"),
                  numpy_helper.from_array(np.array([0], np.int64), "ax0")]
        nodes.append(helper.make_node("Slice", [lm, "r0", "r1", "ax0"], ["lm_one"]))
        lm, out_rows = "lm_one", 1
    elif rows == "double":
        nodes.append(helper.make_node("Concat", [lm, lm], ["lm_two"], axis=0))
        lm, out_rows = "lm_two", "2N"
    if out_type != "float":
        nodes.append(helper.make_node("Mul", [lm, "hundred"], ["lm_big"]))
        inits.append(numpy_helper.from_array(np.array([100.0], np.float32), "hundred"))
        nodes.append(helper.make_node("Cast", ["lm_big"], ["landmarks"], to=types[out_type]))
    else:
        nodes.append(helper.make_node("Identity", [lm], ["landmarks"]))
    graph = helper.make_graph(
        nodes, "hostile", inputs,
        [helper.make_tensor_value_info("landmarks", types[out_type], [out_rows, 2 * points])], initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    spec = spec if spec is not None else {
        "input_size": [size, size], "points": points, "scheme": "wflw" if points == 98 else "300w",
        "coords": "unit", "landmark_output": "landmarks"}
    entry = model.metadata_props.add()
    entry.key, entry.value = "faceval.spec", json.dumps(spec)
    onnx.save(model, str(path))
    return path
