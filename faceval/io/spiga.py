"""SPIGA-style JSON annotations and predictions (an interchange format).

A JSON list of objects ``{"imgpath", "bbox": [x, y, w, h], "landmarks": [[x, y], ...],
"visible": [0/1, ...], "headpose": [yaw, pitch, roll, ...], "ids": [...]}``; coordinates are already
0-based (SPIGA's ground truth equals the ``.pts`` coordinates minus 1). ``visible`` and ``headpose``
are optional. The ``db_info.json`` beside it lists subsets (``test_subsets``: name -> indices).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceval.errors import InputError
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
    text = read_text(path, what)
    if not text.strip():
        raise InputError(f"empty {what}: expected a JSON list of records", path=path, line=1)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"expected JSON in a {what}: {exc.msg}", path=path, line=exc.lineno) from None


def read_spiga_json(path: Path | str) -> SpigaRecords:
    """Read a SPIGA ``test.json`` / ``spiga_results_test.json``."""
    path = Path(path)
    what = "SPIGA JSON file"
    data = _load_json(path, what)
    if not isinstance(data, list) or not data:
        raise InputError("expected a non-empty JSON list of records {imgpath, landmarks, ...}", path=path)
    n = len(data)
    images: list[str] = []
    for i, record in enumerate(data):
        if not isinstance(record, dict) or "landmarks" not in record or "imgpath" not in record:
            raise InputError(f"expected record {i} to be an object with 'imgpath' and 'landmarks'", path=path)
        images.append(str(record["imgpath"]))
    try:
        landmarks = np.array([r["landmarks"] for r in data], dtype=np.float64)
    except (ValueError, TypeError):
        raise InputError("expected every record's 'landmarks' to be a list of [x, y] numbers of one length",
                         path=path) from None
    if landmarks.ndim != 3 or landmarks.shape[2] != 2:
        raise InputError(f"expected 'landmarks' as K x 2 per record, found shape {landmarks.shape[1:]}", path=path)
    k = landmarks.shape[1]
    visible = np.ones((n, k), dtype=bool)
    boxes = np.full((n, 4), np.nan)
    poses = np.full((n, 3), np.nan)
    for i, record in enumerate(data):
        try:
            if record.get("visible") is not None:
                vis = np.asarray(record["visible"], dtype=np.float64).reshape(-1)
                if vis.size != k:
                    raise ValueError
                visible[i] = vis > 0.5
            if record.get("bbox") is not None:
                x, y, w, h = (float(v) for v in record["bbox"][:4])
                boxes[i] = (x, y, x + w, y + h)
            if record.get("headpose") is not None:
                poses[i] = [float(v) for v in record["headpose"][:3]]
        except (ValueError, TypeError, IndexError):
            raise InputError(f"expected record {i} to hold numeric 'visible' ({k} values), 'bbox' [x, y, w, h] "
                             "and 'headpose' [yaw, pitch, roll, ...]", path=path) from None
    return SpigaRecords(image_paths=images, landmarks=landmarks, visible=visible, boxes=boxes, poses=poses)


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
