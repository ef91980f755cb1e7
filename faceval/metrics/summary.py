"""One split's summary: every standard metric from the per-image NMEs (and poses) in one dict.

Values are fractions (NME, FR, AUC; not percent) and degrees (pose). Keys, in this order:
``n``, ``nme``, ``nme_p50``, ``nme_p90``, ``nme_p95``, ``nme_p99``, then for each threshold T
(``threshold_key(T)``, e.g. ``0.10``) ``fr@T`` and ``auc@T``, then ``mae_yaw``, ``mae_pitch``,
``mae_roll``, ``mae_mean`` and ``n_pose`` (only when pose predictions and ground truth are
given), then
``n_nonfinite`` and ``n_failed_inputs``.

Failures (images with a non-finite NME, i.e. no usable prediction):

* ``nme`` is the mean over the images with a finite NME (the failures are left out), so it is
  never NaN and one failure does not make it inf; if every image failed it is inf.
* each failure counts in ``fr@T`` (it is above every threshold) and contributes 0 to ``auc@T``
  (the denominator of both is ``n``, all images);
* percentiles treat it as ``+inf``;
* ``n_failed_inputs`` (passed in by the caller) counts unusable inputs, e.g. unreadable images
  or missing predictions (their NME is inf);
* ``n_nonfinite`` counts the other failures: non-finite predictions of usable inputs, so that
  ``n_nonfinite + n_failed_inputs`` is the number of failures and nothing is counted twice.

With ``n = 0`` every value except the counts is NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from faceval.metrics.registry import SUMMARY_PERCENTILES, summary_of, threshold_key
from faceval.metrics.view import MetricView
from faceval.runs.protocol import Protocol

__all__ = ["summarize", "threshold_key", "PERCENTILES"]

#: Percentiles reported in every summary.
PERCENTILES: tuple[int, ...] = SUMMARY_PERCENTILES


def summarize(
    nme: np.ndarray,
    *,
    thresholds: Sequence[float],
    auc_mode: str = "exact",
    pose_pred: np.ndarray | None = None,
    pose_gt: np.ndarray | None = None,
    pose_wrap: bool = False,
    n_failed_inputs: int = 0,
) -> dict[str, float]:
    """Summary metrics of one split from per-image NMEs (see the module docstring).

    The values are the registry's (:func:`faceval.metrics.registry.summary_of`):
    ``nme = mean_{i: NME_i finite} NME_i``; ``nme_pQ = percentile_Q(NME)`` (linear);
    ``fr@T = mean_i [NME_i > T]``; ``auc@T`` in ``auc_mode`` (exact:
    ``mean_i max(0, T - NME_i) / T``); ``mae_a = mean_i |pred_ia - gt_ia|`` over images with
    both angles finite (wrapped with ``pose_wrap``); ``n_pose`` the images with a scored angle.
    Runs are summarised by ``summary_of(run.view(split))``, which also knows the pooled
    aggregation.
    """
    protocol = Protocol(thresholds=tuple(float(t) for t in thresholds), auc_mode=auc_mode, pose_wrap=pose_wrap)
    with_pose = pose_pred is not None and pose_gt is not None
    view = MetricView.from_nme(nme, protocol=protocol, n_failed_inputs=n_failed_inputs,
                               pose_pred=pose_pred if with_pose else None, pose_gt=pose_gt if with_pose else None)
    return summary_of(view)
