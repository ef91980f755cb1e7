"""Sessions: providers, CUDA fallback, error classification, fixed batch detection."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest

from faceval.errors import InputError, RuntimeFailure
from faceval.models import default_model_path
from faceval.models.session import ORT_HINT, batch_dim_fixed, create_session

ort = pytest.importorskip("onnxruntime")
HAS_CUDA = "CUDAExecutionProvider" in ort.get_available_providers()


def test_cpu_session() -> None:
    info = create_session(default_model_path(), "cpu")
    assert info.providers_used == ["CPUExecutionProvider"] and not info.fell_back and info.message is None
    assert batch_dim_fixed(info) == 1 and info.input_shape == [1, 3, 112, 112]


@pytest.mark.skipif(HAS_CUDA, reason="this runtime has CUDA")
def test_auto_on_cpu_only_runtime_is_silent() -> None:
    """No CUDAExecutionProvider installed: CPU is the expected outcome of auto, no note, no fallback."""
    info = create_session(default_model_path(), "auto")
    assert info.device == "cpu" and not info.fell_back and info.message is None
    assert info.providers_used == ["CPUExecutionProvider"]


@pytest.mark.skipif(HAS_CUDA, reason="this runtime has CUDA")
def test_cuda_without_provider_is_runtime_failure() -> None:
    with pytest.raises(RuntimeFailure) as err:
        create_session(default_model_path(), "cuda")
    assert err.value.exit_code == 3 and "\n" not in str(err.value) and "CUDAExecutionProvider" in str(err.value)


@pytest.mark.skipif(HAS_CUDA, reason="this runtime has CUDA")
def test_cuda_listed_but_not_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    """A GPU build whose CUDA libraries are missing: ORT lists CUDA but the session gets only CPU."""
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info = create_session(default_model_path(), "auto")
        assert info.fell_back and info.device == "cpu" and "could not be enabled" in (info.message or "")
        assert info.providers_requested[0] == "CUDAExecutionProvider"
        with pytest.raises(RuntimeFailure, match="could not enable CUDAExecutionProvider"):
            create_session(default_model_path(), "cuda")


def test_missing_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="model file not found") as err:
        create_session(tmp_path / "nope.onnx", "cpu")
    assert "nope.onnx" in str(err.value)
    bad = tmp_path / "bad.onnx"
    bad.write_text("hello\nworld\n")
    with pytest.raises(InputError, match=r"bad\.onnx: not an ONNX model \(") as err:
        create_session(bad, "cpu")
    assert "\n" not in str(err.value)
    with pytest.raises(InputError, match="unknown device"):
        create_session(default_model_path(), "tpu")


def test_missing_runtime_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(RuntimeFailure) as err:
        create_session(default_model_path(), "cpu")
    # faceval is not on the package index: the hint must name packages pip can find there
    assert str(err.value) == ORT_HINT and "faceval[" not in ORT_HINT
    assert "pip install 'onnxruntime>=1.16'" in ORT_HINT and "'onnxruntime-gpu>=1.16'" in ORT_HINT


def test_missing_onnx_hint_names_a_package_pip_can_find(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from faceval.models.metadata import ONNX_HINT, load_onnx

    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(InputError) as err:
        load_onnx(default_model_path())
    assert str(err.value) == ONNX_HINT and "faceval[" not in ONNX_HINT and "pip install 'onnx>=1.14'" in ONNX_HINT


def test_onnx_is_a_base_dependency() -> None:
    import configparser
    from pathlib import Path

    cfg = configparser.ConfigParser()
    cfg.read(Path(__file__).resolve().parents[3] / "setup.cfg")
    base = [line.strip() for line in cfg["options"]["install_requires"].splitlines() if line.strip()]
    assert "onnx>=1.14" in base


def test_dynamic_batch_detected(tiny_model) -> None:
    assert batch_dim_fixed(create_session(tiny_model(), "cpu")) is None
    assert batch_dim_fixed(create_session(tiny_model("fixed.onnx", batch=4), "cpu")) == 4


HAS_TRT = "TensorrtExecutionProvider" in ort.get_available_providers()
TRT, CUDA_EP, CPU_EP = "TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"


@pytest.mark.skipif(HAS_TRT, reason="this runtime has TensorRT")
def test_tensorrt_without_provider_is_runtime_failure() -> None:
    with pytest.raises(RuntimeFailure) as err:
        create_session(default_model_path(), "tensorrt")
    text = str(err.value)
    assert err.value.exit_code == 3 and "\n" not in text
    assert text.startswith("--device tensorrt: this ONNX Runtime has no TensorrtExecutionProvider (available: ")


@pytest.mark.skipif(HAS_TRT, reason="this runtime has TensorRT")
def test_tensorrt_listed_but_not_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    """TensorRT listed, but the session reports only CPU (missing TensorRT libraries): exit 3, no silent CUDA/CPU."""
    monkeypatch.setattr(ort, "get_available_providers", lambda: [TRT, CUDA_EP, CPU_EP])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeFailure, match="could not enable TensorrtExecutionProvider") as err:
            create_session(default_model_path(), "tensorrt")
    assert err.value.exit_code == 3 and "\n" not in str(err.value)


class _Reporting:
    """A real CPU session that reports the providers a GPU machine's session would."""

    def __init__(self, path: str, sess_options=None, providers=None) -> None:  # noqa: ANN001
        self.requested = list(providers or [])
        self._inner = _REAL_SESSION(path, sess_options=sess_options, providers=[CPU_EP])

    def get_providers(self) -> list[str]:
        return _REPORTED or self.requested

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self._inner, name)


_REAL_SESSION = ort.InferenceSession
_REPORTED: list[str] = []


def test_tensorrt_requested_before_cuda_and_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The session reports TensorRT: device 'tensorrt', providers TensorRT -> CUDA -> CPU, in provenance."""
    monkeypatch.setattr(ort, "get_available_providers", lambda: [TRT, CUDA_EP, CPU_EP])
    monkeypatch.setattr(ort, "InferenceSession", _Reporting)
    info = create_session(default_model_path(), "tensorrt")
    assert info.session.requested == [TRT, CUDA_EP, CPU_EP]
    prov = info.provenance()
    assert prov["device"] == "tensorrt" and prov["providers_requested"] == [TRT, CUDA_EP, CPU_EP]
    assert prov["providers_used"] == [TRT, CUDA_EP, CPU_EP] and not prov["fell_back"]


def test_tensorrt_session_that_reports_only_cuda_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """ORT dropped TensorRT but kept CUDA: still exit 3 (the user asked for TensorRT)."""
    monkeypatch.setattr(ort, "get_available_providers", lambda: [TRT, CUDA_EP, CPU_EP])
    monkeypatch.setattr(ort, "InferenceSession", _Reporting)
    monkeypatch.setattr(sys.modules[__name__], "_REPORTED", [CUDA_EP, CPU_EP])
    with pytest.raises(RuntimeFailure, match="--device tensorrt: ONNX Runtime could not enable TensorrtExecutionProvider"):
        create_session(default_model_path(), "tensorrt")
    info = create_session(default_model_path(), "cuda")  # the same session is fine for --device cuda
    assert info.device == "cuda" and info.providers_requested == [CUDA_EP, CPU_EP]
