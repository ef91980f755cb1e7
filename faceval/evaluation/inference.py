"""Run an ONNX landmark model over a dataset selection: crop, infer, map back.

The samples are processed in chunks of fixed boundaries (``chunk_size`` jobs of
the canonical order); within a chunk the loader forms batches in job order, so
an interrupted and resumed run forms exactly the same batches as an
uninterrupted one and gives byte-identical predictions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Callable

import numpy as np

from faceval.datasets.base import Annotations
from faceval.errors import InputError
from faceval.evaluation.checkpoint import Checkpoint

if TYPE_CHECKING:
    from faceval.models.session import SessionInfo
    from faceval.models.spec import ModelSpec
    from faceval.pipeline.cache import CropCache
    from faceval.pipeline.identity import SampleIdentities
    from faceval.pipeline.loader import CropJob
    from faceval.pipeline.images import ImageSource


#: Cached crops of a whole run are read at once up to this size (else one read per chunk).
_BULK_READ_BYTES = 256 << 20


@dataclass
class InferenceResult:
    """Predictions in original-image coordinates (model scheme), aligned with the samples.

    ``landmarks`` is ``(N, 0, 2)`` for a pose-only model (it predicts none)."""

    landmarks: np.ndarray
    pose: np.ndarray | None
    failed: np.ndarray
    reasons: list[str]
    timings: dict[str, float | int] = field(default_factory=dict)


def _crop_jobs(ann: Annotations, spec: "ModelSpec", image_loader: Callable[[int], np.ndarray] | None,
               identities: "SampleIdentities | None") -> tuple[list["CropJob"], dict[int, str]]:
    """One CropJob per usable sample, and the reasons of samples that cannot be cropped."""
    from faceval.pipeline.loader import CropJob

    jobs: list[CropJob] = []
    unusable: dict[int, str] = {}
    for i, sid in enumerate(ann.sample_ids):
        path = ann.image_paths[i]
        source: ImageSource | None = path if path is not None else (partial(image_loader, i) if image_loader else None)
        key = identities.keys[i] if identities is not None and identities.cacheable[i] else None
        if source is None:
            unusable[i] = "image file missing"
            continue
        if spec.box == "dataset":
            box = ann.boxes[i]
            if not np.isfinite(box).all():
                unusable[i] = "no dataset face rectangle (use box 'landmarks')"
                continue
            jobs.append(CropJob(i, sid, source, box=box, scale=spec.box_scale, square=spec.square, cache_key=key))
        else:
            jobs.append(CropJob(i, sid, source, landmarks=ann.landmarks[i], scale=spec.box_scale, square=spec.square,
                                cache_key=key))
    return jobs, unusable


def run_inference(
    ann: Annotations,
    session_info: "SessionInfo",
    spec: "ModelSpec",
    *,
    batch_size: int = 32,
    workers: int | None = None,
    cache: "CropCache | None" = None,
    identities: "SampleIdentities | None" = None,
    strict: bool = False,
    checkpoint: Checkpoint | None = None,
    chunk_size: int = 256,
    progress: Callable[[int], None] | None = None,
    image_loader: Callable[[int], np.ndarray] | None = None,
    max_batch_bytes: int | None = None,
    on_message: Callable[[str], None] | None = None,
) -> InferenceResult:
    """Predict landmarks (and pose) for every sample of ``ann``.

    Each face is cropped from its GT landmark box or dataset rectangle (``spec.box``),
    enlarged by ``spec.box_scale`` (square when ``spec.square``), resized to the model
    input, normalised as ``(pixel/255 - mean)/std``, run, decoded into input pixels and
    mapped back through the exact inverse of the crop transform. Unreadable images are
    failures (NaN predictions, reason recorded) unless ``strict``; so are images the model
    raises on (:class:`~faceval.models.runner.ModelRunner`). ``max_batch_bytes`` bounds the
    batch input tensor (default 2 GiB); ``on_message`` receives the runner's notes and warnings.
    The crop ``cache`` is used only with ``identities`` (its entries are keyed by sample
    identity, never by sample id).
    """
    from faceval.models.runner import ModelRunner
    from faceval.pipeline.loader import iter_batches, to_model_input
    from faceval.pipeline.transform import to_image

    n, k = len(ann), (0 if spec.pose_only else int(spec.points))
    size = (int(spec.width), int(spec.height))
    # Checks inputs, output dtypes, the batch memory bound and the output batch before any image is read.
    runner = ModelRunner.open(session_info, spec, batch_size=batch_size, strict=strict,
                              max_batch_bytes=max_batch_bytes, on_note=on_message)
    batch_size = runner.batch_size
    state = checkpoint if checkpoint is not None else Checkpoint(None, None, n, k)
    landmarks, failed, reasons, done = state.landmarks, state.failed, state.reasons, state.done

    jobs, unusable = _crop_jobs(ann, spec, image_loader, identities)
    for i, why in unusable.items():
        if strict:
            raise InputError(why, path=ann.image_paths[i] or ann.sample_ids[i])
        failed[i], reasons[i], done[i] = True, why, True
    prepare = partial(to_model_input, layout=spec.layout, color=spec.color, mean=spec.mean, std=spec.std)
    # Chunks hold whole batches, so resumed runs form the same batches as uninterrupted ones.
    chunk_size = max(batch_size, chunk_size - chunk_size % batch_size)
    t_infer = t_wait = 0.0
    n_hits = processed = 0
    started = time.perf_counter()
    already = int(done.sum())
    if progress and already:
        progress(already)
    hits = None
    keys = [j.cache_key for j in jobs if j.cache_key is not None and not done[j.index]]
    if cache is not None and len(keys) * size[0] * size[1] * 3 <= _BULK_READ_BYTES:
        try:  # one bulk read of every cached crop of the run (else one per chunk); never fatal
            hits = cache.get_many(keys)
        except Exception:  # noqa: BLE001
            hits = {}
    last = max((start for start in range(0, len(jobs), chunk_size)
                if any(not done[j.index] for j in jobs[start : start + chunk_size])), default=-1)
    for start in range(0, len(jobs), chunk_size):
        chunk = [j for j in jobs[start : start + chunk_size] if not done[j.index]]
        if not chunk:
            continue
        t0 = time.perf_counter()
        mapped: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (indices, input-pixel landmarks, crop boxes)
        for batch in iter_batches(chunk, input_size=size, batch_size=batch_size, workers=workers, prepare=prepare,
                                  resample=spec.resample, strict=strict, cache=cache, hits=hits):
            t_wait += time.perf_counter() - t0
            for idx, why in batch.failures:
                failed[idx], reasons[idx] = True, why
            processed += len(batch.failures) + len(batch)
            if progress and batch.failures:
                progress(len(batch.failures))
            if len(batch):
                t1 = time.perf_counter()
                pred = runner.run(batch.inputs)  # per-image model failures come back in pred.failures
                t_infer += time.perf_counter() - t1
                m = len(batch)
                if pred.landmarks is not None:  # None for a pose-only model
                    mapped.append((batch.indices, pred.landmarks, batch.boxes))
                for pos, why in pred.failures.items():
                    failed[batch.indices[pos]], reasons[batch.indices[pos]] = True, why
                if pred.pose is not None:
                    if state.pose is None:
                        state.pose = np.full((n, 3), np.nan)
                    state.pose[batch.indices] = pred.pose
                if batch.from_cache is not None:
                    n_hits += int(batch.from_cache.sum())
                if progress:
                    progress(m)
            t0 = time.perf_counter()
        if mapped:  # back to image coordinates, once per chunk (the same values as per batch)
            landmarks[np.concatenate([m[0] for m in mapped])] = to_image(
                np.concatenate([m[1] for m in mapped]), np.concatenate([m[2] for m in mapped]), size)
            mapped.clear()
        for job in chunk:
            done[job.index] = True
        if start != last:  # after the last chunk the run file is written at once: no partial needed
            state.save()
    total = time.perf_counter() - started
    return InferenceResult(
        landmarks=landmarks,
        pose=state.pose,
        failed=failed,
        reasons=[str(r) for r in reasons],
        timings={
            "pipeline_s": total,
            "inference_s": t_infer,
            "waiting_for_crops_s": t_wait,
            "images": int(processed),
            "images_per_s": float(processed / total) if total > 0 and processed > 0 else 0.0,
            "cache_hits": int(n_hits),
            "batch_size": int(batch_size),
        },
    )
