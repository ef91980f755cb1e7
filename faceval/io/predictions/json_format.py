"""Prediction JSON: a list of ``{"sample_id", "landmarks", "pose"}`` objects, or SPIGA's results JSON.

JSON numbers only: strings, booleans and ``null`` coordinates are errors with line and column.
SPIGA's ``imgpath``/``landmarks``/``headpose`` records are read by
:func:`faceval.io.spiga.spiga_records` and matched to samples by path suffix later.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from faceval.errors import InputError
from faceval.io.predictions.common import RawPredictions


def read_json(source: Path) -> RawPredictions:
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
