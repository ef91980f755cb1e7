"""Readers for predictions made elsewhere (``faceval score``).

Formats (chosen by extension):

- CSV: header ``sample_id,x0,y0,x1,y1,...`` then optional ``yaw,pitch,roll`` columns;
  0-based pixel coordinates of the original image.
- NPY: an array ``(N, K, 2)`` (or ``(N, 2K)``) in the dataset's canonical order.
- NPZ: ``landmarks`` as above, optional ``pose`` ``(N, 3)`` and ``sample_ids`` ``(N,)``.
- JSON: a list of ``{"sample_id": ..., "landmarks": [[x, y], ...], "pose": [yaw, pitch, roll]}``,
  or SPIGA's results JSON (``imgpath``, ``landmarks``, ``headpose``), matched by image path.
- HDF5 (``.h5``/``.hdf5``): datasets ``sample_ids``, ``landmarks`` and optional ``pose``.

Every reader returns predictions aligned with the dataset's sample order.
"""

from __future__ import annotations

import csv
import json
import math
import os
import tokenize
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from faceval.errors import InputError, closest

FORMATS = ("csv", "npy", "npz", "json", "h5")

#: what numpy, zipfile and h5py raise on damaged files (turned into InputError naming the file)
_DAMAGED = (ValueError, TypeError, KeyError, IndexError, AttributeError, OSError, EOFError, RuntimeError,
            MemoryError, SyntaxError, tokenize.TokenError, zipfile.BadZipFile, zlib.error)


def _show(value: object, width: int = 40) -> str:
    """A sample id as one short line for messages (control characters escaped, long ids cut)."""
    text = str(value)
    if not text.isprintable():
        text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= width else text[: width - 3] + "..."


@dataclass
class LoadedPredictions:
    """Predictions in dataset order: ``landmarks`` (N, K, 2) NaN where missing, ``pose`` (N, 3) or None."""

    landmarks: np.ndarray
    pose: np.ndarray | None
    present: np.ndarray
    format: str
    ignored: int = 0

    @property
    def missing(self) -> int:
        return int((~self.present).sum())


def read_predictions(path: str | os.PathLike[str], sample_ids: Sequence[str], *, allow_missing: bool = False,
                     ignore_extra: bool = False) -> LoadedPredictions:
    """Read a prediction file and align it with ``sample_ids`` (the dataset's canonical order).

    With ``ignore_extra``, predictions for samples outside ``sample_ids`` (e.g. a full-set file
    scored on one split) are dropped and counted in ``LoadedPredictions.ignored`` instead of
    being an error.
    """
    source = Path(path)
    if not source.exists():
        raise InputError("prediction file not found", path=source)
    if source.is_dir():
        raise InputError("expected a prediction file, found a folder", path=source)
    suffix = source.suffix.lower()
    if suffix == ".csv":
        ids, lms, pose, fmt = _read_csv(source)
    elif suffix == ".npy":
        return _check_missing(_read_npy(source, sample_ids), sample_ids, allow_missing, source)
    elif suffix == ".npz":
        ids, lms, pose, fmt = _read_npz(source, len(sample_ids))
        if ids is None:
            return _check_missing(_ordered(lms, pose, len(sample_ids), source, "npz"), sample_ids, allow_missing, source)
    elif suffix == ".json":
        ids, lms, pose, fmt = _read_json(source, sample_ids)
    elif suffix in (".h5", ".hdf5"):
        ids, lms, pose, fmt = _read_h5(source)
    else:
        raise InputError(f"unknown prediction format '{suffix}'; expected .csv, .npy, .npz, .json, .h5", path=source)
    return _check_missing(_align(ids, lms, pose, sample_ids, source, fmt, ignore_extra), sample_ids, allow_missing, source)


def _check_missing(pred: LoadedPredictions, sample_ids: Sequence[str], allow_missing: bool, source: Path) -> LoadedPredictions:
    if pred.missing and not allow_missing:
        absent = [_show(sample_ids[i]) for i in np.flatnonzero(~pred.present)[:3]]
        raise InputError(
            f"predictions for {pred.missing} of {len(sample_ids)} samples are missing (first: {', '.join(absent)}); "
            "pass --allow-missing to count them as failures",
            path=source,
        )
    return pred


def _ordered(lms: np.ndarray, pose: np.ndarray | None, n: int, source: Path, fmt: str) -> LoadedPredictions:
    if lms.shape[0] != n:
        raise InputError(
            f"expected predictions for {n} samples in canonical order (faceval datasets samples), found {lms.shape[0]} rows",
            path=source,
        )
    return LoadedPredictions(lms, pose, np.ones(n, dtype=bool), fmt)


def _as_landmarks(array: Any, source: Path, what: str = "landmarks") -> np.ndarray:
    try:
        arr = np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"'{what}' is not numeric", path=source) from None
    if arr.ndim == 2 and arr.shape[1] % 2 == 0:
        arr = arr.reshape(arr.shape[0], -1, 2)
    if arr.ndim != 3 or arr.shape[2] != 2:
        raise InputError(f"'{what}' must have shape (N, K, 2) or (N, 2K); found {tuple(arr.shape)}", path=source)
    return arr


def _as_pose(array: Any, n: int, source: Path) -> np.ndarray | None:
    if array is None:
        return None
    try:
        arr = np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("'pose' is not numeric", path=source) from None
    if arr.shape != (n, 3):
        raise InputError(f"'pose' must have shape ({n}, 3) (yaw, pitch, roll); found {tuple(arr.shape)}", path=source)
    return arr


def _read_npy(source: Path, sample_ids: Sequence[str]) -> LoadedPredictions:
    with open(source, "rb") as handle:
        if handle.read(6) != b"\x93NUMPY":  # numpy would call any other file "pickled data"
            raise InputError("not a .npy file (no NumPy header); expected an array saved with numpy.save", path=source)
    try:
        arr = np.load(source, allow_pickle=False)
    except _DAMAGED as exc:
        raise InputError(f"not a readable .npy array ({_first_line(exc)})", path=source) from None
    return _ordered(_as_landmarks(arr, source), None, len(sample_ids), source, "npy")


def _read_npz(source: Path, n: int) -> tuple[list[str] | None, np.ndarray, np.ndarray | None, str]:
    try:
        data = np.load(source, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("a single .npy array, not an archive")
        with data:
            if "landmarks" not in data.files:
                shown = ", ".join(_show(f) for f in data.files[:5]) or "none"
                raise InputError(f"expected an array named 'landmarks' in the archive; found {shown}", path=source)
            lms = _as_landmarks(data["landmarks"], source)
            pose = _as_pose(data["pose"], lms.shape[0], source) if "pose" in data.files else None
            ids = _as_ids(data["sample_ids"], lms.shape[0], source) if "sample_ids" in data.files else None
    except _DAMAGED as exc:
        raise InputError(f"not a readable .npz archive ({_first_line(exc)})", path=source) from None
    return ids, lms, pose, "npz"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return _show(text.splitlines()[0], 80) if text else type(exc).__name__


def _as_ids(array: Any, n: int, source: Path) -> list[str]:
    """Sample ids: a 1-D array of strings, one per prediction row."""
    arr = np.asarray(array)
    if arr.ndim != 1 or arr.dtype.kind not in "USO" or len(arr) != n:
        raise InputError(f"'sample_ids' must be {n} strings (one per row of 'landmarks'); "
                         f"found shape {tuple(arr.shape)} of {arr.dtype}", path=source)
    return [s.decode("utf-8") if isinstance(s, bytes) else str(s) for s in arr]


def _read_h5(source: Path) -> tuple[list[str], np.ndarray, np.ndarray | None, str]:
    import h5py

    try:
        h5 = h5py.File(source, "r")
    except OSError:
        raise InputError("not an HDF5 file", path=source) from None
    try:
        with h5:
            if "format" in h5.attrs and h5.attrs["format"] == "faceval-run":
                lms = _as_landmarks(h5["arrays/predictions"][()], source)
                ids = _as_ids(h5["samples/ids"][()], lms.shape[0], source)
                pose = _as_pose(h5["arrays/pose_pred"][()], lms.shape[0], source) if "arrays/pose_pred" in h5 else None
                return ids, lms, pose, "faceval-run"
            for name in ("sample_ids", "landmarks"):
                if name not in h5:
                    raise InputError(f"expected datasets 'sample_ids' and 'landmarks' (optional 'pose'); '{name}' is missing", path=source)
            lms = _as_landmarks(h5["landmarks"][()], source)
            ids = _as_ids(h5["sample_ids"][()], lms.shape[0], source)
            pose = _as_pose(h5["pose"][()], lms.shape[0], source) if "pose" in h5 else None
    except _DAMAGED as exc:
        raise InputError(f"damaged HDF5 prediction file ({type(exc).__name__}: {_first_line(exc)})", path=source) from None
    return ids, lms, pose, "h5"


def _parse_float(token: str, source: Path, line: int, column: str) -> float:
    try:
        return float(token)
    except ValueError:
        raise InputError(f"column '{_show(column)}': expected a number, found '{_show(token)}'", path=source, line=line) from None


def _read_csv(source: Path) -> tuple[list[str], np.ndarray, np.ndarray | None, str]:
    try:
        text = source.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text; expected a CSV file", path=source) from None
    except OSError as exc:
        raise InputError(f"cannot read the prediction file: {exc.strerror or exc}", path=source) from None
    reader = csv.reader(text.splitlines())
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", path=source, line=reader.line_num) from None
    if not rows:
        raise InputError("empty file; expected a header 'sample_id,x0,y0,...'", path=source, line=1)
    header = [h.strip() for h in rows[0]]
    if not header or header[0] != "sample_id":
        raise InputError(f"expected the header to start with 'sample_id', found '{_show(header[0]) if header else ''}'", path=source, line=1)
    has_pose = header[-3:] == ["yaw", "pitch", "roll"]
    coord_cols = header[1 : len(header) - (3 if has_pose else 0)]
    if not coord_cols or len(coord_cols) % 2:
        raise InputError(f"expected pairs of coordinate columns x0,y0,x1,y1,...; found {len(coord_cols)} columns", path=source, line=1)
    expected = [f"{axis}{k}" for k in range(len(coord_cols) // 2) for axis in ("x", "y")]
    if coord_cols != expected:
        bad = next(i for i, (a, b) in enumerate(zip(coord_cols, expected)) if a != b)
        raise InputError(f"column {bad + 2}: expected '{expected[bad]}', found '{_show(coord_cols[bad])}'", path=source, line=1)
    ids: list[str] = []
    values = np.empty((len(rows) - 1, len(header) - 1), dtype=np.float64)
    count = 0
    for line_no, row in enumerate(rows[1:], start=2):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != len(header):
            raise InputError(f"expected {len(header)} fields as in the header, found {len(row)}", path=source, line=line_no)
        ids.append(row[0].strip())
        values[count] = [_parse_float(tok, source, line_no, header[j + 1]) for j, tok in enumerate(row[1:])]
        count += 1
    values = values[:count]
    k = len(coord_cols) // 2
    lms = values[:, : 2 * k].reshape(count, k, 2)
    pose = values[:, 2 * k :] if has_pose else None
    return ids, lms, pose, "csv"


def _read_json(source: Path, sample_ids: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray | None, str]:
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text; expected JSON", path=source) from None
    except OSError as exc:
        raise InputError(f"cannot read the prediction file: {exc.strerror or exc}", path=source) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", path=source, line=exc.lineno) from None
    if not isinstance(data, list) or not data or not all(isinstance(d, dict) for d in data):
        raise InputError("expected a non-empty JSON list of objects with 'sample_id' and 'landmarks'", path=source)
    spiga = "imgpath" in data[0] and "sample_id" not in data[0]
    ids: list[str] = []
    lms_list: list[Any] = []
    poses: list[Any] = []
    resolver = _ImagePathResolver(sample_ids) if spiga else None
    for i, item in enumerate(data):
        key = "imgpath" if spiga else "sample_id"
        if key not in item or "landmarks" not in item:
            raise InputError(f"item {i}: expected keys '{key}' and 'landmarks'", path=source)
        ids.append(resolver.resolve(str(item["imgpath"]), source) if resolver else str(item["sample_id"]))
        lms_list.append(item["landmarks"])
        pose = item.get("headpose") if spiga else item.get("pose")
        if pose is not None and not isinstance(pose, list):
            raise InputError(f"item {i}: expected '{'headpose' if spiga else 'pose'}' as a list [yaw, pitch, roll]",
                             path=source)
        poses.append(None if pose is None else pose[:3])
    try:
        lms = np.asarray(lms_list, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("'landmarks' must be lists of [x, y] with the same point count in every item", path=source) from None
    lms = _as_landmarks(lms, source)
    pose_arr = None
    if any(p is not None for p in poses):
        try:
            pose_arr = np.asarray([p if p is not None and len(p) == 3 else [math.nan] * 3 for p in poses], dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError("'pose' must be lists of three numbers (yaw, pitch, roll)", path=source) from None
    return ids, lms, pose_arr, "spiga-json" if spiga else "json"


class _ImagePathResolver:
    """Map an image path from another tool to a faceval sample id (exact, suffix, then file name)."""

    def __init__(self, sample_ids: Sequence[str]) -> None:
        self.ids = set(sample_ids)
        self.by_name: dict[str, list[str]] = {}
        for sid in sample_ids:
            self.by_name.setdefault(sid.split("#")[0].rsplit("/", 1)[-1], []).append(sid)

    def resolve(self, imgpath: str, source: Path) -> str:
        path = imgpath.replace("\\", "/")
        if path in self.ids:
            return path
        # A suffix match has the same file name, so only samples of that name are candidates.
        matches = self.by_name.get(path.split("#")[0].rsplit("/", 1)[-1], [])
        for sid in matches:
            if path.endswith("/" + sid):
                return sid
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InputError(f"image path '{_show(imgpath)}' matches several samples ({', '.join(matches[:3])})", path=source)
        return path  # reported as unknown by _align


def _align(
    ids: list[str], lms: np.ndarray, pose: np.ndarray | None, sample_ids: Sequence[str], source: Path, fmt: str,
    ignore_extra: bool = False,
) -> LoadedPredictions:
    if len(ids) != lms.shape[0] or (pose is not None and pose.shape != (lms.shape[0], 3)):
        raise InputError(f"expected one sample id per row of predictions, found {len(ids)} ids for {lms.shape[0]} rows",
                         path=source)
    index = {sid: i for i, sid in enumerate(sample_ids)}
    seen: dict[str, int] = {}
    for row, sid in enumerate(ids):
        if sid in seen:
            raise InputError(f"sample id '{_show(sid)}' appears twice (entries {seen[sid] + 1} and {row + 1})", path=source)
        seen[sid] = row
    unknown = [sid for sid in ids if sid not in index]
    if unknown and not ignore_extra:
        raise InputError(
            f"{len(unknown)} sample ids are not in the dataset (first: '{_show(unknown[0])}'{closest(unknown[0], list(index))}); "
            "list valid ids with 'faceval datasets samples', or pass --ignore-extra to score a subset",
            path=source,
        )
    keep = np.fromiter((sid in index for sid in ids), dtype=bool, count=len(ids))
    n, k = len(sample_ids), lms.shape[1]
    out = np.full((n, k, 2), np.nan)
    present = np.zeros(n, dtype=bool)
    rows = np.fromiter((index[sid] for sid in ids if sid in index), dtype=np.int64, count=int(keep.sum()))
    out[rows] = lms[keep]
    present[rows] = True
    pose_out = None
    if pose is not None:
        pose_out = np.full((n, 3), np.nan)
        pose_out[rows] = pose[keep]
    return LoadedPredictions(out, pose_out, present, fmt, ignored=int((~keep).sum()))
