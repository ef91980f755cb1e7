"""Readers for predictions made elsewhere (``faceval score``).

Formats (chosen by extension):

- CSV: header ``sample_id,x0,y0,x1,y1,...`` then optional ``yaw,pitch,roll`` columns;
  0-based pixel coordinates of the original image. Numbers are plain ASCII decimal or scientific
  (``12``, ``-3.5``, ``1e-3``), or ``nan``/``inf`` for a failed prediction; an empty field,
  ``1_000``, non-ASCII digits, ``true`` and anything else are an error naming the file, line and
  column (:mod:`faceval.io.predictions.csv_format`: vectorised, with a strict checker behind it).
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

One module per job: :mod:`~faceval.io.predictions.common` (the typed values),
:mod:`~faceval.io.predictions.arrays` (NPY, NPZ, HDF5 and the shape checks),
:mod:`~faceval.io.predictions.csv_format`, :mod:`~faceval.io.predictions.json_format` and
:mod:`~faceval.io.predictions.align` (dataset order, image paths from other tools).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from faceval.errors import InputError
from faceval.io.predictions.align import ImagePathResolver, align_predictions
from faceval.io.predictions.arrays import as_ids, as_landmarks, as_pose, read_h5, read_npy, read_npz
from faceval.io.predictions.common import FORMATS, POSE_COLUMNS, LoadedPredictions, PredictionArrays, RawPredictions
from faceval.io.predictions.csv_format import read_csv
from faceval.io.predictions.json_format import read_json

if TYPE_CHECKING:
    from faceval.datasets.ids import DatasetIds

__all__ = ["FORMATS", "POSE_COLUMNS", "ImagePathResolver", "LoadedPredictions", "PredictionArrays", "RawPredictions",
           "align_predictions", "from_arrays", "read_prediction_file", "read_predictions"]


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
        return read_csv(source)
    if suffix == ".npy":
        return read_npy(source)
    if suffix == ".npz":
        return read_npz(source)
    if suffix == ".json":
        return read_json(source)
    if suffix in (".h5", ".hdf5"):
        return read_h5(source)
    raise InputError(f"unknown prediction format '{suffix}'; expected .csv, .npy, .npz, .json, .h5", path=source)


def from_arrays(arrays: PredictionArrays, what: str = "predictions") -> RawPredictions:
    """In-memory predictions as :class:`RawPredictions` (same checks as the files get; never owned)."""
    where = Path(what)
    lms = as_landmarks(arrays.landmarks, where)
    pose = as_pose(arrays.pose, lms.shape[0], where)
    ids = None if arrays.sample_ids is None else as_ids(np.asarray(list(arrays.sample_ids)), lms.shape[0], where)
    return RawPredictions(ids, lms, pose, "arrays", owned=False)
