"""Paired significance test on per-image errors of two runs over the same images.

Wilcoxon signed-rank test on ``d_i = a_i - b_i`` (``scipy.stats.wilcoxon``, two-sided,
``zero_method="wilcox"``: zero differences are dropped). scipy is imported inside the function
so that importing faceval stays fast.

Infinite values (failed images, NME = inf):

* both inf (same sign) -> ``d_i = 0`` (both failed: no evidence either way; dropped as a zero);
* exactly one inf -> ``d_i = +/-(2 M + 1)`` with ``M`` the largest finite ``|a_j|``, ``|b_j|``:
  a finite stand-in larger in magnitude than every finite difference, so the pair gets the
  largest rank (all such pairs tie) with the sign of the failing side. The test only uses
  ranks, so the stand-in's exact value does not matter.

NaN in either input raises ``InputError`` (per-image NME is never NaN).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceval.errors import InputError


@dataclass(frozen=True)
class PairedResult:
    """Result of :func:`paired_test`.

    Attributes:
        statistic: Wilcoxon ``T`` (scipy's two-sided statistic: the smaller rank sum); 0 when
            every difference is zero.
        p_value: two-sided p-value; 1.0 when every difference is zero.
        n: number of pairs given.
        mean_diff: ``mean(a_i - b_i)`` over the pairs where both are finite (as the dataset NME
            leaves failures out); NaN when there are none.
        median_diff: ``median(a_i - b_i)`` over all pairs, both-inf pairs counting 0 and one-inf
            pairs +/-inf (as the NME percentiles treat failures as +inf).
    """

    statistic: float
    p_value: float
    n: int
    mean_diff: float
    median_diff: float


def paired_test(a: np.ndarray, b: np.ndarray) -> PairedResult:
    """Wilcoxon signed-rank test of ``a`` against ``b`` (``(N,)`` each, paired by position).

    ``d_i = a_i - b_i`` with the infinity rules of the module docstring; positive differences
    mean ``a`` is larger (worse, for an error).
    """
    x = np.asarray(a, dtype=np.float64).reshape(-1)
    y = np.asarray(b, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise InputError(f"paired test needs equal lengths; got {x.size} and {y.size}")
    if np.isnan(x).any() or np.isnan(y).any():
        raise InputError("paired test inputs contain NaN; per-image errors must be finite or inf")
    n = int(x.size)
    fx, fy = np.isfinite(x), np.isfinite(y)
    both = fx & fy
    # Real differences: both-inf -> 0, one-inf -> +/-inf.
    with np.errstate(invalid="ignore"):
        real = np.where(both, x - y, np.where(~fx & ~fy & (np.sign(x) == np.sign(y)), 0.0, np.nan))
    one_a = ~fx & fy
    one_b = fx & ~fy
    opposite = ~fx & ~fy & (np.sign(x) != np.sign(y))
    real = np.where(one_a | opposite, np.sign(x) * np.inf, real)
    real = np.where(one_b, -np.sign(y) * np.inf, real)
    mean_diff = float(np.mean(real[both])) if both.any() else float("nan")
    median_diff = float(np.median(real)) if n else float("nan")
    finite_vals = np.concatenate([np.abs(x[fx]), np.abs(y[fy])])
    big = 2.0 * (float(finite_vals.max()) if finite_vals.size else 0.0) + 1.0
    d = np.where(np.isfinite(real), real, np.sign(real) * big)
    if n == 0 or not np.any(d != 0):
        return PairedResult(statistic=0.0, p_value=1.0, n=n, mean_diff=mean_diff, median_diff=median_diff)
    from scipy import stats  # lazy: keep `import faceval` fast

    res = stats.wilcoxon(d, zero_method="wilcox", alternative="two-sided")
    return PairedResult(
        statistic=float(res.statistic),
        p_value=float(res.pvalue),
        n=n,
        mean_diff=mean_diff,
        median_diff=median_diff,
    )
