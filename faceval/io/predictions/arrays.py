"""Prediction arrays: shape and type checks, and the NPY, NPZ and HDF5 readers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from faceval.errors import InputError
from faceval.io.predictions.common import DAMAGED, RawPredictions, first_line, show


def as_landmarks(array: Any, source: Path, what: str = "landmarks") -> np.ndarray:
    """``(N, K, 2)`` float64 from ``(N, K, 2)`` or ``(N, 2K)`` numbers (no copy when already so)."""
    arr = np.asarray(array)
    if arr.dtype.kind not in "fiu":
        raise InputError(f"'{what}' is not numeric (found {arr.dtype})", path=source)
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim == 2 and arr.shape[1] % 2 == 0:
        arr = arr.reshape(arr.shape[0], -1, 2)
    if arr.ndim != 3 or arr.shape[2] != 2:
        raise InputError(f"'{what}' must have shape (N, K, 2) or (N, 2K); found {tuple(arr.shape)}", path=source)
    return arr


def as_pose(array: Any, n: int, source: Path) -> np.ndarray | None:
    """``(n, 3)`` float64 yaw, pitch, roll, or None."""
    if array is None:
        return None
    arr = np.asarray(array)
    if arr.dtype.kind not in "fiu":
        raise InputError(f"'pose' is not numeric (found {arr.dtype})", path=source)
    if arr.shape != (n, 3):
        raise InputError(f"'pose' must have shape ({n}, 3) (yaw, pitch, roll); found {tuple(arr.shape)}", path=source)
    return arr.astype(np.float64, copy=False)


def as_ids(array: Any, n: int, source: Path) -> list[str]:
    """Sample ids: a 1-D array of strings, one per prediction row."""
    arr = np.asarray(array)
    if arr.ndim != 1 or arr.dtype.kind not in "USO" or len(arr) != n:
        raise InputError(f"'sample_ids' must be {n} strings (one per row of 'landmarks'); "
                         f"found shape {tuple(arr.shape)} of {arr.dtype}", path=source)
    return [s.decode("utf-8") if isinstance(s, bytes) else str(s) for s in arr]


def read_npy(source: Path) -> RawPredictions:
    with open(source, "rb") as handle:
        if handle.read(6) != b"\x93NUMPY":  # numpy would call any other file "pickled data"
            raise InputError("not a .npy file (no NumPy header); expected an array saved with numpy.save", path=source)
    try:
        arr = np.load(source, allow_pickle=False)
    except DAMAGED as exc:
        raise InputError(f"not a readable .npy array ({first_line(exc)})", path=source) from None
    return RawPredictions(None, as_landmarks(arr, source), None, "npy")


def read_npz(source: Path) -> RawPredictions:
    try:
        data = np.load(source, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("a single .npy array, not an archive")
        with data:
            if "landmarks" not in data.files:
                shown = ", ".join(show(f) for f in data.files[:5]) or "none"
                raise InputError(f"expected an array named 'landmarks' in the archive; found {shown}", path=source)
            lms = as_landmarks(data["landmarks"], source)
            pose = as_pose(data["pose"], lms.shape[0], source) if "pose" in data.files else None
            ids = as_ids(data["sample_ids"], lms.shape[0], source) if "sample_ids" in data.files else None
    except DAMAGED as exc:
        raise InputError(f"not a readable .npz archive ({first_line(exc)})", path=source) from None
    return RawPredictions(ids, lms, pose, "npz")


def read_h5(source: Path) -> RawPredictions:
    import h5py

    try:
        h5 = h5py.File(source, "r")
    except OSError:
        raise InputError("not an HDF5 file", path=source) from None
    try:
        with h5:
            marker = h5.attrs.get("format")
            is_run = isinstance(marker, (str, bytes)) and marker in ("faceval-run", b"faceval-run")
    except DAMAGED as exc:
        raise InputError(f"damaged HDF5 prediction file ({type(exc).__name__}: {first_line(exc)})", path=source) from None
    if is_run:
        from faceval.runs.runfile import read_run

        run = read_run(source)  # the run-file layout is known in one place only
        if run.pose_only:
            raise InputError("a pose-only run file holds no landmark predictions to score", path=source)
        lms = as_landmarks(run.predictions, source)
        pose = None if run.pose_pred is None else as_pose(run.pose_pred, lms.shape[0], source)
        return RawPredictions([str(s) for s in run.sample_ids], lms, pose, "faceval-run")
    try:
        with h5py.File(source, "r") as h5:
            for name in ("sample_ids", "landmarks"):
                if name not in h5:
                    raise InputError(f"expected datasets 'sample_ids' and 'landmarks' (optional 'pose'); '{name}' is missing", path=source)
            lms = as_landmarks(h5["landmarks"][()], source)
            ids = as_ids(h5["sample_ids"][()], lms.shape[0], source)
            pose = as_pose(h5["pose"][()], lms.shape[0], source) if "pose" in h5 else None
    except DAMAGED as exc:
        raise InputError(f"damaged HDF5 prediction file ({type(exc).__name__}: {first_line(exc)})", path=source) from None
    return RawPredictions(ids, lms, pose, "h5")
