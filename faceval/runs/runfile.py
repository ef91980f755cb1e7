"""Run files: one HDF5 file per evaluation (write atomically, read back).

Layout (schema version 1)::

    /                 attrs: format="faceval-run", schema_version, label, dataset, scheme,
                             protocol, provenance, summary, model_info (JSON strings),
                             split_expected (JSON, optional: split -> samples of the complete split)
    /samples/ids      (N,) UTF-8 strings, canonical order
    /arrays/...       predictions (N,K,2), ground_truth (N,K,2), visible (N,K), normalizers (N,),
                      nme (N,), failed_inputs (N,), failure_reasons (N,) strings,
                      pose_pred (N,3) and pose_gt (N,3) when present
    /splits/<name>    int64 indices into the samples

Datasets are written without timestamps so the arrays are byte-identical for
identical inputs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from faceval.atomic import atomic_path
from faceval.errors import InputError
from faceval.jsonable import json_default
from faceval.runs.data import SCHEMA_VERSION, RunData

FORMAT_NAME = "faceval-run"
_ARRAYS = ("predictions", "ground_truth", "visible", "normalizers", "nme", "failed_inputs")
_JSON_ATTRS = ("protocol", "provenance", "summary", "model_info")


def _json_dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=json_default)


def write_run(path: str | os.PathLike[str], run: RunData) -> Path:
    """Write ``run`` to ``path`` atomically (temporary file, then rename)."""
    import h5py

    target = Path(path)
    str_dtype = h5py.string_dtype("utf-8")
    with atomic_path(target) as tmp:
        with h5py.File(tmp, "w", track_order=True) as h5:
            h5.attrs["format"] = FORMAT_NAME
            h5.attrs["schema_version"] = SCHEMA_VERSION
            h5.attrs["label"] = run.label
            h5.attrs["dataset"] = run.dataset
            h5.attrs["scheme"] = run.scheme
            for name in _JSON_ATTRS:
                value = getattr(run, name)
                h5.attrs[name] = _json_dumps(value.to_dict() if name == "protocol" else value)
            h5.attrs["split_expected"] = _json_dumps(run.split_expected)
            h5.create_dataset("samples/ids", data=np.asarray(run.sample_ids, dtype=object), dtype=str_dtype, track_times=False)
            for name in _ARRAYS:
                h5.create_dataset(f"arrays/{name}", data=np.asarray(getattr(run, name)), track_times=False)
            h5.create_dataset(
                "arrays/failure_reasons",
                data=np.asarray(run.failure_reasons, dtype=object),
                dtype=str_dtype,
                track_times=False,
            )
            for name in ("pose_pred", "pose_gt"):
                value = getattr(run, name)
                if value is not None:
                    h5.create_dataset(f"arrays/{name}", data=np.asarray(value, dtype=np.float64), track_times=False)
            splits = h5.create_group("splits", track_order=True)
            for split, indices in run.splits.items():
                splits.create_dataset(split, data=np.asarray(indices, dtype=np.int64), track_times=False)
    return target


#: what h5py and numpy raise on damaged or inconsistent run files (turned into InputError naming the file)
_DAMAGED = (KeyError, ValueError, TypeError, AttributeError, IndexError, OSError, RuntimeError)


def _attr_str(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _check_consistent(ids: np.ndarray, arrays: dict[str, np.ndarray], reasons: np.ndarray,
                      splits: dict[str, np.ndarray], pose_pred: Any, pose_gt: Any, meta: dict[str, Any]) -> None:
    """Raise ValueError naming the first array whose shape disagrees with the sample count."""
    n = len(ids)
    pred = np.asarray(arrays["predictions"])
    if ids.ndim != 1 or pred.ndim != 3 or pred.shape[0] != n or pred.shape[2] != 2:
        raise ValueError(f"predictions of shape {pred.shape} do not match {n} samples")
    expected = {"ground_truth": pred.shape, "visible": pred.shape[:2], "normalizers": (n,), "nme": (n,),
                "failed_inputs": (n,)}
    for name, shape in expected.items():
        if np.shape(arrays[name]) != shape:
            raise ValueError(f"{name} of shape {np.shape(arrays[name])}, expected {shape}")
        if np.asarray(arrays[name]).dtype.kind not in "fiub":
            raise ValueError(f"{name} is not numeric")
    if reasons.shape != (n,):
        raise ValueError(f"failure_reasons of shape {reasons.shape}, expected {(n,)}")
    for name, pose in (("pose_pred", pose_pred), ("pose_gt", pose_gt)):
        if pose is not None and (np.shape(pose) != (n, 3) or np.asarray(pose).dtype.kind not in "fiu"):
            raise ValueError(f"{name} of shape {np.shape(pose)}, expected {(n, 3)}")
    for split, indices in splits.items():
        idx = np.asarray(indices)
        if idx.ndim != 1 or idx.dtype.kind not in "iu" or (idx.size and (idx.min() < 0 or idx.max() >= n)):
            raise ValueError(f"split '{split}' holds indices outside 0..{n - 1}")
    for name, value in meta.items():
        if not isinstance(value, dict):
            raise ValueError(f"attribute '{name}' is not a JSON object")


def read_run(path: str | os.PathLike[str]) -> RunData:
    """Read a run file; a file that is not one gives a one-line :class:`InputError`."""
    import h5py

    source = Path(path)
    if not source.exists():
        raise InputError("run file not found", path=source)
    if source.is_dir():
        raise InputError("expected a run file (.h5), found a folder", path=source)
    try:
        h5 = h5py.File(source, "r")
    except OSError:
        raise InputError("not a faceval run file (not HDF5)", path=source) from None
    try:
        with h5:
            marker = h5.attrs.get("format")
            if isinstance(marker, bytes):
                marker = marker.decode("utf-8", "replace")
            if marker != FORMAT_NAME:
                raise InputError("not a faceval run file (no 'faceval-run' format marker)", path=source)
            version = int(h5.attrs.get("schema_version", -1))
            if version > SCHEMA_VERSION:
                raise InputError(
                    f"run file schema version {version} is newer than this faceval supports ({SCHEMA_VERSION}); upgrade faceval",
                    path=source,
                )
            arrays = {name: h5[f"arrays/{name}"][()] for name in _ARRAYS}
            reasons = np.asarray([s.decode("utf-8") if isinstance(s, bytes) else s for s in h5["arrays/failure_reasons"][()]], dtype=object)
            ids = np.asarray([s.decode("utf-8") if isinstance(s, bytes) else s for s in h5["samples/ids"][()]], dtype=object)
            splits = {name: h5["splits"][name][()] for name in h5["splits"]}
            pose_pred = h5["arrays/pose_pred"][()] if "arrays/pose_pred" in h5 else None
            pose_gt = h5["arrays/pose_gt"][()] if "arrays/pose_gt" in h5 else None
            meta = {name: json.loads(h5.attrs[name]) for name in _JSON_ATTRS}
            split_expected = json.loads(h5.attrs["split_expected"]) if "split_expected" in h5.attrs else {}
            if not isinstance(split_expected, dict) or not all(
                    isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in split_expected.values()):
                raise ValueError("attribute 'split_expected' is not an object of sample counts")
            label, dataset, scheme = (_attr_str(h5.attrs[k]) for k in ("label", "dataset", "scheme"))
            _check_consistent(ids, arrays, reasons, splits, pose_pred, pose_gt, meta)
    except _DAMAGED as exc:
        text = str(exc).strip().splitlines()
        detail = f"{type(exc).__name__}: {text[0][:80]}" if text else type(exc).__name__
        raise InputError(f"damaged run file ({detail})", path=source) from None
    from faceval.runs.protocol import Protocol

    protocol = Protocol.from_dict(meta["protocol"], source=source)
    return RunData(
        label=label,
        dataset=dataset,
        scheme=scheme,
        sample_ids=ids,
        splits=splits,
        predictions=arrays["predictions"],
        ground_truth=arrays["ground_truth"],
        visible=arrays["visible"].astype(bool),
        normalizers=arrays["normalizers"],
        nme=arrays["nme"],
        failed_inputs=arrays["failed_inputs"].astype(bool),
        failure_reasons=reasons,
        pose_pred=pose_pred,
        pose_gt=pose_gt,
        protocol=protocol,
        provenance=meta["provenance"],
        summary=meta["summary"],
        model_info=meta["model_info"],
        schema_version=version,
        split_expected={str(k): int(v) for k, v in split_expected.items()},
    )
