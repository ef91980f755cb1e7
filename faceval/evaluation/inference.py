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
from faceval.errors import InputError, RuntimeFailure
from faceval.evaluation.checkpoint import Checkpoint

if TYPE_CHECKING:
    from faceval.models.session import SessionInfo
    from faceval.models.spec import ModelSpec
    from faceval.pipeline.cache import CropCache
    from faceval.pipeline.identity import SampleIdentities
    from faceval.pipeline.loader import CropJob
    from faceval.pipeline.images import ImageSource


@dataclass
class InferenceResult:
    """Predictions in original-image coordinates (model scheme), aligned with the samples."""

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
) -> InferenceResult:
    """Predict landmarks (and pose) for every sample of ``ann``.

    Each face is cropped from its GT landmark box or dataset rectangle (``spec.box``),
    enlarged by ``spec.box_scale`` (square when ``spec.square``), resized to the model
    input, normalised as ``(pixel/255 - mean)/std``, run, decoded into input pixels and
    mapped back through the exact inverse of the crop transform. Unreadable images are
    failures (NaN predictions, reason recorded) unless ``strict``. The crop ``cache`` is used
    only with ``identities`` (its entries are keyed by sample identity, never by sample id).
    """
    from faceval.models.decode import decode_landmarks, decode_pose, select_outputs
    from faceval.models.session import batch_dim_fixed
    from faceval.pipeline.loader import iter_batches, to_model_input
    from faceval.pipeline.transform import to_image

    n, k = len(ann), int(spec.points)
    size = (int(spec.width), int(spec.height))
    fixed = batch_dim_fixed(session_info.session)
    if fixed is not None:
        batch_size = fixed
    state = checkpoint if checkpoint is not None else Checkpoint(None, "", n, k)
    landmarks, failed, reasons, done = state.landmarks, state.failed, state.reasons, state.done

    jobs, unusable = _crop_jobs(ann, spec, image_loader, identities)
    for i, why in unusable.items():
        if strict:
            raise InputError(why, path=ann.image_paths[i] or ann.sample_ids[i])
        failed[i], reasons[i], done[i] = True, why, True
    prepare = partial(to_model_input, layout=spec.layout, color=spec.color, mean=spec.mean, std=spec.std)
    session, input_name = session_info.session, session_info.input_name
    output_names = session_info.output_names
    # Chunks hold whole batches, so resumed runs form the same batches as uninterrupted ones.
    chunk_size = max(batch_size, chunk_size - chunk_size % batch_size)
    t_infer = t_wait = 0.0
    n_hits = processed = 0
    started = time.perf_counter()
    already = int(done.sum())
    if progress and already:
        progress(already)
    for start in range(0, len(jobs), chunk_size):
        chunk = [j for j in jobs[start : start + chunk_size] if not done[j.index]]
        if not chunk:
            continue
        t0 = time.perf_counter()
        for batch in iter_batches(chunk, input_size=size, batch_size=batch_size, workers=workers, prepare=prepare,
                                  resample=spec.resample, strict=strict, cache=cache):
            t_wait += time.perf_counter() - t0
            for idx, why in batch.failures:
                failed[idx], reasons[idx] = True, why
            processed += len(batch.failures) + len(batch)
            if progress and batch.failures:
                progress(len(batch.failures))
            if len(batch):
                x = batch.inputs
                pad = fixed - len(batch) if fixed is not None and len(batch) < fixed else 0
                if pad:
                    x = np.concatenate([x, np.zeros((pad,) + x.shape[1:], dtype=x.dtype)])
                t1 = time.perf_counter()
                try:
                    outputs = session.run(None, {input_name: x})
                except Exception as exc:  # noqa: BLE001 - ORT raises its own exception types
                    raise RuntimeFailure(f"model inference failed: {str(exc).strip().splitlines()[0]}") from None
                t_infer += time.perf_counter() - t1
                lm_raw, pose_raw = select_outputs(output_names, outputs, spec)
                m = len(batch)
                pts = decode_landmarks(np.asarray(lm_raw)[:m], spec)
                landmarks[batch.indices] = to_image(pts, batch.boxes, size)
                if pose_raw is not None:
                    if state.pose is None:
                        state.pose = np.full((n, 3), np.nan)
                    state.pose[batch.indices] = decode_pose(np.asarray(pose_raw)[:m], spec)
                if batch.from_cache is not None:
                    n_hits += int(batch.from_cache.sum())
                if progress:
                    progress(m)
            t0 = time.perf_counter()
        for job in chunk:
            done[job.index] = True
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
