"""SPIGA-style JSON annotations and predictions (an interchange format).

A JSON list of objects ``{"imgpath", "bbox": [x, y, w, h], "landmarks": [[x, y], ...],
"visible": [0/1, ...], "headpose": [yaw, pitch, roll, ...], "ids": [...]}``; coordinates are already
0-based (SPIGA's ground truth equals the ``.pts`` coordinates minus 1). ``visible`` and ``headpose``
are optional. The ``db_info.json`` beside it lists subsets (``test_subsets``: name -> indices).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceval.errors import InputError
from faceval.io.json_values import all_numbers, bad_number_error, load_json_text, number_rows
from faceval.io.text import read_text


@dataclass
class SpigaRecords:
    """Parsed SPIGA JSON.

    Attributes:
        image_paths: ``imgpath`` of each record, as written.
        landmarks: ``(N, K, 2)`` float64, 0-based.
        visible: ``(N, K)`` bool (all True when absent).
        boxes: ``(N, 4)`` float64 ``x_min, y_min, x_max, y_max`` (NaN when absent).
        poses: ``(N, 3)`` float64 yaw, pitch, roll degrees (NaN when absent).
    """

    image_paths: list[str]
    landmarks: np.ndarray
    visible: np.ndarray
    boxes: np.ndarray
    poses: np.ndarray

    def __len__(self) -> int:
        return len(self.image_paths)


def _load_json(path: Path, what: str) -> object:
    return load_json_text(path, read_text(path, what), what)


#: SPIGA writes ``headpose`` as yaw, pitch, roll (degrees) followed by a translation tx, ty, tz
HEADPOSE_LENGTHS = (3, 6)


def read_spiga_json(path: Path | str) -> SpigaRecords:
    """Read a SPIGA ``test.json`` / ``spiga_results_test.json``."""
    path = Path(path)
    what = "SPIGA JSON file"
    text = read_text(path, what)
    return spiga_records(load_json_text(path, text, what), text, path)


def spiga_records(data: object, text: str, path: Path) -> SpigaRecords:
    """SPIGA records from an already parsed document (``text`` is its source, for error positions).

    Every coordinate, visibility flag, box value and head-pose angle must be a JSON number: a string
    or a boolean is an error naming the file, line and column. ``headpose`` has 3 or 6 values (yaw,
    pitch, roll [, tx, ty, tz]); any other length is an error, never cut or dropped.
    """
    if not isinstance(data, list) or not data:
        raise InputError("expected a non-empty JSON list of records {imgpath, landmarks, ...}", path=path)
    n = len(data)
    images: list[str] = []
    for i, record in enumerate(data):
        if not isinstance(record, dict) or "landmarks" not in record or "imgpath" not in record:
            raise InputError(f"expected record {i} to be an object with 'imgpath' and 'landmarks'", path=path)
        if not isinstance(record["imgpath"], str):
            raise bad_number_error(path, text, [i, "imgpath"], f"record {i} 'imgpath'", record["imgpath"],
                                   "an image path string")
        images.append(record["imgpath"])
    landmarks = landmark_array([r["landmarks"] for r in data], path, text, "record")
    k = landmarks.shape[1]
    visible = np.ones((n, k), dtype=bool)
    boxes = np.full((n, 4), np.nan)
    poses = np.full((n, 3), np.nan)
    for i, record in enumerate(data):
        if record.get("visible") is not None:
            visible[i] = number_rows(record["visible"], k, path, text, [i, "visible"], f"record {i} 'visible'",
                                     f"a list of {k} numbers") > 0.5
        if record.get("bbox") is not None:
            x, y, w, h = number_rows(record["bbox"], 4, path, text, [i, "bbox"], f"record {i} 'bbox'",
                                     "a list [x, y, w, h]")
            boxes[i] = (x, y, x + w, y + h)
        pose = record.get("headpose")
        if pose is not None:
            width = len(pose) if type(pose) is list and len(pose) in HEADPOSE_LENGTHS else 3
            poses[i] = number_rows(pose, width, path, text, [i, "headpose"], f"record {i} 'headpose'",
                                   "a list [yaw, pitch, roll] or [yaw, pitch, roll, tx, ty, tz]")[:3]
    return SpigaRecords(image_paths=images, landmarks=landmarks, visible=visible, boxes=boxes, poses=poses)


def landmark_array(items: list[object], path: Path, text: str, noun: str) -> np.ndarray:
    """``(N, K, 2)`` float64 from the ``landmarks`` of N records (lists of ``[x, y]`` JSON numbers).

    Fast path: one type check over all leaves and one conversion. On failure, the first record whose
    landmarks are not K pairs of numbers is named with its line and column.
    """
    if all_numbers(items, 3):  # type: ignore[arg-type]
        try:
            arr = np.asarray(items, dtype=np.float64)
        except ValueError:
            arr = None
        if arr is not None and arr.ndim == 3 and arr.shape[2] == 2 and arr.shape[1] > 0:
            return arr
    k = None
    for i, lms in enumerate(items):
        where = f"{noun} {i} 'landmarks'"
        if type(lms) is not list or not lms:
            raise bad_number_error(path, text, [i, "landmarks"], where, lms, "a list of [x, y] points")
        if k is None:
            k = len(lms)
        if len(lms) != k:
            raise bad_number_error(path, text, [i, "landmarks"], where, lms,
                                   f"{k} points as in {noun} 0")
        for j, point in enumerate(lms):
            number_rows(point, 2, path, text, [i, "landmarks", j], f"{where}[{j}]", "a point [x, y]")
    raise AssertionError("unreachable")  # pragma: no cover


def read_spiga_subsets(path: Path | str) -> dict[str, np.ndarray]:
    """Read ``test_subsets`` (name -> int64 indices) from a SPIGA ``db_info.json`` ({} when none)."""
    path = Path(path)
    data = _load_json(path, "SPIGA db_info.json")
    if not isinstance(data, dict):
        raise InputError("expected a JSON object with 'test_subsets'", path=path)
    subsets = data.get("test_subsets") or {}
    try:
        return {str(k): np.asarray(v, dtype=np.int64) for k, v in subsets.items()}
    except (ValueError, TypeError, AttributeError, OverflowError):
        raise InputError("expected 'test_subsets' to map names to lists of indices", path=path) from None
