"""Reference graphs built with the ``onnx`` package: MobileNetV2 and ASMNet (random weights).

Both follow Keras' ``MobileNetV2(alpha=1.0, input_shape=(224, 224, 3))`` layer for layer (the
architecture ASMNet's authors used), with every BatchNormalization folded into the preceding
convolution (emitted as Conv with a bias) and ReLU6 as ``Clip(0, 6)``. Stride-2 convolutions pad
like Keras' ``ZeroPadding2D(correct_pad)``: 0 before, 1 after. Tensor names follow Keras' layer
names (``block_3_project_BN`` is the output of block 3's folded projection), so ASMNet's taps can
be found in the graph.

MobileNetV2 backbone (Keras numbering), ``t`` expansion, ``c`` output channels, ``s`` stride:

=========================  ===  ====  ===
block                      t    c     s
=========================  ===  ====  ===
Conv1 (3x3)                -    32    2
expanded_conv (block 0)    1    16    1
block_1 .. block_2         6    24    2
block_3 .. block_5         6    32    2
block_6 .. block_9         6    64    2
block_10 .. block_12       6    96    1
block_13 .. block_15       6    160   2
block_16                   6    320   1
Conv_1 (1x1)               -    1280  1
=========================  ===  ====  ===

A block with stride 1 and equal input/output channels adds its input (``block_N_add``).

- ``mobilenetv2``: backbone, global average pooling (1280), dense heads ``landmarks`` (2K) and
  ``pose`` (3).
- ``asmnet``: blocks up to ``block_15_add`` (block_16 and Conv_1 removed); global average pooling
  of ``block_1_project_BN`` (24), ``block_3_project_BN`` (32), ``block_6_project_BN`` (64),
  ``block_10_project_BN`` (96), ``block_13_project_BN`` (160) and ``block_15_add`` (160),
  concatenated (536 features), then the two dense heads.

Graphs: opset 17, IR version 8, input ``input`` ``[batch, 3, 224, 224]`` float32 NCHW RGB in
``pixel/255`` (dynamic batch), outputs ``landmarks [batch, 2K]`` and ``pose [batch, 3]``. A
faceval spec (coords ``asmnet``, pose_scale 65) is embedded under ``faceval.spec``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from faceval.errors import InputError
from faceval.models.metadata import import_onnx, save_atomic, set_metadata
from faceval.models.spec import METADATA_KEY, ModelSpec

ARCHITECTURES = ("asmnet", "mobilenetv2")
OPSET = 17
IR_VERSION = 8
INPUT_SIZE = 224
#: Point counts the reference graphs are built for, and their scheme (faceval.schemes).
BUILT_SCHEMES = {68: "300w", 98: "wflw"}

#: (expansion t, output channels c, repeats n, first stride s) of blocks 1..16.
INVERTED_RESIDUAL_SETTINGS = ((6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
#: ASMNet's pooled taps (Keras layer names) and their channels.
ASMNET_TAPS = (
    ("block_1_project_BN", 24),
    ("block_3_project_BN", 32),
    ("block_6_project_BN", 64),
    ("block_10_project_BN", 96),
    ("block_13_project_BN", 160),
    ("block_15_add", 160),
)


class _Graph:
    """Tiny helper accumulating nodes and seeded random initialisers."""

    def __init__(self, onnx: Any, seed: int) -> None:
        self.onnx = onnx
        self.rng = np.random.default_rng(seed)
        self.nodes: list[Any] = []
        self.inits: list[Any] = []

    def init(self, name: str, array: np.ndarray) -> str:
        self.inits.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, name: str | None = None, **attrs: Any) -> str:
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [output], name=name or output, **attrs))
        return output

    def conv(self, x: str, cin: int, cout: int, k: int, stride: int, name: str, out: str, groups: int = 1) -> str:
        """Conv (BN folded: weight + bias), He-normal weights, small biases."""
        fan_in = cin // groups * k * k
        w = self.rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(cout, cin // groups, k, k))
        b = self.rng.normal(0.0, 0.01, size=(cout,))
        if k == 1:
            pads = [0, 0, 0, 0]
        elif stride == 2:  # Keras ZeroPadding2D(correct_pad) for even inputs: 0 before, 1 after
            pads = [0, 0, 1, 1]
        else:
            pads = [k // 2] * 4
        return self.node(
            "Conv",
            [x, self.init(f"{name}/kernel", w), self.init(f"{name}/bias", b)],
            out,
            name=name,
            kernel_shape=[k, k],
            strides=[stride, stride],
            pads=pads,
            group=groups,
        )

    def relu6(self, x: str, out: str) -> str:
        lo = "relu6/min" if any(i.name == "relu6/min" for i in self.inits) else self.init("relu6/min", np.array(0.0))
        hi = "relu6/max" if any(i.name == "relu6/max" for i in self.inits) else self.init("relu6/max", np.array(6.0))
        return self.node("Clip", [x, lo, hi], out)

    def dense(self, x: str, fin: int, fout: int, name: str) -> str:
        w = self.rng.normal(0.0, np.sqrt(1.0 / fin) * 0.1, size=(fin, fout))
        b = self.rng.normal(0.0, 0.01, size=(fout,))
        return self.node("Gemm", [x, self.init(f"{name}/kernel", w), self.init(f"{name}/bias", b)], name)

    def gap(self, x: str, out: str) -> str:
        pooled = self.node("GlobalAveragePool", [x], f"{out}/gap")
        return self.node("Flatten", [pooled], out, axis=1)


def _backbone(g: _Graph, x: str, upto_block: int, last_conv: bool) -> dict[str, str]:
    """Emit the MobileNetV2 backbone; return Keras layer name -> tensor name of interesting outputs."""
    taps: dict[str, str] = {}
    x = g.relu6(g.conv(x, 3, 32, 3, 2, "Conv1", "bn_Conv1"), "Conv1_relu")
    # block 0: depthwise + project, no expansion
    x = g.relu6(g.conv(x, 32, 32, 3, 1, "expanded_conv_depthwise", "expanded_conv_depthwise_BN", groups=32),
                "expanded_conv_depthwise_relu")
    x = g.conv(x, 32, 16, 1, 1, "expanded_conv_project", "expanded_conv_project_BN")
    cin, block = 16, 1
    for t, c, n, s in INVERTED_RESIDUAL_SETTINGS:
        for i in range(n):
            if block > upto_block:
                break
            stride = s if i == 0 else 1
            p = f"block_{block}"
            e = cin * t
            h = g.relu6(g.conv(x, cin, e, 1, 1, f"{p}_expand", f"{p}_expand_BN"), f"{p}_expand_relu")
            h = g.relu6(g.conv(h, e, e, 3, stride, f"{p}_depthwise", f"{p}_depthwise_BN", groups=e), f"{p}_depthwise_relu")
            h = g.conv(h, e, c, 1, 1, f"{p}_project", f"{p}_project_BN")
            taps[f"{p}_project_BN"] = h
            if stride == 1 and cin == c:
                h = g.node("Add", [x, h], f"{p}_add")
                taps[f"{p}_add"] = h
            x, cin = h, c
            block += 1
    if last_conv:
        x = g.relu6(g.conv(x, cin, 1280, 1, 1, "Conv_1", "Conv_1_bn"), "out_relu")
    taps["last"] = x
    taps["last_channels"] = str(1280 if last_conv else cin)
    return taps


def reference_spec(points: int, arch: str) -> ModelSpec:
    """The spec embedded in built graphs (ASMNet's preprocessing and decoding)."""
    return ModelSpec(
        input_size=(INPUT_SIZE, INPUT_SIZE),
        layout="NCHW",
        color="RGB",
        mean=(0.0, 0.0, 0.0),
        std=(1.0, 1.0, 1.0),
        resample="bilinear",
        box="landmarks",
        box_scale=1.2,
        square=True,
        landmark_output="landmarks",
        coords="asmnet",
        points=points,
        scheme=BUILT_SCHEMES[points],
        pose_output="pose",
        pose_order=("yaw", "pitch", "roll"),
        pose_scale=65.0,
    )


def build_model(arch: str, points: int = 68, *, seed: int = 0) -> Any:
    """Return an ``onnx.ModelProto`` of ``asmnet`` or ``mobilenetv2`` with ``points`` landmarks."""
    onnx = import_onnx()
    arch = arch.lower()
    if arch not in ARCHITECTURES:
        raise InputError(f"unknown architecture '{arch}': use one of {', '.join(ARCHITECTURES)}")
    if points not in BUILT_SCHEMES:
        raise InputError(f"--points {points}: use 68 (300w) or 98 (wflw)")
    g = _Graph(onnx, seed)
    if arch == "mobilenetv2":
        taps = _backbone(g, "input", 16, True)
        feat, nfeat = g.gap(taps["last"], "global_average_pooling2d"), 1280
        doc = "MobileNetV2 (alpha 1.0, 224x224) + dense heads landmarks (2K) and pose (3); BN folded; random weights"
    else:
        taps = _backbone(g, "input", 15, False)
        pooled = [g.gap(taps[name], f"{name}_mpool") for name, _ in ASMNET_TAPS]
        feat = g.node("Concat", pooled, "concatenate", axis=1)
        nfeat = sum(c for _, c in ASMNET_TAPS)
        doc = "ASMNet: MobileNetV2 to block_15_add, 6 pooled taps (536) + dense heads; BN folded; random weights"
    g.dense(feat, nfeat, 2 * points, "landmarks")
    g.dense(feat, nfeat, 3, "pose")

    x = onnx.helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, ["batch", 3, INPUT_SIZE, INPUT_SIZE])
    outs = [
        onnx.helper.make_tensor_value_info("landmarks", onnx.TensorProto.FLOAT, ["batch", 2 * points]),
        onnx.helper.make_tensor_value_info("pose", onnx.TensorProto.FLOAT, ["batch", 3]),
    ]
    graph = onnx.helper.make_graph(g.nodes, arch, [x], outs, initializer=g.inits)
    model = onnx.helper.make_model(
        graph,
        opset_imports=[onnx.helper.make_opsetid("", OPSET)],
        producer_name="faceval",
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    set_metadata(model, {METADATA_KEY: reference_spec(points, arch).to_json(), "faceval.seed": str(seed)})
    onnx.checker.check_model(model)
    return model


def build_to_file(arch: str, points: int, out: str | Path, *, seed: int = 0) -> Path:
    """Build and write atomically; return the path."""
    return save_atomic(build_model(arch, points, seed=seed), out)
