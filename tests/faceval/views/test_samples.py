"""Per-sample facts of a run (faceval.views.samples): the pose errors follow the metric registry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from faceval.runs.data import RunData
from faceval.views.samples import pose_errors
from tests.faceval.runs.helpers import make_run


def _expected(pred: np.ndarray, gt: np.ndarray, wrap: bool) -> np.ndarray:
    """Plain loops: |pred - gt| per angle (wrapped into (-180, 180] when asked), NaN unless both are finite."""
    out = np.full(pred.shape, np.nan)
    for i in range(pred.shape[0]):
        for j in range(3):
            p, g = float(pred[i, j]), float(gt[i, j])
            if not (math.isfinite(p) and math.isfinite(g)):
                continue
            d = p - g
            if wrap:
                while d > 180:
                    d -= 360
                while d <= -180:
                    d += 360
            out[i, j] = abs(d)
    return out


@pytest.mark.parametrize("wrap", [False, True])
def test_pose_errors_leave_unscored_angles_nan_like_the_mae(wrap: bool) -> None:
    run = make_run(n=6)
    pred = np.asarray(run.pose_pred, dtype=np.float64).copy()
    gt = np.asarray(run.pose_gt, dtype=np.float64).copy()
    pred[0, 0] = np.inf     # an infinite prediction: not scored (the MAE leaves it out), not an error of inf
    pred[1, 1] = np.nan
    gt[2, 2] = np.nan       # an angle without a label
    pred[3] = [170.0, -175.0, 10.0]
    gt[3] = [-170.0, 175.0, 10.0]  # 20 degrees apart on the circle, 340 unwrapped
    run = RunData(**{**run.__dict__, "pose_pred": pred, "pose_gt": gt,
                     "protocol": {**run.protocol.to_dict(), "pose_wrap": wrap}})
    got = pose_errors(run)
    np.testing.assert_allclose(got, _expected(pred, gt, wrap), equal_nan=True)
    assert np.isnan(got[0, 0]) and np.isnan(got[1, 1]) and np.isnan(got[2, 2])
    # ... and the mean of the scored errors is the run's MAE (one rule for both)
    from faceval.metrics.registry import parse_metric

    mae_yaw = parse_metric("mae_yaw").value(run.view("full"))
    assert float(np.nanmean(got[:, 0])) == pytest.approx(mae_yaw, rel=1e-12)


def test_no_pose_no_errors() -> None:
    assert pose_errors(make_run(n=4, with_pose=False)) is None
