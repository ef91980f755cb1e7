"""Partial progress of an interrupted ``faceval run``, kept beside the output.

The file ``<out>.partial.h5`` holds the predictions of every finished chunk and a
key (model hash, spec, dataset selection, sample set, crop settings). ``--resume``
continues from it only when the key matches; it is rewritten atomically after
each chunk and removed once the run file is written.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from faceval.atomic import atomic_path
from faceval.errors import InputError


def partial_path(out: Path) -> Path:
    """Where the partial progress of ``out`` is kept."""
    return out.with_name(out.name + ".partial.h5")


def checkpoint_key(fields: dict[str, Any]) -> str:
    """A digest of everything that must match for a resume to be valid."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


class Checkpoint:
    """Per-sample results so far; ``done`` marks samples whose chunk finished.

    With ``path=None`` it is the in-memory state of a run that keeps no partial progress.
    """

    def __init__(self, path: Path | None, key: str, n: int, k: int) -> None:
        self.path = path
        self.key = key
        self.done = np.zeros(n, dtype=bool)
        self.landmarks = np.full((n, k, 2), np.nan)
        self.pose: np.ndarray | None = None
        self.failed = np.zeros(n, dtype=bool)
        self.reasons = np.asarray([""] * n, dtype=object)

    @classmethod
    def load(cls, path: Path, key: str, n: int, k: int) -> "Checkpoint":
        """Read partial progress; a mismatching key is an error naming the file."""
        import h5py

        try:
            h5 = h5py.File(path, "r")
        except OSError:
            raise InputError("partial progress file is damaged; delete it to start over", path=path) from None
        with h5:
            if h5.attrs.get("key") != key:
                raise InputError(
                    "partial progress belongs to a different run (model, spec, dataset or crop settings differ); "
                    "delete it or run without --resume",
                    path=path,
                )
            cp = cls(path, key, n, k)
            cp.done = h5["done"][()].astype(bool)
            cp.landmarks = h5["landmarks"][()]
            cp.failed = h5["failed"][()].astype(bool)
            cp.reasons = np.asarray([s.decode() if isinstance(s, bytes) else s for s in h5["reasons"][()]], dtype=object)
            cp.pose = h5["pose"][()] if "pose" in h5 else None
        if cp.done.shape != (n,) or cp.landmarks.shape[0] != n:
            raise InputError("partial progress does not match the sample set; delete it to start over", path=path)
        return cp

    def save(self) -> None:
        """Write atomically (a crash never leaves a damaged checkpoint); no-op without a path."""
        if self.path is None:
            return
        import h5py

        with atomic_path(self.path) as tmp:
            with h5py.File(tmp, "w") as h5:
                h5.attrs["key"] = self.key
                h5.create_dataset("done", data=self.done, track_times=False)
                h5.create_dataset("landmarks", data=self.landmarks, track_times=False)
                h5.create_dataset("failed", data=self.failed, track_times=False)
                h5.create_dataset("reasons", data=self.reasons, dtype=h5py.string_dtype("utf-8"), track_times=False)
                if self.pose is not None:
                    h5.create_dataset("pose", data=self.pose, track_times=False)

    def remove(self) -> None:
        if self.path is None:
            return
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
