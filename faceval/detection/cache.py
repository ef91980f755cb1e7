"""The detector box cache: detections per image, keyed by image identity and detector identity.

One JSON file per detector identity (model sha256, detector spec, detection code version, device,
onnxruntime version): ``<directory>/detections-<hash16>.json``::

    {"format": 2, "key": {...}, "entries": {"<image identity>": {"boxes": [[x1, y1, x2, y2], ...],
                                                                 "scores": [...]}}}

An image's identity is :class:`faceval.pipeline.identity.FileIdentity`, the one the crop cache
and ``run --resume`` use (resolved path, device, inode, size, ``mtime_ns``, ``ctime_ns``): an image
rewritten or replaced gets a new identity and is detected again; the stale entry of the same path
is dropped. All detections after NMS are stored, not matches, so a different ``min_iou`` needs no
new detection. Floats are written by ``repr`` and read back exactly.

Safety: the file is replaced atomically (:mod:`faceval.atomic`); entries another run saved in the
meantime are merged in first (same key). A file that cannot be read or has another key is ignored
(a warning says so) and replaced on the next save, never fatal. An image that cannot be stat-ed
(no identity) is never cached.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import astuple, fields
from pathlib import Path
from typing import Any

import numpy as np

from faceval.atomic import write_text_atomic
from faceval.detection.detector import Detections
from faceval.errors import InputError
from faceval.pipeline.identity import FileIdentity

FORMAT_VERSION = 2  # 2: entries keyed by the full FileIdentity (1: path, size, mtime)


def detection_cache_dir() -> Path:
    """``$FACEVAL_CACHE_DIR/detections``, else ``${XDG_CACHE_HOME:-~/.cache}/faceval/detections``."""
    from faceval.cachedirs import cache_folder

    return cache_folder("detections")


def _entry_key(identity: FileIdentity) -> str:
    """The cache entry key of an image version: its file identity as a JSON list (path first)."""
    return json.dumps(list(astuple(identity)), separators=(",", ":"))


_KEY_FIELDS = len(fields(FileIdentity))


class DetectionCache:
    """Detections per image identity for one detector identity (see the module docstring).

    Not thread-safe: use it from one thread.
    """

    def __init__(self, directory: str | os.PathLike[str] | None, detector_key: dict[str, Any]) -> None:
        self.directory = Path(directory) if directory is not None else detection_cache_dir()
        key = {**detector_key, "cache_format": FORMAT_VERSION}
        self.key_json = json.dumps(key, sort_keys=True, separators=(",", ":"), default=str)
        self.key = json.loads(self.key_json)
        digest = hashlib.sha256(self.key_json.encode()).hexdigest()[:16]
        self.path = self.directory / f"detections-{digest}.json"
        self.warnings: list[str] = []
        self._entries = self._load()
        self._by_path = {json.loads(k)[0]: k for k in self._entries}
        self._new: dict[str, dict[str, Any]] = {}
        self.hits = 0
        self.misses = 0

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            self.warnings.append(f"detection cache {self.path} unreadable ({exc}); detecting again")
            return {}
        try:
            data = json.loads(text)
            if (not isinstance(data, dict) or data.get("format") != FORMAT_VERSION or data.get("key") != self.key
                    or not isinstance(data.get("entries"), dict)):
                raise ValueError("not a detection cache of this detector")
            entries = data["entries"]
            for key, value in entries.items():
                ident = json.loads(key)
                if not (isinstance(ident, list) and len(ident) == _KEY_FIELDS and isinstance(ident[0], str)):
                    raise ValueError("an entry key is not an image identity")
                _decode(value)
        except (ValueError, TypeError, KeyError) as exc:
            self.warnings.append(f"detection cache {self.path} ignored ({exc}); it will be replaced")
            return {}
        return entries

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, identity: FileIdentity) -> Detections | None:
        """The cached detections of this exact image version, or None."""
        value = self._entries.get(_entry_key(identity))
        if value is None:
            self.misses += 1
            return None
        self.hits += 1
        return _decode(value)

    def put(self, identity: FileIdentity, detections: Detections) -> None:
        """Store ``detections`` for this image version (replacing entries of older versions of the same path)."""
        k = _entry_key(identity)
        value = _encode(detections)
        old = self._by_path.get(identity.path)
        if old is not None and old != k:
            self._entries.pop(old, None)
        self._by_path[identity.path] = k
        self._entries[k] = value
        self._new[k] = value

    def save(self) -> None:
        """Write the cache atomically (merging entries other runs saved meanwhile); failures become warnings."""
        if not self._new:
            return
        merged = {}
        for key, value in self._load_quietly().items():  # other runs' entries, unless this run replaced that path
            path = json.loads(key)[0]
            if self._by_path.get(path, key) == key:
                merged[key] = value
        merged.update(self._entries)
        payload = json.dumps({"format": FORMAT_VERSION, "key": self.key, "entries": merged},
                             sort_keys=True, separators=(",", ":"))
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            write_text_atomic(self.path, payload)
        except (OSError, InputError) as exc:
            self.warnings.append(f"detection cache not saved to {self.path} ({exc})")
            return
        self._new.clear()

    def _load_quietly(self) -> dict[str, dict[str, Any]]:
        kept = list(self.warnings)
        entries = self._load()
        self.warnings = kept
        return entries


def _encode(d: Detections) -> dict[str, Any]:
    return {"boxes": [[float(v) for v in row] for row in np.asarray(d.boxes).reshape(-1, 4)],
            "scores": [float(v) for v in np.asarray(d.scores).reshape(-1)]}


def _decode(value: Any) -> Detections:
    if not isinstance(value, dict):
        raise ValueError("entry is not an object")
    boxes = np.asarray(value["boxes"], dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(value["scores"], dtype=np.float64).reshape(-1)
    if boxes.shape[0] != scores.shape[0]:
        raise ValueError("entry has different numbers of boxes and scores")
    return Detections(boxes, scores)
