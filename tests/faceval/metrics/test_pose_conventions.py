"""Pose bias and correlation metrics (checked against plain numpy) and the convention warning."""

from __future__ import annotations

import numpy as np
import pytest

from faceval.errors import InputError
from faceval.metrics.bootstrap import metric_interval
from faceval.metrics.pose_conventions import check_pose_conventions
from faceval.metrics.registry import parse_metric, summary_of
from faceval.metrics.view import MetricView
from faceval.runs.protocol import Protocol


def _labels(n: int = 200, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(-60, 60, n), rng.uniform(-30, 30, n), rng.uniform(-25, 25, n)], axis=1)


def _view(pred: np.ndarray, gt: np.ndarray, *, wrap: bool = False, landmarks: bool = False) -> MetricView:
    n = len(pred)
    return MetricView(nme=np.zeros(n) if landmarks else None, failed_inputs=np.zeros(n, dtype=bool),
                      protocol=Protocol(thresholds=(), pose_wrap=wrap), pose_pred=pred, pose_gt=gt)


def test_bias_and_correlation_equal_plain_numpy_over_the_scored_images() -> None:
    gt = _labels()
    rng = np.random.default_rng(1)
    pred = gt * [1.0, 0.7, -1.0] + rng.normal(0, 4, gt.shape) + [3.0, -8.0, 0.5]
    pred[5, 0] = np.nan  # no prediction of yaw on image 5
    gt[7, 2] = np.nan  # no label of roll on image 7
    view = _view(pred, gt)
    for a, angle in enumerate(("yaw", "pitch", "roll")):
        ok = np.isfinite(pred[:, a]) & np.isfinite(gt[:, a])
        bias = sum(pred[i, a] - gt[i, a] for i in np.flatnonzero(ok)) / ok.sum()
        corr = np.corrcoef(pred[ok, a], gt[ok, a])[0, 1]
        assert parse_metric(f"bias_{angle}").value(view) == pytest.approx(bias, rel=1e-12, abs=1e-12)
        assert parse_metric(f"corr_{angle}").value(view) == pytest.approx(corr, rel=1e-12)
    assert parse_metric("corr_roll").value(view) < -0.9
    assert parse_metric("bias_pitch").direction == "zero" and parse_metric("corr_yaw").direction == "higher"
    assert parse_metric("corr_yaw").unit == "ratio" and parse_metric("bias_yaw").unit == "degrees"


def test_bias_wraps_like_the_mae_and_correlation_of_a_constant_is_nan() -> None:
    gt = np.array([[179.0, 0, 0], [-179.0, 0, 0]])
    pred = np.array([[-179.0, 0, 0], [179.0, 0, 0]])
    assert parse_metric("bias_yaw").value(_view(pred, gt, wrap=True)) == pytest.approx(0.0)  # +2 and -2
    assert parse_metric("bias_yaw").value(_view(pred, gt)) == pytest.approx(0.0)  # -358 and +358
    assert parse_metric("bias_yaw").value(_view(pred[:1], gt[:1], wrap=True)) == pytest.approx(2.0)
    assert np.isnan(parse_metric("corr_pitch").value(_view(pred, gt)))  # constant pitch: no correlation
    assert np.isnan(parse_metric("corr_yaw").value(_view(pred[:1], gt[:1])))  # one image


def test_the_correlation_interval_brackets_its_estimate() -> None:
    gt = _labels(80)
    pred = gt + np.random.default_rng(2).normal(0, 10, gt.shape)
    interval = metric_interval(_view(pred, gt), parse_metric("corr_yaw"), n_boot=300, level=0.95, seed=0)
    assert interval.low < interval.estimate < interval.high <= 1.0
    assert interval.estimate == pytest.approx(np.corrcoef(pred[:, 0], gt[:, 0])[0, 1])


def test_a_pose_only_view_has_pose_metrics_and_no_landmark_metric() -> None:
    gt = _labels(20)
    view = _view(gt + 1.0, gt)
    stats = summary_of(view)
    assert "nme" not in stats and "n_nonfinite" not in stats and not any(k.startswith(("fr@", "auc@")) for k in stats)
    assert stats["n"] == 20 and stats["n_pose"] == 20 and stats["n_failed_inputs"] == 0
    assert stats["mae_yaw"] == pytest.approx(1.0) and stats["bias_roll"] == pytest.approx(1.0)
    for name in ("nme", "fr@0.10", "auc@0.08", "nme_p90"):
        assert not parse_metric(name).available(view)
        with pytest.raises(InputError, match="pose-only"):
            parse_metric(name).value(view)
    assert "nme" in summary_of(_view(gt + 1.0, gt, landmarks=True))


def test_no_warning_when_the_conventions_agree() -> None:
    gt = _labels()
    pred = gt + np.random.default_rng(3).normal(0, 5, gt.shape)
    assert check_pose_conventions(pred, gt) is None
    assert check_pose_conventions(None, gt) is None


def test_a_flipped_yaw_gives_one_warning_with_the_sign_fix() -> None:
    gt = _labels()
    pred = gt * [-1.0, 1.0, 1.0] + np.random.default_rng(4).normal(0, 5, gt.shape)
    warning = check_pose_conventions(pred, gt)
    assert warning is not None and warning.angles == ("yaw",) and warning.fix == "--set pose_signs=-1,1,1"
    assert [f.kind for f in warning.findings] == ["sign"]
    assert "yaw" in warning.message() and "--set pose_signs=-1,1,1" in warning.message()
    # a run already decoded with signs -1,1,1 that still looks flipped is told the composed fix
    again = check_pose_conventions(pred, gt, protocol=Protocol(pose_signs=(-1.0, 1.0, 1.0),
                                                              pose_order=("yaw", "pitch", "roll")))
    assert again is not None and again.fix == "--set pose_signs=1,1,1"


def test_swapped_yaw_and_pitch_give_the_order_fix() -> None:
    gt = _labels()
    pred = gt[:, [1, 0, 2]] + np.random.default_rng(5).normal(0, 3, gt.shape)  # the model outputs pitch, yaw, roll
    warning = check_pose_conventions(pred, gt)
    assert warning is not None and set(warning.angles) == {"yaw", "pitch"}
    assert warning.fix == "--set pose_order=pitch,yaw,roll"
    # applying that order to the model's outputs (as decode_pose does) gives labels-like predictions
    from faceval.models.decode import decode_pose
    from faceval.models.spec import ModelSpec

    fixed = decode_pose(pred, ModelSpec(pose_order=("pitch", "yaw", "roll")))
    assert check_pose_conventions(fixed, gt) is None


def test_radians_give_the_unit_fix_and_an_offset_is_named_without_a_made_up_fix() -> None:
    gt = _labels()
    noise = np.random.default_rng(6).normal(0, 3, gt.shape)
    radians = np.radians(gt + noise)
    radians[:, 1:] = gt[:, 1:] + noise[:, 1:]  # only yaw in radians
    warning = check_pose_conventions(radians, gt)
    assert warning is not None and warning.angles == ("yaw",) and warning.fix == "--set pose_units=radians"
    assert warning.findings[0].kind == "units"
    offset = gt + noise + [0.0, -10.0, 0.0]  # pitch 10 degrees lower, error spread 3
    warning = check_pose_conventions(offset, gt)
    assert warning is not None and warning.angles == ("pitch",) and warning.fix is None
    assert warning.findings[0].kind == "offset" and "no spec setting" in warning.message()
    # a small offset against a wide spread is not a convention
    assert check_pose_conventions(gt + noise * 4 + [0.0, -6.0, 0.0], gt) is None


def test_constant_labels_or_predictions_give_no_warning_and_no_error() -> None:
    gt = _labels(30)
    constant = np.zeros_like(gt)
    assert check_pose_conventions(gt, constant) is None
    assert check_pose_conventions(constant, gt) is None
    assert check_pose_conventions(np.full_like(gt, np.nan), gt) is None
