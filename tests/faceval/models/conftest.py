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
