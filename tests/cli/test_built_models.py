"""Built reference models (ASMNet, MobileNetV2; 68 and 98 points) through ``faceval run`` and ``report``.

Random weights: no accuracy claim, only that the embedded spec is honoured end to end and that the
model cost a report counts for the run (``faceval run`` itself never counts it) is the inspector's,
which matches an independent count.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="building and inspecting models needs the onnx package")

from faceval.runs.runfile import read_run  # noqa: E402
from faceval_cli.main import main  # noqa: E402
from tests.faceval.models.test_build_inspect import expected  # noqa: E402  (closed-formula count)

MODELS = [(arch, points) for arch in ("asmnet", "mobilenetv2") for points in (68, 98)]


def _main_json(args: list[str]) -> dict:
    """Run the CLI in process; return its JSON stdout (exit code must be 0)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(args)
    assert code == 0, args
    return json.loads(buf.getvalue())


def _run(model: Path, out: Path) -> dict:
    return _main_json(["run", "--model", str(model), "--dataset", "sample", "--no-cache", "--out", str(out),
                       "--format", "json", "--no-progress"])


def _conv_gemm_params(path: Path) -> int:
    """Sizes of all Conv/Gemm initialisers (BN is folded into the convs of the built graphs)."""
    model = onnx.load(str(path))
    inits = {i.name: int(np.prod(i.dims)) for i in model.graph.initializer}
    return sum(inits.get(name, 0) for n in model.graph.node if n.op_type in ("Conv", "Gemm") for name in n.input)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[tuple[str, int], dict]]:
    """Each model built with ``faceval models build`` and run on the bundled sample (own model-cost cache)."""
    d = tmp_path_factory.mktemp("built_models")
    mp = pytest.MonkeyPatch()
    mp.delenv("FACEVAL_CACHE_DIR", raising=False)
    mp.setenv("XDG_CACHE_HOME", str(d / "xdg"))
    out: dict[tuple[str, int], dict] = {}
    for arch, points in MODELS:
        model = d / f"{arch}_{points}.onnx"
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["models", "build", arch, "--points", str(points), "--out", str(model)]) == 0
        run_file = d / f"{arch}_{points}.h5"
        out[(arch, points)] = {"model": model, "run_file": run_file, "result": _run(model, run_file)}
    yield out
    mp.undo()


@pytest.mark.parametrize("arch,points", MODELS)
def test_run_uses_embedded_spec(built, arch: str, points: int) -> None:
    entry = built[(arch, points)]
    result = entry["result"]
    stats = result["splits"]["all"]
    assert stats["n"] == 3 and stats["n_failed_inputs"] == 0
    assert math.isfinite(stats["nme"]) and stats["nme"] > 0  # random weights: finite, no accuracy claim
    assert result["protocol"].get("conversion") == ("wflw->300w" if points == 98 else None)
    assert not [k for k in stats if k.startswith("mae")]  # the sample has no pose labels

    run = read_run(entry["run_file"])
    assert run.provenance["spec_source"] == "ONNX metadata"
    spec = run.provenance["spec"]
    assert (list(spec["input_size"]), spec["coords"], spec["pose_output"], spec["pose_scale"]) == (
        [224, 224], "asmnet", "pose", 65.0)
    assert spec["points"] == points and spec["scheme"] == ("wflw" if points == 98 else "300w")
    assert run.pose_gt is None
    assert run.pose_pred is not None and run.pose_pred.shape == (3, 3) and np.isfinite(run.pose_pred).all()
    assert run.predictions.shape == (3, 68, 2) and np.isfinite(run.predictions).all()


def test_pose_output_scaled_by_the_embedded_factor(built, tmp_path: Path) -> None:
    """The same graph with pose_scale 1 in its spec gives pose_pred / 65: the factor comes from the spec."""
    from faceval.models.metadata import read_spec, write_spec

    entry = built[("asmnet", 68)]
    spec = read_spec(entry["model"])
    assert spec is not None and spec.pose_scale == 65.0
    unscaled = write_spec(entry["model"], dataclasses.replace(spec, pose_scale=1.0), tmp_path / "unscaled.onnx")
    _run(unscaled, tmp_path / "unscaled.h5")
    raw = read_run(tmp_path / "unscaled.h5").pose_pred
    scaled = read_run(entry["run_file"]).pose_pred
    np.testing.assert_allclose(scaled, 65.0 * raw, rtol=1e-5, atol=1e-6)
    assert not np.allclose(raw, 0.0)


@pytest.mark.parametrize("arch,points", MODELS)
def test_model_info_matches_inspector_and_independent_count(built, arch: str, points: int) -> None:
    from faceval.models.cost import fill_model_costs

    entry = built[(arch, points)]
    recorded = read_run(entry["run_file"])
    assert "params" not in recorded.model_info  # the run did not count it
    filled = fill_model_costs([recorded])
    assert filled.warnings == []
    run = filled.runs[0]
    info = _main_json(["models", "info", "--format", "json", str(entry["model"])])
    params, macs = expected(arch, points)  # closed formula from MobileNetV2's layer table
    assert (run.model_info["params"], run.model_info["flops"]) == (info["params"], info["flops"])
    assert (info["params"], info["macs"], info["flops"]) == (params, macs, 2 * macs)
    assert _conv_gemm_params(entry["model"]) == params
    assert run.model_info["images_per_s"] > 0
    assert run.model_info["providers_used"]


def test_report_model_columns(built, capsys) -> None:
    paths = [str(built[m]["run_file"]) for m in MODELS]
    capsys.readouterr()
    assert main(["report", *paths, "--format", "markdown", "--metrics", "nme", "--model-columns", "params,flops"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| Model | Params (M) | FLOPs (B) | All NME (%) |\n")
    for arch, points in MODELS:
        params, macs = expected(arch, points)
        label = f"{arch}\\_{points}"
        assert f"| {label} | {params / 1e6:.2f} | {2 * macs / 1e9:.2f} | " in out, label
    # ASMNet paper, Table 1: ASMNet 1.43 M / 0.51 B, MobileNetV2 2.42 M / 0.60 B (Keras also counts BN)
    assert "| asmnet\\_98 | 1.43 | 0.51 | " in out and "| mobilenetv2\\_68 | 2.38 | 0.60 | " in out
    assert "Params in millions; FLOPs in billions" in out
