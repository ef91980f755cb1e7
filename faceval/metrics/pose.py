"""Head-pose errors: mean absolute error per angle, in degrees.

Arrays are ``(N, 3)`` in faceval's order **yaw, pitch, roll** (degrees).

Missing values:

* A NaN (or infinite) **ground-truth** angle means "no label": that (image, angle) is left out.
* A non-finite **prediction** where the ground truth is known means the model gave no usable
  pose (typically an image whose landmarks also failed). It is left out of the MAE as well,
  and counted: :func:`pose_nonfinite_count` returns how many images have one, so a report can
  show it beside the MAE (the landmark failure rate already penalises such images). Substituting
  an arbitrary error (say 180 degrees) would make the MAE depend on that made-up value.
"""

from __future__ import annotations

import numpy as np

from faceval.errors import InputError

POSE_ANGLES: tuple[str, ...] = ("yaw", "pitch", "roll")
POSE_KEYS: tuple[str, ...] = ("mae_yaw", "mae_pitch", "mae_roll", "mae_mean")


def _as_pose(a: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise InputError(f"{what} head pose must have shape (N, 3) (yaw, pitch, roll in degrees); got {arr.shape}")
    return arr


def wrap_degrees(diff: np.ndarray) -> np.ndarray:
    """Map angle differences into ``(-180, 180]``: ``w = 180 - ((180 - diff) mod 360)``."""
    return 180.0 - np.mod(180.0 - np.asarray(diff, dtype=np.float64), 360.0)


def pose_mae(pred: np.ndarray, gt: np.ndarray, *, wrap: bool = False) -> dict[str, float]:
    """Mean absolute pose error per angle, degrees.

    ``mae_a = mean_{i in S_a} |pred_ia - gt_ia|`` (``a`` in yaw, pitch, roll), with
    ``S_a`` the images whose GT and prediction of angle ``a`` are both finite; with
    ``wrap=True`` the difference is first mapped into ``(-180, 180]``.
    ``mae_mean = (mae_yaw + mae_pitch + mae_roll) / 3`` (SPIGA's ``mae_mean``).
    An angle with no usable pair gives NaN.

    Returns:
        ``{"mae_yaw", "mae_pitch", "mae_roll", "mae_mean"}``.
    """
    from faceval.metrics.registry import parse_metric
    from faceval.metrics.view import MetricView
    from faceval.runs.protocol import Protocol

    p = _as_pose(pred, "predicted")
    g = _as_pose(gt, "ground-truth")
    if p.shape != g.shape:
        raise InputError(f"predicted {p.shape} and ground-truth {g.shape} head poses differ in shape")
    view = MetricView.from_nme(np.zeros(p.shape[0]), protocol=Protocol(pose_wrap=wrap, thresholds=()),
                               pose_pred=p, pose_gt=g)
    return {name: parse_metric(name).value(view) for name in POSE_KEYS}


def pose_nonfinite_count(pred: np.ndarray, gt: np.ndarray) -> int:
    """Images with a non-finite predicted angle where that angle's GT is known (left out of MAE)."""
    p = _as_pose(pred, "predicted")
    g = _as_pose(gt, "ground-truth")
    return int(np.count_nonzero((~np.isfinite(p) & np.isfinite(g)).any(axis=1)))
