"""Batched, threaded decode + crop that overlaps with inference.

Each :class:`CropJob` is decoded (JPEGs at the largest DCT reduction that still gives the
crop at least the model-input resolution), cropped and resampled in a worker thread
(Pillow releases the GIL while decoding and resampling). Results are consumed strictly in
job order through a bounded prefetch window, so the output is byte-identical whatever the
number of workers.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from faceval.pipeline.cache import CropCache
from faceval.pipeline.images import ImageReadError, ImageSource, load_source
from faceval.pipeline.transform import crop_and_resize, face_crop, face_crops

__all__ = ["Batch", "CropJob", "iter_batches", "job_rects", "load_crop", "to_model_input"]


@dataclass(frozen=True)
class CropJob:
    """One face to crop.

    Give the crop rectangle directly (``crop``, point frame of the original image), or the
    ``landmarks`` ``(K, 2)`` / dataset ``box`` ``(4,)`` it is built from with ``scale`` and
    ``square`` (see :func:`faceval.pipeline.transform.face_crop`).

    Attributes:
        index: position of the sample in the caller's arrays (returned in ``Batch.indices``).
        sample_id: stable sample id.
        source: image path, or a callable returning the image (array / PIL image).
        cache_key: the sample's identity key in the crop cache
            (:func:`faceval.pipeline.identity.sample_identities`); None: never cached.
    """

    index: int
    sample_id: str
    source: ImageSource
    crop: Any = None
    landmarks: Any = None
    box: Any = None
    scale: float = 1.2
    square: bool = True
    cache_key: str | None = None

    def crop_array(self) -> np.ndarray:
        """The ``(4,)`` crop rectangle; ``ValueError`` when it cannot be built."""
        if self.crop is not None:
            c = np.asarray(self.crop, dtype=np.float64).reshape(4)
            if not (np.isfinite(c).all() and c[2] > c[0] and c[3] > c[1]):
                raise ValueError(f"degenerate crop rectangle {c.tolist()}")
            return c
        if self.landmarks is not None:
            return face_crop(landmarks=self.landmarks, scale=self.scale, square=self.square).as_array()
        if self.box is not None:
            return face_crop(box=self.box, scale=self.scale, square=self.square).as_array()
        raise ValueError("job has no crop, landmarks or box")


def job_rects(jobs: Sequence[CropJob]) -> np.ndarray:
    """``(N, 4)`` crop rectangles of ``jobs`` (NaN rows where :meth:`CropJob.crop_array` would raise).

    Jobs that share how their rectangle is built (all ``landmarks`` or all ``box`` with one
    ``scale`` / ``square``) are computed in one vectorised :func:`face_crops` call, which gives
    the same values as the per-job call; other mixes fall back to one call per job.
    """
    out = np.full((len(jobs), 4), np.nan)
    if not jobs:
        return out
    first = jobs[0]
    same = all(j.crop is None and (j.landmarks is None) == (first.landmarks is None) and j.scale == first.scale
               and j.square == first.square for j in jobs)
    if same and first.landmarks is not None:
        pts = [np.asarray(j.landmarks, dtype=np.float64) for j in jobs]
        if len({p.shape for p in pts}) == 1 and pts[0].ndim == 2 and pts[0].shape[-1] == 2:
            return face_crops(np.stack(pts), scale=first.scale, square=first.square)  # degenerate rows NaN
    elif same and all(j.box is not None for j in jobs):
        boxes = [np.asarray(j.box, dtype=np.float64).reshape(-1) for j in jobs]
        if all(b.shape == (4,) for b in boxes):
            return face_crops(boxes=np.stack(boxes), scale=first.scale, square=first.square)
    for i, job in enumerate(jobs):
        try:
            out[i] = job.crop_array()
        except ValueError:
            pass
    return out


@dataclass
class Batch:
    """A batch of crops in job order.

    Attributes:
        indices: ``(B,)`` int64 job indices of the crops.
        sample_ids: the ``B`` sample ids.
        crops: ``(B, h, w, 3)`` uint8 RGB model-input crops.
        boxes: ``(B, 4)`` float64 crop rectangles in original-image point coordinates
            (feed them to ``transform.to_image`` with the decoded landmarks).
        failures: ``(index, reason)`` for jobs skipped since the previous batch.
        inputs: the result of ``prepare(crops)`` when a ``prepare`` callable was given.
        from_cache: ``(B,)`` bool, True where the crop came from the crop cache.
    """

    indices: np.ndarray
    sample_ids: list[str]
    crops: np.ndarray
    boxes: np.ndarray
    failures: list[tuple[int, str]] = field(default_factory=list)
    inputs: Any = None
    from_cache: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.indices.shape[0])


def load_crop(
    job: CropJob,
    input_size: tuple[int, int],
    *,
    resample: str = "bilinear",
    use_draft: bool = True,
    oversample: float = 1.0,
    max_pixels: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Decode and crop one job; returns ``(crop (h, w, 3) uint8, rectangle (4,))``.

    With ``use_draft`` a JPEG is decoded at reduction ``s`` such that
    ``1/s >= oversample * max(W / crop_w, H / crop_h)``: the crop keeps at least
    ``oversample`` times the input resolution, so the result differs from a full decode
    only by the (antialiased) resampling path.

    Raises:
        ImageReadError: the image could not be read; ``ValueError``: bad crop.
    """
    rect = job.crop_array()
    min_scale = None
    if use_draft:
        cw, ch = rect[2] - rect[0], rect[3] - rect[1]
        min_scale = float(oversample) * max(input_size[0] / cw, input_size[1] / ch)
    image, scale, _ = load_source(job.source, min_scale=min_scale, max_pixels=max_pixels)
    out = crop_and_resize(image, rect, input_size, resample=resample, image_scale=scale)
    return out, rect


def to_model_input(
    crops: np.ndarray,
    *,
    layout: str = "NCHW",
    color: str = "RGB",
    mean: float | Sequence[float] = 0.0,
    std: float | Sequence[float] = 1.0,
) -> np.ndarray:
    """Normalise ``(B, h, w, 3)`` uint8 RGB crops into a float32 model input.

    ``input[c] = (pixel[c] / 255 - mean[c]) / std[c]`` computed as one fused
    ``pixel * a[c] + b[c]`` with ``a = 1 / (255 std)``, ``b = -mean / std``.
    ``color="BGR"`` reverses the channels first; ``mean``/``std`` are given in the
    model's channel order (after that swap). ``layout="NCHW"`` transposes to
    ``(B, 3, h, w)``; the result is C-contiguous.
    """
    x = np.asarray(crops)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"crops must be (B, h, w, 3), got {x.shape}")
    color_u = color.upper()
    if color_u == "BGR":
        x = x[..., ::-1]
    elif color_u != "RGB":
        raise ValueError(f"color must be RGB or BGR, got {color!r}")
    m = np.broadcast_to(np.asarray(mean, dtype=np.float64), (3,))
    s = np.broadcast_to(np.asarray(std, dtype=np.float64), (3,))
    if np.any(s == 0):
        raise ValueError("std must be non-zero")
    a = (1.0 / (255.0 * s)).astype(np.float32)
    b = (-m / s).astype(np.float32)
    lay = layout.upper()
    if lay == "NCHW":
        x = x.transpose(0, 3, 1, 2)
        a, b = a[:, None, None], b[:, None, None]
    elif lay != "NHWC":
        raise ValueError(f"layout must be NCHW or NHWC, got {layout!r}")
    out = np.empty(x.shape, dtype=np.float32)
    np.multiply(x, a, out=out, casting="unsafe")
    out += b
    return out


def default_workers() -> int:
    """Decode threads when not given: the CPU count, at most 8."""
    return max(1, min(8, os.cpu_count() or 1))


def iter_batches(
    items: Sequence[CropJob],
    *,
    input_size: tuple[int, int],
    batch_size: int,
    workers: int | None = None,
    prepare: Callable[[np.ndarray], Any] | None = None,
    resample: str = "bilinear",
    use_draft: bool = True,
    oversample: float = 1.0,
    strict: bool = False,
    prefetch: int | None = None,
    cache: CropCache | None = None,
    max_pixels: int | None = None,
    hits: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> Iterator[Batch]:
    """Yield batches of crops in job order, decoding ahead in worker threads.

    Batches are filled with successful crops (every batch but the last has exactly
    ``batch_size`` crops); jobs that fail (unreadable image, degenerate crop) are
    skipped and reported in the ``failures`` of the batch being filled, or raise the
    :class:`~faceval.pipeline.images.ImageReadError` / ``ValueError`` when ``strict``.
    If only failures remain at the end, a final empty batch carries them.

    Args:
        items: the jobs, in the order the batches follow.
        input_size: ``(W, H)`` of the model input.
        batch_size: crops per batch.
        workers: decoding threads (default: CPU count, at most 8); 0 decodes in the
            calling thread.
        prepare: optional ``crops -> model input`` (e.g. a ``functools.partial`` of
            :func:`to_model_input`), stored in ``Batch.inputs``.
        resample, use_draft, oversample, max_pixels: see :func:`load_crop`.
        prefetch: jobs in flight (default ``max(2 * batch_size, 4 * workers)``); bounds
            memory to about that many decoded images.
        cache: optional :class:`~faceval.pipeline.cache.CropCache`, looked up by each job's
            ``cache_key`` (jobs without one are never cached): hits skip decoding (when their
            stored rectangle equals the job's), misses are added with ``put_many`` as batches
            complete (the caller saves / closes the cache).
        hits: crops the caller already read from ``cache`` (``cache.get_many``, one bulk read
            for several calls); the cache is then not read again here.

    When every job is a cache hit, the crops are normalised by ``prepare`` a block of whole
    batches at a time (``prepare`` must treat the images of its input independently, as
    :func:`to_model_input` does) and the batches are slices of that block: the same batches,
    without per-image work.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    n_workers = default_workers() if workers is None else int(workers)
    window = prefetch if prefetch is not None else max(2 * batch_size, 4 * max(n_workers, 1))
    window = max(1, int(window))
    size = (int(input_size[0]), int(input_size[1]))

    # One bulk read of every cached crop of these jobs (a per-job read from worker
    # threads serialises on h5py's lock and costs more than the decode it saves).
    prefetched: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if hits is not None:
        prefetched = hits
    elif cache is not None:
        try:  # a broken cache is never fatal
            prefetched = cache.get_many([job.cache_key for job in items if job.cache_key is not None])
        except Exception:
            prefetched = {}
    valid = _valid_hits(items, prefetched, size)

    if items and len(valid) == len(items):  # every crop cached: whole blocks, no per-image work
        yield from _cached_batches(items, valid, batch_size, prepare)
        return

    def cached(pos: int) -> tuple[np.ndarray, np.ndarray] | None:
        return valid.get(pos)

    def work(pos: int, job: CropJob) -> tuple[np.ndarray, np.ndarray, bool]:
        hit = cached(pos)
        if hit is not None:
            return hit[0], hit[1], True
        crop, rect = load_crop(job, size, resample=resample, use_draft=use_draft,
                               oversample=oversample, max_pixels=max_pixels)
        return crop, rect, False

    executor = ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="faceval-crop") if n_workers > 0 else None
    pending: deque[tuple[int, CropJob, Future | None]] = deque()
    it = iter(enumerate(items))

    def submit_next() -> bool:
        try:
            pos, job = next(it)
        except StopIteration:
            return False
        if executor is None or pos in valid:
            pending.append((pos, job, None))  # cache hits need no decoding thread
        else:
            pending.append((pos, job, executor.submit(work, pos, job)))
        return True

    buf_crops: list[np.ndarray] = []
    buf_rects: list[np.ndarray] = []
    buf_idx: list[int] = []
    buf_ids: list[str] = []
    buf_keys: list[str | None] = []
    buf_hit: list[bool] = []
    failures: list[tuple[int, str]] = []

    def emit() -> Batch:
        crops = (np.stack(buf_crops) if buf_crops
                 else np.zeros((0, size[1], size[0], 3), dtype=np.uint8))
        rects = np.stack(buf_rects) if buf_rects else np.zeros((0, 4), dtype=np.float64)
        batch = Batch(
            indices=np.asarray(buf_idx, dtype=np.int64),
            sample_ids=list(buf_ids),
            crops=crops,
            boxes=rects,
            failures=list(failures),
            from_cache=np.asarray(buf_hit, dtype=bool),
        )
        if prepare is not None and len(batch):
            batch.inputs = prepare(crops)
        if cache is not None and len(batch):
            new = [i for i, h in enumerate(buf_hit) if not h and buf_keys[i] is not None]
            if new:
                cache.put_many([buf_keys[i] for i in new], crops[new], rects[new])  # type: ignore[misc]
        for lst in (buf_crops, buf_rects, buf_idx, buf_ids, buf_keys, buf_hit, failures):
            lst.clear()
        return batch

    try:
        for _ in range(window):
            if not submit_next():
                break
        while pending:
            pos, job, fut = pending.popleft()
            try:
                crop, rect, hit = work(pos, job) if fut is None else fut.result()
            except (ImageReadError, ValueError, OSError) as exc:
                if strict:
                    raise
                failures.append((int(job.index), " ".join(str(exc).split())))
                crop = None
            submit_next()
            if crop is not None:
                buf_crops.append(crop)
                buf_rects.append(rect)
                buf_idx.append(int(job.index))
                buf_ids.append(job.sample_id)
                buf_keys.append(job.cache_key)
                buf_hit.append(hit)
                if len(buf_crops) == batch_size:
                    yield emit()
        if buf_crops or failures:
            yield emit()
    finally:
        if executor is not None:
            for _, _, fut in pending:
                if fut is not None:
                    fut.cancel()
            executor.shutdown(wait=True, cancel_futures=True)


def _valid_hits(items: Sequence[CropJob], prefetched: dict[str, tuple[np.ndarray, np.ndarray]],
                size: tuple[int, int]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """``{position in items: (crop, rect)}`` for the cached crops of the right size whose stored
    rectangle equals the job's (the jobs' rectangles computed at once)."""
    found = [(pos, j) for pos, j in enumerate(items) if j.cache_key is not None and j.cache_key in prefetched]
    if not found:
        return {}
    rects = job_rects([j for _, j in found])
    stored = np.full((len(found), 4), np.nan)
    for k, (_, job) in enumerate(found):
        r = np.asarray(prefetched[job.cache_key][1], dtype=np.float64)  # type: ignore[index]
        if r.shape == (4,):
            stored[k] = r
    same = (rects == stored).all(axis=1)  # NaN rows (no rectangle, a malformed entry) never match
    shape = (size[1], size[0], 3)
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for k, (pos, job) in enumerate(found):
        crop = prefetched[job.cache_key][0]  # type: ignore[index]
        if same[k] and crop.shape == shape:
            out[pos] = (np.asarray(crop, dtype=np.uint8), rects[k])
    return out


#: Images per block when every crop is cached (rounded up to whole batches). Small on purpose:
#: normalising 16 images at once is as fast per image as larger blocks while the block stays in
#: the CPU cache (a 256-image block, 38 MB of float32, measured 5x slower per image: page faults).
_CACHED_BLOCK = 16


def _cached_batches(items: Sequence[CropJob], valid: dict[int, tuple[np.ndarray, np.ndarray]], batch_size: int,
                    prepare: Callable[[np.ndarray], Any] | None) -> Iterator[Batch]:
    """The batches of jobs that are all cache hits (``valid`` by position): blocks of whole batches,
    prepared at once."""
    block = batch_size * max(1, _CACHED_BLOCK // batch_size)
    for start in range(0, len(items), block):
        part = items[start:start + block]
        crops = np.stack([valid[start + k][0] for k in range(len(part))])
        rects = np.stack([valid[start + k][1] for k in range(len(part))])
        inputs = prepare(crops) if prepare is not None else None
        indices = np.asarray([j.index for j in part], dtype=np.int64)
        for b in range(0, len(part), batch_size):
            sl = slice(b, b + batch_size)
            yield Batch(indices=indices[sl], sample_ids=[j.sample_id for j in part[sl]], crops=crops[sl],
                        boxes=rects[sl], failures=[], inputs=None if inputs is None else inputs[sl],
                        from_cache=np.ones(len(indices[sl]), dtype=bool))
