"""Turn ground truth plus predictions into a scored :class:`RunData`.

This is the one place where per-image errors and per-split summaries are
computed; ``faceval score`` and ``faceval run`` both end here, so a model run by
faceval and predictions made elsewhere are scored identically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from faceval.datasets.base import Annotations
from faceval.errors import InputError
from faceval.runs.data import RunData, SplitCount
from faceval.runs.protocol import Protocol
from faceval.runs.provenance import sample_set_sha256
from faceval.schemes import load_scheme, scheme_for_points

AGGREGATIONS = ("mean", "pooled", "point-mean")


def default_thresholds(dataset: str) -> tuple[float, ...]:
    """Conventional failure thresholds: 0.08 and 0.10 for 300W, 0.10 elsewhere."""
    return (0.08, 0.10) if dataset == "300w" else (0.10,)


@dataclass
class PredictionSet:
    """Predictions aligned with the annotations' sample order.

    ``landmarks`` is ``(N, K, 2)`` in ``scheme`` (NaN rows where missing or failed), or None for a
    pose-only model (then ``pose`` is required); ``pose`` is ``(N, 3)`` yaw, pitch, roll degrees or
    None; ``failed`` marks samples whose input could not be used, with ``reasons``. ``owned``: the
    caller hands ``landmarks`` over (the run keeps that array and writes NaN into failed rows)
    instead of having it copied.
    """

    landmarks: np.ndarray | None
    scheme: str | None = None
    pose: np.ndarray | None = None
    failed: np.ndarray | None = None
    reasons: list[str] = field(default_factory=list)
    owned: bool = False


def _convert_to_gt_scheme(landmarks: np.ndarray, scheme: str | None, ann: Annotations) -> tuple[np.ndarray, str | None]:
    """Convert predictions into the GT scheme when the point counts differ."""
    k_pred, k_gt = landmarks.shape[1], ann.num_points
    source = scheme
    if source is None and k_pred != k_gt:
        guessed = scheme_for_points(k_pred)
        source = guessed.name if guessed else None
    if k_pred == k_gt and (source is None or source == ann.scheme):
        return landmarks, None
    if source is None:
        raise InputError(f"predictions have {k_pred} points per face, the '{ann.dataset}' ground truth has {k_gt}, and no scheme has {k_pred} points")
    src = load_scheme(source)
    if src.num_points != k_pred:
        raise InputError(f"predictions have {k_pred} points per face but the '{source}' scheme has {src.num_points}")
    if source == ann.scheme:
        return landmarks, None
    if ann.scheme not in src.conversions:
        raise InputError(
            f"predictions are in the '{source}' scheme ({k_pred} points) and the ground truth in '{ann.scheme}' ({k_gt}); no conversion exists"
        )
    return landmarks[:, src.conversions[ann.scheme], :], f"{source}->{ann.scheme}"


def build_run(
    ann: Annotations,
    predictions: PredictionSet,
    protocol: Protocol,
    *,
    label: str,
    provenance: dict[str, Any] | None = None,
    model_info: dict[str, Any] | None = None,
    extra_protocol: dict[str, Any] | None = None,
) -> RunData:
    """Score predictions against ground truth, per image and per split.

    ``NME_i = mean_k ||p_ik - g_ik|| / d_i`` with ``d_i`` from the GT and ``protocol.normalizer``;
    failed inputs and non-finite predictions get ``NME_i = inf`` (failures, never NaN means).
    Pose-only predictions (``landmarks`` None) give a pose-only run: no NME, no normaliser, no
    thresholds (the protocol's ``normalizer`` and ``thresholds`` are recorded as None and empty).
    """
    import dataclasses

    from faceval.metrics.nme import per_image_nme
    from faceval.metrics.normalizers import compute_normalizers

    from faceval.schemes import point_subset

    check_protocol_modes(protocol)
    points = point_subset(ann.scheme, protocol.points)  # None: every point; refused off the 300w scheme
    n = len(ann)
    pose_only = predictions.landmarks is None
    failed = np.zeros(n, dtype=bool) if predictions.failed is None else np.asarray(predictions.failed, dtype=bool)
    reasons = np.asarray(predictions.reasons if predictions.reasons else [""] * n, dtype=object)
    landmarks = normalizers = nme = None
    conversion = None
    if pose_only:
        if predictions.pose is None or not ann.has_pose:
            raise InputError("pose-only predictions need head-pose predictions and pose labels: nothing to score")
        # landmark settings (a preset, FR cut, point subset...) act on nothing: the protocol of a
        # pose-only run is the same whatever landmark flags were given (they are warned about)
        protocol = dataclasses.replace(protocol, normalizer=None, thresholds=(), auc_mode="exact", aggregation="mean",
                                       visible_only=False, fr_cut="strict", points="all", distance_dtype="float64",
                                       preset=None, overrides=())
    else:
        given = predictions.landmarks
        landmarks = np.asarray(given, dtype=np.float64)
        if landmarks.ndim != 3 or landmarks.shape[0] != n or landmarks.shape[2] != 2:
            raise InputError(f"predictions must have shape ({n}, K, 2); got {tuple(landmarks.shape)}")
        landmarks, conversion = _convert_to_gt_scheme(landmarks, predictions.scheme, ann)
        if conversion is None and not (predictions.owned and landmarks is given):
            landmarks = landmarks.copy()  # the caller's array: never kept, never written to
        landmarks[failed] = np.nan

        scheme = load_scheme(ann.scheme)
        normalizers = compute_normalizers(ann.landmarks, protocol.normalizer, scheme, box_sizes=ann.box_sizes)
        visible = ann.visible if protocol.visible_only else None
        cols = slice(None) if points is None else np.asarray(points, dtype=np.int64)
        # the normaliser comes from every GT point (menpofit's 49/51-point errors use the 68-point box)
        nme = per_image_nme(landmarks[:, cols], np.asarray(ann.landmarks)[:, cols], normalizers,
                            visible=None if visible is None else np.asarray(visible)[:, cols],
                            sample_ids=ann.sample_ids)

    pose_gt = ann.poses if ann.has_pose else None
    pose_pred = None if predictions.pose is None else np.asarray(predictions.pose, dtype=np.float64)
    if pose_pred is not None and failed.any():
        pose_pred = pose_pred.copy()
        pose_pred[failed] = np.nan

    proto = protocol.to_dict()
    proto.update(
        {
            "manifest_sha256": ann.manifest_sha256,
            "sample_set_sha256": sample_set_sha256(ann.sample_ids),
            "conversion": conversion,
            "pose_source": ann.pose_source,
            "gt_scheme": ann.scheme,
        }
    )
    if extra_protocol:
        proto.update(extra_protocol)
    recorded = Protocol.from_dict(proto)
    run = RunData(
        label=label,
        dataset=ann.dataset,
        scheme=ann.scheme,
        sample_ids=np.asarray(ann.sample_ids, dtype=object),
        splits={k: np.asarray(v, dtype=np.int64) for k, v in ann.splits.items()},
        predictions=landmarks,
        ground_truth=np.asarray(ann.landmarks, dtype=np.float64),
        visible=np.asarray(ann.visible, dtype=bool),
        normalizers=normalizers,
        nme=nme,
        failed_inputs=failed,
        failure_reasons=reasons,
        pose_pred=pose_pred,
        pose_gt=pose_gt,
        protocol=recorded,
        provenance=dict(provenance or {}),
        model_info=dict(model_info or {}),
        split_expected=expected_split_counts(ann),
        pose_only=pose_only,
        split_within=partial_parent_counts(ann),
    )
    run.summary = recompute_summary(run)
    return run


def check_protocol_modes(protocol: Protocol) -> None:
    """Unknown aggregation, FR cut or distance dtype: one-line InputError naming the choices."""
    from faceval.errors import closest
    from faceval.metrics.curves import FR_CUTS
    from faceval.metrics.nme import DISTANCE_DTYPES

    for what, value, choices in (("aggregation", protocol.aggregation, AGGREGATIONS),
                                 ("FR cut", protocol.fr_cut, FR_CUTS),
                                 ("distance dtype", protocol.distance_dtype, DISTANCE_DTYPES)):
        if value not in choices:
            raise InputError(f"unknown {what} '{value}'{closest(value, choices)}; expected one of {', '.join(choices)}")


def expected_split_counts(ann: Annotations) -> dict[str, int]:
    """Split -> sample count of the complete split, from the dataset's manifest (known splits only).

    A split the manifest gives no count for is left out (unknown size, treated as complete).
    """
    from faceval.datasets.registry import LOADERS, dataset_info

    if ann.dataset not in LOADERS:
        return {}
    defs = dataset_info(ann.dataset).splits
    out: dict[str, int] = {}
    for split in ann.splits:
        count = defs.get(split, {}).get("count")
        if isinstance(count, int) and not isinstance(count, bool):
            out[split] = count
    return out


def partial_parent_counts(ann: Annotations) -> dict[str, SplitCount]:
    """Split of unknown size -> the partial split of the dataset copy it is part of (loaded or not)."""
    return {split: SplitCount(parent.split, parent.n, parent.n_expected)
            for split, parent in ann.partial_parents.items() if split in ann.splits}


def recompute_summary(run: RunData) -> dict[str, dict[str, float]]:
    """Per-split summary metrics from a run's per-image arrays and its protocol (the registry's)."""
    from faceval.detection.source import box_source_stats
    from faceval.metrics.registry import summary_of

    summary: dict[str, dict[str, float]] = {}
    for split, idx in run.splits.items():
        stats = summary_of(run.view(split))
        stats.update(box_source_stats(run.protocol.box_source, run.failure_reasons[idx], run.failed_inputs[idx]))
        summary[split] = stats
    return summary


def nonfinite_predictions(run: RunData) -> int:
    """Samples whose input was usable but whose prediction was not finite (failures, NME = inf);
    0 for a pose-only run."""
    if run.pose_only:
        return 0
    return int(np.count_nonzero(~np.isfinite(run.nme) & ~run.failed_inputs))


def summary_json(run: RunData) -> dict[str, Any]:
    """The stable JSON summary printed by ``faceval score/run --format json``.

    Each split holds its metrics plus ``n_expected`` (samples of the complete split; null when
    unknown) and ``complete`` (false for a split with missing samples, a shard or ``--limit``).
    """
    from faceval.metrics.run_metrics import split_json

    return {
        "schema_version": 1,
        "dataset": run.dataset,
        "label": run.label,
        "protocol": run.protocol.to_dict(),
        "splits": {split: split_json(run, split, values) for split, values in run.summary.items()},
    }


def thresholds_from(values: Sequence[float] | None, dataset: str) -> tuple[float, ...]:
    """User thresholds (validated) or the dataset's defaults."""
    if not values:
        return default_thresholds(dataset)
    out = []
    for value in values:
        if not (0.0 < float(value) < 10.0):
            raise InputError(f"threshold {value} out of range; expected a fraction such as 0.08 or 0.10")
        out.append(float(value))
    return tuple(dict.fromkeys(out))
