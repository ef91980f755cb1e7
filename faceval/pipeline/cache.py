"""A crop cache in HDF5: one file per (dataset, crop spec), replaced atomically.

Entries are stored under the sample's **identity key**
(:func:`faceval.pipeline.identity.sample_identities`: sample id, the image file's resolved
path, inode, size, mtime and ctime, and the annotation the crop is cut from), so a replaced
image, another copy of the data under the same ``--data-root`` string, or a changed annotation
is a miss and is decoded again, never served stale. Entries for several copies of a dataset
live side by side in one file.

Layout of a cache file ``<directory>/<dataset>-<hash16>.h5``::

    attrs["key"]        JSON of the key fields (the hash is sha256 of it)
    attrs["format"]     2
    entry_keys          (N,) identity keys (hex strings)
    crops               (N, h, w, 3) uint8, chunked per entry
    boxes               (N, 4) float64 crop rectangles (original-image point frame)

Safety: the cache file is never modified in place. New entries are buffered in memory and
appended, one write per chunk, to a private temporary file ``<file>.<pid>.<random>.tmp`` in the
same directory; :meth:`CropCache.save` copies the old file's other entries into it and
``os.replace``-s it over the cache file, which is atomic. A crash leaves the old cache intact
(and a temporary that the next open removes once its process is gone); two concurrent runs
cannot corrupt the file (the last to save wins, the other's new entries are merely not kept).
A file that cannot be read is ignored and replaced on the next save, a directory that cannot be
written (read-only, full disk) disables writing; neither is fatal, and each is said once in
:attr:`CropCache.warnings`. Stored crop rectangles are also compared with the requested ones by
the loader.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np

from faceval.atomic import deferred_signals, no_space, quiet_unraisable, remove_stale_temporaries
from faceval.pipeline.transform import CROP_CODE_VERSION

if TYPE_CHECKING:
    import h5py

FORMAT_VERSION = 2
_FLUSH_BYTES = 32 << 20  # buffered new crops are written to the temporary file in chunks of this size
_TMP = re.compile(r"^.+\.h5\.(\d+)\.[0-9a-f]+\.tmp$")


def default_cache_dir() -> Path:
    """``$FACEVAL_CACHE_DIR``, else ``${XDG_CACHE_HOME:-~/.cache}/faceval/crops`` (see :mod:`faceval.cachedirs`)."""
    from faceval.cachedirs import cache_folder

    return cache_folder("crops")


def crop_key_fields(
    dataset: str,
    *,
    input_size: tuple[int, int],
    box_source: str,
    scale: float,
    square: bool,
    resample: str,
    draft: bool = True,
    oversample: float = 1.0,
    **extra: Any,
) -> dict[str, Any]:
    """Key fields of a crop spec (the crop-code version is added by :class:`CropCache`).

    What identifies the images is not part of it: each entry has its own identity key.
    """
    fields: dict[str, Any] = {
        "dataset": str(dataset),
        "input_size": [int(input_size[0]), int(input_size[1])],
        "box_source": str(box_source),
        "scale": float(scale),
        "square": bool(square),
        "resample": str(resample).lower(),
        "draft": bool(draft),
        "oversample": float(oversample),
    }
    fields.update(extra)
    return fields


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "crops"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class CropCache:
    """Cache of uint8 crops and their rectangles, per sample identity key.

    Use as a context manager (saves on exit) or call :meth:`save` / :meth:`close`.
    Every method holds one lock, so calls from several threads are serialised (the loader
    calls it from its consuming thread only).
    """

    def __init__(self, directory: str | os.PathLike[str] | None, key_fields: dict[str, Any]) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        key = dict(key_fields)
        key["crop_code_version"] = CROP_CODE_VERSION
        key["cache_format"] = FORMAT_VERSION
        self.key_json = json.dumps(key, sort_keys=True, default=str, separators=(",", ":"))
        digest = hashlib.sha256(self.key_json.encode()).hexdigest()[:16]
        self.path = self.directory / f"{_slug(str(key.get('dataset', 'crops')))}-{digest}.h5"
        self.corrupt = False
        self.disabled = False  # writing disabled (read-only or full disk); reads go on
        self.warnings: list[str] = []
        self._index: dict[str, int] | None = None
        self._tmp_path: Path | None = None
        self._tmp: h5py.File | None = None
        self._tmp_rows: dict[str, int] = {}  # key -> row in the temporary file
        self._buffer: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # new entries not yet written
        self._buffer_bytes = 0
        self._reader: h5py.File | None = None
        self._lock = threading.RLock()
        remove_stale_temporaries(self.directory, _TMP)

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    # ------------------------------------------------------------------ reading

    def _mark_corrupt(self, why: str) -> None:
        self.corrupt = True
        self._index = {}
        self._warn(f"{self.path}: ignoring unreadable crop cache ({why}); it will be rebuilt")

    def _load_index(self) -> dict[str, int]:
        if self._index is not None:
            return self._index
        self._index = {}
        if not self.path.exists():
            return self._index
        import h5py

        try:
            with h5py.File(self.path, "r") as f:
                if f.attrs.get("key") != self.key_json:
                    raise ValueError("key mismatch")
                keys = [s.decode() if isinstance(s, bytes) else str(s) for s in f["entry_keys"][()]]
                n = len(keys)
                if f["crops"].shape[0] != n or f["boxes"].shape != (n, 4) or f["crops"].dtype != np.uint8:
                    raise ValueError("inconsistent datasets")
            self._index = {s: i for i, s in enumerate(keys)}
        except Exception as exc:  # corrupt / truncated / foreign file
            self._mark_corrupt(_one_line(exc))
        return self._index

    def __len__(self) -> int:
        with self._lock:
            return len(set(self._load_index()) | set(self._tmp_rows) | set(self._buffer))

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._buffer or key in self._tmp_rows or key in self._load_index()

    def _reader_file(self) -> "h5py.File":
        if self._reader is None:
            import h5py

            self._reader = h5py.File(self.path, "r", rdcc_nbytes=32 << 20)  # whole chunks stay cached
        return self._reader

    def _close_reader(self) -> None:
        if self._reader is not None:
            try:
                self._reader.close()
            except Exception:
                pass
            self._reader = None

    def get_many(self, keys: Iterable[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{key: (crop (h, w, 3) uint8, rectangle (4,) float64)}`` for the hits.

        A read error marks the cache corrupt (said once) and returns no hits from the file.
        """
        wanted = list(dict.fromkeys(keys))
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        with self._lock:
            new = set(self._buffer) | set(self._tmp_rows)
            index = self._load_index()
            rows = sorted((index[s], s) for s in wanted if s in index and s not in new)
            if rows:
                try:
                    f = self._reader_file()
                    crops_ds, boxes_ds = f["crops"], f["boxes"]
                    for start in range(0, len(rows), 256):
                        part = rows[start:start + 256]
                        idx = np.array([r for r, _ in part], dtype=np.int64)
                        lo, hi = int(idx[0]), int(idx[-1]) + 1
                        if hi - lo == len(idx):  # consecutive rows (a warm run): one read, no copy
                            crops = crops_ds[lo:hi]
                            boxes = boxes_ds[lo:hi]
                        elif hi - lo <= 2 * len(idx):  # dense: one contiguous read beats fancy indexing
                            crops = crops_ds[lo:hi][idx - lo]
                            boxes = boxes_ds[lo:hi][idx - lo]
                        else:  # sparse: one slice per run of consecutive rows (h5py's fancy indexing
                            # of a row list is ~100x slower: 0.5 s for 110 of 330 HELEN crops)
                            runs = np.split(idx, np.flatnonzero(np.diff(idx) != 1) + 1)
                            crops = np.concatenate([crops_ds[int(r[0]):int(r[-1]) + 1] for r in runs])
                            boxes = np.concatenate([boxes_ds[int(r[0]):int(r[-1]) + 1] for r in runs])
                        for k, (_, sid) in enumerate(part):
                            out[sid] = (crops[k], boxes[k])
                except Exception as exc:
                    out.clear()
                    self._close_reader()
                    self._mark_corrupt(_one_line(exc))
            for s in wanted:
                if s in self._buffer:
                    out[s] = self._buffer[s]
                elif s in self._tmp_rows and self._tmp is not None:
                    j = self._tmp_rows[s]
                    out[s] = (self._tmp["crops"][j], self._tmp["boxes"][j])
        return out

    # ------------------------------------------------------------------ writing

    def _disable(self, exc: BaseException) -> None:
        """Stop writing (the run goes on uncached): drop the temporary file, say why once."""
        self.disabled = True
        with quiet_unraisable(collect=True):
            self._discard_tmp()
        self._buffer, self._buffer_bytes = {}, 0
        if no_space(exc):
            self._warn(f"crop cache disabled: no space left on {self.directory}")
        elif isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            self._warn(f"crop cache is read-only ({self.directory}): new crops are not saved")
        else:
            self._warn(f"crop cache disabled: cannot write {self.directory} ({_one_line(exc)})")

    def _check_space(self, nbytes: int) -> None:
        """Refuse to start a write the disk cannot hold (HDF5 copes badly with a full disk)."""
        folder = self.directory if self.directory.exists() else self.directory.parent
        try:
            free = shutil.disk_usage(folder).free
        except OSError:
            return
        if free < nbytes + (1 << 20):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.directory))

    def _open_tmp(self, shape: tuple[int, ...]) -> "h5py.File":
        import h5py

        self.directory.mkdir(parents=True, exist_ok=True)
        self._tmp_path = self.path.with_name(f"{self.path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        f = h5py.File(self._tmp_path, "w")
        self._tmp = f
        f.attrs["key"] = self.key_json
        f.attrs["format"] = FORMAT_VERSION
        h, w, c = shape
        # about 1 MB per HDF5 chunk: a warm run reads every crop in one dense read, which is 4x
        # faster than over one chunk per crop (330 HELEN crops: 1.6 ms against 7.3 ms)
        rows = max(1, (1 << 20) // max(1, h * w * c))
        f.create_dataset("crops", shape=(0, h, w, c), maxshape=(None, h, w, c), dtype=np.uint8,
                         chunks=(rows, h, w, c))
        f.create_dataset("boxes", shape=(0, 4), maxshape=(None, 4), dtype=np.float64, chunks=(1024, 4))
        f.create_dataset("entry_keys", shape=(0,), maxshape=(None,), dtype=h5py.string_dtype(), chunks=(1024,))
        return f

    @staticmethod
    def _append(f: "h5py.File", keys: Sequence[str], crops: np.ndarray, boxes: np.ndarray) -> int:
        """Append rows (one resize and one write per dataset); returns the first new row."""
        n0 = f["crops"].shape[0]
        n1 = n0 + len(keys)
        for name in ("crops", "boxes", "entry_keys"):
            f[name].resize(n1, axis=0)
        f["crops"][n0:n1] = crops
        f["boxes"][n0:n1] = boxes
        f["entry_keys"][n0:n1] = list(keys)
        return n0

    def put_many(self, keys: Sequence[str], crops: np.ndarray, boxes: np.ndarray) -> None:
        """Add entries (buffered; visible to :meth:`get_many` at once, in the file after :meth:`save`).

        A key already added keeps its first entry. Writing is never fatal: a directory that cannot
        be written disables it with one warning.
        """
        crops = np.asarray(crops, dtype=np.uint8)
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        keys = [str(s) for s in keys]
        if crops.ndim != 4 or crops.shape[0] != len(keys) or boxes.shape[0] != len(keys):
            raise ValueError("put_many: crops (N, h, w, 3), boxes (N, 4) and N keys expected")
        with self._lock:
            if self.disabled:
                return
            for i, s in enumerate(keys):
                if s in self._buffer or s in self._tmp_rows:
                    continue
                if self._buffer:
                    first = next(iter(self._buffer.values()))[0]
                    if first.shape != crops.shape[1:]:
                        raise ValueError(f"put_many: crop shape {crops.shape[1:]} differs from {first.shape}")
                self._buffer[s] = (crops[i].copy(), boxes[i].copy())
                self._buffer_bytes += crops[i].nbytes
            if self._buffer_bytes >= _FLUSH_BYTES:
                self._flush()

    def _flush(self) -> None:
        """Write the buffered entries to the temporary file in one append."""
        if not self._buffer or self.disabled:
            return
        keys = list(self._buffer)
        crops = np.stack([self._buffer[s][0] for s in keys])
        boxes = np.stack([self._buffer[s][1] for s in keys])
        try:
            with deferred_signals(), quiet_unraisable():
                self._check_space(crops.nbytes + boxes.nbytes)
                f = self._tmp if self._tmp is not None else self._open_tmp(crops.shape[1:])
                if f["crops"].shape[1:] != crops.shape[1:]:
                    raise ValueError(f"crop shape {crops.shape[1:]} differs from {f['crops'].shape[1:]}")
                n0 = self._append(f, keys, crops, boxes)
        except (OSError, RuntimeError, ValueError) as exc:  # h5py raises OSError/RuntimeError
            self._disable(exc)
            return
        for k, s in enumerate(keys):
            self._tmp_rows[s] = n0 + k
        self._buffer, self._buffer_bytes = {}, 0

    def save(self) -> None:
        """Merge new entries with the existing file and atomically replace it (never raises OSError)."""
        with self._lock:
            self._flush()
            if self._tmp is None or self.disabled:
                return
            import h5py

            f = self._tmp
            try:
                with deferred_signals(), quiet_unraisable():
                    index = self._load_index()
                    old = sorted((r, s) for s, r in index.items() if s not in self._tmp_rows)
                    self._close_reader()
                    if old and not self.corrupt:
                        self._check_space(len(old) * int(np.prod(f["crops"].shape[1:])))
                        try:
                            with h5py.File(self.path, "r") as src:
                                if src["crops"].shape[1:] == f["crops"].shape[1:]:
                                    for start in range(0, len(old), 1024):
                                        part = old[start:start + 1024]
                                        idx = np.array([r for r, _ in part], dtype=np.int64)
                                        self._append(f, [s for _, s in part], src["crops"][idx], src["boxes"][idx])
                        except OSError as exc:
                            if no_space(exc):
                                raise
                            self._warn(f"{self.path}: could not merge the old crop cache ({_one_line(exc)})")
                    f.close()
                    self._tmp = None
                    os.replace(self._tmp_path, self.path)  # type: ignore[arg-type]
            except (OSError, RuntimeError, ValueError) as exc:
                self._disable(exc)
                return
            except BaseException:
                self.abort()
                raise
            self._tmp_path = None
            self._tmp_rows = {}
            self._index = None
            self.corrupt = False

    def _discard_tmp(self) -> None:
        if self._tmp is not None:
            try:
                self._tmp.close()
            except Exception:
                pass
            self._tmp = None
        if self._tmp_path is not None:
            try:
                self._tmp_path.unlink()
            except OSError:
                pass
            self._tmp_path = None
        self._tmp_rows = {}

    def abort(self) -> None:
        """Discard entries added since the last save."""
        with self._lock:
            self._discard_tmp()
            self._buffer, self._buffer_bytes = {}, 0

    def close(self) -> None:
        """Save new entries (if any) and close the file."""
        try:
            self.save()
        finally:
            self._close_reader()

    def __enter__(self) -> "CropCache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
