"""Every registered metric gives one number everywhere: summary, report cell, gate, bootstrap, JSON.

The runs hold failures (inf NME, failed inputs), pose labels with NaN, poses crossing +/-180 deg
(with and without ``pose_wrap``), and thresholds 0.05, 0.075, 0.08 and 0.1. Expected values of the
key metrics are computed here from the arrays with plain numpy, independently of faceval.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import replace

import numpy as np
import pytest

from faceval.evaluation.scoring import recompute_summary, summary_json
from faceval.metrics.registry import metric_name, parse_metric, summary_metrics
from faceval.metrics.run_metrics import metric_ci, paired_errors
from faceval.report import render_report
from faceval.report.ced import _curve_label
from faceval.report.gate import default_rules, evaluate_gate, parse_rule
from faceval.report.tables import build_table, runs_json
from faceval.report.units import Units
from faceval.runs.runfile import read_run, write_run
from tests.faceval.report.helpers import base_protocol, make_run

THRESHOLDS = (0.05, 0.075, 0.08, 0.1)
N = 240


def _run(wrap: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    nme = rng.gamma(4.0, 0.015, size=N)
    nme[[5, 17, 100]] = np.inf  # failures
    gt = rng.uniform(-90, 90, size=(N, 3))
    pred = gt + rng.normal(0, 4, size=(N, 3))
    gt[:40, 0] = -179.0 + rng.uniform(0, 1, 40)  # yaw labels near -180 ...
    pred[:40, 0] = 179.0 - rng.uniform(0, 1, 40)  # ... predicted near +180: 2-3 deg wrapped, ~358 unwrapped
    gt[60:70, 1] = np.nan  # no pitch label
    pred[80:83] = np.nan  # no usable pose prediction
    gt[90:92] = np.nan  # no label at all
    run = make_run("m", nme, {"full": range(N), "hard": range(0, N, 3)}, dataset="wflw",
                   protocol=base_protocol("wflw", thresholds=list(THRESHOLDS), pose_wrap=wrap),
                   pose_pred=pred, pose_gt=gt)
    run.failed_inputs = np.zeros(N, dtype=bool)
    run.failed_inputs[17] = True
    run.summary = recompute_summary(run)
    return run


def _independent(run, split: str, name: str) -> float | None:
    """The metric from the arrays, written out with numpy (None where not checked here)."""
    idx = run.splits[split]
    nme = run.nme[idx]
    wrap = run.protocol.pose_wrap
    if name == "nme":
        return float(np.mean(nme[np.isfinite(nme)]))
    if name.startswith("fr@"):
        return float(np.mean(nme > float(name[3:])))
    if name.startswith("auc@"):
        t = float(name[4:])
        return float(np.mean(np.clip(t - nme, 0, None)) / t)
    if name.startswith("nme_p"):
        return float(np.percentile(np.where(np.isfinite(nme), nme, 1e9), float(name[5:]))) if name != "nme_p99" else None
    if name.startswith("mae_"):
        d = run.pose_pred[idx] - run.pose_gt[idx]
        if wrap:
            d = (d + 180.0) % 360.0 - 180.0
        per_angle = [float(np.nanmean(np.abs(d[:, a]))) for a in range(3)]
        if name == "mae_mean":
            return float(np.mean(per_angle))
        return per_angle[("mae_yaw", "mae_pitch", "mae_roll").index(name)]
    if name.startswith(("bias_", "corr_")):
        a = ("yaw", "pitch", "roll").index(name.split("_")[1])
        p, g = run.pose_pred[idx, a], run.pose_gt[idx, a]
        ok = np.isfinite(p) & np.isfinite(g)
        if name.startswith("corr_"):
            return float(np.corrcoef(p[ok], g[ok])[0, 1])
        d = p[ok] - g[ok]
        return float(np.mean((d + 180.0) % 360.0 - 180.0 if wrap else d))
    if name == "n":
        return float(len(idx))
    if name == "n_pose":
        ok = np.isfinite(run.pose_pred[idx]) & np.isfinite(run.pose_gt[idx])
        return float(ok.any(axis=1).sum())
    if name == "n_failed_inputs":
        return float(run.failed_inputs[idx].sum())
    if name == "n_nonfinite":
        return float((~np.isfinite(nme) & ~run.failed_inputs[idx]).sum())
    return None


def _json(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value


@pytest.mark.parametrize("wrap", [False, True])
def test_every_metric_agrees_everywhere(wrap, tmp_path):
    run = read_run(write_run(tmp_path / "run.h5", _run(wrap)))  # through the run file, as report reads it
    report_json = runs_json([run], ci=True)[0]
    score_json = json.loads(json.dumps(summary_json(run), default=str))
    metrics = summary_metrics(THRESHOLDS, with_pose=True)
    assert {m.name for m in metrics} >= {"fr@0.075", "auc@0.075", "fr@0.05", "auc@0.10", "mae_mean", "n_pose"}
    names = [m.name for m in metrics]
    table = build_table([run], metrics=names, units=Units("fraction"), ci=True)
    for split in run.splits:
        for metric in metrics:
            name = metric.name
            summary = run.summary[split][name]
            col = next(c for c in table.columns if c.split == split and c.metric == name)
            cell = table.cells[(0, col)].value
            rule = parse_rule(f"{name}@{split}:{'-' if metric.direction == 'higher' else '+'}0")
            gate_value = evaluate_gate(run, run, [rule]).checks[0].run
            assert cell == summary and gate_value == summary, (split, name)
            assert report_json["splits"][split][name] == _json(summary), (split, name)
            assert score_json["splits"][split][name] == summary, (split, name)
            expected = _independent(run, split, name)
            if expected is not None:
                assert summary == pytest.approx(expected, rel=1e-12, abs=1e-12), (split, name)
            interval = metric_ci(run, split, name)
            if metric.is_count:
                assert interval is None
                continue
            assert interval is not None and interval.estimate == summary, (split, name)
            assert interval.low <= interval.estimate <= interval.high, (split, name, interval)
            assert report_json["ci"]["intervals"][split][name] == [_json(interval.low), _json(interval.high)]
            assert math.isfinite(interval.high) or not math.isfinite(summary), (split, name, interval)


def test_wrapped_pose_error_and_its_interval():
    """Yaw 179 predicted, -179 true, wrap on: 2 deg, and the interval is about 2, not 358."""
    n = 30
    gt = np.zeros((n, 3))
    pred = np.ones((n, 3))
    gt[:, 0], pred[:, 0] = -179.0, 179.0
    gt[3, 1] = np.nan  # one pitch without label
    run = make_run("w", np.full(n, 0.03), dataset="wflw", pose_pred=pred, pose_gt=gt,
                   protocol=base_protocol("wflw", pose_wrap=True))
    assert run.summary["full"]["mae_yaw"] == pytest.approx(2.0)
    assert run.summary["full"]["mae_mean"] == pytest.approx((2.0 + 1.0 + 1.0) / 3)
    yaw = metric_ci(run, "full", "mae_yaw")
    assert (yaw.low, yaw.high) == pytest.approx((2.0, 2.0))
    mean = metric_ci(run, "full", "mae_mean")
    assert mean.high == pytest.approx(4.0 / 3) and mean.low == pytest.approx(4.0 / 3)
    text, _ = render_report([run], "markdown", metrics=["mae_yaw", "mae_mean"], ci=True)
    assert "| w | 2.00 ± 0.00 | 1.33 ± 0.00 |" in text
    unwrapped = replace(run.protocol, pose_wrap=False)
    run.protocol = unwrapped
    assert metric_ci(run, "full", "mae_yaw").estimate == pytest.approx(358.0)


def test_gate_paired_test_uses_wrapped_errors():
    """Half the images cross +/-180: the Wilcoxon test must see wrapped errors (all +2 deg worse)."""
    from scipy.stats import wilcoxon

    n = 40
    gt = np.zeros((n, 3))
    base_pred = np.zeros((n, 3))
    run_pred = np.zeros((n, 3))
    gt[:, 0] = np.where(np.arange(n) < n // 2, 6.0, -178.0)
    base_pred[:, 0] = np.where(np.arange(n) < n // 2, 8.0, 180.0)  # 2 deg off (wrapped)
    run_pred[:, 0] = np.where(np.arange(n) < n // 2, 10.0, 178.0)  # 4 deg off (wrapped); 356 unwrapped
    proto = base_protocol("wflw", pose_wrap=True)
    base = make_run("b", np.full(n, 0.03), dataset="wflw", pose_pred=base_pred, pose_gt=gt, protocol=proto)
    cand = make_run("c", np.full(n, 0.03), dataset="wflw", pose_pred=run_pred, pose_gt=gt, protocol=proto)
    a, b = paired_errors(cand, base, "full", "mae_yaw")
    np.testing.assert_allclose(a, 4.0)
    np.testing.assert_allclose(b, 2.0)
    result = evaluate_gate(cand, base, [parse_rule("mae_yaw:+1")], significance=0.05)
    check = result.checks[0]
    assert check.run == pytest.approx(4.0) and check.baseline == pytest.approx(2.0)
    assert check.p_value == pytest.approx(wilcoxon(np.full(n, 2.0)).pvalue) and check.p_value < 0.05
    assert not result.passed


def test_threshold_0075_names_columns_and_default_rules():
    run = make_run("t", [0.05, 0.0725, 0.076, 0.2], dataset="wflw",
                   protocol=base_protocol("wflw", thresholds=[0.075]))
    assert run.summary["full"]["fr@0.075"] == 0.5  # 0.076 and 0.2 exceed 0.075 (0.0725 does not)
    md, _ = render_report([run], "markdown")
    header, _, row = md.splitlines()[:3]
    assert "FR@0.075 (%)" in header and "AUC@0.075" in header and "0.07 " not in header
    assert row.split("|")[3].strip() == "50.00"
    assert [r.metric for r in default_rules(run)] == ["nme", "fr@0.075", "auc@0.075"]
    assert "AUC@0.075" in _curve_label(run, "full", 0.075, False) and "FR@0.075 50.00%" in _curve_label(
        run, "full", 0.075, False)


def test_metric_names_made_and_parsed_in_one_place():
    assert metric_name("fr", 0.075) == "fr@0.075" and metric_name("auc", 0.1) == "auc@0.10"
    assert metric_name("nme_p", 90) == "nme_p90" and metric_name("mae_yaw") == "mae_yaw"
    for t in THRESHOLDS:
        for kind in ("fr", "auc"):
            assert parse_metric(metric_name(kind, t)).threshold == t
            assert parse_metric(metric_name(kind, t)).name == metric_name(kind, t)
