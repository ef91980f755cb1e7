"""The typed view of one split of a run that every metric reads.

A :class:`MetricView` holds the per-image arrays of the images of one split (in the run's
order) and the run's :class:`~faceval.runs.protocol.Protocol`, which fixes the normaliser
aggregation (``mean`` or ``pooled``), the AUC mode, ``visible_only`` and ``pose_wrap``.
``RunData.view(split)`` builds one; :meth:`MetricView.from_nme` makes one from per-image NMEs
alone (no pose, mean aggregation), for callers that have nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from faceval.runs.protocol import Protocol


@dataclass(frozen=True)
class MetricView:
    """Per-image arrays of one split (``n`` images) plus the protocol.

    Attributes:
        nme: ``(n,)`` per-image NME, fractions; inf (a stray NaN alike) for failures; None for a
            pose-only run (no landmark predictions: every landmark metric is unavailable).
        failed_inputs: ``(n,)`` bool, unusable inputs (their NME is inf).
        protocol: the run's protocol.
        predictions / ground_truth: ``(n, K, 2)`` or None (needed by the pooled and point-mean
            aggregations, restricted to the protocol's ``points`` subset, and by the group metrics,
            with every point).
        normalizers: ``(n,)`` or None (pooled, point-mean and group metrics only).
        visible: ``(n, K)`` bool or None (pooled / point-mean / group metrics with ``visible_only``).
        pose_pred / pose_gt: ``(n, 3)`` yaw, pitch, roll degrees, or None (no pose).
        sample_ids: ``(n,)`` ids or None (paired tests match on them).
        scheme: the landmark scheme of the run (the group metrics look their points up in it), or None.
        bins: ``(n,)`` int, the bin split of each image (:mod:`faceval.metrics.bins`; -1: none),
            or None when the run lacks some bin split; ``n_bins`` the number of bins.
    """

    nme: np.ndarray | None
    failed_inputs: np.ndarray
    protocol: Protocol = field(default_factory=Protocol)
    predictions: np.ndarray | None = None
    ground_truth: np.ndarray | None = None
    normalizers: np.ndarray | None = None
    visible: np.ndarray | None = None
    pose_pred: np.ndarray | None = None
    pose_gt: np.ndarray | None = None
    sample_ids: np.ndarray | None = None
    scheme: str | None = None
    bins: np.ndarray | None = None
    n_bins: int = 0

    @property
    def n(self) -> int:
        """Images in the split."""
        return int(np.asarray(self.failed_inputs).size)

    @property
    def has_landmarks(self) -> bool:
        """False for a pose-only run (no landmark predictions, no NME)."""
        return self.nme is not None

    @property
    def has_pose(self) -> bool:
        """True when both predicted and ground-truth poses are present."""
        return self.pose_pred is not None and self.pose_gt is not None

    @classmethod
    def from_nme(cls, nme: np.ndarray, *, protocol: Protocol | None = None, n_failed_inputs: int = 0,
                 pose_pred: np.ndarray | None = None, pose_gt: np.ndarray | None = None) -> "MetricView":
        """A view from per-image NMEs only; the first ``n_failed_inputs`` failures count as failed inputs."""
        arr = np.asarray(nme, dtype=np.float64).reshape(-1)
        failed = np.zeros(arr.size, dtype=bool)
        if n_failed_inputs:
            bad = np.flatnonzero(~np.isfinite(arr))[: int(n_failed_inputs)]
            failed[bad] = True
        return cls(nme=arr, failed_inputs=failed, protocol=protocol or Protocol(),
                   pose_pred=None if pose_pred is None else np.asarray(pose_pred, dtype=np.float64),
                   pose_gt=None if pose_gt is None else np.asarray(pose_gt, dtype=np.float64))
