"""Run files: one HDF5 file per evaluation (write atomically, read back verified and lazily).

Layout (file schema version 2)::

    /                 attrs: format="faceval-run", schema_version, label, dataset, scheme,
                             protocol, provenance, summary, model_info (JSON strings),
                             split_expected (JSON, optional: split -> samples of the complete split),
                             split_within (JSON, optional: split of unknown size -> {"split", "n",
                             "n_expected"} of the partial split it is part of),
                             checksums (JSON: dataset path -> sha256 of its stored array),
                             attrs_sha256 (sha256 over every other root attribute)
    /samples/ids      (N,) UTF-8 bytes (fixed length), canonical order
    /arrays/...       predictions (N,K,2), ground_truth (N,K,2), visible (N,K), normalizers (N,),
                      nme (N,), failed_inputs (N,), failure_reasons (N,) UTF-8 bytes,
                      pose_pred (N,3) and pose_gt (N,3) when present

A pose-only run (root attribute ``pose_only`` = ``true``, written only then) has no
``predictions``, ``normalizers`` or ``nme``: it predicted no landmark, and reading it gives None
for them (never a made-up array).
    /splits/<name>    int64 indices into the samples

Every dataset is chunked with HDF5's fletcher32 filter (a flipped bit in a chunk fails its
read) and has a sha256 in ``checksums`` (an array edited in place with h5py, which recomputes
fletcher32, no longer matches). The root attributes are covered by ``attrs_sha256``. Any
mismatch is "damaged run file", naming the file.

Reading is lazy: :func:`read_run` verifies the attributes and splits, checks that every array
of the checksum list is present, and returns a :class:`LazyRunData` whose per-image arrays are
read (and their shape and digest verified) on first access, or in the same opening for the
fields named in ``prefetch``. A report of NME/FR/AUC reads only ``nme`` and ``failed_inputs``;
an array that is never read is never verified, and nothing computed depends on it.

Datasets are written without timestamps: identical runs give byte-identical files.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from faceval.atomic import atomic_path
from faceval.errors import InputError
from faceval.jsonable import json_default
from faceval.runs.data import SCHEMA_VERSION, RunData, SplitCount

FORMAT_NAME = "faceval-run"
#: version of the on-disk layout (2: checksums, fixed-length UTF-8 strings). The in-memory
#: model's version (RunData.schema_version, echoed in report JSON) is ``runs.data.SCHEMA_VERSION``.
FILE_SCHEMA_VERSION = 2
#: numeric per-image arrays under /arrays (always present)
_ARRAYS = ("predictions", "ground_truth", "visible", "normalizers", "nme", "failed_inputs")
#: optional per-image arrays under /arrays
_POSE = ("pose_pred", "pose_gt")
#: the arrays a pose-only run does not have
_LANDMARK_ONLY = ("predictions", "normalizers", "nme")
#: root attributes holding JSON objects (add new ones here: they are written, read and digested)
_JSON_ATTRS = ("protocol", "provenance", "summary", "model_info")
#: RunData field -> dataset path, for the fields read on first access
_LAZY_PATHS = {"sample_ids": "samples/ids", "failure_reasons": "arrays/failure_reasons",
               **{name: f"arrays/{name}" for name in _ARRAYS + _POSE}}
#: HDF5 file-format bounds: v1.10 object headers carry checksums of their own
_LIBVER = ("v110", "v110")
_CHECKSUMS_ATTR = "checksums"
_ATTRS_DIGEST = "attrs_sha256"


def _json_dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=json_default)


def array_sha256(array: np.ndarray) -> str:
    """sha256 of an array as stored: dtype, shape and C-order bytes."""
    arr = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{arr.dtype.str}{arr.shape}".encode("ascii"))
    digest.update(memoryview(arr).cast("B") if arr.size else b"")
    return digest.hexdigest()


def _read_split_within(attrs: Any) -> dict[str, SplitCount]:
    """The optional ``split_within`` attribute; anything but an object of split counts is damage."""
    if "split_within" not in attrs:
        return {}
    value = json.loads(_attr_str(attrs["split_within"]))

    def count(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0

    if not isinstance(value, dict) or not all(
            isinstance(c, dict) and set(c) == {"split", "n", "n_expected"} and isinstance(c["split"], str)
            and count(c["n"]) and count(c["n_expected"]) for c in value.values()):
        raise _Damaged("attribute 'split_within' is not an object of split counts")
    return {str(k): SplitCount(c["split"], c["n"], c["n_expected"]) for k, c in value.items()}


def _attrs_sha256(attrs: Any) -> str:
    """sha256 over every root attribute except the digest itself (names sorted)."""
    digest = hashlib.sha256()
    for name in sorted(k for k in attrs.keys() if k != _ATTRS_DIGEST):
        digest.update(json.dumps([name, _attr_str(attrs[name])]).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def _encode_strings(values: Any, what: str) -> np.ndarray:
    """Strings as fixed-length UTF-8 bytes (filterable, unlike variable-length strings)."""
    encoded = [str(v).encode("utf-8") for v in values]
    if any(b"\x00" in e for e in encoded):
        raise ValueError(f"{what} contain a NUL character")
    width = max([len(e) for e in encoded] + [1])
    return np.asarray(encoded, dtype=f"S{width}")


def _decode_strings(values: np.ndarray) -> np.ndarray:
    return np.asarray([v.decode("utf-8") for v in values.tolist()], dtype=object)


def write_run(path: str | os.PathLike[str], run: RunData) -> Path:
    """Write ``run`` to ``path`` atomically (temporary file, then rename), with checksums."""
    import h5py

    target = Path(path)
    checksums: dict[str, str] = {}

    def put(h5: Any, name: str, data: np.ndarray) -> None:
        h5.create_dataset(name, data=data, chunks=True, fletcher32=True, track_times=False)
        checksums[name] = array_sha256(data)

    arrays = [name for name in _ARRAYS if not (run.pose_only and name in _LANDMARK_ONLY)]
    stored = {name: np.asarray(getattr(run, name)) for name in arrays}
    stored["visible"] = stored["visible"].astype(bool)
    stored["failed_inputs"] = stored["failed_inputs"].astype(bool)
    with atomic_path(target) as tmp:
        with h5py.File(tmp, "w", track_order=True, libver=_LIBVER) as h5:
            h5.attrs["format"] = FORMAT_NAME
            h5.attrs["schema_version"] = FILE_SCHEMA_VERSION
            h5.attrs["label"] = run.label
            h5.attrs["dataset"] = run.dataset
            h5.attrs["scheme"] = run.scheme
            for name in _JSON_ATTRS:
                value = getattr(run, name)
                if name == "protocol":  # the typed protocol (a dict assigned after construction is validated)
                    from faceval.runs.protocol import Protocol

                    value = (value if isinstance(value, Protocol) else Protocol.from_dict(value)).to_dict()
                h5.attrs[name] = _json_dumps(value)
            h5.attrs["split_expected"] = _json_dumps(run.split_expected)
            if run.split_within:
                h5.attrs["split_within"] = _json_dumps(
                    {k: {"split": c.split, "n": c.n, "n_expected": c.n_expected} for k, c in run.split_within.items()})
            if run.pose_only:
                h5.attrs["pose_only"] = "true"
            put(h5, "samples/ids", _encode_strings(run.sample_ids, "sample ids"))
            for name in arrays:
                put(h5, f"arrays/{name}", stored[name])
            put(h5, "arrays/failure_reasons", _encode_strings(run.failure_reasons, "failure reasons"))
            for name in _POSE:
                value = getattr(run, name)
                if value is not None:
                    put(h5, f"arrays/{name}", np.asarray(value, dtype=np.float64))
            h5.create_group("splits", track_order=True)
            for split, indices in run.splits.items():
                put(h5, f"splits/{split}", np.asarray(indices, dtype=np.int64))
            h5.attrs[_CHECKSUMS_ATTR] = _json_dumps(checksums)
            h5.attrs[_ATTRS_DIGEST] = _attrs_sha256(h5.attrs)
    return target


#: what h5py and numpy raise on damaged or inconsistent run files (turned into InputError naming the file)
_DAMAGED = (KeyError, ValueError, TypeError, AttributeError, IndexError, OSError, RuntimeError)


def _attr_str(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _damaged(source: Path, exc: BaseException) -> InputError:
    if isinstance(exc, _Damaged):
        return InputError(f"damaged run file ({exc})", path=source)
    text = str(exc).strip().splitlines()
    detail = f"{type(exc).__name__}: {text[0][:80]}" if text else type(exc).__name__
    return InputError(f"damaged run file ({detail})", path=source)


class _Damaged(ValueError):
    """A checksum or layout check failed (the message says which)."""


def _expected_shapes(h5: Any, n: int, names: "list[str] | None" = None) -> dict[str, tuple[tuple[int, ...], str]]:
    """Dataset path -> (expected shape, allowed dtype kinds), from ``n`` and the predictions' shape.

    ``h5`` is the file or a mapping of dataset path -> dataset; ``names`` limits the answer to
    those paths (the predictions are then opened only when a per-point array is asked for). A
    pose-only run has no predictions, normalisers or NME; its ground truth gives the points."""
    per_point = {"arrays/predictions", "arrays/ground_truth", "arrays/visible"}
    pose_only = "arrays/predictions" not in h5
    k = -1
    if names is None or per_point & set(names):
        pred = h5["arrays/ground_truth" if pose_only else "arrays/predictions"]
        if len(pred.shape) != 3 or pred.shape[0] != n or pred.shape[2] != 2:
            raise _Damaged(f"{'ground_truth' if pose_only else 'predictions'} of shape {pred.shape} "
                           f"do not match {n} samples")
        k = pred.shape[1]
    shapes = {"samples/ids": ((n,), "S"), "arrays/predictions": ((n, k, 2), "f"),
              "arrays/ground_truth": ((n, k, 2), "f"), "arrays/visible": ((n, k), "b"),
              "arrays/normalizers": ((n,), "fiu"), "arrays/nme": ((n,), "f"), "arrays/failed_inputs": ((n,), "b"),
              "arrays/failure_reasons": ((n,), "S")}
    if pose_only:
        for name in _LANDMARK_ONLY:
            del shapes[f"arrays/{name}"]
    for name in _POSE:
        if (names is None or f"arrays/{name}" in names) and f"arrays/{name}" in h5:
            shapes[f"arrays/{name}"] = ((n, 3), "f")
    return shapes if names is None else {name: shapes[name] for name in names if name in shapes}


class _DatasetMap(dict):  # type: ignore[type-arg]
    """``"group/name"`` -> dataset, opened on first use from already-open groups."""

    def __init__(self, groups: dict[str, Any], names: list[str]) -> None:
        super().__init__()
        self.groups = groups
        self.names = set(names)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __missing__(self, name: str) -> Any:
        group, _, key = name.partition("/")
        value = self.groups[group][key]
        self[name] = value
        return value


class RunFileSource:
    """Where a lazily read run lives, and what it must still be when an array is read.

    Each read re-opens the file, checks that its root attributes (which include every
    array's digest) are those seen when it was opened, reads the datasets asked for and checks
    each one's shape (from ``n`` samples and the predictions' point count) and sha256;
    fletcher32 is checked by HDF5 per chunk. Arrays never read are never verified, and never
    needed: nothing computed from a run looks at them.
    """

    def __init__(self, path: Path, attrs_sha256: str, checksums: dict[str, str], n: int) -> None:
        self.path = path
        self.attrs_sha256 = attrs_sha256
        self.checksums = checksums
        self.n = n

    def load(self, field_name: str) -> np.ndarray:
        return self.load_many([field_name])[field_name]

    def load_many(self, field_names: list[str]) -> dict[str, Any]:
        """Several fields in one opening of the file (each verified)."""
        import h5py

        what = ", ".join(f"'{f}'" for f in field_names)
        try:
            h5 = h5py.File(self.path, "r")
        except OSError:
            raise InputError(f"run file was removed or replaced since it was opened; cannot read its {what}",
                             path=self.path) from None
        try:
            with h5:
                if _attr_str(h5.attrs.get(_ATTRS_DIGEST, "")) != self.attrs_sha256:
                    raise InputError(f"run file was replaced since it was opened; cannot read its {what}",
                                     path=self.path)
                shapes = _expected_shapes(h5, self.n, [_LAZY_PATHS[f] for f in field_names])
                return {f: _read_verified(h5, _LAZY_PATHS[f], self.checksums, shapes) for f in field_names}
        except _DAMAGED as exc:
            raise _damaged(self.path, exc) from None


def _read_verified(h5: Any, name: str, checksums: dict[str, str], shapes: dict[str, tuple[tuple[int, ...], str]]) -> Any:
    dataset = h5[name]
    shape, kinds = shapes.get(name, (dataset.shape, dataset.dtype.kind))
    if dataset.shape != shape or dataset.dtype.kind not in kinds:
        raise _Damaged(f"{name} of shape {dataset.shape} ({dataset.dtype}), expected {shape}")
    try:
        data = dataset[()]
    except OSError as exc:
        if "filter returned failure" in str(exc):
            raise _Damaged(f"'{name}' fails its fletcher32 checksum") from None
        raise
    if array_sha256(data) != checksums.get(name):
        raise _Damaged(f"'{name}' does not match its checksum")
    if data.dtype.kind == "S":
        return _decode_strings(data)
    if name.startswith("arrays/") and data.dtype.kind == "b":
        return data.astype(bool)
    return data


_UNLOADED = object()


class _LazyField:
    """A RunData field read from the run file on first access (then kept)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.slot = f"_value_{name}"

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        value = obj.__dict__.get(self.slot, _UNLOADED)
        if value is _UNLOADED:
            value = obj.__dict__["_source"].load(self.name)
            obj.__dict__[self.slot] = value
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        if value is _UNLOADED:
            obj.__dict__.pop(self.slot, None)
        else:
            obj.__dict__[self.slot] = value


class LazyRunData(RunData):
    """A :class:`RunData` read from a run file; per-image arrays are read on first access.

    Attribute access is as for RunData (``run.predictions`` is an ndarray); each array is
    verified against its digest when it is read. :meth:`loaded` tells what was read.
    """

    sample_ids = _LazyField("sample_ids")  # type: ignore[assignment]
    predictions = _LazyField("predictions")  # type: ignore[assignment]
    ground_truth = _LazyField("ground_truth")  # type: ignore[assignment]
    visible = _LazyField("visible")  # type: ignore[assignment]
    normalizers = _LazyField("normalizers")  # type: ignore[assignment]
    nme = _LazyField("nme")  # type: ignore[assignment]
    failed_inputs = _LazyField("failed_inputs")  # type: ignore[assignment]
    failure_reasons = _LazyField("failure_reasons")  # type: ignore[assignment]
    pose_pred = _LazyField("pose_pred")  # type: ignore[assignment]
    pose_gt = _LazyField("pose_gt")  # type: ignore[assignment]

    @property
    def source_path(self) -> Path | None:
        source = self.__dict__.get("_source")
        return source.path if source is not None else None

    def loaded(self) -> list[str]:
        """Names of the per-image fields read so far."""
        return [name for name in _LAZY_PATHS if f"_value_{name}" in self.__dict__]

    def load_all(self) -> "LazyRunData":
        """Read (and verify) every array now."""
        self.prefetch(list(_LAZY_PATHS))
        return self

    def prefetch(self, names: "list[str] | tuple[str, ...]") -> None:
        """Read (and verify) the named fields not read yet, in one opening of the file."""
        missing = [n for n in names if n in _LAZY_PATHS and f"_value_{n}" not in self.__dict__]
        if missing:
            for name, value in self.__dict__["_source"].load_many(missing).items():
                self.__dict__[f"_value_{name}"] = value


#: the per-image arrays every landmark metric reads (a report or gate asks for them at open)
METRIC_FIELDS = ("nme", "failed_inputs")


def read_run(path: str | os.PathLike[str], *, lazy: bool = True, prefetch: tuple[str, ...] = ()) -> RunData:
    """Read and verify a run file; a file that is not one, or is damaged, gives a one-line :class:`InputError`.

    With ``lazy`` (the default) the per-image arrays are read, and verified, on first access,
    except the fields named in ``prefetch`` (e.g. :data:`METRIC_FIELDS`), read and verified in
    the same opening of the file; with ``lazy=False`` everything is read and verified now.
    """
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
            attrs = dict(h5.attrs.items())  # each attribute read once
            marker = attrs.get("format")
            if isinstance(marker, bytes):
                marker = marker.decode("utf-8", "replace")
            if marker != FORMAT_NAME:
                raise InputError("not a faceval run file (no 'faceval-run' format marker)", path=source)
            version = int(attrs.get("schema_version", -1))
            if version > FILE_SCHEMA_VERSION:
                raise InputError(
                    f"run file schema version {version} is newer than this faceval supports ({FILE_SCHEMA_VERSION}); "
                    "upgrade faceval",
                    path=source,
                )
            if version < FILE_SCHEMA_VERSION or _ATTRS_DIGEST not in attrs:
                raise InputError(
                    f"run file schema version {version} has no checksums and cannot be verified; "
                    "re-create it with this faceval (faceval run or faceval score)", path=source)
            attrs_digest = _attr_str(attrs[_ATTRS_DIGEST])
            if _attrs_sha256(attrs) != attrs_digest:
                raise _Damaged("attributes do not match their checksum")
            checksums = json.loads(attrs[_CHECKSUMS_ATTR])
            meta = {name: json.loads(attrs[name]) for name in _JSON_ATTRS}
            split_expected = json.loads(attrs["split_expected"]) if "split_expected" in attrs else {}
            if not isinstance(split_expected, dict) or not all(
                    isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in split_expected.values()):
                raise _Damaged("attribute 'split_expected' is not an object of sample counts")
            split_within = _read_split_within(attrs)
            for name, value in meta.items():
                if not isinstance(value, dict):
                    raise _Damaged(f"attribute '{name}' is not a JSON object")
            label, dataset, scheme = (_attr_str(attrs[k]) for k in ("label", "dataset", "scheme"))
            # each object opened once, groups listed by name (h5py lookups dominate small reads)
            groups = {name: h5[name] for name in h5.keys()}
            if set(groups) - {"samples", "arrays", "splits"}:
                raise _Damaged(f"unexpected {', '.join(sorted(set(groups) - {'samples', 'arrays', 'splits'}))}")
            present = [f"{g}/{k}" for g, group in groups.items() if isinstance(group, h5py.Group) for k in group.keys()]
            datasets = _DatasetMap(groups, present)
            if sorted(present) != sorted(checksums):
                missing, extra = sorted(set(checksums) - set(present)), sorted(set(present) - set(checksums))
                raise _Damaged("; ".join(filter(None, [missing and f"missing {', '.join(missing[:3])}",
                                                       extra and f"not in its checksum list: {', '.join(extra[:3])}"])))
            ids_shape = datasets["samples/ids"].shape
            n = ids_shape[0] if len(ids_shape) == 1 else -1
            pose_only = _attr_str(attrs.get("pose_only", "false")) == "true"
            landmark_arrays = [f"arrays/{name}" in datasets for name in _LANDMARK_ONLY]
            if any(landmark_arrays) == pose_only or not (all(landmark_arrays) or not any(landmark_arrays)):
                raise _Damaged("pose-only marker and landmark arrays disagree" if any(landmark_arrays) == pose_only
                               else "some landmark arrays are missing")
            if not lazy:  # lazily, each array's shape is checked when it is read
                shapes = _expected_shapes(datasets, n)
                for name, (shape, kinds) in shapes.items():
                    found = datasets[name]
                    if found.shape != shape or found.dtype.kind not in kinds:
                        raise _Damaged(f"{name} of shape {found.shape} ({found.dtype}), expected {shape}")
            splits = {}
            for split in groups["splits"].keys():  # creation order (track_order)
                indices = _read_verified(datasets, f"splits/{split}", checksums, {})
                if indices.ndim != 1 or indices.dtype.kind not in "iu" or (
                        indices.size and (indices.min() < 0 or indices.max() >= n)):
                    raise _Damaged(f"split '{split}' holds indices outside 0..{n - 1}")
                splits[split] = indices
            lazy_source = RunFileSource(source, attrs_digest, checksums, n)
            present_fields = [f for f, p in _LAZY_PATHS.items() if p in datasets]
            if lazy:
                early = [f for f in present_fields if f in prefetch]
                shapes = _expected_shapes(datasets, n, [_LAZY_PATHS[f] for f in early])
                eager = {f: _read_verified(datasets, _LAZY_PATHS[f], checksums, shapes) for f in early}
            else:
                eager = {f: _read_verified(datasets, _LAZY_PATHS[f], checksums, shapes) for f in present_fields}
    except _DAMAGED as exc:
        raise _damaged(source, exc) from None
    fields: dict[str, Any] = {f: eager.get(f, _UNLOADED) for f in present_fields}
    for name in _POSE + (_LANDMARK_ONLY if pose_only else ()):
        fields.setdefault(name, None)
    from faceval.runs.protocol import Protocol

    protocol = Protocol.from_dict(meta["protocol"], source=source)
    run = LazyRunData.__new__(LazyRunData)
    run.__dict__["_source"] = lazy_source
    RunData.__init__(
        run,
        label=label,
        dataset=dataset,
        scheme=scheme,
        splits=splits,
        protocol=protocol,
        provenance=meta["provenance"],
        summary=meta["summary"],
        model_info=meta["model_info"],
        schema_version=SCHEMA_VERSION,
        split_expected={str(k): int(v) for k, v in split_expected.items()},
        pose_only=pose_only,
        split_within=split_within,
        **fields,
    )
    return run


def verify_run(path: str | os.PathLike[str]) -> RunData:
    """Read every array of a run file now and verify it (``InputError`` when damaged)."""
    return read_run(path, lazy=False)


__all__: list[str] = ["METRIC_FIELDS", "read_run", "write_run", "verify_run", "LazyRunData", "RunFileSource", "array_sha256",
                      "FORMAT_NAME"]
