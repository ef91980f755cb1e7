"""Paired Wilcoxon test: agreement with scipy, zeros, infinities."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from faceval.errors import InputError
from faceval.metrics import PairedResult, paired_test


def test_matches_scipy_on_finite_data() -> None:
    rng = np.random.default_rng(0)
    a = rng.gamma(4, 0.01, size=300)
    b = a + rng.normal(0.001, 0.004, size=300)
    res = paired_test(a, b)
    ref = stats.wilcoxon(a - b)
    assert isinstance(res, PairedResult)
    assert res.statistic == pytest.approx(ref.statistic)
    assert res.p_value == pytest.approx(ref.pvalue)
    assert res.n == 300
    assert res.mean_diff == pytest.approx(np.mean(a - b))
    assert res.median_diff == pytest.approx(np.median(a - b))
    assert paired_test(b, a).p_value == pytest.approx(res.p_value)


def test_all_zero_differences() -> None:
    a = np.array([0.1, 0.2, np.inf])
    res = paired_test(a, a.copy())
    assert (res.statistic, res.p_value, res.n) == (0.0, 1.0, 3)
    assert res.mean_diff == 0.0 and res.median_diff == 0.0


def test_infinities() -> None:
    rng = np.random.default_rng(1)
    a = rng.gamma(4, 0.01, size=60)
    b = a + rng.normal(0, 0.003, size=60)
    # both failed -> a zero difference (dropped): same as removing the pair
    a2, b2 = np.append(a, np.inf), np.append(b, np.inf)
    assert paired_test(a2, b2).p_value == pytest.approx(paired_test(a, b).p_value)
    # one failed -> largest rank with the failing side's sign: same as any value beyond the range
    a3, b3 = np.append(a, [np.inf, np.inf]), np.append(b, [0.02, 0.02])  # equal partners: the stand-ins tie
    res = paired_test(a3, b3)
    a4 = np.append(a, [1e6, 1e6])
    assert res.p_value == pytest.approx(stats.wilcoxon(a4 - b3).pvalue)
    assert res.median_diff == pytest.approx(np.median(np.append(a - b, [np.inf, np.inf])))
    assert res.mean_diff == pytest.approx(np.mean(a - b))
    assert math.isfinite(res.statistic)


def test_errors() -> None:
    with pytest.raises(InputError, match="equal lengths"):
        paired_test(np.zeros(3), np.zeros(4))
    with pytest.raises(InputError, match="NaN"):
        paired_test(np.array([np.nan]), np.array([0.0]))
