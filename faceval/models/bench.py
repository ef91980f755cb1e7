"""Latency and throughput of an ONNX model per batch size (library side of ``faceval bench``).

Method: random float32 input of the model's input shape (seeded), ``warmup`` untimed runs, then
``repeat`` timed runs per batch size with ``time.perf_counter``. On CUDA (and TensorRT) the input is bound on the
device with I/O binding (``OrtValue.ortvalue_from_numpy(x, "cuda", 0)``, outputs bound on the
device) and every timed run is ``run_with_iobinding`` followed by ``synchronize_outputs()``, so
host-device copies are excluded and asynchronous work is waited for. On CPU a plain
``session.run`` is timed.

Reported per batch size: median, p90, mean and min latency per call (ms), median latency per
image (ms) and throughput (images/s = batch / median latency). A model with a fixed batch
dimension is measured only at that batch size (``notes`` says so).
"""

from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from faceval.errors import InputError, RuntimeFailure
from faceval.models.session import GPU_DEVICES, SessionInfo, batch_dim_fixed, create_session, ort_version

DEFAULT_BATCH_SIZES = (1, 8, 32, 64)

_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(uint8)": np.uint8,
    "tensor(int8)": np.int8,
    "tensor(int32)": np.int32,
    "tensor(int64)": np.int64,
}


def parse_batch_sizes(text: str) -> list[int]:
    """``"1,8,32"`` -> ``[1, 8, 32]``; InputError on anything else."""
    try:
        sizes = [int(t) for t in text.replace(" ", "").split(",") if t]
    except ValueError:
        raise InputError(f"--batch-sizes '{text}': expected comma-separated positive integers, e.g. 1,8,32") from None
    if not sizes or any(s <= 0 for s in sizes):
        raise InputError(f"--batch-sizes '{text}': expected comma-separated positive integers, e.g. 1,8,32")
    return sorted(set(sizes))


def make_inputs(session: Any, batch: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Random inputs for every model input at ``batch`` (symbolic non-batch dims must not occur)."""
    rng = np.random.default_rng(seed)
    feeds: dict[str, np.ndarray] = {}
    for inp in session.get_inputs():
        shape = list(inp.shape)
        dims = [batch]
        for d in shape[1:]:
            if not isinstance(d, int) or d <= 0:
                raise InputError(
                    f"input '{inp.name}' has a symbolic dimension {shape}; bench needs fixed non-batch dims"
                )
            dims.append(d)
        dtype = _DTYPES.get(inp.type, np.float32)
        if np.issubdtype(dtype, np.floating):
            feeds[inp.name] = rng.random(dims, dtype=np.float32).astype(dtype)
        else:
            feeds[inp.name] = rng.integers(0, 255, size=dims).astype(dtype)
    return feeds


def check_input_memory(session: Any, sizes: Sequence[int], max_bytes: int | None = None) -> None:
    """Refuse batch sizes whose input tensors together exceed ``max_bytes`` (default 2 GiB), before any work."""
    from faceval.models.runner import DEFAULT_MAX_BATCH_BYTES, format_bytes

    limit = DEFAULT_MAX_BATCH_BYTES if max_bytes is None else int(max_bytes)
    per_image = 0
    for inp in session.get_inputs():
        n = 1
        for d in list(inp.shape)[1:]:
            n *= d if isinstance(d, int) and d > 0 else 1
        per_image += n * np.dtype(_DTYPES.get(inp.type, np.float32)).itemsize
    too_big = [b for b in sizes if b * per_image > limit]
    if too_big:
        b = max(too_big)
        raise InputError(
            f"--batch-sizes: batch {b} needs {format_bytes(b * per_image)} of model input, above the bound of "
            f"{format_bytes(limit)}; use batch sizes up to {limit // per_image} or raise --max-batch-memory"
        )


def _timer_cpu(info: SessionInfo, feeds: dict[str, np.ndarray]) -> Any:
    session = info.session

    def run() -> None:
        session.run(None, feeds)

    return run


def _timer_cuda(info: SessionInfo, feeds: dict[str, np.ndarray]) -> Any:
    from faceval.models.session import import_ort

    ort = import_ort()
    session = info.session
    binding = session.io_binding()
    keep = []  # keep device buffers alive for the binding's lifetime
    for name, arr in feeds.items():
        value = ort.OrtValue.ortvalue_from_numpy(arr, "cuda", 0)
        keep.append(value)
        binding.bind_ortvalue_input(name, value)
    for out in session.get_outputs():
        binding.bind_output(out.name, "cuda")
    binding.synchronize_inputs()

    def run() -> None:
        session.run_with_iobinding(binding)
        binding.synchronize_outputs()

    run.keep = keep  # type: ignore[attr-defined]
    return run


def bench_session(
    info: SessionInfo,
    batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES,
    *,
    warmup: int = 5,
    repeat: int = 20,
    seed: int = 0,
    max_batch_bytes: int | None = None,
) -> dict[str, Any]:
    """Measure an open session; see :func:`benchmark` for the result layout."""
    if warmup < 0 or repeat < 1:
        raise InputError("--warmup must be >= 0 and --repeat >= 1")
    fixed = batch_dim_fixed(info.session)
    notes: list[str] = []
    sizes = list(batch_sizes)
    if fixed is not None and sizes != [fixed]:
        notes.append(f"the model's batch dimension is fixed to {fixed}: measured only at batch size {fixed}")
        sizes = [fixed]
    check_input_memory(info.session, sizes, max_batch_bytes)  # every size, before any is measured
    results = []
    for b in sizes:
        feeds = make_inputs(info.session, b, seed)
        try:
            run = _timer_cuda(info, feeds) if info.device in GPU_DEVICES else _timer_cpu(info, feeds)
            for _ in range(warmup):
                run()
            times = np.empty(repeat, dtype=np.float64)
            for i in range(repeat):
                t0 = time.perf_counter()
                run()
                times[i] = time.perf_counter() - t0
        except (InputError, RuntimeFailure):
            raise
        except Exception as exc:  # noqa: BLE001 - ORT errors (e.g. out of memory) become one line
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise RuntimeFailure(f"inference failed at batch size {b}: {first}") from None
        med = float(np.median(times))
        results.append(
            {
                "batch_size": int(b),
                "latency_ms_median": med * 1e3,
                "latency_ms_p90": float(np.percentile(times, 90)) * 1e3,
                "latency_ms_mean": float(times.mean()) * 1e3,
                "latency_ms_min": float(times.min()) * 1e3,
                "latency_ms_per_image": med * 1e3 / b,
                "throughput_ips": b / med if med > 0 else float("inf"),
            }
        )
    return {
        "model": info.model_path,
        "device": info.device,
        "providers_requested": list(info.providers_requested),
        "providers_used": list(info.providers_used),
        "provider": info.providers_used[0] if info.providers_used else None,
        "fell_back": info.fell_back,
        "message": info.message,
        "batch_fixed": fixed,
        "warmup": int(warmup),
        "repeat": int(repeat),
        "io_binding": info.device in GPU_DEVICES,
        "onnxruntime_version": ort_version(),
        "machine": {"cpu": platform.processor() or platform.machine(), "python": platform.python_version()},
        "notes": notes,
        "results": results,
    }


def benchmark(
    model_path: str | Path,
    device: str = "auto",
    batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES,
    *,
    warmup: int = 5,
    repeat: int = 20,
    intra_op_threads: int | None = None,
    seed: int = 0,
    max_batch_bytes: int | None = None,
) -> dict[str, Any]:
    """Open a session on ``device`` and measure each batch size.

    Returns a JSON-ready dict: ``model``, ``device``, ``providers_requested``, ``providers_used``,
    ``provider`` (the first provider actually used), ``fell_back``, ``message``, ``batch_fixed``,
    ``warmup``, ``repeat``, ``io_binding``, ``onnxruntime_version``, ``machine``, ``notes`` and
    ``results``: one dict per batch size with ``batch_size``, ``latency_ms_median``,
    ``latency_ms_p90``, ``latency_ms_mean``, ``latency_ms_min``, ``latency_ms_per_image`` and
    ``throughput_ips``. Batch sizes whose input exceeds ``max_batch_bytes`` (default 2 GiB)
    are refused before any is measured.
    """
    info = create_session(model_path, device, intra_op_threads=intra_op_threads)
    return bench_session(info, batch_sizes, warmup=warmup, repeat=repeat, seed=seed, max_batch_bytes=max_batch_bytes)
