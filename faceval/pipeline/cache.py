"""A crop cache in HDF5: one file per (dataset, crop spec), replaced atomically.

Layout of a cache file ``<directory>/<dataset>-<hash16>.h5``::

    attrs["key"]        JSON of the key fields (the hash is sha256 of it)
    attrs["format"]     1
    sample_ids          (N,) UTF-8 strings
    crops               (N, h, w, 3) uint8, chunked per sample
    boxes               (N, 4) float64 crop rectangles (original-image point frame)

Safety: the cache file is never modified in place. New entries are appended to a private
temporary file in the same directory (bounded memory); :meth:`CropCache.save` copies the
old file's other entries into it and ``os.replace``-s it over the cache file, which is
atomic. A crash leaves the old cache intact (and a stale ``*.tmp`` that a later open
removes); two concurrent runs cannot corrupt the file (the last to save wins, the other's
new entries are merely not kept). A file that cannot be read is ignored and replaced on
the next save, never fatal. Image contents are not hashed: the key should carry whatever
identifies the images (e.g. the dataset manifest hash); stored crop rectangles are
compared with the requested ones by the loader.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from faceval.pipeline.transform import CROP_CODE_VERSION

FORMAT_VERSION = 1
_STALE_TMP_S = 3600.0


def default_cache_dir() -> Path:
    """``$FACEVAL_CACHE_DIR``, else ``${XDG_CACHE_HOME:-~/.cache}/faceval/crops``."""
    env = os.environ.get("FACEVAL_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "faceval" / "crops"


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
    """Key fields of a crop spec (the crop-code version is added by :class:`CropCache`)."""
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


class CropCache:
    """Cache of uint8 crops and their rectangles, per sample id.

    Use as a context manager (saves on exit) or call :meth:`save` / :meth:`close`.
    Not thread-safe: call it from one thread (the loader does).
    """

    def __init__(self, directory: str | os.PathLike | None, key_fields: dict[str, Any]) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        key = dict(key_fields)
        key["crop_code_version"] = CROP_CODE_VERSION
        key["cache_format"] = FORMAT_VERSION
        self.key_json = json.dumps(key, sort_keys=True, default=str, separators=(",", ":"))
        digest = hashlib.sha256(self.key_json.encode()).hexdigest()[:16]
        self.path = self.directory / f"{_slug(str(key.get('dataset', 'crops')))}-{digest}.h5"
        self.corrupt = False
        self.warnings: list[str] = []
        self._index: dict[str, int] | None = None
        self._tmp_path: Path | None = None
        self._tmp: Any = None  # h5py.File being written
        self._tmp_ids: dict[str, int] = {}
        self._reader: Any = None
        self._write_failed = False
        self._lock = threading.RLock()
        self._remove_stale_tmp()

    # ------------------------------------------------------------------ reading

    def _remove_stale_tmp(self) -> None:
        try:
            now = time.time()
            for p in self.directory.glob(self.path.name + ".*.tmp"):
                try:
                    if now - p.stat().st_mtime > _STALE_TMP_S:
                        p.unlink()
                except OSError:
                    pass
        except OSError:
            pass

    def _mark_corrupt(self, why: str) -> None:
        self.corrupt = True
        self._index = {}
        self.warnings.append(f"{self.path}: ignoring unreadable crop cache ({why}); it will be replaced")

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
                ids = [s.decode() if isinstance(s, bytes) else str(s) for s in f["sample_ids"][()]]
                n = len(ids)
                if f["crops"].shape[0] != n or f["boxes"].shape != (n, 4) or f["crops"].dtype != np.uint8:
                    raise ValueError("inconsistent datasets")
            self._index = {s: i for i, s in enumerate(ids)}
        except Exception as exc:  # corrupt / truncated / foreign file
            self._mark_corrupt(" ".join(str(exc).split()) or type(exc).__name__)
        return self._index

    def __len__(self) -> int:
        return len(set(self._load_index()) | set(self._tmp_ids))

    def __contains__(self, sample_id: str) -> bool:
        with self._lock:
            return sample_id in self._tmp_ids or sample_id in self._load_index()

    def _reader_file(self) -> Any:
        if self._reader is None:
            import h5py

            self._reader = h5py.File(self.path, "r")
        return self._reader

    def _close_reader(self) -> None:
        if self._reader is not None:
            try:
                self._reader.close()
            except Exception:
                pass
            self._reader = None

    def get_many(self, sample_ids: Iterable[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{sample_id: (crop (h, w, 3) uint8, rectangle (4,) float64)}`` for the hits.

        Thread-safe (reads are serialised); a read error marks the cache corrupt and
        returns no hits.
        """
        wanted = list(dict.fromkeys(sample_ids))
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        with self._lock:
            index = self._load_index()
            rows = sorted((index[s], s) for s in wanted if s in index and s not in self._tmp_ids)
            if rows:
                try:
                    f = self._reader_file()
                    crops_ds, boxes_ds = f["crops"], f["boxes"]
                    for start in range(0, len(rows), 256):
                        part = rows[start:start + 256]
                        idx = np.array([r for r, _ in part], dtype=np.int64)
                        lo, hi = int(idx[0]), int(idx[-1]) + 1
                        if hi - lo <= 2 * len(idx):  # dense: one contiguous read beats fancy indexing
                            crops = crops_ds[lo:hi][idx - lo]
                            boxes = boxes_ds[lo:hi][idx - lo]
                        else:
                            crops = crops_ds[idx]
                            boxes = boxes_ds[idx]
                        for k, (_, sid) in enumerate(part):
                            out[sid] = (crops[k], boxes[k])
                except Exception as exc:
                    out.clear()
                    self._close_reader()
                    self._mark_corrupt(" ".join(str(exc).split()) or type(exc).__name__)
            if self._tmp is not None:
                for s in wanted:
                    j = self._tmp_ids.get(s)
                    if j is not None:
                        out[s] = (self._tmp["crops"][j], self._tmp["boxes"][j])
        return out

    # ------------------------------------------------------------------ writing

    def _open_tmp(self, shape: tuple[int, ...]) -> Any:
        import h5py

        self.directory.mkdir(parents=True, exist_ok=True)
        self._tmp_path = self.path.with_name(f"{self.path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        f = h5py.File(self._tmp_path, "w")
        f.attrs["key"] = self.key_json
        f.attrs["format"] = FORMAT_VERSION
        h, w, c = shape
        f.create_dataset("crops", shape=(0, h, w, c), maxshape=(None, h, w, c), dtype=np.uint8,
                         chunks=(1, h, w, c))
        f.create_dataset("boxes", shape=(0, 4), maxshape=(None, 4), dtype=np.float64, chunks=(1024, 4))
        f.create_dataset("sample_ids", shape=(0,), maxshape=(None,), dtype=h5py.string_dtype(), chunks=(1024,))
        self._tmp = f
        return f

    def _append(self, f: Any, ids: Sequence[str], crops: np.ndarray, boxes: np.ndarray) -> None:
        n0 = f["crops"].shape[0]
        n1 = n0 + len(ids)
        for name in ("crops", "boxes", "sample_ids"):
            f[name].resize(n1, axis=0)
        f["crops"][n0:n1] = crops
        f["boxes"][n0:n1] = boxes
        f["sample_ids"][n0:n1] = list(ids)

    def put_many(self, sample_ids: Sequence[str], crops: np.ndarray, boxes: np.ndarray) -> None:
        """Add entries (written to a temporary file; visible in the cache after :meth:`save`)."""
        with self._lock:
            self._put_many(sample_ids, crops, boxes)

    def _put_many(self, sample_ids: Sequence[str], crops: np.ndarray, boxes: np.ndarray) -> None:
        crops = np.asarray(crops, dtype=np.uint8)
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        ids = [str(s) for s in sample_ids]
        if crops.ndim != 4 or crops.shape[0] != len(ids) or boxes.shape[0] != len(ids):
            raise ValueError("put_many: crops (N, h, w, 3), boxes (N, 4) and N sample ids expected")
        # a repeated id within one session keeps its first entry
        seen: set[str] = set()
        keep = []
        for i, s in enumerate(ids):
            if s not in self._tmp_ids and s not in seen:
                keep.append(i)
            seen.add(s)
        if not keep:
            return
        if self._write_failed:
            return
        if self._tmp is None:
            try:
                self._open_tmp(crops.shape[1:])
            except OSError as exc:  # unwritable cache directory: run on without caching
                self._write_failed = True
                self.warnings.append(f"{self.directory}: crop cache not writable ({exc})")
                self._tmp, self._tmp_path = None, None
                return
        f = self._tmp
        if f["crops"].shape[1:] != crops.shape[1:]:
            raise ValueError(f"put_many: crop shape {crops.shape[1:]} differs from {f['crops'].shape[1:]}")
        n0 = f["crops"].shape[0]
        self._append(f, [ids[i] for i in keep], crops[keep], boxes[keep])
        for k, i in enumerate(keep):
            self._tmp_ids[ids[i]] = n0 + k

    def save(self) -> None:
        """Merge new entries with the existing file and atomically replace it."""
        with self._lock:
            self._save()

    def _save(self) -> None:
        if self._tmp is None:
            return
        import h5py

        f = self._tmp
        try:
            index = self._load_index()
            old = [(r, s) for s, r in index.items() if s not in self._tmp_ids]
            self._close_reader()
            if old and not self.corrupt:
                old.sort()
                try:
                    with h5py.File(self.path, "r") as src:
                        if src["crops"].shape[1:] == f["crops"].shape[1:]:
                            for start in range(0, len(old), 256):
                                part = old[start:start + 256]
                                idx = np.array([r for r, _ in part], dtype=np.int64)
                                self._append(f, [s for _, s in part], src["crops"][idx], src["boxes"][idx])
                except Exception as exc:  # old file went bad: keep only the new entries
                    self.warnings.append(f"{self.path}: could not merge old crop cache ({exc})")
            f.close()
            self._tmp = None
            self._close_reader()
            os.replace(self._tmp_path, self.path)
        except BaseException:
            self.abort()
            raise
        self._tmp_path = None
        self._tmp_ids = {}
        self._index = None
        self.corrupt = False

    def abort(self) -> None:
        """Discard entries added since the last save."""
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
        self._tmp_ids = {}

    def close(self) -> None:
        """Save new entries (if any) and close the file."""
        try:
            self.save()
        finally:
            self._close_reader()

    def __enter__(self) -> "CropCache":
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.save()
        except OSError as e:  # a cache that cannot be written is never fatal
            self.warnings.append(f"{self.path}: could not save crop cache ({e})")
        finally:
            self._close_reader()
