"""Run a landmark model on batches of prepared inputs, and check what comes back.

:class:`ModelRunner` is the one place where faceval calls ``session.run`` during an evaluation.
When it opens (:meth:`ModelRunner.open`), before any image is decoded, it checks what faceval
can feed and read:

- exactly one input, of a float type (float32, float16 or float64; fp16 inputs are fed fp16);
  a uint8 or int input, or a second input, is refused with what is supported;
- the landmark and pose outputs are of a float type (an int, uint8 or bool output is refused,
  naming the output and its dtype);
- the batch tensor fits a memory bound (:data:`DEFAULT_MAX_BATCH_BYTES`, overridable);
- a probe inference on zeros at the batch size it will use: every output named by the spec must
  have one row per image. A model whose output has one row for a batch of two is fixed-batch in
  effect: it runs one image at a time (said in a note). Any other row count (2N rows for N
  images) is a :class:`~faceval.errors.RuntimeFailure` naming the output, its shape and the batch.

Every later batch is checked the same way (the row count, the dtype). A batch on which the model
raises is re-run one image at a time; the images that still fail are returned as per-image
failures with ONNX Runtime's reason (``strict`` makes the first one a RuntimeFailure).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import numpy as np

from faceval.errors import InputError, RuntimeFailure
from faceval.models.decode import coords_warning, decode_landmarks, decode_pose, select_outputs
from faceval.models.resolve import IOInfo
from faceval.models.spec import ModelSpec

if TYPE_CHECKING:
    from faceval.models.session import SessionInfo

#: faceval's own errors pass through the per-image failure handling untouched.
FacevalErrors = (InputError, RuntimeFailure)

#: Batch size of a dynamic-batch model when the user gives none: on CPU, and on a GPU session
#: (the session really got CUDA or TensorRT), where small batches leave the device idle.
DEFAULT_BATCH_SIZE = 32
DEFAULT_GPU_BATCH_SIZE = 64


def default_batch_size(session_info: "SessionInfo") -> int:
    """The batch size used when none was asked for: 64 on a GPU session, else 32.

    A fixed-batch model runs at its own batch whatever this says (see :class:`ModelRunner`).
    """
    from faceval.models.session import GPU_DEVICES

    return DEFAULT_GPU_BATCH_SIZE if session_info.device in GPU_DEVICES else DEFAULT_BATCH_SIZE


#: Largest batch input tensor faceval builds unless told otherwise (2 GiB).
DEFAULT_MAX_BATCH_BYTES = 2 * 1024**3

#: ONNX Runtime input types faceval feeds, and the numpy dtype it feeds them as.
INPUT_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64}
FLOAT_OUTPUTS = ("tensor(float)", "tensor(float16)", "tensor(double)", "tensor(bfloat16)")


@dataclass
class BatchPrediction:
    """Decoded outputs of one batch, row ``i`` for input image ``i``.

    Attributes:
        landmarks: ``(m, K, 2)`` in model-input pixels (NaN rows for failed images); None for a
            model without a landmark output.
        pose: ``(m, 3)`` yaw, pitch, roll in degrees, or None when the spec has no pose output.
        failures: position in the batch -> reason, for images the model raised on.
    """

    landmarks: np.ndarray | None
    pose: np.ndarray | None
    failures: dict[int, str] = field(default_factory=dict)


def _ort_type(io: IOInfo, name: str) -> str:
    return io.types.get(name, "")


def _dtype_word(ort_type: str) -> str:
    m = re.fullmatch(r"tensor\((\w+)\)", ort_type)
    word = m.group(1) if m else ort_type or "unknown"
    return {"float": "float32", "double": "float64"}.get(word, word)


def _shape_text(shape: object) -> str:
    return "[" + ",".join("?" if d is None else str(d) for d in shape) + "]"  # type: ignore[union-attr]


def check_model_io(io: IOInfo, spec: ModelSpec, model: object = None) -> np.dtype:
    """Check the inputs and outputs faceval will use; return the dtype the input is fed as.

    Raises InputError (naming ``model``) for a model with several inputs, an input of a
    non-float type, or a landmark/pose output of a non-float type.
    """
    if len(io.inputs) != 1:
        listed = ", ".join(f"{n} {_shape_text(s)} {_dtype_word(_ort_type(io, n))}" for n, s in io.inputs)
        raise InputError(
            f"the model has {len(io.inputs)} inputs ({listed}); faceval feeds one image input "
            "(a float32, float16 or float64 tensor [batch,3,H,W] or [batch,H,W,3])",
            path=model,
        )
    name, shape = io.inputs[0]
    ort_type = _ort_type(io, name)
    if ort_type and ort_type not in INPUT_DTYPES:
        raise InputError(
            f"input '{name}' {_shape_text(shape)} is {_dtype_word(ort_type)}; faceval feeds float32, float16 or "
            "float64 images normalised as (pixel/255 - mean)/std (wrap a uint8 model in a float input, "
            "e.g. with a Cast node, and set mean 0, std 1/255)",
            path=model,
        )
    for kind, out in (("landmark", spec.landmark_output), ("pose", spec.pose_output)):
        t = _ort_type(io, out) if out else ""
        if t and t not in FLOAT_OUTPUTS:
            raise InputError(
                f"{kind} output '{out}' is {_dtype_word(t)}; faceval reads {kind}s from a float output "
                f"(set {kind}_output in the spec to a float output)",
                path=model,
            )
    return np.dtype(INPUT_DTYPES.get(ort_type, np.float32))


_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_bytes(text: str, what: str = "size") -> int:
    """``"4GiB"``, ``"500MB"``, ``"2e9"`` -> bytes; anything else is an InputError naming ``what``."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?(?:[eE][0-9]+)?)\s*([A-Za-z]*)\s*", text)
    unit = m.group(2).lower() if m else ""
    if m is None or unit not in _UNITS or float(m.group(1)) * _UNITS[unit] < 1:
        raise InputError(f"{what} '{text}': expected a size such as 2GiB, 500MB or 1000000 (bytes)")
    return int(float(m.group(1)) * _UNITS[unit])


def batch_tensor_bytes(spec: ModelSpec, batch_size: int, dtype: np.dtype) -> int:
    """Bytes of one batch input tensor ``batch x 3 x H x W`` of ``dtype``."""
    return int(batch_size) * 3 * int(spec.width) * int(spec.height) * np.dtype(dtype).itemsize


def format_bytes(n: int) -> str:
    """``51.50 GiB``, ``0.2 MiB``, ``9.8 KiB``, ``12 bytes``."""
    if n >= 1024**3:
        return f"{n / 1024**3:.2f} GiB"
    if n >= 1024**2:
        return f"{n / 1024**2:.1f} MiB"
    return f"{n / 1024:.1f} KiB" if n >= 1024 else f"{n} bytes"


def check_batch_memory(spec: ModelSpec, batch_size: int, dtype: np.dtype, max_bytes: int | None = None) -> None:
    """Refuse a batch input tensor above ``max_bytes`` (default 2 GiB) before any work (InputError)."""
    limit = DEFAULT_MAX_BATCH_BYTES if max_bytes is None else int(max_bytes)
    need = batch_tensor_bytes(spec, batch_size, dtype)
    if need <= limit:
        return
    per_image = batch_tensor_bytes(spec, 1, dtype)
    fits = limit // per_image
    fix = (f"use --batch-size {fits} or less, or " if fits >= 1 and batch_size > 1 else "") + \
        "raise the bound with --max-batch-memory"
    raise InputError(
        f"a batch of {batch_size} model inputs of {spec.width}x{spec.height} {np.dtype(dtype).name} needs "
        f"{format_bytes(need)}, above the bound of {format_bytes(limit)}; {fix}"
    )


def ort_reason(exc: BaseException) -> str:
    """ONNX Runtime's message on one line without its ``[ONNXRuntimeError] : 2 : CODE :`` preamble."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = re.sub(r"^\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*\w+\s*:\s*", "", text)
    return text[:300]


class ModelRunner:
    """Feeds batches to one session under one spec; see the module docstring.

    Attributes:
        batch_size: images per ``session.run`` (the model's fixed batch, 1 when the model is
            fixed-batch in effect, else the batch size asked for).
        dtype: the numpy dtype the input is fed as.
        notes: what the runner decided that the user should know (also passed to ``on_note``).
    """

    def __init__(self, session_info: "SessionInfo", spec: ModelSpec, io: IOInfo, dtype: np.dtype,
                 batch_size: int, *, strict: bool, on_note: Callable[[str], None] | None) -> None:
        self._session = session_info.session
        self._model = session_info.model_path or None
        self._where = f"{self._model}: " if self._model else ""
        self.spec = spec
        self.dtype = np.dtype(dtype)
        self._input = io.inputs[0][0]
        self._names = [n for n, _ in io.outputs]
        first = io.inputs[0][1][0] if io.inputs[0][1] else None
        self.fixed_batch = int(first) if isinstance(first, int) and first > 0 else None
        self.batch_size = self.fixed_batch or int(batch_size)
        self.strict = strict
        self.notes: list[str] = []
        self._on_note = on_note
        self._checked_coords = False
        self._run_options = _quiet_run_options()

    @classmethod
    def open(
        cls,
        session_info: "SessionInfo",
        spec: ModelSpec,
        *,
        batch_size: int = 32,
        strict: bool = False,
        max_batch_bytes: int | None = None,
        on_note: Callable[[str], None] | None = None,
    ) -> "ModelRunner":
        """Check the model against ``spec`` (see the module docstring) and probe it; no image is read."""
        io = IOInfo.from_session(session_info.session)
        dtype = check_model_io(io, spec, session_info.model_path or None)
        runner = cls(session_info, spec, io, dtype, batch_size, strict=strict, on_note=on_note)
        check_batch_memory(spec, runner.batch_size, dtype, max_batch_bytes)
        runner._probe()
        return runner

    # -- internals ---------------------------------------------------------------------
    def _note(self, text: str) -> None:
        self.notes.append(text)
        if self._on_note is not None:
            self._on_note(text)

    def _zeros(self, n: int) -> np.ndarray:
        w, h = self.spec.width, self.spec.height
        shape = (n, 3, h, w) if self.spec.layout == "NCHW" else (n, h, w, 3)
        return np.zeros(shape, dtype=self.dtype)

    def _session_run(self, x: np.ndarray) -> list[np.ndarray]:
        return self._session.run(None, {self._input: x}, self._run_options)

    def _picked(self, outputs: list[np.ndarray]) -> list[tuple[str, np.ndarray]]:
        by_name = dict(zip(self._names, outputs))
        return [(n, np.asarray(by_name[n])) for n in (self.spec.landmark_output, self.spec.pose_output)
                if n is not None and n in by_name]

    def _rows_ok(self, outputs: list[np.ndarray], n: int) -> tuple[str, np.ndarray] | None:
        """The first used output whose leading dimension is not ``n`` (None when all are)."""
        for name, arr in self._picked(outputs):
            if arr.ndim == 0 or arr.shape[0] != n:
                return name, arr
        return None

    def _wrong_rows(self, name: str, arr: np.ndarray, n: int) -> RuntimeFailure:
        return RuntimeFailure(
            f"{self._where}output '{name}' has shape [{','.join(map(str, arr.shape))}] for a batch of {n} "
            f"images; expected {n} rows, one per image"
        )

    def _check_dtypes(self, outputs: list[np.ndarray]) -> None:
        for name, arr in self._picked(outputs):
            if arr.dtype.kind != "f":
                kind = "landmark" if name == self.spec.landmark_output else "pose"
                raise InputError(
                    f"{kind} output '{name}' is {arr.dtype.name}; faceval reads {kind}s from a float output",
                    path=self._model,
                )

    def _probe(self) -> None:
        n = self.fixed_batch or min(2, self.batch_size)
        x = self._zeros(n)
        try:
            outputs = self._session_run(x)
        except Exception as exc:  # noqa: BLE001 - ORT raises its own exception types
            if n == 1 or self.fixed_batch:
                raise RuntimeFailure(
                    f"{self._where}the model fails on a {_shape_text(x.shape)} {self.dtype.name} input: {ort_reason(exc)}"
                ) from None
            self._probe_single(f"the model fails on a batch of {n} ({ort_reason(exc)})")
            return
        self._check_dtypes(outputs)
        wrong = self._rows_ok(outputs, n)
        if wrong is None:
            return
        name, arr = wrong
        if n > 1 and arr.ndim >= 1 and arr.shape[0] == 1 and not self.fixed_batch:
            self._probe_single(f"output '{name}' has shape [{','.join(map(str, arr.shape))}] for a batch of {n}: "
                               "the model is fixed-batch")
            return
        raise self._wrong_rows(name, arr, n)

    def _probe_single(self, why: str) -> None:
        x = self._zeros(1)
        try:
            outputs = self._session_run(x)
        except Exception as exc:  # noqa: BLE001
            raise RuntimeFailure(
                f"{self._where}the model fails on a {_shape_text(x.shape)} {self.dtype.name} input: {ort_reason(exc)}"
            ) from None
        self._check_dtypes(outputs)
        wrong = self._rows_ok(outputs, 1)
        if wrong is not None:
            raise self._wrong_rows(*wrong, 1)
        self.batch_size = 1
        self._note(f"{why}; running one image at a time")

    def _infer(self, x: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Raw (landmark, pose) arrays for the ``len(x)`` images of ``x`` (padded to a fixed batch)."""
        m = len(x)
        feed = x.astype(self.dtype, copy=False)
        if self.fixed_batch is not None and m < self.fixed_batch:
            feed = np.concatenate([feed, np.zeros((self.fixed_batch - m,) + feed.shape[1:], dtype=feed.dtype)])
        outputs = self._session_run(feed)
        self._check_dtypes(outputs)
        wrong = self._rows_ok(outputs, len(feed))
        if wrong is not None:
            raise self._wrong_rows(*wrong, len(feed))
        lm, pose = select_outputs(self._names, outputs, self.spec)
        return (None if lm is None else np.asarray(lm)[:m]), (None if pose is None else np.asarray(pose)[:m])

    def _decode(self, lm: np.ndarray | None, pose: np.ndarray | None) -> BatchPrediction:
        if lm is not None and not self._checked_coords:
            self._checked_coords = True
            warning = coords_warning(lm, self.spec)
            if warning:
                self._note(f"warning: {warning}")
        return BatchPrediction(
            landmarks=None if lm is None else decode_landmarks(lm, self.spec),
            pose=None if pose is None else decode_pose(pose, self.spec),
        )

    def _fail(self, exc: BaseException) -> str:
        reason = f"model inference failed: {ort_reason(exc)}"
        if self.strict:
            raise RuntimeFailure(f"{self._where}{reason} (--strict)") from None
        return reason

    # -- public --------------------------------------------------------------------------
    def run(self, x: np.ndarray) -> BatchPrediction:
        """Predict for the images of ``x`` (already normalised, float32, in the spec's layout)."""
        m = len(x)
        if m == 0:
            return self._failed_rows(0, {})
        if m > self.batch_size:
            return _concat([self.run(x[i : i + self.batch_size]) for i in range(0, m, self.batch_size)])
        try:
            lm, pose = self._infer(x)
        except FacevalErrors:
            raise
        except Exception as exc:  # noqa: BLE001 - ORT raises its own exception types
            if m == 1:
                return self._failed_rows(1, {0: self._fail(exc)})
            # Find the image(s) the model raises on: one at a time.
            parts = []
            for i in range(m):
                try:
                    parts.append(self._decode(*self._infer(x[i : i + 1])))
                except FacevalErrors:
                    raise
                except Exception as exc_one:  # noqa: BLE001
                    parts.append(self._failed_rows(1, {0: self._fail(exc_one)}))
            return _concat(parts)
        return self._decode(lm, pose)

    def _failed_rows(self, m: int, failures: dict[int, str]) -> BatchPrediction:
        k = int(self.spec.points) if self.spec.points else 0
        lm = np.full((m, k, 2), np.nan) if k else None
        pose = np.full((m, 3), np.nan) if self.spec.pose_output is not None else None
        return BatchPrediction(landmarks=lm, pose=pose, failures=failures)


def _concat(parts: list[BatchPrediction]) -> BatchPrediction:
    failures: dict[int, str] = {}
    offset = 0
    for part in parts:
        n = len(part.landmarks) if part.landmarks is not None else len(part.pose)  # type: ignore[arg-type]
        failures.update({offset + i: why for i, why in part.failures.items()})
        offset += n
    lms = [p.landmarks for p in parts]
    poses = [p.pose for p in parts]
    return BatchPrediction(
        landmarks=None if any(v is None for v in lms) else np.concatenate(lms),  # type: ignore[arg-type]
        pose=None if any(v is None for v in poses) else np.concatenate(poses),  # type: ignore[arg-type]
        failures=failures,
    )


def _quiet_run_options() -> object:
    """RunOptions that keep ONNX Runtime's own (coloured) log lines off the terminal."""
    from faceval.models.session import import_ort

    ort = import_ort()
    options = ort.RunOptions()
    options.log_severity_level = 4
    return options
