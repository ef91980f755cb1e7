"""Head-pose metrics of the registry: ``mae_<angle>``/``mae_mean``, ``bias_<angle>``,
``corr_<angle>`` (formulas in :mod:`faceval.metrics.registry` and in each class)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceval.errors import InputError
from faceval.metrics.metric import POSE_ANGLES, Metric, _masked_mean_rows
from faceval.metrics.view import MetricView
from faceval.runs.protocol import Protocol


def pose_errors(view: MetricView) -> np.ndarray:
    """``(n, 3)`` absolute angle errors (wrapped when the protocol says so); NaN where unscored."""
    return np.abs(_signed_pose_errors(view))


def _signed_pose_errors(view: MetricView) -> np.ndarray:
    """``(n, 3)`` signed angle errors ``pred - gt`` (wrapped when the protocol says so); NaN where unscored."""
    from faceval.metrics.pose import wrap_degrees

    if view.pose_pred is None or view.pose_gt is None:
        raise InputError("pose metrics need head-pose predictions and ground truth")
    p = np.asarray(view.pose_pred, dtype=np.float64).reshape(-1, 3)
    g = np.asarray(view.pose_gt, dtype=np.float64).reshape(-1, 3)
    ok = np.isfinite(p) & np.isfinite(g)
    with np.errstate(invalid="ignore"):
        diff = p - g
        if view.protocol.pose_wrap:
            diff = wrap_degrees(diff)
    return np.where(ok, diff, np.nan)




@dataclass(frozen=True)
class PoseMaeMetric(Metric):
    """``mae_<angle>``: mean absolute (wrapped) error over the scored images; ``mae_mean`` of the three."""

    def per_image(self, view: MetricView) -> np.ndarray:
        errors = pose_errors(view)
        if self.name == "mae_mean":
            return errors
        return errors[:, POSE_ANGLES.index(self.name[len("mae_"):])]

    def aggregate_rows(self, rows: np.ndarray, protocol: Protocol | None = None) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.float64)
        if rows.ndim == 3:  # mae_mean: (B, n, 3) -> mean of the per-angle means
            return _masked_mean_rows(rows).mean(axis=1)
        return _masked_mean_rows(rows)

    def paired_values(self, view: MetricView) -> np.ndarray:
        values = self.per_image(view)
        if values.ndim == 2:
            ok = ~np.isnan(values)
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(ok.any(axis=1), np.where(ok, values, 0.0).sum(axis=1) / np.maximum(ok.sum(axis=1), 1),
                                np.nan)
        return values


def _angle(name: str) -> int:
    return POSE_ANGLES.index(name.split("_", 1)[1])


@dataclass(frozen=True)
class PoseBiasMetric(Metric):
    """``bias_<angle>``: mean signed (wrapped) error ``pred - gt`` over the scored images."""

    def per_image(self, view: MetricView) -> np.ndarray:
        return _signed_pose_errors(view)[:, _angle(self.name)]

    def aggregate_rows(self, rows: np.ndarray, protocol: Protocol | None = None) -> np.ndarray:
        return _masked_mean_rows(np.asarray(rows, dtype=np.float64))


@dataclass(frozen=True)
class PoseCorrelationMetric(Metric):
    """``corr_<angle>``: Pearson correlation of predicted with GT angle over the scored images.

    Per image the pair ``(pred, gt)`` (NaN where unscored); ``r = sum(dp dg) / sqrt(sum dp^2 sum dg^2)``
    with ``d`` the deviation from the mean over the scored images; NaN with fewer than two images
    or a constant side.
    """

    def per_image(self, view: MetricView) -> np.ndarray:
        if view.pose_pred is None or view.pose_gt is None:
            raise InputError("pose metrics need head-pose predictions and ground truth")
        a = _angle(self.name)
        p = np.asarray(view.pose_pred, dtype=np.float64).reshape(-1, 3)[:, a]
        g = np.asarray(view.pose_gt, dtype=np.float64).reshape(-1, 3)[:, a]
        ok = np.isfinite(p) & np.isfinite(g)
        return np.stack([np.where(ok, p, np.nan), np.where(ok, g, np.nan)], axis=1).reshape(-1, 2)

    def aggregate_rows(self, rows: np.ndarray, protocol: Protocol | None = None) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.float64)
        ok = ~np.isnan(rows[..., 0])
        cnt = ok.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(ok[..., None], rows, 0.0).sum(axis=1) / np.maximum(cnt, 1)[:, None]
            dev = np.where(ok[..., None], rows - means[:, None, :], 0.0)
            num = (dev[..., 0] * dev[..., 1]).sum(axis=1)
            den = np.sqrt((dev[..., 0] ** 2).sum(axis=1) * (dev[..., 1] ** 2).sum(axis=1))
            return np.where((cnt >= 2) & (den > 0), num / np.where(den > 0, den, 1.0), np.nan)
