"""Readers for predictions made elsewhere (``faceval score``).

Formats (chosen by extension):

- CSV: header ``sample_id,x0,y0,x1,y1,...`` then optional ``yaw,pitch,roll`` columns;
  0-based pixel coordinates of the original image. Numbers are plain ASCII decimal or scientific
  (``12``, ``-3.5``, ``1e-3``), or ``nan``/``inf`` for a failed prediction; ``1_000``, non-ASCII
  digits, ``true`` and anything else are an error naming the file, line and column. Read with
  pandas' C parser; a file it does not take as plainly numeric is re-read by the strict checker,
  which either accepts it or names the first offending field.
- NPY: an array ``(N, K, 2)`` (or ``(N, 2K)``) in the dataset's canonical order.
- NPZ: ``landmarks`` as above, optional ``pose`` ``(N, 3)`` and ``sample_ids`` ``(N,)``.
- JSON: a list of ``{"sample_id": ..., "landmarks": [[x, y], ...], "pose": [yaw, pitch, roll]}``
  (JSON numbers only: strings, booleans and ``null`` coordinates are errors with line and column),
  or SPIGA's results JSON (``imgpath``, ``landmarks``, ``headpose``; read by
  :func:`faceval.io.spiga.spiga_records`), matched by the longest unambiguous path suffix.
- HDF5 (``.h5``/``.hdf5``): datasets ``sample_ids``, ``landmarks`` and optional ``pose``, or a
  faceval run file (read with :func:`faceval.runs.runfile.read_run`).

Poses are exactly three values (yaw, pitch, roll); two or four values are an error, never cut.
Every reader returns predictions aligned with the dataset's sample order.
"""

from __future__ import annotations

import csv
import io
import mmap
import os
import re
import tokenize
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from faceval.errors import InputError, closest
from faceval.io.text import holds_boolean_token

if TYPE_CHECKING:
    from faceval.datasets.ids import DatasetIds

FORMATS = ("csv", "npy", "npz", "json", "h5")
POSE_COLUMNS = ("yaw", "pitch", "roll")

#: what numpy, zipfile and h5py raise on damaged files (turned into InputError naming the file)
_DAMAGED = (ValueError, TypeError, KeyError, IndexError, AttributeError, OSError, EOFError, RuntimeError,
            MemoryError, SyntaxError, tokenize.TokenError, zipfile.BadZipFile, zlib.error)

#: a number field of a prediction CSV: plain ASCII decimal or scientific, or nan/inf (a failure)
_NUMBER = re.compile(r"[ \t]*(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|inf|infinity))[ \t]*",
                     re.ASCII | re.IGNORECASE)
#: fields pandas' C parser would read as a number although they are not one (booleans)
_BOOLEAN_FIELD = re.compile(rb'(?:^|,)[ \t]*"?(?:true|false)"?[ \t]*(?=,|\r?$)', re.IGNORECASE | re.MULTILINE)
_CSV_NA = ["nan", "NaN", "NAN", "-nan", "+nan"]


def _show(value: object, width: int = 40) -> str:
    """A sample id as one short line for messages (control characters escaped, long ids cut)."""
    text = str(value)
    if not text.isprintable():
        text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= width else text[: width - 3] + "..."


@dataclass(frozen=True)
class PredictionArrays:
    """Predictions held in memory (the Python API): ``landmarks`` ``(N, K, 2)`` (or ``(N, 2K)``).

    Without ``sample_ids`` the rows are in the dataset's canonical order; ``pose`` is ``(N, 3)``
    yaw, pitch, roll degrees or None.
    """

    landmarks: Any
    sample_ids: Sequence[str] | None = None
    pose: Any = None


@dataclass
class RawPredictions:
    """Predictions as a file holds them, before they are aligned with a dataset.

    ``ids`` is None for files in canonical order (NPY, NPZ without ids); ``image_paths`` is True
    when the ids are image paths from another tool (SPIGA) that still need resolving.
    """

    ids: list[str] | None
    landmarks: np.ndarray
    pose: np.ndarray | None
    format: str
    image_paths: bool = False


@dataclass
class LoadedPredictions:
    """Predictions in dataset order: ``landmarks`` (N, K, 2) NaN where missing, ``pose`` (N, 3) or None.

    Counts of the rows that were left out: ``outside`` (samples of the dataset outside the
    selection), ``absent`` (samples of the dataset whose files this data root lacks) and
    ``ignored`` (ids the dataset does not know, dropped under ``ignore_extra``).
    """

    landmarks: np.ndarray
    pose: np.ndarray | None
    present: np.ndarray
    format: str
    ignored: int = 0
    outside: int = 0
    absent: int = 0

    @property
    def missing(self) -> int:
        return int((~self.present).sum())


def read_predictions(path: str | os.PathLike[str], sample_ids: Sequence[str], *, allow_missing: bool = False,
                     ignore_extra: bool = False, known: "DatasetIds | None" = None) -> LoadedPredictions:
    """Read a prediction file and align it with ``sample_ids`` (the dataset's canonical order).

    ``known`` tells which other ids the dataset has (:func:`faceval.datasets.ids.dataset_ids`):
    rows for samples of the dataset outside the selection, or missing from this data root, are left
    out and counted; other unknown ids are an error unless ``ignore_extra`` (then counted in
    ``ignored``).
    """
    source = Path(path)
    raw = read_prediction_file(source)
    return align_predictions(raw, sample_ids, source=source, allow_missing=allow_missing,
                             ignore_extra=ignore_extra, known=known)


def read_prediction_file(path: str | os.PathLike[str]) -> RawPredictions:
    """Parse a prediction file by its extension (see the module docstring); no alignment yet."""
    source = Path(path)
    if not source.exists():
        raise InputError("prediction file not found", path=source)
    if source.is_dir():
        raise InputError("expected a prediction file, found a folder", path=source)
    suffix = source.suffix.lower()
    if suffix == ".csv":
        return _read_csv(source)
    if suffix == ".npy":
        return _read_npy(source)
    if suffix == ".npz":
        return _read_npz(source)
    if suffix == ".json":
        return _read_json(source)
    if suffix in (".h5", ".hdf5"):
        return _read_h5(source)
    raise InputError(f"unknown prediction format '{suffix}'; expected .csv, .npy, .npz, .json, .h5", path=source)


def from_arrays(arrays: PredictionArrays, what: str = "predictions") -> RawPredictions:
    """In-memory predictions as :class:`RawPredictions` (same checks as the files get)."""
    where = Path(what)
    lms = _as_landmarks(arrays.landmarks, where)
    pose = _as_pose(arrays.pose, lms.shape[0], where)
    ids = None if arrays.sample_ids is None else _as_ids(np.asarray(list(arrays.sample_ids)), lms.shape[0], where)
    return RawPredictions(ids, lms, pose, "arrays")


def align_predictions(raw: RawPredictions, sample_ids: Sequence[str], *, source: Path, allow_missing: bool = False,
                      ignore_extra: bool = False, known: "DatasetIds | None" = None) -> LoadedPredictions:
    """Put ``raw`` in the order of ``sample_ids``; see :func:`read_predictions`."""
    if raw.ids is None:
        pred = _ordered(raw.landmarks, raw.pose, len(sample_ids), source, raw.format)
    else:
        ids = raw.ids
        if raw.image_paths:
            resolver = ImagePathResolver(sample_ids, known)
            ids = [resolver.resolve(p, source) for p in ids]
        pred = _align(ids, raw.landmarks, raw.pose, sample_ids, source, raw.format, ignore_extra, known)
    return _check_missing(pred, sample_ids, allow_missing, source)


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
    arr = np.asarray(array)
    if arr.dtype.kind not in "fiu":
        raise InputError(f"'{what}' is not numeric (found {arr.dtype})", path=source)
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim == 2 and arr.shape[1] % 2 == 0:
        arr = arr.reshape(arr.shape[0], -1, 2)
    if arr.ndim != 3 or arr.shape[2] != 2:
        raise InputError(f"'{what}' must have shape (N, K, 2) or (N, 2K); found {tuple(arr.shape)}", path=source)
    return arr


def _as_pose(array: Any, n: int, source: Path) -> np.ndarray | None:
    if array is None:
        return None
    arr = np.asarray(array)
    if arr.dtype.kind not in "fiu":
        raise InputError(f"'pose' is not numeric (found {arr.dtype})", path=source)
    if arr.shape != (n, 3):
        raise InputError(f"'pose' must have shape ({n}, 3) (yaw, pitch, roll); found {tuple(arr.shape)}", path=source)
    return arr.astype(np.float64, copy=False)


def _read_npy(source: Path) -> RawPredictions:
    with open(source, "rb") as handle:
        if handle.read(6) != b"\x93NUMPY":  # numpy would call any other file "pickled data"
            raise InputError("not a .npy file (no NumPy header); expected an array saved with numpy.save", path=source)
    try:
        arr = np.load(source, allow_pickle=False)
    except _DAMAGED as exc:
        raise InputError(f"not a readable .npy array ({_first_line(exc)})", path=source) from None
    return RawPredictions(None, _as_landmarks(arr, source), None, "npy")


def _read_npz(source: Path) -> RawPredictions:
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
    return RawPredictions(ids, lms, pose, "npz")


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


def _read_h5(source: Path) -> RawPredictions:
    import h5py

    try:
        h5 = h5py.File(source, "r")
    except OSError:
        raise InputError("not an HDF5 file", path=source) from None
    try:
        with h5:
            marker = h5.attrs.get("format")
            is_run = isinstance(marker, (str, bytes)) and marker in ("faceval-run", b"faceval-run")
    except _DAMAGED as exc:
        raise InputError(f"damaged HDF5 prediction file ({type(exc).__name__}: {_first_line(exc)})", path=source) from None
    if is_run:
        from faceval.runs.runfile import read_run

        run = read_run(source)  # the run-file layout is known in one place only
        if run.pose_only:
            raise InputError("a pose-only run file holds no landmark predictions to score", path=source)
        lms = _as_landmarks(run.predictions, source)
        pose = None if run.pose_pred is None else _as_pose(run.pose_pred, lms.shape[0], source)
        return RawPredictions([str(s) for s in run.sample_ids], lms, pose, "faceval-run")
    try:
        with h5py.File(source, "r") as h5:
            for name in ("sample_ids", "landmarks"):
                if name not in h5:
                    raise InputError(f"expected datasets 'sample_ids' and 'landmarks' (optional 'pose'); '{name}' is missing", path=source)
            lms = _as_landmarks(h5["landmarks"][()], source)
            ids = _as_ids(h5["sample_ids"][()], lms.shape[0], source)
            pose = _as_pose(h5["pose"][()], lms.shape[0], source) if "pose" in h5 else None
    except _DAMAGED as exc:
        raise InputError(f"damaged HDF5 prediction file ({type(exc).__name__}: {_first_line(exc)})", path=source) from None
    return RawPredictions(ids, lms, pose, "h5")


# --------------------------------------------------------------------------- CSV

@dataclass(frozen=True)
class _CsvHeader:
    names: list[str]
    points: int
    has_pose: bool


def _csv_header(first_line: str, source: Path) -> _CsvHeader:
    try:
        rows = list(csv.reader([first_line]))
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", path=source, line=1) from None
    header = [h.strip() for h in rows[0]] if rows else []
    if not header or not any(header):
        raise InputError("empty file; expected a header 'sample_id,x0,y0,...'", path=source, line=1)
    if header[0] != "sample_id":
        raise InputError(f"expected the header to start with 'sample_id', found '{_show(header[0])}'", path=source, line=1)
    has_pose = tuple(header[-3:]) == POSE_COLUMNS
    named_pose = [h for h in header if h in POSE_COLUMNS]
    if named_pose and not has_pose:
        raise InputError(f"expected the pose columns 'yaw,pitch,roll' (three values) at the end of the header, "
                         f"found '{','.join(named_pose)}'", path=source, line=1)
    coord_cols = header[1 : len(header) - (3 if has_pose else 0)]
    if not coord_cols or len(coord_cols) % 2:
        raise InputError(f"expected pairs of coordinate columns x0,y0,x1,y1,...; found {len(coord_cols)} columns", path=source, line=1)
    expected = [f"{axis}{k}" for k in range(len(coord_cols) // 2) for axis in ("x", "y")]
    if coord_cols != expected:
        bad = next(i for i, (a, b) in enumerate(zip(coord_cols, expected)) if a != b)
        raise InputError(f"column {bad + 2}: expected '{expected[bad]}', found '{_show(coord_cols[bad])}'", path=source, line=1)
    return _CsvHeader(header, len(coord_cols) // 2, has_pose)


def _read_csv(source: Path) -> RawPredictions:
    try:
        with open(source, "rb") as handle:
            first = handle.readline()
    except OSError as exc:
        raise InputError(f"cannot read the prediction file: {exc.strerror or exc}", path=source) from None
    try:
        first_line = first.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text; expected a CSV file", path=source) from None
    header = _csv_header(first_line, source)
    parsed = _read_csv_fast(source, header)
    if parsed is None:
        parsed = _read_csv_strict(source, header)
    ids, values = parsed
    k = header.points
    lms = values[:, : 2 * k].reshape(len(ids), k, 2)
    pose = values[:, 2 * k :] if header.has_pose else None
    return RawPredictions(ids, lms, pose, "csv")


def _read_csv_fast(source: Path, header: _CsvHeader) -> tuple[list[str], np.ndarray] | None:
    """Vectorised read with pandas' C parser; None whenever the strict checker must decide.

    The C parser reads booleans (``true``) as numbers and fills short rows with NaN, so a file
    with a boolean-looking field or any NaN value goes to the strict path; any parser error too.
    """
    import pandas as pd

    try:
        with open(source, "rb") as handle:
            if os.fstat(handle.fileno()).st_size == 0:
                return None
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                if holds_boolean_token(mapped, _BOOLEAN_FIELD):
                    return None
        ncols = len(header.names)
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)  # extra fields: never silently dropped
            frame = pd.read_csv(
                source, header=None, skiprows=1, names=list(range(ncols)), index_col=False, engine="c",
                encoding="utf-8-sig", dtype={0: str, **{j: np.float64 for j in range(1, ncols)}},
                keep_default_na=False, na_values={j: _CSV_NA for j in range(1, ncols)}, skip_blank_lines=True,
            )
    except (ValueError, TypeError, OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.ParserWarning,
            pd.errors.EmptyDataError, OverflowError, MemoryError):
        return None
    if len(frame) == 0:
        return None
    ids_column = frame.pop(0)
    values = frame.to_numpy(dtype=np.float64)
    del frame
    if np.isnan(values).any():
        return None
    ids = [str(s).strip() for s in ids_column.tolist()]
    return ids, values


def _read_csv_strict(source: Path, header: _CsvHeader) -> tuple[list[str], np.ndarray]:
    """Field-by-field reader: accepts exactly :data:`_NUMBER` fields, names the first bad one."""
    try:
        text = source.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text; expected a CSV file", path=source) from None
    except OSError as exc:
        raise InputError(f"cannot read the prediction file: {exc.strerror or exc}", path=source) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    names = header.names
    ids: list[str] = []
    rows: list[list[float]] = []
    try:
        next(reader, None)
        for row in reader:
            line_no = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(names):
                raise InputError(f"expected {len(names)} fields as in the header, found {len(row)}", path=source,
                                 line=line_no)
            for j, token in enumerate(row[1:], start=1):
                if not _NUMBER.fullmatch(token):
                    raise InputError(f"column {j + 1} ('{_show(names[j])}'): expected a number "
                                     f"(plain ASCII decimal or scientific, or nan), found '{_show(token)}'",
                                     path=source, line=line_no)
            ids.append(row[0].strip())
            rows.append([float(token) for token in row[1:]])
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", path=source, line=reader.line_num) from None
    values = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(names) - 1)
    return ids, values


# --------------------------------------------------------------------------- JSON

def _read_json(source: Path) -> RawPredictions:
    from faceval.io.json_values import bad_number_error, load_json_text, number_rows
    from faceval.io.spiga import landmark_array, spiga_records

    try:
        text = source.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text; expected JSON", path=source) from None
    except OSError as exc:
        raise InputError(f"cannot read the prediction file: {exc.strerror or exc}", path=source) from None
    data = load_json_text(source, text, "prediction JSON")
    if not isinstance(data, list) or not data or not all(isinstance(d, dict) for d in data):
        raise InputError("expected a non-empty JSON list of objects with 'sample_id' and 'landmarks'", path=source)
    if "imgpath" in data[0] and "sample_id" not in data[0]:
        records = spiga_records(data, text, source)
        poses = records.poses if any(r.get("headpose") is not None for r in data) else None
        return RawPredictions(records.image_paths, records.landmarks, poses, "spiga-json", image_paths=True)
    ids: list[str] = []
    for i, item in enumerate(data):
        if "sample_id" not in item or "landmarks" not in item:
            raise InputError(f"item {i}: expected keys 'sample_id' and 'landmarks'", path=source)
        if not isinstance(item["sample_id"], str):
            raise bad_number_error(source, text, [i, "sample_id"], f"item {i} 'sample_id'", item["sample_id"],
                                   "a string")
        ids.append(item["sample_id"])
    lms = landmark_array([item["landmarks"] for item in data], source, text, "item")
    pose_arr = None
    if any(item.get("pose") is not None for item in data):
        pose_arr = np.full((len(data), 3), np.nan)
        for i, item in enumerate(data):
            if item.get("pose") is not None:
                pose_arr[i] = number_rows(item["pose"], 3, source, text, [i, "pose"], f"item {i} 'pose'",
                                          "a list [yaw, pitch, roll]")
    return RawPredictions(ids, lms, pose_arr, "json")


# --------------------------------------------------------------------------- alignment

def _trailing_match(a: list[str], b: list[str]) -> int:
    """How many trailing path components ``a`` and ``b`` share."""
    n = 0
    for x, y in zip(reversed(a), reversed(b)):
        if x != y:
            break
        n += 1
    return n


class ImagePathResolver:
    """Map an image path from another tool (SPIGA's ``imgpath``) to a faceval sample id.

    Candidates are the samples with the same file name, in the selection or anywhere else in the
    dataset (``known``: present under the data root, or named by the folder layout, e.g.
    ``helen/trainset/x.jpg``). The one sharing the longest path suffix wins. A tie is an error
    naming the candidates; so is a winner outside the selection while a selected sample of that
    name exists (``helen/trainset/x.jpg`` is not ``helen/testset/x.jpg``). A winner outside the
    selection with no selected rival is returned (and left out like any out-of-split row).
    """

    def __init__(self, sample_ids: Sequence[str], known: "DatasetIds | None" = None) -> None:
        self.selected = set(sample_ids)
        self.known = known
        universe = set(self.selected)
        if known is not None:
            universe |= known.present()
        self.by_name: dict[str, list[str]] = {}
        for sid in universe:
            self.by_name.setdefault(sid.split("#")[0].rsplit("/", 1)[-1], []).append(sid)

    def resolve(self, imgpath: str, source: Path) -> str:
        path = imgpath.replace("\\", "/")
        if path in self.selected:
            return path
        name = path.split("#")[0].rsplit("/", 1)[-1]
        candidates = set(self.by_name.get(name, []))
        if self.known is not None:
            candidates.update(self.known.layout_candidates(path))
        if not candidates:
            return path  # reported as unknown by _align
        parts = path.split("/")
        scored = sorted(candidates, key=lambda c: (-_trailing_match(parts, c.split("/")), c))
        best = _trailing_match(parts, scored[0].split("/"))
        top = [c for c in scored if _trailing_match(parts, c.split("/")) == best]
        if len(top) > 1:
            raise InputError(f"image path '{_show(imgpath)}' matches several samples equally well "
                             f"({', '.join(repr(c) for c in top[:3])}); give paths that tell them apart",
                             path=source)
        winner = top[0]
        if winner not in self.selected:
            rivals = [c for c in scored if c in self.selected]
            if rivals:
                raise InputError(f"image path '{_show(imgpath)}' names '{winner}', a sample outside the selection "
                                 f"(e.g. a training image), not '{rivals[0]}' of the selection; "
                                 "fix the path or score the split it belongs to", path=source)
        return winner


def _align(
    ids: list[str], lms: np.ndarray, pose: np.ndarray | None, sample_ids: Sequence[str], source: Path, fmt: str,
    ignore_extra: bool = False, known: "DatasetIds | None" = None,
) -> LoadedPredictions:
    if len(ids) != lms.shape[0] or (pose is not None and pose.shape != (lms.shape[0], 3)):
        raise InputError(f"expected one sample id per row of predictions, found {len(ids)} ids for {lms.shape[0]} rows",
                         path=source)
    index = {sid: i for i, sid in enumerate(sample_ids)}
    if len(set(ids)) != len(ids):
        seen: dict[str, int] = {}
        for row, sid in enumerate(ids):
            if sid in seen:
                raise InputError(f"sample id '{_show(sid)}' appears twice (entries {seen[sid] + 1} and {row + 1})",
                                 path=source)
            seen[sid] = row
    rows_all = np.fromiter((index.get(sid, -1) for sid in ids), dtype=np.int64, count=len(ids))
    keep = rows_all >= 0
    outside = absent = 0
    if not keep.all():
        unknown = [ids[r] for r in np.flatnonzero(~keep)]
        strangers = unknown
        if known is not None:
            present = known.present()
            outside = sum(1 for sid in unknown if sid in present)
            absent_ids = [sid for sid in unknown if sid not in present and known.is_absent_sample(sid)]
            absent = len(absent_ids)
            absent_set = set(absent_ids)
            strangers = [sid for sid in unknown if sid not in present and sid not in absent_set]
        if strangers and not ignore_extra:
            name = known.name if known is not None else "the dataset"
            also = f"; {absent} other ids are samples of {name} missing from this data root" if absent else ""
            raise InputError(
                f"{len(strangers)} sample ids are not in the dataset (first: '{_show(strangers[0])}'"
                f"{closest(strangers[0], list(index))}){also}; "
                "list valid ids with 'faceval datasets samples', or pass --ignore-extra to score a subset",
                path=source,
            )
    n, k = len(sample_ids), lms.shape[1]
    out = np.full((n, k, 2), np.nan)
    present_mask = np.zeros(n, dtype=bool)
    rows = rows_all[keep]
    out[rows] = lms[keep]
    present_mask[rows] = True
    pose_out = None
    if pose is not None:
        pose_out = np.full((n, 3), np.nan)
        pose_out[rows] = pose[keep]
    dropped = int((~keep).sum())
    return LoadedPredictions(out, pose_out, present_mask, fmt, ignored=dropped - outside - absent,
                             outside=outside, absent=absent)
