"""The metric base class every registered metric derives from (:mod:`faceval.metrics.registry`
makes and parses their names and holds the table of metrics), with the reductions they share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from faceval.errors import InputError
from faceval.metrics.view import MetricView
from faceval.runs.protocol import Protocol

Direction = Literal["lower", "higher", "zero"]
Unit = Literal["fraction", "degrees", "count", "ratio"]

POSE_ANGLES: tuple[str, ...] = ("yaw", "pitch", "roll")

#: Metrics that need neither landmark nor pose predictions (a pose-only run has them too).
_GENERIC = ("n", "n_failed_inputs")


def _clean_nme(view: MetricView) -> np.ndarray:
    arr = np.asarray(view.nme, dtype=np.float64).reshape(-1)
    return np.where(np.isnan(arr), np.inf, arr)


@dataclass(frozen=True)
class Metric:
    """One metric: what it is (name, display, unit, direction) and its formula.

    ``value(view) == aggregate(per_image(view), view.protocol)``. ``aggregate_rows`` evaluates
    the aggregate on many resampled rows at once (bootstrap); ``paired_values`` gives the
    ``(n,)`` per-image error a paired test compares (None for counts).
    """

    name: str
    display: str
    direction: Direction
    unit: Unit
    threshold: float | None = None
    quantile: float | None = None

    @property
    def family(self) -> str:
        """``nme``, ``nme_p``, ``fr``, ``auc``, ``mae_<angle>``, or a count name."""
        if self.threshold is not None:
            return self.name.split("@", 1)[0]
        if self.quantile is not None:
            return "nme_p"
        return self.name

    @property
    def needs_pose(self) -> bool:
        """True for the pose metrics (``mae_*``, ``bias_*``, ``corr_*``, ``n_pose``): they need
        predicted and GT poses."""
        return self.unit in ("degrees", "ratio") or self.name == "n_pose"

    @property
    def needs_landmarks(self) -> bool:
        """True for every metric of landmark predictions (all but the pose metrics, ``n`` and
        ``n_failed_inputs``): a pose-only run has none of them."""
        return not self.needs_pose and self.name not in _GENERIC

    @property
    def is_count(self) -> bool:
        """True for counts (no interval, no paired test)."""
        return self.unit == "count"

    @property
    def reads_landmarks(self) -> bool:
        """True when the metric reads the predicted and GT landmark arrays of every point
        (``nme_group:*``); the others read the per-image NME only."""
        return False

    def available(self, view: MetricView) -> bool:
        """False when the view lacks what the metric needs (pose metrics without poses, landmark
        metrics of a pose-only run)."""
        return (view.has_pose or not self.needs_pose) and (view.has_landmarks or not self.needs_landmarks)

    def per_image(self, view: MetricView) -> np.ndarray:
        """The per-image quantity the metric aggregates (first axis = images)."""
        raise NotImplementedError

    def aggregate(self, values: np.ndarray, protocol: Protocol | None = None) -> float:
        """The metric's value from its per-image array."""
        return float(self.aggregate_rows(np.asarray(values)[None, ...], protocol)[0])

    def aggregate_rows(self, rows: np.ndarray, protocol: Protocol | None = None) -> np.ndarray:
        """``aggregate`` on each row of ``(B, n, ...)`` at once -> ``(B,)``."""
        raise NotImplementedError

    def value(self, view: MetricView) -> float:
        """The metric of one split: ``aggregate(per_image(view))``."""
        if not self.available(view):
            if self.needs_landmarks:
                raise InputError(f"metric '{self.name}' needs landmark predictions; this run is pose-only")
            raise InputError(f"metric '{self.name}' needs head-pose predictions and ground truth")
        return self.aggregate(self.per_image(view), view.protocol)

    def paired_values(self, view: MetricView) -> np.ndarray | None:
        """``(n,)`` per-image errors for a paired test (NaN: no value), or None (counts)."""
        return None


def _mean_finite_rows(rows: np.ndarray) -> np.ndarray:
    ok = np.isfinite(rows)
    cnt = ok.sum(axis=1)
    tot = np.where(ok, rows, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(cnt > 0, tot / np.maximum(cnt, 1), np.inf)
    return np.where(rows.shape[1] == 0, np.nan, out)

def _masked_mean_rows(rows: np.ndarray) -> np.ndarray:
    """Mean over axis 1 of the non-NaN entries (NaN when none), per row and trailing column."""
    ok = ~np.isnan(rows)
    cnt = ok.sum(axis=1)
    kept = np.where(ok, rows, 0.0)
    # Summed image after image (as a reduction over the image axis of (n, 3) always was), so a
    # single angle and the three together give the same bits as the stored summaries.
    one = rows.ndim == 2 and rows.shape[0] == 1 and rows.shape[1] > 0  # the point estimate
    tot = np.cumsum(kept, axis=1)[:, -1] if one else kept.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)
