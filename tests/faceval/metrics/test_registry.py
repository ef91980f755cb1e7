"""Metric-name registry: parsing, normalisation, direction, compute_metric."""

from __future__ import annotations

import numpy as np
import pytest

from faceval.errors import InputError
from faceval.metrics import MetricInfo, compute_metric, metric_info, summarize, threshold_key


@pytest.mark.parametrize(
    "name,canon,direction,unit",
    [
        ("nme", "nme", "lower", "fraction"),
        ("NME", "nme", "lower", "fraction"),
        ("nme_p90", "nme_p90", "lower", "fraction"),
        ("nme_p99.5", "nme_p99.5", "lower", "fraction"),
        ("fr@0.1", "fr@0.10", "lower", "fraction"),
        ("fr@0.10", "fr@0.10", "lower", "fraction"),
        ("auc@0.08", "auc@0.08", "higher", "fraction"),
        ("auc@.07", "auc@0.07", "higher", "fraction"),
        ("auc@0.075", "auc@0.075", "higher", "fraction"),
        ("mae_yaw", "mae_yaw", "lower", "degrees"),
        ("mae_mean", "mae_mean", "lower", "degrees"),
        ("n", "n", "higher", "count"),
        ("n_failed_inputs", "n_failed_inputs", "lower", "count"),
        ("n_nonfinite", "n_nonfinite", "lower", "count"),
    ],
)
def test_metric_info(name: str, canon: str, direction: str, unit: str) -> None:
    info = metric_info(name)
    assert isinstance(info, MetricInfo)
    assert (info.name, info.direction, info.unit) == (canon, direction, unit)
    assert info.display


def test_threshold_attributes_and_display() -> None:
    info = metric_info("fr@0.1")
    assert info.threshold == pytest.approx(0.1) and info.display == "FR@0.10"
    assert metric_info("nme_p95").quantile == 95


@pytest.mark.parametrize("bad,hint", [("nmee", "did you mean 'nme'"), ("fr@abc", "not a number"), ("fr@-0.1", "> 0"), ("mae_yew", "did you mean 'mae_yaw'"), ("nme_p150", "unknown metric")])
def test_unknown_names(bad: str, hint: str) -> None:
    with pytest.raises(InputError, match=hint):
        metric_info(bad)


def test_threshold_key() -> None:
    assert threshold_key(0.1) == "0.10"
    assert threshold_key(0.08) == "0.08"
    assert threshold_key(0.075) == "0.075"
    assert threshold_key(1) == "1.00"


def test_compute_metric_agrees_with_summarize() -> None:
    rng = np.random.default_rng(0)
    nme = rng.gamma(4, 0.012, size=400)
    nme[3] = np.inf
    pose_gt = rng.uniform(-60, 60, size=(400, 3))
    pose_pred = pose_gt + rng.normal(0, 3, size=(400, 3))
    for mode in ("exact", "spiga-hist", "simpson-1e-4"):
        s = summarize(nme, thresholds=[0.08, 0.1], auc_mode=mode, pose_pred=pose_pred, pose_gt=pose_gt, n_failed_inputs=2)
        for key, value in s.items():
            got = compute_metric(key, nme, auc_mode=mode, pose_pred=pose_pred, pose_gt=pose_gt, n_failed_inputs=2)
            assert got == pytest.approx(value, rel=1e-12), key
    with pytest.raises(InputError, match="head-pose"):
        compute_metric("mae_yaw", nme)
