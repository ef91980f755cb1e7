"""summarize(): exact keys, values, failure handling; and import hygiene of faceval.metrics."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from faceval.metrics import summarize

BASE_KEYS = ["n", "nme", "nme_p50", "nme_p90", "nme_p95", "nme_p99"]


def test_keys_exact_and_ordered() -> None:
    s = summarize(np.array([0.01, 0.02]), thresholds=[0.08, 0.1])
    assert list(s) == BASE_KEYS + ["fr@0.08", "auc@0.08", "fr@0.10", "auc@0.10", "n_nonfinite", "n_failed_inputs"]
    pose = np.zeros((2, 3))
    s = summarize(np.array([0.01, 0.02]), thresholds=[0.1], pose_pred=pose, pose_gt=pose)
    assert list(s) == BASE_KEYS + ["fr@0.10", "auc@0.10", "mae_yaw", "mae_pitch", "mae_roll", "mae_mean", "bias_yaw", "bias_pitch", "bias_roll", "corr_yaw", "corr_pitch", "corr_roll", "n_pose", "n_nonfinite", "n_failed_inputs"]


def test_values_with_failures() -> None:
    nme = np.array([0.02, 0.04, 0.12, np.inf])
    s = summarize(nme, thresholds=[0.1], n_failed_inputs=1)
    assert s["n"] == 4
    assert s["nme"] == pytest.approx(0.06)  # failure left out of the mean
    assert s["fr@0.10"] == pytest.approx(0.5)  # 0.12 and inf
    assert s["auc@0.10"] == pytest.approx((0.08 + 0.06) / 0.1 / 4)
    assert s["nme_p99"] == math.inf
    # The one inf is the failed input: counted once, as a failed input, not again as non-finite.
    assert s["n_nonfinite"] == 0 and s["n_failed_inputs"] == 1
    assert summarize(nme, thresholds=[0.1])["n_nonfinite"] == 1  # a non-finite prediction instead
    assert not any(isinstance(v, float) and math.isnan(v) for v in s.values())


def test_nan_nme_is_treated_as_failure() -> None:
    s = summarize(np.array([0.02, np.nan]), thresholds=[0.1])
    assert s["nme"] == pytest.approx(0.02) and s["fr@0.10"] == 0.5 and s["n_nonfinite"] == 1


def test_all_failed_and_empty() -> None:
    s = summarize(np.array([np.inf, np.inf]), thresholds=[0.1])
    assert s["nme"] == math.inf and s["fr@0.10"] == 1.0 and s["auc@0.10"] == 0.0
    e = summarize(np.array([]), thresholds=[0.1])
    assert e["n"] == 0 and e["n_nonfinite"] == 0 and math.isnan(e["nme"]) and math.isnan(e["fr@0.10"])


def test_perfect_predictions() -> None:
    s = summarize(np.zeros(10), thresholds=[0.08])
    assert (s["nme"], s["fr@0.08"], s["auc@0.08"]) == (0.0, 0.0, 1.0)


def test_summary_independent_of_order() -> None:
    rng = np.random.default_rng(0)
    nme = rng.gamma(4, 0.012, size=500)
    nme[[5, 9]] = np.inf
    a = summarize(nme, thresholds=[0.08, 0.1], auc_mode="spiga-hist")
    b = summarize(nme[rng.permutation(500)], thresholds=[0.08, 0.1], auc_mode="spiga-hist")
    assert a.keys() == b.keys()
    for k in a:
        assert a[k] == pytest.approx(b[k], rel=1e-12), k


def test_library_imports_no_cli_or_scipy() -> None:
    code = (
        "import sys, faceval.metrics; "
        "bad = [m for m in ('click', 'rich', 'scipy') if m in sys.modules]; "
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, f"faceval.metrics imported: {res.stdout} {res.stderr}"
