"""Detector boxes for the faces of a dataset: detect once per image (cached), match each GT face.

:func:`detect_face_boxes` runs a :class:`FaceDetector` on every distinct image of the samples
(several faces of one image share one detection), through a :class:`DetectionCache` when given,
and matches each ground-truth face to the detection with the highest IoU against its GT landmark
box (``>= min_iou``, evaluation spec §6). An unmatched face, or a sample without an image file, is
a detection failure: its box is NaN, and the evaluation counts it as an NME failure (``inf``).
The detector's own time (decoding + inference, cache misses only) is measured apart.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from faceval.detection.cache import DetectionCache
from faceval.pipeline.identity import FileIdentity, file_identity
from faceval.detection.detector import Detections, FaceDetector
from faceval.detection.geometry import DEFAULT_MIN_IOU, landmark_boxes, match_face


@dataclass(frozen=True)
class FaceBoxes:
    """Detector boxes of N ground-truth faces.

    Attributes:
        boxes: ``(N, 4)`` float64 matched detections ``x1, y1, x2, y2`` (point frame); NaN rows for misses.
        scores: ``(N,)`` detector scores of the matches (NaN for misses).
        iou: ``(N,)`` IoU of the match with the GT landmark box (for misses: the best IoU seen, 0 if none).
        matched: ``(N,)`` bool.
        no_image: ``(N,)`` bool, True where the sample has no image file (never detected).
        min_iou: the matching threshold used.
        n_images: distinct images the samples use.
        n_detected: images the detector actually ran on (cache misses).
        n_cached: images whose detections came from the cache.
        detector_seconds: wall time of decoding + detection on the cache misses.
        unreadable: sample index -> why its image could not be read (never detected; only when not strict).
        warnings: cache warnings.
    """

    boxes: np.ndarray
    scores: np.ndarray
    iou: np.ndarray
    matched: np.ndarray
    no_image: np.ndarray
    min_iou: float
    n_images: int
    n_detected: int
    n_cached: int
    detector_seconds: float
    unreadable: dict[int, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def n_missed(self) -> int:
        """Faces without a matched detection (including samples without an image)."""
        return int((~self.matched).sum())

    def detection_rate(self, rows: np.ndarray | None = None) -> float:
        """Share of faces (of ``rows``, default all) with a matched detection; NaN for none."""
        m = self.matched if rows is None else self.matched[np.asarray(rows, dtype=np.int64)]
        return float(m.mean()) if m.size else float("nan")


def detect_face_boxes(
    image_paths: Sequence[str | Path | None],
    landmarks: np.ndarray,
    detector: FaceDetector,
    *,
    min_iou: float = DEFAULT_MIN_IOU,
    cache: DetectionCache | None = None,
    strict: bool = True,
    workers: int | None = None,
) -> FaceBoxes:
    """Detect faces on each sample's image and match each sample's GT face (see the module docstring).

    Args:
        image_paths: per sample, its image file (None: no image; a miss).
        landmarks: ``(N, K, 2)`` ground truth (its landmark box is what a detection is matched to).
        detector: the face detector (``prepare_file`` runs in ``workers`` threads, ``run_input`` in this one).
        min_iou: least IoU with the GT landmark box for a match.
        cache: detections per image identity (None: no caching). Saved before returning.
        strict: an unreadable image raises; otherwise its faces are unmatched and listed in ``unreadable``.
        workers: decoding threads (None: CPU count, at most 4). Results do not depend on it.

    Raises:
        InputError: an unreadable image (named) when ``strict``; a bad ``min_iou``.
        RuntimeFailure: the detector fails.
    """
    from faceval.errors import InputError

    if not (0.0 < float(min_iou) <= 1.0):
        raise InputError(f"detector match IoU must lie in (0, 1], got {min_iou!r}")
    n = len(image_paths)
    gt = landmark_boxes(np.asarray(landmarks, dtype=np.float64))
    if gt.shape[0] != n:
        raise ValueError(f"{n} image paths but {gt.shape[0]} landmark sets")
    found: dict[str, Detections | str] = {}  # per image: detections, or why it could not be read
    todo: list[tuple[str, FileIdentity | None]] = []
    queued: set[str] = set()
    n_cached = 0
    for path in image_paths:
        key = str(path)
        if path is None or key in found or key in queued:
            continue
        # an image that cannot be stat-ed has no identity: not cached, and decoding it says why
        identity = file_identity(path) if cache is not None else None
        if identity is not None:
            hit = cache.get(identity)
            if hit is not None:
                found[key] = hit
                n_cached += 1
                continue
        queued.add(key)
        todo.append((key, identity))
    t0 = time.perf_counter()
    try:
        _detect_all(todo, detector, cache, found, strict, workers)
    finally:
        seconds = time.perf_counter() - t0
        if cache is not None:
            cache.save()
    boxes = np.full((n, 4), np.nan)
    scores = np.full(n, np.nan)
    iou = np.zeros(n)
    matched = np.zeros(n, dtype=bool)
    unreadable: dict[int, str] = {}
    for i, path in enumerate(image_paths):
        if path is None:
            continue
        dets = found[str(path)]
        if isinstance(dets, str):
            unreadable[i] = dets
            continue
        m = match_face(gt[i], dets.boxes, dets.scores, min_iou)
        iou[i] = m.iou
        if m.matched:
            boxes[i], scores[i], matched[i] = m.box, m.score, True
    no_image = np.array([p is None for p in image_paths], dtype=bool)
    return FaceBoxes(boxes, scores, iou, matched, no_image, float(min_iou), len(found), len(todo), n_cached,
                     seconds if todo else 0.0, unreadable, list(cache.warnings) if cache is not None else [])


def _detect_all(todo: list[tuple[str, FileIdentity | None]], detector: FaceDetector, cache: DetectionCache | None,
                found: dict[str, Detections | str], strict: bool, workers: int | None) -> None:
    """Decode in threads (in order), run the detector here, store each result (and in the cache)."""
    from concurrent.futures import ThreadPoolExecutor

    from faceval.errors import InputError

    if not todo:
        return

    def prepare(key: str) -> tuple[Any, Any] | InputError:
        try:
            return detector.prepare_file(key)
        except InputError as exc:
            return exc

    threads = max(1, min(4, os.cpu_count() or 1) if workers is None else int(workers))
    with ThreadPoolExecutor(max_workers=threads) as pool:
        # bounded look-ahead: at most 2 * threads decoded images wait for the detector
        pending = [pool.submit(prepare, key) for key, _ in todo[: 2 * threads]]
        for k, (key, identity) in enumerate(todo):
            prepared = pending[k].result()
            nxt = k + 2 * threads
            if nxt < len(todo):
                pending.append(pool.submit(prepare, todo[nxt][0]))
            if isinstance(prepared, InputError):
                if strict:
                    for future in pending[k + 1:]:
                        future.cancel()
                    raise prepared
                found[key] = str(prepared)
                continue
            dets = detector.run_input(*prepared)
            found[key] = dets
            if cache is not None and identity is not None:
                cache.put(identity, dets)
