"""Reference graphs (ASMNet, MobileNetV2) and the inspector's params/MACs/FLOPs.

The expected counts are computed here from MobileNetV2's layer table with closed formulas,
independently of faceval.models.inspect.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from faceval.models.build import build_to_file  # noqa: E402
from faceval.models.inspect import inspect_model  # noqa: E402
from faceval.models.metadata import read_spec  # noqa: E402

# (t, c, n, s) of Sandler et al. 2018, Table 2 (blocks after the first 3x3 conv and block 0).
TABLE = [(6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def mobilenetv2_layers(blocks: int, last_conv: bool) -> list[tuple[int, int, int, int, int]]:
    """(cin, cout, k, groups, output side) of every conv at a 224 input."""
    side = 112
    layers = [(3, 32, 3, 1, side), (32, 32, 3, 32, side), (32, 16, 1, 1, side)]
    cin, b = 16, 1
    for t, c, n, s in TABLE:
        for i in range(n):
            if b > blocks:
                break
            e = cin * t
            layers.append((cin, e, 1, 1, side))
            side //= s if i == 0 else 1
            layers += [(e, e, 3, e, side), (e, c, 1, 1, side)]
            cin, b = c, b + 1
    if last_conv:
        layers.append((cin, 1280, 1, 1, side))
    return layers


def expected(arch: str, points: int) -> tuple[int, int]:
    """(params with BN folded into conv biases, MACs) by closed formula."""
    if arch == "mobilenetv2":
        layers, feat = mobilenetv2_layers(16, True), 1280
    else:
        layers, feat = mobilenetv2_layers(15, False), 24 + 32 + 64 + 96 + 160 + 160
    weights = sum(ci // g * co * k * k for ci, co, k, g, _ in layers)
    biases = sum(co for _, co, _, _, _ in layers)
    macs = sum(ci // g * co * k * k * side * side for ci, co, k, g, side in layers)
    heads = feat * (2 * points + 3) + (2 * points + 3)
    return weights + biases + heads, macs + feat * (2 * points + 3)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("built")
    return {a: build_to_file(a, 68, d / f"{a}.onnx", seed=1) for a in ("asmnet", "mobilenetv2")}


def test_closed_formula_matches_published_architecture() -> None:
    # Keras MobileNetV2(include_top=False) has 2,257,984 params counting BN as 4 per channel.
    layers = mobilenetv2_layers(16, True)
    w = sum(ci // g * co * k * k for ci, co, k, g, _ in layers)
    bn = sum(co for _, co, _, _, _ in layers)
    assert w + 4 * bn == 2_257_984


@pytest.mark.parametrize("arch", ["asmnet", "mobilenetv2"])
def test_inspector_matches_independent_count(built: dict[str, Path], arch: str) -> None:
    info = inspect_model(built[arch])
    params, macs = expected(arch, 68)
    assert (info["params"], info["macs"], info["flops"]) == (params, macs, 2 * macs)
    assert all(isinstance(info[k], int) for k in ("params", "macs", "flops"))
    assert info["opset"] == 17 and info["batch_fixed"] is None
    assert info["inputs"][0]["shape"] == ["batch", 3, 224, 224]


def test_paper_numbers(built: dict[str, Path]) -> None:
    asm, mnv2 = inspect_model(built["asmnet"]), inspect_model(built["mobilenetv2"])
    assert round(asm["flops"] / 1e9, 2) == 0.51 and round(mnv2["flops"] / 1e9, 2) == 0.60
    # folded BN; the paper (Keras) counts BN statistics too: see benchmarks/results/models.md
    assert abs(asm["params"] / 1.43e6 - 1) < 0.025 and abs(mnv2["params"] / 2.42e6 - 1) < 0.02


@pytest.mark.parametrize("arch", ["asmnet", "mobilenetv2"])
def test_built_models_run_with_dynamic_batch(built: dict[str, Path], arch: str) -> None:
    sess = ort.InferenceSession(str(built[arch]), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random((3, 3, 224, 224), dtype=np.float32)
    lm3, pose3 = sess.run(["landmarks", "pose"], {"input": x})
    lm1, pose1 = sess.run(["landmarks", "pose"], {"input": x[2:3]})
    assert lm3.shape == (3, 136) and pose3.shape == (3, 3)
    np.testing.assert_allclose(lm1[0], lm3[2], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(pose1[0], pose3[2], rtol=1e-4, atol=1e-5)
    assert np.isfinite(lm3).all() and not np.allclose(lm3[0], lm3[1])


def test_embedded_spec_and_asmnet_taps(built: dict[str, Path]) -> None:
    spec = read_spec(built["asmnet"])
    assert spec is not None
    assert (spec.input_size, spec.coords, spec.pose_output, spec.pose_scale) == ((224, 224), "asmnet", "pose", 65.0)
    assert (spec.points, spec.scheme, spec.mean, spec.std) == (68, "300w", (0.0,) * 3, (1.0,) * 3)
    model = onnx.load(str(built["asmnet"]))
    concat = next(n for n in model.graph.node if n.op_type == "Concat")
    assert [i.replace("_mpool", "") for i in concat.input] == [
        "block_1_project_BN", "block_3_project_BN", "block_6_project_BN",
        "block_10_project_BN", "block_13_project_BN", "block_15_add",
    ]
    names = {n.name for n in model.graph.node}
    assert "block_16_project" not in names and "Conv_1" not in names


def test_wflw_points_and_seed(tmp_path: Path) -> None:
    a = build_to_file("asmnet", 98, tmp_path / "a.onnx", seed=3)
    b = build_to_file("asmnet", 98, tmp_path / "b.onnx", seed=3)
    c = build_to_file("asmnet", 98, tmp_path / "c.onnx", seed=4)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    spec = read_spec(a)
    assert spec is not None and spec.points == 98 and spec.scheme == "wflw"
    assert inspect_model(a)["params"] == expected("asmnet", 98)[0]


BUNDLED_COUNTS = {  # regression values of the inspector on the real PFLD models
    "PFLD_GhostOne_112_1_opt_sim.onnx": (702_864, 74_913_944),
    "PFLD_GhostNet_112_1_opt_sim.onnx": (804_444, 98_401_800),
    "PFLD_GhostNet_Slim_112_1_opt_sim.onnx": (735_968, 81_922_120),
}


def _float_initialiser_total(path: Path) -> int:
    model = onnx.load(str(path))
    return sum(
        int(np.prod(i.dims)) for i in model.graph.initializer if i.data_type == onnx.TensorProto.FLOAT
    )


def test_bundled_model() -> None:
    from faceval.models import default_model_path

    info = inspect_model(default_model_path())
    # independent: in this graph every float initialiser is a conv/gemm weight or bias
    assert info["params"] == _float_initialiser_total(Path(default_model_path()))
    assert (info["params"], info["macs"]) == BUNDLED_COUNTS["PFLD_GhostOne_112_1_opt_sim.onnx"]
    assert info["batch_fixed"] == 1 and info["opset"] == 9 and info["spec"]["points"] == 98


@pytest.mark.parametrize("name", ["PFLD_GhostNet_112_1_opt_sim.onnx", "PFLD_GhostNet_Slim_112_1_opt_sim.onnx"])
def test_shared_pfld_models(name: str) -> None:
    from tests.conftest import shared_path

    path = shared_path("models", "pfld_ghostone", name)
    info = inspect_model(path)
    assert (info["params"], info["macs"]) == BUNDLED_COUNTS[name]
    assert info["flops"] == 2 * info["macs"] and info["spec"] is None


def _hidden_shape_model(path: Path, batch: int | str = "N") -> Path:
    """x [batch,3,8,8] -> GAP -> Reshape(feat, Abs(Shape(feat))) -> Gemm(W [3,196]).

    onnx's data propagation does not follow Abs, so shape inference cannot see the Gemm input's
    shape (as with the Shape -> Gather -> Concat reshapes of exported PyTorch models).
    """
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((3, 196), np.float32), "w")
    nodes = [
        helper.make_node("GlobalAveragePool", ["input"], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["feat"], axis=1),
        helper.make_node("Shape", ["feat"], ["shape"]),
        helper.make_node("Abs", ["shape"], ["shape_abs"]),
        helper.make_node("Reshape", ["feat", "shape_abs"], ["feat2"]),
        helper.make_node("Gemm", ["feat2", "w"], ["output"]),
    ]
    graph = helper.make_graph(nodes, "hidden", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, 8, 8])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [batch, 196])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_macs_known_where_shape_inference_cannot_see_the_gemm_input(tmp_path: Path) -> None:
    from faceval.models.inspect import inspect_model

    for batch in ("N", 1, 4):
        info = inspect_model(_hidden_shape_model(tmp_path / f"hidden_{batch}.onnx", batch))
        # Gemm at batch 1: M·N·K = 1 · 196 · 3 (no other op carries MACs)
        assert info["macs"] == 588 and info["flops"] == 1176 and "unknown_shapes" not in info, batch
        assert info["params"] == 3 * 196


def test_fsanet_macs_are_counted() -> None:
    from faceval.models.inspect import inspect_model
    from tests.conftest import shared_path

    for name in ("fsanet-1x1-iter-688590.onnx", "fsanet-var-iter-688590.onnx"):
        info = inspect_model(shared_path("models", "fsanet", name))
        assert isinstance(info["macs"], int) and info["macs"] > 0 and info["flops"] == 2 * info["macs"]
