"""``faceval bench`` on tiny models built in the test (JSON structure, fallback, errors)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from faceval_cli.main import main

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
HAS_CUDA = "CUDAExecutionProvider" in ort.get_available_providers()


def tiny(path: Path, batch: int | str = "batch") -> Path:
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), dtype=np.float32), "w")
    nodes = [
        helper.make_node("Conv", ["input", "w"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["c"], ["g"]),
        helper.make_node("Flatten", ["g"], ["output"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, 16, 16])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [batch, 4])],
        initializer=[w],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_bench_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tiny(tmp_path / "t.onnx")
    args = ["bench", "--model", str(model), "--device", "cpu", "--batch-sizes", "1,4", "--warmup", "1"]
    assert main([*args, "--repeat", "3", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["provider"] == "CPUExecutionProvider" and data["providers_used"] == ["CPUExecutionProvider"]
    assert data["batch_fixed"] is None and data["notes"] == [] and data["repeat"] == 3
    assert [r["batch_size"] for r in data["results"]] == [1, 4]
    for r in data["results"]:
        assert r["latency_ms_p90"] >= r["latency_ms_median"] > 0
        assert r["throughput_ips"] == pytest.approx(r["batch_size"] * 1000 / r["latency_ms_median"])


def test_bench_fixed_batch_and_human(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tiny(tmp_path / "f.onnx", batch=2)
    assert main(["bench", "--model", str(model), "--device", "cpu", "--repeat", "2", "--warmup", "0"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "fixed to 2" in err and "images/s" in err


@pytest.mark.skipif(HAS_CUDA, reason="this runtime has CUDA")
def test_bench_cuda_exits_3_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tiny(tmp_path / "t.onnx")
    assert main(["bench", "--model", str(model), "--device", "cuda"]) == 3
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and "CUDAExecutionProvider" in err


@pytest.mark.skipif(HAS_CUDA, reason="this runtime has CUDA")
def test_bench_auto_on_cpu_only_runtime(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tiny(tmp_path / "t.onnx")
    assert main(["bench", "--model", str(model), "--batch-sizes", "2", "--repeat", "2", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert not data["fell_back"] and data["device"] == "cpu" and "running on CPU" not in err


def test_bench_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tiny(tmp_path / "t.onnx")
    assert main(["bench", "--model", str(model), "--batch-sizes", "1,x"]) == 2
    assert "--batch-sizes" in capsys.readouterr().err
    assert main(["bench", "--model", str(tmp_path / "missing.onnx")]) == 2
    assert "missing.onnx" in capsys.readouterr().err


def test_bench_refuses_batches_over_the_memory_bound_before_measuring(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    model = tiny(tmp_path / "t.onnx")  # one image: 3 x 16 x 16 float32 = 3072 bytes
    code = main(["bench", "--model", str(model), "--device", "cpu", "--batch-sizes", "1,8,64",
                 "--max-batch-memory", "10KB", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert ("--batch-sizes: batch 64 needs 192.0 KiB of model input, above the bound of 9.8 KiB; "
            "use batch sizes up to 3 or raise --max-batch-memory") in err
    assert main(["bench", "--model", str(model), "--device", "cpu", "--batch-sizes", "1,3", "--repeat", "1",
                 "--warmup", "0", "--max-batch-memory", "10KB", "--format", "json"]) == 0
    assert [r["batch_size"] for r in json.loads(capsys.readouterr().out)["results"]] == [1, 3]
