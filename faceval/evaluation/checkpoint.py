"""Partial progress of an interrupted ``faceval run``, kept beside the output.

The file ``<out>.partial`` (a name no ``*.h5`` glob matches) holds the predictions of every
finished chunk and the run's identity (:class:`RunIdentity`: model hash, resolved spec, dataset
selection, data root and the data identity of every image and annotation, batching).
``--resume`` continues from it only when the identity matches, and otherwise names the fields
that differ; without the partial of ``--out`` itself (e.g. a new default ``--out`` name) it
resumes from the newest partial of the same identity in the same folder. The file is rewritten
atomically after each chunk and removed once the run file is written.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from faceval.atomic import atomic_path, ensure_space, pid_alive
from faceval.errors import InputError

PARTIAL_SUFFIX = ".partial"
DAMAGED = "partial progress file is damaged; delete it or run without --resume"


def partial_path(out: Path) -> Path:
    """Where the partial progress of ``out`` is kept."""
    return out.with_name(out.name + PARTIAL_SUFFIX)


@dataclass(frozen=True)
class RunIdentity:
    """Everything that determines the predictions of a run (and so whether a resume is valid).

    ``data`` is :attr:`faceval.pipeline.identity.SampleIdentities.digest`: each sample's image
    file identity and annotation, the same identity the crop cache keys its entries by.
    """

    model_sha256: str
    spec: dict[str, Any]
    dataset: str
    data_root: str | None
    data: str
    sample_set: str
    shard: str | None
    limit: int | None
    batch_size: int
    checkpoint_every: int
    box_source: str | None = None  # file / detector boxes: their identity (None: the spec's own box)

    def key(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, default=str, separators=(",", ":"))

    def differences(self, stored: dict[str, Any]) -> list[str]:
        """Names of the fields whose stored value differs from this identity's."""
        mine = json.loads(self.to_json())
        return [name for name in mine if mine[name] != stored.get(name)]


_FIELD_WORDS = {
    "model_sha256": "model",
    "spec": "model spec",
    "dataset": "dataset",
    "data_root": "data root",
    "data": "images or annotations",
    "sample_set": "sample set",
    "shard": "shard",
    "limit": "limit",
    "batch_size": "batch size",
    "checkpoint_every": "checkpoint interval",
}


class Checkpoint:
    """Per-sample results so far; ``done`` marks samples whose chunk finished.

    With ``path=None`` it is the in-memory state of a run that keeps no partial progress.
    """

    def __init__(self, path: Path | None, identity: RunIdentity | None, n: int, k: int) -> None:
        self.path = path
        self.identity = identity
        self.done = np.zeros(n, dtype=bool)
        self.landmarks = np.full((n, k, 2), np.nan)
        self.pose: np.ndarray | None = None
        self.failed = np.zeros(n, dtype=bool)
        self.reasons = np.asarray([""] * n, dtype=object)

    @classmethod
    def load(cls, path: Path, identity: RunIdentity, n: int, k: int) -> "Checkpoint":
        """Read partial progress; another run's, or a damaged file, is an InputError naming the file."""
        import h5py

        try:
            h5 = h5py.File(path, "r")
        except OSError:
            raise InputError(DAMAGED, path=path) from None
        with h5:
            try:
                stored = json.loads(str(h5.attrs["identity"]))
                if not isinstance(stored, dict):
                    raise ValueError("identity is not an object")
            except (KeyError, ValueError, TypeError, OSError):
                raise InputError(DAMAGED, path=path) from None
            differ = identity.differences(stored)
            if differ:
                words = ", ".join(_FIELD_WORDS.get(name, name) for name in differ)
                raise InputError(
                    f"partial progress belongs to a different run ({words} {'differs' if len(differ) == 1 else 'differ'}); "
                    "delete it or run without --resume",
                    path=path,
                )
            cp = cls(path, identity, n, k)
            try:
                cp.done = np.asarray(h5["done"][()]).astype(bool)
                cp.landmarks = np.asarray(h5["landmarks"][()], dtype=np.float64)
                cp.failed = np.asarray(h5["failed"][()]).astype(bool)
                cp.reasons = np.asarray([s.decode() if isinstance(s, bytes) else str(s) for s in h5["reasons"][()]],
                                        dtype=object)
                cp.pose = np.asarray(h5["pose"][()], dtype=np.float64) if "pose" in h5 else None
            except (KeyError, ValueError, TypeError, OSError, AttributeError):
                raise InputError(DAMAGED, path=path) from None
        if (cp.done.shape != (n,) or cp.landmarks.shape != (n, k, 2) or cp.failed.shape != (n,)
                or cp.reasons.shape != (n,) or (cp.pose is not None and cp.pose.shape != (n, 3))):
            raise InputError(DAMAGED, path=path)
        return cp

    def save(self) -> None:
        """Write atomically (a crash or signal never leaves a damaged checkpoint); no-op without a path."""
        if self.path is None:
            return
        import h5py

        try:
            ensure_space(self.path, 2 * (self.landmarks.nbytes + self.done.nbytes + self.failed.nbytes)
                         + sum(len(str(r)) + 16 for r in self.reasons) + (self.pose.nbytes if self.pose is not None else 0))
            self._write(h5py)
        except InputError as exc:
            if str(exc).startswith("no space left on device"):  # name the run, not its partial
                run = self.path.with_name(self.path.name[: -len(PARTIAL_SUFFIX)])
                raise InputError(f"no space left on device writing {run}") from None
            raise

    def _write(self, h5py: Any) -> None:
        assert self.path is not None
        with atomic_path(self.path) as tmp:
            with h5py.File(tmp, "w") as h5:
                h5.attrs["identity"] = self.identity.to_json() if self.identity is not None else "{}"
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


def _stored_identity(path: Path) -> dict[str, Any] | None:
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            stored = json.loads(str(h5.attrs["identity"]))
    except Exception:  # noqa: BLE001 - any unreadable file is simply not a candidate
        return None
    return stored if isinstance(stored, dict) else None


def find_partial(folder: Path, identity: RunIdentity) -> Path | None:
    """The newest ``*.partial`` in ``folder`` with this identity whose run is not alive, or None."""
    from faceval.evaluation.output import lock_owner

    try:
        candidates = sorted(folder.glob(f"*{PARTIAL_SUFFIX}"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    except OSError:
        return None
    for path in candidates:
        stored = _stored_identity(path)
        if stored is None or identity.differences(stored):
            continue
        owner = lock_owner(path.with_name(path.name[: -len(PARTIAL_SUFFIX)]))
        if owner is not None and pid_alive(owner):
            continue  # another live run is still writing it
        return path
    return None
