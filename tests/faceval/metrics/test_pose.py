"""Head-pose MAE: loops, wrap, missing values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faceval.errors import InputError
from faceval.metrics import pose_mae, pose_nonfinite_count, wrap_degrees


def test_pose_mae_matches_loop() -> None:
    rng = np.random.default_rng(0)
    gt = rng.uniform(-90, 90, size=(50, 3))
    pred = gt + rng.normal(0, 4, size=gt.shape)
    got = pose_mae(pred, gt)
    want = [sum(abs(pred[i, a] - gt[i, a]) for i in range(50)) / 50 for a in range(3)]
    assert [got["mae_yaw"], got["mae_pitch"], got["mae_roll"]] == pytest.approx(want, rel=1e-12)
    assert got["mae_mean"] == pytest.approx(sum(want) / 3, rel=1e-12)
    assert list(got) == ["mae_yaw", "mae_pitch", "mae_roll", "mae_mean"]


def test_wrap() -> None:
    assert wrap_degrees(np.array([180.0, -180.0, 190.0, -190.0, 0.0, 359.0, 540.0])).tolist() == [
        180.0, 180.0, -170.0, 170.0, 0.0, -1.0, 180.0
    ]
    pred = np.array([[179.0, 0.0, 0.0]])
    gt = np.array([[-179.0, 0.0, 0.0]])
    assert pose_mae(pred, gt)["mae_yaw"] == pytest.approx(358.0)
    assert pose_mae(pred, gt, wrap=True)["mae_yaw"] == pytest.approx(2.0)


@settings(max_examples=50, deadline=None)
@given(st.floats(-1e4, 1e4, allow_nan=False))
def test_wrap_range(d: float) -> None:
    w = float(wrap_degrees(np.array([d]))[0])
    assert -180.0 < w <= 180.0
    assert math.isclose(math.remainder(w - d, 360.0), 0.0, abs_tol=1e-7)


def test_missing_gt_excluded_and_nan_prediction_excluded_and_counted() -> None:
    gt = np.array([[10.0, 0.0, 0.0], [np.nan, np.nan, np.nan], [0.0, 0.0, 0.0], [0.0, np.nan, 0.0]])
    pred = np.array([[12.0, 1.0, 1.0], [50.0, 50.0, 50.0], [np.nan, np.nan, np.nan], [4.0, 9.0, 3.0]])
    got = pose_mae(pred, gt)
    assert got["mae_yaw"] == pytest.approx((2 + 4) / 2)
    assert got["mae_pitch"] == pytest.approx(1.0)
    assert got["mae_roll"] == pytest.approx((1 + 3) / 2)
    assert pose_nonfinite_count(pred, gt) == 1  # row 2; row 1 has no GT
    all_missing = pose_mae(pred[:1], np.full((1, 3), np.nan))
    assert math.isnan(all_missing["mae_yaw"])


def test_shape_errors() -> None:
    with pytest.raises(InputError, match="yaw, pitch, roll"):
        pose_mae(np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(InputError, match="differ in shape"):
        pose_mae(np.zeros((3, 3)), np.zeros((4, 3)))
