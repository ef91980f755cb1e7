"""Per-sample facts of a run: failure reasons, split membership, the face box, the worst images.

Everything here is read from a :class:`~faceval.runs.data.RunData` alone (no images, no model),
through attribute access only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceval.errors import InputError, closest

#: reason recorded for a usable input whose prediction (or normaliser) was not finite
NONFINITE_REASON = "non-finite output"
#: reason for a failed input whose run file recorded no reason string
UNKNOWN_INPUT_REASON = "unusable input (no reason recorded)"


def failure_reasons(run) -> np.ndarray:  # type: ignore[no-untyped-def]
    """``(N,)`` str: why each sample failed, ``""`` where it did not.

    The reason recorded in the run file wins (unreadable image, missing box, detection miss ...,
    whatever string the producer wrote); a failed input without one gets
    :data:`UNKNOWN_INPUT_REASON`, and a usable input with ``NME_i = inf`` (NaN or infinite
    prediction) gets :data:`NONFINITE_REASON`.
    """
    recorded = np.asarray(run.failure_reasons, dtype=object)
    failed_inputs = np.asarray(run.failed_inputs, dtype=bool)
    nme = run_nme(run)
    out = np.empty(len(recorded), dtype=object)
    for i, reason in enumerate(recorded):
        text = str(reason).strip() if reason is not None else ""
        if text:
            out[i] = text
        elif failed_inputs[i]:
            out[i] = UNKNOWN_INPUT_REASON
        elif not run.pose_only and not np.isfinite(nme[i]):
            out[i] = NONFINITE_REASON
        else:
            out[i] = ""
    return out


def run_nme(run) -> np.ndarray:  # type: ignore[no-untyped-def]
    """``(N,)`` per-image NME; NaN ("–", unknown) everywhere for a pose-only run, which has none."""
    if run.pose_only:
        return np.full(len(run.sample_ids), np.nan)
    return np.asarray(run.nme, dtype=np.float64)


def split_membership(run) -> list[tuple[str, ...]]:  # type: ignore[no-untyped-def]
    """For each sample, the splits holding it (in the run's split order)."""
    members: list[list[str]] = [[] for _ in range(len(run.sample_ids))]
    for name, indices in run.splits.items():
        for i in np.asarray(indices, dtype=np.int64):
            members[int(i)].append(name)
    return [tuple(m) for m in members]


def face_boxes(run) -> np.ndarray:  # type: ignore[no-untyped-def]
    """``(N, 4)`` ``x0, y0, x1, y1`` of the face crop the model saw, NaN where unknown.

    A run with ``box_source: landmarks`` cropped the GT landmark box enlarged by ``box_scale``
    (square when ``box_square``): it is recomputed here with the pipeline's own function.
    Runs with other box sources (dataset rectangles, detectors) use the per-sample ``boxes``
    array when the run file holds one; scored runs (``faceval score``) have no box.
    """
    n = len(run.sample_ids)
    stored = getattr(run, "boxes", None)  # runs that record the box per sample
    if stored is not None:
        return np.asarray(stored, dtype=np.float64).reshape(n, 4)
    protocol = run.protocol
    if protocol.box_source == "landmarks" and protocol.box_scale:
        from faceval.pipeline.transform import face_crops

        return face_crops(np.asarray(run.ground_truth, dtype=np.float64), scale=float(protocol.box_scale),
                          square=protocol.box_square is not False)
    return np.full((n, 4), np.nan)


def pose_errors(run) -> np.ndarray | None:  # type: ignore[no-untyped-def]
    """``(N, 3)`` absolute yaw, pitch, roll errors in degrees (wrapped under ``pose_wrap``), or None."""
    if run.pose_pred is None or run.pose_gt is None:
        return None
    from faceval.metrics.pose import wrap_degrees

    diff = np.asarray(run.pose_pred, dtype=np.float64) - np.asarray(run.pose_gt, dtype=np.float64)
    if run.protocol.pose_wrap:
        diff = wrap_degrees(diff)
    return np.abs(diff)


def check_split(run, split: str | None) -> None:  # type: ignore[no-untyped-def]
    """InputError naming the closest split when ``split`` is not in the run."""
    if split is not None and split not in run.splits:
        raise InputError(f"run '{run.label}' has no split '{split}'{closest(split, list(run.splits))}; "
                         f"its splits: {', '.join(run.splits)}")


def rows_of(run, split: str | None) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Sample indices of ``split`` (all samples when None)."""
    check_split(run, split)
    if split is None:
        return np.arange(len(run.sample_ids), dtype=np.int64)
    return np.asarray(run.splits[split], dtype=np.int64)


def worst_indices(run, n: int, split: str | None = None) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Indices of the ``n`` scored samples with the highest NME, worst first.

    Failures (``NME_i = inf``) are not ranked here (they have no usable prediction to show; see
    :func:`failure_reasons`). Ties are broken by sample id, so the order is deterministic.
    """
    if n < 0:
        raise InputError(f"expected a number of images >= 0, found {n}")
    rows = rows_of(run, split)
    nme = run_nme(run)[rows]  # a pose-only run: all NaN, nothing ranked
    finite = np.isfinite(nme)
    rows, nme = rows[finite], nme[finite]
    ids = np.asarray(run.sample_ids, dtype=object)[rows].astype(str)
    order = np.lexsort((ids, -nme))
    return rows[order[:n]]


@dataclass(frozen=True)
class SampleRef:
    """One sample as the views show it."""

    index: int
    sample_id: str
    splits: tuple[str, ...]
    nme: float
    failure_reason: str
