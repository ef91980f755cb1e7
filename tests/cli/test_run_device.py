"""`faceval run` batch size per device, with the GPU session mocked (no GPU is needed).

The mocked session computes on CPU but reports CUDAExecutionProvider, as a session on a CUDA
machine does; the run must then use batch 64 for a dynamic-batch model when no --batch-size is
given, say so as an assumption and record it, and keep 32 on CPU and any explicit --batch-size.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import faceval.models.session as session_mod
from faceval_cli.main import main
from tests.faceval.models.conftest import make_hostile_model

pytest.importorskip("onnx", reason="building test models needs the onnx package")

CUDA, CPU = "CUDAExecutionProvider", "CPUExecutionProvider"


@pytest.fixture
def fake_cuda(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Sessions that report CUDA; returns the batch sizes every session.run was fed."""
    real = session_mod.create_session
    fed: list[int] = []

    def create(path, device="auto", **kwargs):  # type: ignore[no-untyped-def]
        info = real(path, "cpu", **kwargs)
        inner = info.session

        class Reporting:
            def __getattr__(self, name):  # type: ignore[no-untyped-def]
                return getattr(inner, name)

            def get_providers(self):  # type: ignore[no-untyped-def]
                return [CUDA, CPU]

            def run(self, names, feeds, *args):  # type: ignore[no-untyped-def]
                fed.append(len(next(iter(feeds.values()))))
                return inner.run(names, feeds, *args)

        info.session, info.device = Reporting(), "cuda"
        info.providers_requested, info.providers_used = [CUDA, CPU], [CUDA, CPU]
        return info

    monkeypatch.setattr(session_mod, "create_session", create)
    return fed


def _run(capfd, tmp_path: Path, model: Path, *args: str) -> tuple[int, str, dict]:
    from faceval.runs.runfile import read_run

    capfd.readouterr()
    out = tmp_path / "out.h5"
    code = main(["run", "--no-cache", "--no-progress", "--model", str(model), "--out", str(out), *args])
    err = capfd.readouterr().err
    return code, err, (read_run(out).provenance if code == 0 else {})


def test_cuda_dynamic_batch_defaults_to_64(capfd, tmp_path: Path, fake_cuda: list[int]) -> None:
    code, err, prov = _run(capfd, tmp_path, make_hostile_model(tmp_path / "dyn.onnx"), "--device", "cuda")
    assert code == 0, err
    assert "assumed: batch size 64 (dynamic-batch model on cuda; --batch-size to change)" in err
    assert prov["batch_size"] == 64 and prov["device"] == "cuda" and prov["providers_used"][0] == CUDA
    assert any(a.startswith("batch size 64") for a in prov["spec_assumptions"])
    # the sample set has 3 faces: one batch holds them all (a batch of 32 would too, so the
    # recorded size above is the check; this one shows the mocked session really ran them)
    assert sum(n for n in fake_cuda) >= 3


def test_cuda_explicit_batch_size_is_kept(capfd, tmp_path: Path, fake_cuda: list[int]) -> None:
    code, err, prov = _run(capfd, tmp_path, make_hostile_model(tmp_path / "dyn.onnx"), "--device", "cuda",
                           "--batch-size", "2")
    assert code == 0, err
    assert "batch size 64" not in err and prov["batch_size"] == 2
    assert max(fake_cuda) == 2  # the 3 faces went in batches of at most 2


def test_cuda_fixed_batch_model_keeps_its_batch(capfd, tmp_path: Path, fake_cuda: list[int]) -> None:
    code, err, prov = _run(capfd, tmp_path, make_hostile_model(tmp_path / "fixed.onnx", batch=1), "--device", "cuda")
    assert code == 0, err
    assert "batch size 64" not in err and set(fake_cuda) == {1}


def test_cpu_default_is_unchanged(capfd, tmp_path: Path) -> None:
    code, err, prov = _run(capfd, tmp_path, make_hostile_model(tmp_path / "dyn.onnx"), "--device", "cpu")
    assert code == 0, err
    assert "batch size 64" not in err and prov["batch_size"] == 32 and prov["device"] == "cpu"


@pytest.mark.skipif("TensorrtExecutionProvider" in __import__("onnxruntime").get_available_providers(),
                    reason="this runtime has TensorRT")
@pytest.mark.parametrize("command", ["run", "bench"])
def test_tensorrt_without_provider_exits_3_with_one_line(capfd, tmp_path: Path, command: str) -> None:
    model = make_hostile_model(tmp_path / "dyn.onnx")
    capfd.readouterr()
    args = ["run", "--no-cache", "--no-progress", "--out", str(tmp_path / "out.h5")] if command == "run" else ["bench"]
    code = main([*args, "--model", str(model), "--device", "tensorrt"])
    err = capfd.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("faceval: error:")]
    assert code == 3 and len(lines) == 1 and "Traceback" not in err, err
    assert "--device tensorrt: this ONNX Runtime has no TensorrtExecutionProvider" in lines[0]
    assert not (tmp_path / "out.h5").exists()
