"""Per-landmark and per-group NME: which points of the face a model gets wrong.

Notation (as in :mod:`faceval.metrics.nme`): ``p_ik`` and ``g_ik`` are the predicted and GT
point ``k`` of image ``i``, ``d_i`` the image's normaliser, ``e_ik = ||p_ik - g_ik|| / d_i``
the normalised point error, ``v_ik`` the point's visibility.

An image takes part when its per-image NME is finite (failures, ``NME_i = inf``, are left out
of every mean, as they are of the dataset NME) and, under ``visible_only``, only through its
visible points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceval.schemes import load_scheme


@dataclass(frozen=True)
class LandmarkErrors:
    """Per-point and per-group NME over one set of images (fractions, not percent).

    Attributes:
        point_nme: ``(K,)`` mean normalised error of each point; NaN where no image counts.
        point_count: ``(K,)`` number of images that count for each point.
        group_nme: group name (as in the scheme JSON) -> mean over images of the group NME.
        group_count: group name -> number of images that count for it.
    """

    point_nme: np.ndarray
    point_count: np.ndarray
    group_nme: dict[str, float]
    group_count: dict[str, int]


def point_errors(predictions: np.ndarray, ground_truth: np.ndarray, normalizers: np.ndarray) -> np.ndarray:
    """``(N, K)`` normalised point errors ``e_ik = ||p_ik - g_ik|| / d_i`` (NaN/inf propagate)."""
    pred = np.asarray(predictions, dtype=np.float64)
    gt = np.asarray(ground_truth, dtype=np.float64)
    d = np.asarray(normalizers, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.linalg.norm(pred - gt, axis=2) / d[:, None]


def _counted(errors: np.ndarray, nme: np.ndarray, visible: np.ndarray | None) -> np.ndarray:
    """``(N, K)`` bool: point ``k`` of image ``i`` takes part in the means."""
    mask = np.isfinite(np.asarray(nme, dtype=np.float64))[:, None] & np.isfinite(errors)
    if visible is not None:
        mask &= np.asarray(visible, dtype=bool)
    return mask


def per_landmark_nme(predictions: np.ndarray, ground_truth: np.ndarray, normalizers: np.ndarray,
                     nme: np.ndarray, visible: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-point NME over images: ``NME_k = (1/|I_k|) sum_{i in I_k} e_ik``.

    ``I_k`` is the set of images with finite ``NME_i`` (and, when ``visible`` is given, with
    ``v_ik``). Returns ``(point_nme (K,), point_count (K,))``; ``NME_k`` is NaN when ``I_k`` is
    empty. Without ``visible`` and without failures, ``mean_k NME_k`` equals the dataset NME.
    """
    errors = point_errors(predictions, ground_truth, normalizers)
    mask = _counted(errors, nme, visible)
    count = mask.sum(axis=0)
    total = np.where(mask, errors, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return value, count.astype(np.int64)


def group_nme(predictions: np.ndarray, ground_truth: np.ndarray, normalizers: np.ndarray, nme: np.ndarray,
              indices: list[int], visible: np.ndarray | None = None) -> tuple[float, int]:
    """NME of one point group ``G`` over images: ``NME_G = (1/|I_G|) sum_{i in I_G} NME_iG``.

    ``NME_iG = (1/|G_i|) sum_{k in G_i} e_ik``, with ``G_i`` the points of ``G`` that count for
    image ``i`` (all of ``G``, or its visible ones under ``visible``); ``I_G`` holds the images
    with finite ``NME_i`` and non-empty ``G_i``. Returns ``(NME_G, |I_G|)``; NaN when empty.
    """
    per_image = group_nme_per_image(predictions, ground_truth, normalizers, nme, indices, visible)
    keep = ~np.isnan(per_image)
    if not keep.any():
        return float("nan"), 0
    return float(per_image[keep].mean()), int(keep.sum())


def group_nme_per_image(predictions: np.ndarray, ground_truth: np.ndarray, normalizers: np.ndarray, nme: np.ndarray,
                        indices: list[int], visible: np.ndarray | None = None) -> np.ndarray:
    """``(N,)`` per-image group NME ``NME_iG`` (see :func:`group_nme`); NaN for an image not in ``I_G``.

    The one formula of the group NME: :func:`group_nme` and the registry metric
    ``nme_group:<group>`` (:mod:`faceval.metrics.registry`) both average these.
    """
    idx = np.asarray(indices, dtype=np.int64)
    errors = point_errors(predictions, ground_truth, normalizers)[:, idx]
    mask = _counted(errors, nme, None if visible is None else np.asarray(visible)[:, idx])
    per_image_count = mask.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_image = np.where(mask, errors, 0.0).sum(axis=1) / per_image_count
    return np.where(per_image_count > 0, per_image, np.nan)


def landmark_errors(predictions: np.ndarray, ground_truth: np.ndarray, normalizers: np.ndarray, nme: np.ndarray,
                    scheme: str, visible: np.ndarray | None = None, points: str = "all") -> LandmarkErrors:
    """Per-point NME and the NME of every named group of ``scheme`` (jaw, eyes, nose, mouth ...).

    ``points`` (the protocol's ``--points``) restricts each group to the scored points; a group
    with none of them (the jaw under ``inner49``) is NaN with count 0, and so is an unscored point.
    """
    point_nme, counts = per_landmark_nme(predictions, ground_truth, normalizers, nme, visible)
    from faceval.schemes import point_subset

    subset = point_subset(scheme, points)
    if subset is not None:  # a point the protocol does not score has no error (NaN, count 0)
        unscored = np.ones(point_nme.shape, dtype=bool)
        unscored[subset] = False
        point_nme, counts = np.where(unscored, np.nan, point_nme), np.where(unscored, 0, counts)
    groups: dict[str, float] = {}
    group_counts: dict[str, int] = {}
    for name, indices in scored_groups(scheme, points).items():
        if not indices:
            groups[name], group_counts[name] = float("nan"), 0
            continue
        groups[name], group_counts[name] = group_nme(predictions, ground_truth, normalizers, nme, indices, visible)
    return LandmarkErrors(point_nme=point_nme, point_count=counts, group_nme=groups, group_count=group_counts)


def scored_groups(scheme: str, points: str = "all") -> dict[str, list[int]]:
    """The scheme's groups, each cut to the points a ``--points`` subset scores (all: unchanged)."""
    from faceval.schemes import point_subset

    groups = load_scheme(scheme).groups
    subset = point_subset(scheme, points)
    if subset is None:
        return {name: list(indices) for name, indices in groups.items()}
    keep = set(subset)
    return {name: [k for k in indices if k in keep] for name, indices in groups.items()}


def run_landmark_errors(run, split: str | None = None) -> LandmarkErrors:  # type: ignore[no-untyped-def]
    """:func:`landmark_errors` of a :class:`~faceval.runs.data.RunData` (one split, or all samples).

    Follows the run's protocol: under ``visible_only`` only visible points count.
    """
    pred, gt, norm, nme, visible = _run_arrays(run, split)
    return landmark_errors(pred, gt, norm, nme, run.scheme, visible, run.protocol.points)


def run_point_errors(run) -> np.ndarray:  # type: ignore[no-untyped-def]
    """``(N, K)`` point errors ``e_ik`` of every sample of ``run``, NaN where its protocol scores no
    error: under ``visible_only``, an invisible point (the mask the per-landmark and group NME use)."""
    pred, gt, norm, _nme, visible = _run_arrays(run, None)
    errors = point_errors(pred, gt, norm)
    if visible is not None:
        errors = np.where(np.asarray(visible, dtype=bool), errors, np.nan)
    return errors


def _run_arrays(run, split: str | None):  # type: ignore[no-untyped-def]
    """Predictions, GT, normalisers, NME of one split (all samples when None), and the visibility
    mask when the run's protocol is ``visible_only`` (else None)."""
    if run.pose_only:
        from faceval.errors import InputError

        raise InputError(f"run '{run.label}' is pose-only: it has no landmark predictions")
    rows = np.arange(len(run.sample_ids)) if split is None else np.asarray(run.splits[split], dtype=np.int64)
    visible = np.asarray(run.visible)[rows] if run.protocol.visible_only else None
    return (np.asarray(run.predictions)[rows], np.asarray(run.ground_truth)[rows], np.asarray(run.normalizers)[rows],
            np.asarray(run.nme)[rows], visible)


#: metric-name prefix of a group NME: ``nme_group:eyes`` (fraction, lower is better)
GROUP_METRIC_PREFIX = "nme_group:"


def run_group_nme(run, split: str | None, group: str) -> float:  # type: ignore[no-untyped-def]
    """The value of metric ``nme_group:<group>`` for one split of a run (see :func:`group_nme`).

    Only the points the run's protocol scores count (``--points inner49``: the mouth without its
    corners, no jaw: NaN, an empty cell). Raises InputError naming the closest group when the
    run's scheme has no such group.
    """
    from faceval.errors import InputError, closest

    groups = load_scheme(run.scheme).groups
    if group not in groups:
        raise InputError(f"the '{run.scheme}' scheme has no landmark group '{group}'{closest(group, list(groups))}; "
                         f"its groups: {', '.join(groups)}")
    indices = scored_groups(run.scheme, run.protocol.points)[group]
    if not indices:  # none of the group's points is scored (the jaw under --points inner49)
        return float("nan")
    pred, gt, norm, nme, visible = _run_arrays(run, split)
    return group_nme(pred, gt, norm, nme, indices, visible)[0]
