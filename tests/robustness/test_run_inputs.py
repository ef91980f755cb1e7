"""`faceval run` with hostile models and spec files: each gets its documented answer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from faceval_cli.main import main

onnx = pytest.importorskip("onnx", reason="building test models needs the onnx package (pip install '.[onnx]')")
from onnx import TensorProto, helper  # noqa: E402


def _model(path: Path, *, batch: int | str = "N", rank4: bool = True, out_values: int = 196, fill: float | None = None,
           spec: dict | None = None) -> Path:
    """A tiny graph: flatten the input, keep ``out_values`` values, squash into [0,1] (or fill with a constant)."""
    shape = [batch, 3, 112, 112] if rank4 else [batch, 3 * 112 * 112]
    nodes = [
        helper.make_node("Flatten", ["input"], ["flat"], axis=1),
        helper.make_node("Slice", ["flat", "starts", "ends", "axes"], ["part"]),
        helper.make_node("Sigmoid", ["part"], ["squashed"]),
    ]
    inits = [
        helper.make_tensor("starts", TensorProto.INT64, [1], [0]),
        helper.make_tensor("ends", TensorProto.INT64, [1], [out_values]),
        helper.make_tensor("axes", TensorProto.INT64, [1], [1]),
    ]
    if fill is not None:
        nodes.append(helper.make_node("Mul", ["squashed", "zero"], ["zeroed"]))
        nodes.append(helper.make_node("Add", ["zeroed", "fill"], ["output"]))
        inits += [helper.make_tensor("zero", TensorProto.FLOAT, [1], [0.0]),
                  helper.make_tensor("fill", TensorProto.FLOAT, [1], [fill])]
    else:
        nodes[-1] = helper.make_node("Sigmoid", ["part"], ["output"])
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [batch, out_values])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if spec is not None:
        entry = model.metadata_props.add()
        entry.key, entry.value = "faceval.spec", json.dumps(spec)
    onnx.save(model, str(path))
    return path


SPEC = {"input_size": [112, 112], "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "coords": "unit", "points": 98,
        "scheme": "wflw"}


def _run(capsys, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["run", "--no-cache", "--no-progress", "--out", str(tmp_path / "out.h5"), *args])
    out, err = capsys.readouterr()
    return code, out, err


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("faceval: error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_nan_outputs_are_failures_not_a_crash(tmp_path, capsys):
    model = _model(tmp_path / "nan.onnx", fill=float("nan"), spec=SPEC)
    code, out, err = _run(capsys, tmp_path, "--model", str(model), "--format", "json")
    assert code == 0, err
    stats = json.loads(out)["splits"]["all"]
    assert stats["n_nonfinite"] == 3 and stats["fr@0.10"] == 1.0 and stats["auc@0.10"] == 0.0
    assert stats["nme"] is None  # every image failed: the mean over finite NMEs is undefined (inf -> null)


def test_fixed_batch_larger_than_the_data_is_padded(tmp_path, capsys):
    model = _model(tmp_path / "fixed4.onnx", batch=4, spec=SPEC)
    code, out, err = _run(capsys, tmp_path, "--model", str(model), "--format", "json")
    assert code == 0, err
    assert json.loads(out)["splits"]["all"]["n"] == 3
    from faceval.runs.runfile import read_run

    run = read_run(tmp_path / "out.h5")
    assert np.isfinite(run.predictions).all()
    assert run.provenance["batch_size"] == 4


def test_unexpected_output_size_names_outputs_and_spec_field(tmp_path, capsys):
    model = _model(tmp_path / "ten.onnx", out_values=10, spec=SPEC)
    code, _, err = _run(capsys, tmp_path, "--model", str(model))
    line = _one_error_line(err)
    assert code == 2 and "output" in line and "10" in line and ("points" in line or "landmark_output" in line)
    assert not (tmp_path / "out.h5").exists()


def test_wrong_input_rank_is_an_input_error(tmp_path, capsys):
    model = _model(tmp_path / "rank2.onnx", rank4=False)
    code, _, err = _run(capsys, tmp_path, "--model", str(model))
    line = _one_error_line(err)
    assert code == 2 and "rank2.onnx" in line and "[N,37632]" in line and "input_size" in line


def test_a_file_that_is_not_onnx(tmp_path, capsys):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"this is not a protobuf")
    code, _, err = _run(capsys, tmp_path, "--model", str(bad))
    line = _one_error_line(err)
    assert code == 2 and str(bad) in line


def test_spec_file_with_unknown_field(tmp_path, capsys):
    model = _model(tmp_path / "ok.onnx")
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"input_size": [112, 112], "box_scael": 1.3}))
    code, _, err = _run(capsys, tmp_path, "--model", str(model), "--spec", str(spec))
    line = _one_error_line(err)
    assert code == 2 and "box_scael" in line


def test_spec_file_with_wrong_type(tmp_path, capsys):
    model = _model(tmp_path / "ok.onnx")
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"box_scale": "large"}))
    code, _, err = _run(capsys, tmp_path, "--model", str(model), "--spec", str(spec))
    line = _one_error_line(err)
    assert code == 2 and "box_scale" in line


def test_unwritable_out_leaves_nothing(tmp_path, capsys):
    code = main(["run", "--no-cache", "--no-progress", "--out", str(tmp_path / "missing" / "x.h5")])
    line = _one_error_line(capsys.readouterr().err)
    assert code == 2 and "missing" in line and "does not exist" in line
    assert not (tmp_path / "missing").exists()
    assert "CPUExecutionProvider" not in capsys.readouterr().err  # refused before opening the model
