"""Model inspection: inputs, outputs, opset, embedded spec, parameter count, MACs and FLOPs.

Counting rules (the convention of the MobileNetV2 and ASMNet papers):

Parameters
    Weights and biases of the layers that carry them:
    ``Conv``/``ConvTranspose`` weight ``W`` (``Cout·Cin/g·kh·kw``) and bias ``B`` (``Cout``),
    ``Gemm`` ``B`` and ``C``, constant operands of ``MatMul`` and the constant bias of an ``Add``
    that follows such a MatMul. BatchNormalization is counted *folded*: at inference, BN is an
    affine map per channel, ``y = a·x + b``, which folds into the preceding convolution
    (``W' = a·W``, ``B' = a·B + b``), so a BN after a Conv *without* bias adds ``C`` (the bias it
    becomes) and after a Conv *with* bias adds nothing; a BN with no foldable producer counts
    ``2C`` (scale and shift). Running mean/variance are never parameters. Initialisers that feed
    other ops (shapes, Clip bounds, Reshape targets) are not parameters. Shared initialisers are
    counted once.

    (Keras' ``count_params`` instead counts BN as ``4C``: gamma, beta, moving mean and variance;
    see ``benchmarks/results/models.md`` for how the conventions compare with published numbers.)

MACs (multiply-accumulates, at batch 1, the model's own input size)
    - ``Conv`` (incl. grouped and depthwise): ``N·Cout·Hout·Wout · (Cin/g)·kh·kw``
      = ``prod(output shape) · prod(W.shape[1:])``;
    - ``ConvTranspose``: ``prod(input shape) · prod(W.shape[1:])``;
    - ``Gemm``: ``M·N·K``; ``MatMul``: ``prod(output shape) · K``.
    Bias additions, BN, activations, pooling and element-wise ops are not counted.

FLOPs = 2 · MACs (one multiply and one add per MAC).

Shapes come from ``onnx.shape_inference`` (with data propagation) after setting the symbolic
batch dimension of every input to 1; shapes it cannot give (a Reshape target computed from the
data) are measured by one ONNX Runtime run on zeros at batch 1. A model with a fixed batch B > 1
is counted at B and divided by B.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from faceval.errors import InputError
from faceval.models.metadata import import_onnx, load_onnx, sha256_file
from faceval.models.spec import METADATA_KEY, spec_from_metadata


def _dims(type_proto: Any) -> list[Any] | None:
    tt = type_proto.tensor_type
    if not tt.HasField("shape"):
        return None
    out: list[Any] = []
    for d in tt.shape.dim:
        if d.HasField("dim_value"):
            out.append(int(d.dim_value))
        elif d.HasField("dim_param"):
            out.append(d.dim_param)
        else:
            out.append(None)
    return out


def _dtype_name(onnx: Any, elem_type: int) -> str:
    try:
        return str(onnx.helper.tensor_dtype_to_np_dtype(elem_type))
    except Exception:  # noqa: BLE001
        return onnx.TensorProto.DataType.Name(elem_type).lower()


def _constants(onnx: Any, graph: Any) -> dict[str, np.ndarray]:
    """Initialisers and Constant-node outputs: name -> array."""
    consts = {init.name: onnx.numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.output:
            for attr in node.attribute:
                if attr.name == "value":
                    consts[node.output[0]] = onnx.numpy_helper.to_array(attr.t)
    return consts


def _batch_one(onnx: Any, model: Any, init_names: set[str]) -> int:
    """Set symbolic batch dims of real inputs to 1 in place; return the fixed batch (1 if symbolic)."""
    fixed = 1
    for inp in model.graph.input:
        if inp.name in init_names or not inp.type.tensor_type.HasField("shape"):
            continue
        dims = inp.type.tensor_type.shape.dim
        if len(dims) == 0:
            continue
        d0 = dims[0]
        if d0.HasField("dim_value") and d0.dim_value > 0:
            fixed = max(fixed, int(d0.dim_value))
        else:
            d0.Clear()
            d0.dim_value = 1
    return fixed


#: Ops whose MACs need the shape of their first input and of their output.
_MAC_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")


def _known(shape: list[Any] | None) -> bool:
    return shape is not None and all(isinstance(d, int) and d >= 0 for d in shape)


def _measure_missing(onnx: Any, model: Any, graph: Any, shapes: dict[str, list[Any] | None],
                     init_names: set[str]) -> dict[str, list[Any]]:
    """Shapes that ``onnx.shape_inference`` could not give, measured with ONNX Runtime at batch 1.

    Shape inference stops at shapes computed from data it does not propagate (a Reshape whose
    target comes from ``Shape -> Gather -> Concat`` with an initialiser, as in exported PyTorch
    models, FSA-Net among them). Then the tensors around each MAC-carrying op are made graph
    outputs and one input of zeros (batch 1, the model's own spatial size) is run; empty when
    onnxruntime is missing, an input dim other than the batch is symbolic, or the run fails.
    """
    missing = []
    for node in graph.node:
        if node.op_type in _MAC_OPS:
            for name in (node.input[0], node.output[0]):
                if name and not _known(shapes.get(name)) and name not in missing:
                    missing.append(name)
    if not missing:
        return {}
    try:
        import onnxruntime as ort
    except ImportError:
        return {}
    feeds = {}
    for inp in graph.input:
        if inp.name in init_names:
            continue
        dims = _dims(inp.type)
        if not _known(dims):
            return {}
        try:
            dtype = onnx.helper.tensor_dtype_to_np_dtype(inp.type.tensor_type.elem_type)
        except Exception:  # noqa: BLE001
            return {}
        feeds[inp.name] = np.zeros(dims, dtype=dtype)
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    have = {o.name for o in probe.graph.output}
    for name in missing:
        if name not in have:
            probe.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    try:
        options = ort.SessionOptions()
        options.log_severity_level = 4
        session = ort.InferenceSession(probe.SerializeToString(), sess_options=options,
                                       providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        values = session.run(None, feeds)
    except Exception:  # noqa: BLE001 - the count stays unknown, as without onnxruntime
        return {}
    return {n: list(np.shape(v)) for n, v in zip(names, values) if n in missing}


def count_params_and_macs(model: Any) -> dict[str, Any]:
    """``params``, ``macs``, ``flops`` (ints; macs/flops None when shapes are unknown) and per-op details."""
    onnx = import_onnx()
    m = onnx.ModelProto()
    m.CopyFrom(model)
    graph = m.graph
    consts = _constants(onnx, graph)
    init_names = {i.name for i in graph.initializer}
    batch = _batch_one(onnx, m, init_names)
    # Drop stale intermediate shapes so inference recomputes them at batch 1.
    del graph.value_info[:]
    try:
        inferred = onnx.shape_inference.infer_shapes(m, data_prop=True)
    except Exception:  # noqa: BLE001 - fall back to whatever inference gives without data propagation
        inferred = onnx.shape_inference.infer_shapes(m)
    shapes: dict[str, list[Any] | None] = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        shapes[vi.name] = _dims(vi.type)
    for name, arr in consts.items():
        shapes[name] = list(arr.shape)
    shapes.update(_measure_missing(onnx, m, graph, shapes, init_names))

    producer = {out: node for node in graph.node for out in node.output}
    counted: set[str] = set()
    params = 0
    per_op: dict[str, dict[str, int]] = {}
    macs = 0
    unknown: list[str] = []

    def add_param(name: str, op: str) -> None:
        nonlocal params
        if name and name in consts and name not in counted:
            counted.add(name)
            n = int(consts[name].size)
            params += n
            per_op.setdefault(op, {"params": 0, "macs": 0, "count": 0})["params"] += n

    def add_macs(op: str, n: int) -> None:
        nonlocal macs
        macs += n
        per_op.setdefault(op, {"params": 0, "macs": 0, "count": 0})["macs"] += n

    def known(shape: list[Any] | None) -> bool:
        return shape is not None and all(isinstance(d, int) and d >= 0 for d in shape)

    for node in graph.node:
        op = node.op_type
        if op in ("Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization", "Add"):
            per_op.setdefault(op, {"params": 0, "macs": 0, "count": 0})["count"] += 1
        if op in ("Conv", "ConvTranspose"):
            for name in node.input[1:3]:
                add_param(name, op)
            w = shapes.get(node.input[1])
            ref = shapes.get(node.output[0]) if op == "Conv" else shapes.get(node.input[0])
            if known(w) and known(ref):
                add_macs(op, int(np.prod(ref, dtype=np.int64)) * int(np.prod(w[1:], dtype=np.int64)))
            else:
                unknown.append(node.name or node.output[0])
        elif op == "Gemm":
            for name in node.input:
                add_param(name, op)
            attrs = {a.name: a.i for a in node.attribute if a.name in ("transA", "transB")}
            a = shapes.get(node.input[0])
            out = shapes.get(node.output[0])
            if known(a) and known(out) and len(a) == 2:
                k = a[0] if attrs.get("transA", 0) else a[1]
                add_macs(op, int(out[0]) * int(out[1]) * int(k))
            else:
                unknown.append(node.name or node.output[0])
        elif op == "MatMul":
            for name in node.input:
                add_param(name, op)
            a = shapes.get(node.input[0])
            out = shapes.get(node.output[0])
            if known(a) and known(out) and a:
                add_macs(op, int(np.prod(out, dtype=np.int64)) * int(a[-1]))
            else:
                unknown.append(node.name or node.output[0])
        elif op == "Add":
            src = [producer.get(i) for i in node.input]
            if any(s is not None and s.op_type == "MatMul" for s in src):
                for name in node.input:
                    if name in consts and consts[name].ndim <= 1:
                        add_param(name, "MatMul")
        elif op == "BatchNormalization":
            c = int(consts[node.input[1]].size) if node.input[1] in consts else 0
            src = producer.get(node.input[0])
            if src is not None and src.op_type in ("Conv", "ConvTranspose", "Gemm"):
                has_bias = len(src.input) > 2 and bool(src.input[2])
                n = 0 if has_bias else c
            else:
                n = 2 * c
            params += n
            per_op.setdefault(op, {"params": 0, "macs": 0, "count": 0})["params"] += n
    result: dict[str, Any] = {
        "params": int(params),
        "macs": None if unknown else int(macs // batch),
        "flops": None if unknown else int(2 * macs // batch),
        "per_op": per_op,
    }
    if unknown:
        result["unknown_shapes"] = unknown[:10]
    return result


def inspect_model(path: str | Path) -> dict[str, Any]:
    """Describe an ONNX model file (needs the ``onnx`` package).

    Returns a JSON-ready dict: ``path``, ``sha256``, ``size_bytes``, ``ir_version``, ``opset``,
    ``producer``, ``inputs`` / ``outputs`` (lists of ``{name, shape, dtype}``; symbolic dims as
    strings), ``batch_fixed`` (int or None), ``metadata`` (all entries), ``spec`` (the embedded
    faceval spec as a dict, or None), ``params``, ``macs``, ``flops`` (ints; see the module
    docstring for what is counted) and ``per_op`` (op type -> count, params, macs).
    """
    onnx = import_onnx()
    path = Path(path)
    model = load_onnx(path)
    graph = model.graph
    init_names = {i.name for i in graph.initializer}

    def io(values: Any) -> list[dict[str, Any]]:
        out = []
        for v in values:
            if v.name in init_names:
                continue
            out.append(
                {
                    "name": v.name,
                    "shape": _dims(v.type),
                    "dtype": _dtype_name(onnx, v.type.tensor_type.elem_type),
                }
            )
        return out

    inputs, outputs = io(graph.input), io(graph.output)
    metadata = {p.key: p.value for p in model.metadata_props}
    spec = spec_from_metadata(metadata, source=str(path))
    opset = next((int(o.version) for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    batch_fixed = None
    if inputs and inputs[0]["shape"] and isinstance(inputs[0]["shape"][0], int) and inputs[0]["shape"][0] > 0:
        batch_fixed = int(inputs[0]["shape"][0])
    counts = count_params_and_macs(model)
    if not inputs:
        raise InputError("model has no inputs", path=path)
    info: dict[str, Any] = {
        "path": str(path),
        "sha256": sha256_file(path),
        "size_bytes": path.stat().st_size,
        "ir_version": int(model.ir_version),
        "opset": opset,
        "producer": f"{model.producer_name} {model.producer_version}".strip(),
        "inputs": inputs,
        "outputs": outputs,
        "batch_fixed": batch_fixed,
        "metadata": {k: v for k, v in metadata.items() if k != METADATA_KEY},
        "spec": spec.to_dict() if spec is not None else None,
        "nodes": len(graph.node),
        **counts,
    }
    return info
