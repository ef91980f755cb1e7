"""Face-box files a user supplies (``--box file --boxes FILE``).

Three formats, chosen by the file extension:

* ``.csv``: a header naming the columns, then one box per line. Columns: ``sample_id`` and either
  ``x1,y1,x2,y2`` (corners) or ``x,y,w,h`` (top-left corner and size), in any order; no other
  column is accepted, so a file that says neither is refused rather than guessed.
* ``.json``: a list of objects with the same keys (``{"sample_id": ..., "x1": ..., ...}``);
  each object says its own form, ``x1,y1,x2,y2`` or ``x,y,w,h``.
* ``.mat``: 300W's official ``bounding_boxes_*.mat`` files (MATLAB v5): the variable
  ``bounding_boxes``, a 1xN cell array of 1x1 structs (a plain struct array is read too) with
  fields ``imgName`` (image file name), ``bb_detector`` and ``bb_ground_truth`` (``[x1 y1 x2 y2]``,
  1-based MATLAB pixel coordinates); ``field`` chooses one of the two boxes.

Coordinates: CSV and JSON boxes are in faceval's point frame (0-based pixel coordinates of the
original image, pixel centres at integers), like every other faceval coordinate; the ``.mat``
boxes are 1-based on disk and returned 0-based (1 subtracted from all four values, as for
``.pts`` files). Every box must be finite with ``x2 > x1`` and ``y2 > y1``.

Numbers are parsed strictly: plain decimals only (``12``, ``-3.5``, ``1e3``); ``nan``, ``inf``,
hexadecimal, digit separators, empty cells and JSON booleans or strings are refused with a
one-line :class:`~faceval.errors.InputError` naming the file and line (the struct index for
``.mat`` files). A sample id given twice is refused too.

Matching to samples (:meth:`BoxTable.lookup`): a key equal to a sample id matches it; the
``.mat`` files name images only (``image_0001.png``), so their keys match the last path component
of a sample id (``lfpw/testset/image_0001.png``), and two requested samples with the same file
name are refused as ambiguous (use a CSV with full sample ids then).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from faceval.errors import InputError
from faceval.io.text import read_text

#: Formats of :class:`BoxTable` (``format`` attribute).
FORMATS = ("csv", "json", "300w-mat")
#: Box fields of 300W's ``bounding_boxes_*.mat`` files.
MAT_FIELDS = ("bb_detector", "bb_ground_truth")
CORNERS = ("x1", "y1", "x2", "y2")
XYWH = ("x", "y", "w", "h")
ID_COLUMN = "sample_id"
MAT_VARIABLE = "bounding_boxes"

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


@dataclass(frozen=True)
class BoxLookup:
    """Boxes of a list of samples.

    Attributes:
        boxes: ``(N, 4)`` float64 ``x1, y1, x2, y2`` (point frame); NaN rows where no box was found.
        found: ``(N,)`` bool.
        missing_ids: the sample ids without a box, in the order asked.
    """

    boxes: np.ndarray
    found: np.ndarray
    missing_ids: tuple[str, ...]

    @property
    def n_missing(self) -> int:
        return len(self.missing_ids)


@dataclass(frozen=True)
class BoxTable:
    """The boxes of one box file.

    Attributes:
        path: the file read.
        format: ``"csv"``, ``"json"`` or ``"300w-mat"``.
        field: the ``.mat`` field used (``bb_detector`` / ``bb_ground_truth``); None otherwise.
        keys: sample ids (CSV/JSON) or image file names (``.mat``), one per box, unique.
        boxes: ``(M, 4)`` float64 ``x1, y1, x2, y2``, 0-based point frame.
        sha256: hex digest of the file's bytes (its identity in a run's protocol).
        by_name: True when ``keys`` are image file names matched to the last component of a sample id.
    """

    path: Path
    format: str
    field: str | None
    keys: tuple[str, ...]
    boxes: np.ndarray
    sha256: str
    by_name: bool

    def __len__(self) -> int:
        return len(self.keys)

    def provenance(self) -> dict[str, Any]:
        """What a run's protocol records about this box source."""
        # the file name, not the path as typed: it enters the protocol (gate compares it), the sha256 is its identity
        return {"file": self.path.name, "sha256": self.sha256, "format": self.format, "field": self.field,
                "boxes": len(self.keys)}

    def lookup(self, sample_ids: Sequence[str]) -> BoxLookup:
        """The box of each sample (NaN row and listed in ``missing_ids`` when the file has none).

        Raises:
            InputError: ``by_name`` matching where two of ``sample_ids`` share the matched file name.
        """
        index = {key: k for k, key in enumerate(self.keys)}
        out = np.full((len(sample_ids), 4), np.nan, dtype=np.float64)
        found = np.zeros(len(sample_ids), dtype=bool)
        claimed: dict[str, str] = {}
        for i, sid in enumerate(sample_ids):
            k = index.get(sid)
            if k is None and self.by_name:
                name = _file_name(sid)
                k = index.get(name)
                if k is not None:
                    other = claimed.get(name)
                    if other is not None:
                        raise InputError(
                            f"boxes are keyed by image file name, but samples '{other}' and '{sid}' share "
                            f"the name '{name}': give a CSV or JSON box file keyed by sample_id", path=self.path)
                    claimed[name] = sid
            if k is not None:
                out[i] = self.boxes[k]
                found[i] = True
        missing = tuple(sid for sid, ok in zip(sample_ids, found) if not ok)
        return BoxLookup(out, found, missing)


def read_boxes(path: str | Path, field: str | None = None) -> BoxTable:
    """Read a box file (CSV, JSON or 300W ``.mat``; see the module docstring).

    Args:
        path: the file.
        field: for ``.mat`` files, ``"bb_detector"`` or ``"bb_ground_truth"`` (required there);
            must be None for CSV and JSON files.

    Raises:
        InputError: a missing or unreadable file, an unknown extension, a bad header, a malformed
            number or box, a duplicate sample id, a missing or unknown ``field``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json", ".mat"):
        raise InputError(f"unknown box file type '{path.suffix or '(none)'}': expected .csv, .json or "
                         "300W's bounding_boxes_*.mat", path=path)
    if suffix == ".mat":
        if field is None:
            raise InputError(f"a 300W bounding_boxes .mat file holds two boxes per image: choose one with "
                             f"--boxes-field {'|'.join(MAT_FIELDS)}", path=path)
        if field not in MAT_FIELDS:
            raise InputError(f"unknown box field '{field}': expected one of {', '.join(MAT_FIELDS)}", path=path)
    elif field is not None:
        raise InputError(f"--boxes-field '{field}' applies to 300W .mat box files only, not to "
                         f"{suffix[1:].upper()} files", path=path)
    data = _read_bytes(path)
    digest = hashlib.sha256(data).hexdigest()
    if suffix == ".csv":
        keys, boxes = _parse_csv(path)
        return BoxTable(path, "csv", None, keys, boxes, digest, by_name=False)
    if suffix == ".json":
        keys, boxes = _parse_json(path)
        return BoxTable(path, "json", None, keys, boxes, digest, by_name=False)
    assert field is not None
    keys, boxes = _parse_mat(path, data, field)
    return BoxTable(path, "300w-mat", field, keys, boxes, digest, by_name=True)


# -- helpers ---------------------------------------------------------------------------------


def _file_name(sample_id: str) -> str:
    return sample_id.rsplit("/", 1)[-1]


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError("box file not found", path=path) from None
    except IsADirectoryError:
        raise InputError("expected a box file, found a folder", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read box file: {exc.strerror or exc}", path=path) from None


def _short(text: str, width: int = 30) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _strict_float(token: str, what: str, path: Path, line: int) -> float:
    text = token.strip()
    if not _NUMBER.fullmatch(text):
        raise InputError(f"expected a number for {what}, found '{_short(text)}'", path=path, line=line)
    value = float(text)
    if not np.isfinite(value):
        raise InputError(f"expected a finite number for {what}, found '{_short(text)}'", path=path, line=line)
    return value


def _to_corners(values: Sequence[float], xywh: bool) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64)
    if xywh:
        return np.array([a[0], a[1], a[0] + a[2], a[1] + a[3]], dtype=np.float64)
    return a


def _check_box(box: np.ndarray, xywh: bool, path: Path, line: int | None, where: str = "") -> None:
    if not np.isfinite(box).all():
        raise InputError(f"{where}box is not finite", path=path, line=line)
    if not (box[2] > box[0] and box[3] > box[1]):
        if xywh:
            raise InputError(f"{where}expected w > 0 and h > 0, found w={box[2] - box[0]:g}, h={box[3] - box[1]:g}",
                             path=path, line=line)
        raise InputError(f"{where}expected x2 > x1 and y2 > y1, found x1={box[0]:g}, y1={box[1]:g}, "
                         f"x2={box[2]:g}, y2={box[3]:g}", path=path, line=line)


def _add(keys: list[str], seen: dict[str, int], key: str, path: Path, line: int) -> None:
    if key in seen:
        raise InputError(f"sample_id '{_short(key, 60)}' given twice (first on line {seen[key]})", path=path, line=line)
    seen[key] = line
    keys.append(key)


def _parse_csv(path: Path) -> tuple[tuple[str, ...], np.ndarray]:
    text = read_text(path, "box CSV file")
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    header_line = 0
    keys: list[str] = []
    seen: dict[str, int] = {}
    rows: list[np.ndarray] = []
    columns: dict[str, int] = {}
    xywh = False
    expected = f"'{ID_COLUMN},{','.join(CORNERS)}' or '{ID_COLUMN},{','.join(XYWH)}'"
    try:
        for cells in reader:
            line = reader.line_num
            if not cells or all(not c.strip() for c in cells):
                continue
            if header is None:
                header = [c.strip() for c in cells]
                header_line = line
                names = set(header)
                if len(names) != len(header):
                    raise InputError(f"header names a column twice: expected {expected}", path=path, line=line)
                if names == {ID_COLUMN, *CORNERS}:
                    xywh = False
                elif names == {ID_COLUMN, *XYWH}:
                    xywh = True
                else:
                    raise InputError(f"expected a header {expected}, found '{_short(','.join(header), 60)}'",
                                     path=path, line=line)
                columns = {name: k for k, name in enumerate(header)}
                continue
            if len(cells) != len(header):
                raise InputError(f"expected {len(header)} comma-separated values, found {len(cells)}",
                                 path=path, line=line)
            sid = cells[columns[ID_COLUMN]].strip()
            if not sid:
                raise InputError("empty sample_id", path=path, line=line)
            names = XYWH if xywh else CORNERS
            values = [_strict_float(cells[columns[n]], n, path, line) for n in names]
            box = _to_corners(values, xywh)
            _check_box(box, xywh, path, line)
            _add(keys, seen, sid, path, line)
            rows.append(box)
    except csv.Error as exc:
        raise InputError(f"malformed CSV ({exc})", path=path, line=reader.line_num) from None
    if header is None:
        raise InputError(f"empty box CSV file: expected a header {expected}", path=path, line=1)
    if not rows:
        raise InputError("box CSV file has a header but no boxes", path=path, line=header_line)
    return tuple(keys), np.stack(rows)


def _reject_constant(name: str) -> float:
    raise ValueError(name)


def _parse_json(path: Path) -> tuple[tuple[str, ...], np.ndarray]:
    """A JSON list of objects, decoded element by element so that errors name the element's line."""
    text = read_text(path, "box JSON file")
    decoder = json.JSONDecoder(parse_constant=_reject_constant)
    what = f"a JSON list of objects with '{ID_COLUMN}' and x1,y1,x2,y2 (or x,y,w,h)"

    def line_at(pos: int) -> int:
        return text.count("\n", 0, pos) + 1

    pos = _skip_ws(text, 0)
    if pos >= len(text):
        raise InputError(f"empty box JSON file: expected {what}", path=path, line=1)
    if text[pos] != "[":
        raise InputError(f"expected {what}", path=path, line=line_at(pos))
    pos = _skip_ws(text, pos + 1)
    keys: list[str] = []
    seen: dict[str, int] = {}
    rows: list[np.ndarray] = []
    if pos < len(text) and text[pos] == "]":
        raise InputError("box JSON file holds an empty list", path=path, line=line_at(pos))
    while True:
        line = line_at(pos)
        try:
            item, end = decoder.raw_decode(text, pos)
        except ValueError as exc:
            if isinstance(exc, json.JSONDecodeError):
                raise InputError(f"not valid JSON: {exc.msg}", path=path, line=exc.lineno) from None
            raise InputError(f"expected a finite number, found '{exc}'", path=path, line=line) from None
        sid, box = _json_record(item, path, line)
        _add(keys, seen, sid, path, line)
        rows.append(box)
        pos = _skip_ws(text, end)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
            continue
        if pos < len(text) and text[pos] == "]":
            pos = _skip_ws(text, pos + 1)
            break
        raise InputError("not valid JSON: expected ',' or ']' after a list element", path=path, line=line_at(pos))
    if pos < len(text):
        raise InputError("not valid JSON: extra data after the list", path=path, line=line_at(pos))
    return tuple(keys), np.stack(rows)


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _json_record(item: Any, path: Path, line: int) -> tuple[str, np.ndarray]:
    if not isinstance(item, dict):
        raise InputError(f"expected an object with '{ID_COLUMN}' and x1,y1,x2,y2 (or x,y,w,h), found "
                         f"{type(item).__name__}", path=path, line=line)
    names = set(item)
    if names == {ID_COLUMN, *CORNERS}:
        xywh, fields = False, CORNERS
    elif names == {ID_COLUMN, *XYWH}:
        xywh, fields = True, XYWH
    else:
        raise InputError(f"expected keys {ID_COLUMN},{','.join(CORNERS)} or {ID_COLUMN},{','.join(XYWH)}, "
                         f"found {_short(','.join(sorted(map(str, names))), 60)}", path=path, line=line)
    sid = item[ID_COLUMN]
    if not isinstance(sid, str) or not sid.strip():
        raise InputError(f"expected a non-empty string for {ID_COLUMN}, found {_short(json.dumps(sid))}",
                         path=path, line=line)
    values = []
    for name in fields:
        v = item[name]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
            raise InputError(f"expected a number for {name}, found {_short(json.dumps(v))}", path=path, line=line)
        values.append(float(v))
    box = _to_corners(values, xywh)
    _check_box(box, xywh, path, line)
    return sid.strip(), box


def _parse_mat(path: Path, data: bytes, field: str) -> tuple[tuple[str, ...], np.ndarray]:
    import scipy.io

    if data[:128].find(b"MATLAB 7.3") >= 0 or data[:8] == b"\x89HDF\r\n\x1a\n":
        raise InputError("MATLAB v7.3 (HDF5) file: 300W's bounding_boxes files are MATLAB v5", path=path)
    try:
        mat = scipy.io.loadmat(io.BytesIO(data), squeeze_me=False, struct_as_record=True)
    except Exception as exc:  # noqa: BLE001 - scipy raises ValueError, TypeError, MatReadError ...
        msg = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(f"not a readable MATLAB v5 file ({_short(msg, 80)})", path=path) from None
    if MAT_VARIABLE not in mat:
        found = ", ".join(k for k in mat if not k.startswith("__")) or "none"
        raise InputError(f"expected the variable '{MAT_VARIABLE}' (300W's bounding_boxes_*.mat), "
                         f"found: {_short(found, 60)}", path=path)
    array = np.asarray(mat[MAT_VARIABLE])
    records = [_mat_record(cell, path, k) for k, cell in enumerate(array.reshape(-1, order="F"))]
    if not records:
        raise InputError(f"'{MAT_VARIABLE}' is empty", path=path)
    keys: list[str] = []
    seen: dict[str, int] = {}
    rows: list[np.ndarray] = []
    for k, record in enumerate(records):
        where = f"{MAT_VARIABLE}{{{k + 1}}}: "
        name = _mat_string(record, "imgName", path, where)
        raw = np.asarray(record[field])
        if raw.dtype.kind not in "fiu" or raw.size != 4:
            raise InputError(f"{where}expected {field} as 4 numbers [x1 y1 x2 y2], found {raw.size} "
                             f"value(s) of type {raw.dtype}", path=path)
        box = raw.astype(np.float64).reshape(4) - 1.0
        _check_box(box, False, path, None, where=f"{where}{field}: ")
        if name in seen:
            raise InputError(f"{where}imgName '{_short(name, 60)}' given twice (first in "
                             f"{MAT_VARIABLE}{{{seen[name]}}})", path=path)
        seen[name] = k + 1
        keys.append(name)
        rows.append(box)
    return tuple(keys), np.stack(rows)


def _mat_record(cell: Any, path: Path, k: int) -> Any:
    """One struct of the cell array (or struct array): a record with named fields."""
    where = f"{MAT_VARIABLE}{{{k + 1}}}: "
    value = cell
    if isinstance(value, np.ndarray):  # a cell of the cell array: a 1x1 struct array
        if value.dtype.names is None or value.size != 1:
            raise InputError(f"{where}expected a struct with imgName, bb_detector and bb_ground_truth, found "
                             f"an array of shape {value.shape}", path=path)
        value = value.reshape(-1)[0]
    names = getattr(getattr(value, "dtype", None), "names", None)
    if names is None:
        raise InputError(f"{where}expected a struct with imgName, bb_detector and bb_ground_truth, found "
                         f"{type(value).__name__}", path=path)
    missing = [n for n in ("imgName", *MAT_FIELDS) if n not in names]
    if missing:
        raise InputError(f"{where}struct lacks field(s) {', '.join(missing)} (has: {', '.join(names)})", path=path)
    return value


def _mat_string(record: Any, name: str, path: Path, where: str) -> str:
    raw = np.asarray(record[name])
    if raw.dtype.kind != "U" or raw.size != 1:
        raise InputError(f"{where}expected {name} as a character string, found {raw.size} value(s) of type "
                         f"{raw.dtype}", path=path)
    text = str(raw.reshape(-1)[0]).strip()
    if not text:
        raise InputError(f"{where}empty {name}", path=path)
    return text
