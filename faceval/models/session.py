"""ONNX Runtime sessions with honest provider selection (CUDA -> CPU).

onnxruntime is imported lazily, inside functions, so that importing faceval (and the CLI's
``--help``) never loads it. ``onnxruntime`` and ``onnxruntime-gpu`` overwrite each other, so the
install hint names both packages (faceval itself is not on the package index).

Device policy:

- ``cpu``: CPUExecutionProvider only.
- ``cuda``: CUDAExecutionProvider is required; when the runtime lacks it, or the session does not
  actually get it (missing CUDA/cuDNN libraries make ORT drop it silently), RuntimeFailure (exit 3).
- ``tensorrt``: the same rule for TensorrtExecutionProvider, requested as ``[TensorRT, CUDA, CPU]``
  (CUDA after it for the nodes TensorRT does not take, as ONNX Runtime recommends); the session must
  really report TensorrtExecutionProvider, else RuntimeFailure (exit 3). Never silently CUDA or CPU.
- ``auto``: CUDA is requested only when ``get_available_providers()`` lists it, and used only when
  ``session.get_providers()`` really contains it. A runtime without CUDAExecutionProvider (a CPU-only
  install) runs on CPU silently (``fell_back`` False, no message: CPU is the expected outcome); when
  the provider is listed but cannot start, the session runs on CPU and ``SessionInfo.fell_back`` /
  ``message`` say why.
"""

from __future__ import annotations

import re

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faceval.errors import InputError, RuntimeFailure

#: faceval is not on the package index, so the hint names the runtime package itself.
ORT_HINT = (
    "ONNX Runtime is not installed: pip install 'onnxruntime>=1.16' "
    "(or 'onnxruntime-gpu>=1.16' on a CUDA machine; never both)"
)
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
CPU = "CPUExecutionProvider"
DEVICES = ("auto", "cpu", "cuda", "tensorrt")
#: devices whose session computes on the GPU (inputs can be bound in CUDA memory)
GPU_DEVICES = ("cuda", "tensorrt")


@dataclass
class SessionInfo:
    """A session and what it really runs on.

    Attributes:
        session: the ``onnxruntime.InferenceSession``.
        providers_requested: providers passed to the session, in priority order.
        providers_used: ``session.get_providers()`` (what ORT actually enabled).
        fell_back: True when ``auto`` requested an installed CUDA provider that could not start and
            the session runs on CPU instead (False on a CPU-only runtime: nothing was attempted).
        message: one line for the user saying what happened (None when nothing to say).
        device: ``"tensorrt"``, ``"cuda"`` or ``"cpu"``: where the session computes.
        model_path: the model file.
    """

    session: Any
    providers_requested: list[str]
    providers_used: list[str]
    fell_back: bool
    message: str | None
    device: str = "cpu"
    model_path: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def input_name(self) -> str:
        return self.session.get_inputs()[0].name

    @property
    def input_shape(self) -> list[Any]:
        return list(self.session.get_inputs()[0].shape)

    @property
    def output_names(self) -> list[str]:
        return [o.name for o in self.session.get_outputs()]

    def provenance(self) -> dict[str, Any]:
        """What a run file records about the execution."""
        return {
            "providers_requested": list(self.providers_requested),
            "providers_used": list(self.providers_used),
            "device": self.device,
            "fell_back": self.fell_back,
            "message": self.message,
            "onnxruntime_version": ort_version(),
        }


def import_ort() -> Any:
    """Import onnxruntime (quiet logger); a missing runtime raises RuntimeFailure with the hint."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise RuntimeFailure(ORT_HINT) from None
    try:
        ort.set_default_logger_severity(4)  # fatal only: ORT's own coloured lines never reach the terminal
    except Exception:  # noqa: BLE001 - very old runtimes
        pass
    return ort


def ort_version() -> str | None:
    """The installed onnxruntime version, or None (without raising)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    return str(ort.__version__)


def available_providers() -> list[str]:
    """``onnxruntime.get_available_providers()``."""
    return list(import_ort().get_available_providers())


def _ort_reason(exc: BaseException) -> str:
    """ONNX Runtime's parse error without its '[ONNXRuntimeError] : 7 : CODE : Load model from ... failed:' preamble."""
    text = _first_line(exc)
    text = re.sub(r"^\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*", "", text)
    text = re.sub(r"Load model from .*? failed:\s*", "", text)
    return text.strip() or "unreadable"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _make_session(ort: Any, path: Path, providers: list[str], intra_op_threads: int | None,
                  allow_spinning: bool = True) -> Any:
    opts = ort.SessionOptions()
    opts.log_severity_level = 4  # fatal only (node errors are raised as exceptions anyway)
    if intra_op_threads is not None:
        opts.intra_op_num_threads = int(intra_op_threads)
    if not allow_spinning:
        # Idle ORT threads otherwise spin and take CPU from the decode threads of `faceval run`.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        with warnings.catch_warnings():  # ORT warns (UserWarning) about providers it cannot load
            warnings.simplefilter("ignore")
            return ort.InferenceSession(str(path), sess_options=opts, providers=providers)
    except Exception as exc:  # noqa: BLE001 - ORT raises pybind11 types; classify by name
        kind = type(exc).__name__
        if kind in ("InvalidProtobuf", "NoSuchFile"):
            raise InputError(f"not an ONNX model ({_ort_reason(exc)})", path=path) from None
        if kind in ("InvalidGraph", "InvalidArgument"):
            raise InputError(f"invalid ONNX model: {path}: {_first_line(exc)}") from None
        raise


_GPU_PROVIDERS = {"cuda": [CUDA, CPU], "tensorrt": [TENSORRT, CUDA, CPU]}
_GPU_HINTS = {
    "cuda": "replace onnxruntime with onnxruntime-gpu "
            "(pip uninstall -y onnxruntime && pip install 'onnxruntime-gpu>=1.16')",
    "tensorrt": "install onnxruntime-gpu built with TensorRT and the TensorRT libraries, or use --device cuda",
}
_GPU_LIBS = {"cuda": "the CUDA and cuDNN libraries", "tensorrt": "the TensorRT, CUDA and cuDNN libraries"}


def _required_gpu_session(ort: Any, path: Path, device: str, available: list[str],
                          intra_op_threads: int | None, allow_spinning: bool) -> SessionInfo:
    """``--device cuda|tensorrt``: the session must really get that provider, else RuntimeFailure (exit 3)."""
    providers = _GPU_PROVIDERS[device]
    primary = providers[0]
    if primary not in available:
        raise RuntimeFailure(
            f"--device {device}: this ONNX Runtime has no {primary} "
            f"(available: {', '.join(available)}); {_GPU_HINTS[device]}, "
            "or use --device auto|cpu"
        )
    try:
        session = _make_session(ort, path, [p for p in providers if p == CPU or p in available],
                                intra_op_threads, allow_spinning)
    except (InputError, RuntimeFailure):
        raise
    except Exception as exc:  # noqa: BLE001
        raise RuntimeFailure(f"--device {device}: {primary} session failed: {_first_line(exc)}") from None
    used = list(session.get_providers())
    if primary not in used:
        raise RuntimeFailure(
            f"--device {device}: ONNX Runtime could not enable {primary} "
            f"(check {_GPU_LIBS[device]} match this onnxruntime-gpu); use --device auto|cpu"
        )
    requested = [p for p in providers if p == CPU or p in available]
    return SessionInfo(session, requested, used, False, None, device, str(path))


def create_session(
    model_path: str | Path,
    device: str = "auto",
    *,
    intra_op_threads: int | None = None,
    allow_spinning: bool = True,
) -> SessionInfo:
    """Open ``model_path`` on ``device`` (``auto`` | ``cpu`` | ``cuda`` | ``tensorrt``); see the module docstring.

    Raises:
        InputError: missing file (named), a file that is not ONNX, an unknown device.
        RuntimeFailure: onnxruntime missing; ``cuda`` / ``tensorrt`` requested but not usable; a session that
            fails for another reason.
    """
    if device not in DEVICES:
        raise InputError(f"unknown device '{device}': use one of {', '.join(DEVICES)}")
    path = Path(model_path)
    if not path.is_file():
        raise InputError("model file not found", path=path)
    ort = import_ort()
    available = list(ort.get_available_providers())

    def build(providers: list[str]) -> Any:
        try:
            return _make_session(ort, path, providers, intra_op_threads, allow_spinning)
        except (InputError, RuntimeFailure):
            raise
        except Exception as exc:  # noqa: BLE001
            raise RuntimeFailure(f"cannot create an ONNX Runtime session for {path}: {_first_line(exc)}") from None

    if device == "cpu":
        session = build([CPU])
        return SessionInfo(session, [CPU], list(session.get_providers()), False, None, "cpu", str(path))

    if device in GPU_DEVICES:
        return _required_gpu_session(ort, path, device, available, intra_op_threads, allow_spinning)

    # auto
    if CUDA not in available:
        # A CPU-only install: CPU is what auto means here, nothing fell back, nothing to say.
        session = build([CPU])
        return SessionInfo(session, [CPU], list(session.get_providers()), False, None, "cpu", str(path))
    try:
        session = _make_session(ort, path, [CUDA, CPU], intra_op_threads, allow_spinning)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - fall back to CPU, say why
        session = build([CPU])
        return SessionInfo(
            session,
            [CUDA, CPU],
            list(session.get_providers()),
            True,
            f"CUDA session failed ({_first_line(exc)}); running on CPU",
            "cpu",
            str(path),
        )
    used = list(session.get_providers())
    if CUDA in used:
        return SessionInfo(session, [CUDA, CPU], used, False, None, "cuda", str(path))
    return SessionInfo(
        session,
        [CUDA, CPU],
        used,
        True,
        "CUDAExecutionProvider is installed but could not be enabled (CUDA/cuDNN libraries?); running on CPU",
        "cpu",
        str(path),
    )


def batch_dim_fixed(session: Any) -> int | None:
    """The fixed batch size of the first input, or None when the batch dimension is dynamic."""
    session = getattr(session, "session", session)
    shape = list(session.get_inputs()[0].shape)
    if shape and isinstance(shape[0], int) and shape[0] > 0:
        return int(shape[0])
    return None
