"""Percentile-bootstrap confidence intervals for per-image statistics, vectorised.

Resampling draws an index matrix ``I`` of shape ``(B, N)`` (uniform with replacement) in chunks
of rows, so memory stays at about ``_CHUNK_ELEMENTS`` indices whatever B and N are; the
statistic is evaluated on ``values[I]`` row by row at once. The interval is the percentile
interval ``(P_{(1-level)/2}, P_{(1+level)/2})`` of the B replicate statistics (numpy's linear
percentile; an infinite replicate is ``+inf``, never NaN).

Reproducibility: draws come from ``np.random.default_rng(seed)`` in a fixed sequence (the chunk
size depends only on N), so a given (values, statistic, n_boot, level, seed) gives the same
interval bit for bit on every run.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from faceval.errors import InputError

#: Resampled indices per chunk (int64: 32 MB).
_CHUNK_ELEMENTS = 1 << 22

Statistic = Callable[[np.ndarray], np.ndarray]


def _string_statistic(name: str, values: np.ndarray) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """Turn a metric name into ``(per-image array to resample, row statistic on it)``.

    Means of per-image contributions are resampled directly: ``fr@T`` uses ``[v_i > T]`` and
    ``auc@T`` (closed form) ``max(0, T - v_i) / T``; ``nme`` is the mean of the finite values of
    each replicate (inf when a replicate has none), as in ``summarize``; ``nme_p<q>`` the
    replicate's linear percentile.
    """
    from faceval.metrics.curves import percentiles
    from faceval.metrics.registry import metric_info

    info = metric_info(name)
    v = np.where(np.isnan(values), np.inf, values)
    if info.name.startswith("fr@"):
        assert info.threshold is not None
        return (v > info.threshold).astype(np.float64), lambda s: s.mean(axis=1)
    if info.name.startswith("auc@"):
        t = info.threshold
        assert t is not None
        contrib = np.where(v < t, (t - v) / t, 0.0)
        return contrib, lambda s: s.mean(axis=1)
    if info.name == "nme":
        def mean_finite(s: np.ndarray) -> np.ndarray:
            ok = np.isfinite(s)
            cnt = ok.sum(axis=1)
            tot = np.where(ok, s, 0.0).sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.inf)
        return v, mean_finite
    if info.quantile is not None:
        q = info.quantile

        def pct(s: np.ndarray) -> np.ndarray:
            return np.array([next(iter(percentiles(row, (q,)).values())) for row in s])

        return v, pct
    raise InputError(f"bootstrap supports nme, nme_p<q>, fr@T and auc@T; not '{name}'")


def bootstrap_ci(
    values: np.ndarray,
    statistic: Statistic | str,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over per-image ``values`` (``(N,)``).

    Args:
        values: per-image values (e.g. NME fractions; inf for failures).
        statistic: a callable mapping a ``(B, N)`` array of resampled rows to ``(B,)``, or a
            metric name: ``"nme"``, ``"nme_p<q>"``, ``"fr@T"``, ``"auc@T"`` (closed-form AUC).
        n_boot: number of bootstrap replicates B.
        level: confidence level in (0, 1).
        seed: seed of ``np.random.default_rng``.

    Returns:
        ``(low, high)`` = the ``(1-level)/2`` and ``(1+level)/2`` percentiles of the B replicate
        statistics. NaN for empty ``values``.
    """
    from faceval.metrics.curves import percentiles

    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if not 0 < level < 1:
        raise InputError(f"confidence level must be in (0, 1); got {level!r}")
    if int(n_boot) < 1:
        raise InputError(f"n_boot must be >= 1; got {n_boot!r}")
    n = arr.size
    if n == 0:
        return float("nan"), float("nan")
    if isinstance(statistic, str):
        data, func = _string_statistic(statistic, arr)
    else:
        data, func = arr, statistic
    rng = np.random.default_rng(seed)
    rows = max(1, _CHUNK_ELEMENTS // n)
    stats = np.empty(int(n_boot), dtype=np.float64)
    for start in range(0, int(n_boot), rows):
        b = min(rows, int(n_boot) - start)
        idx = rng.integers(0, n, size=(b, n))
        res = np.asarray(func(data[idx]), dtype=np.float64).reshape(-1)
        if res.shape[0] != b:
            raise InputError(f"bootstrap statistic returned {res.shape[0]} values for {b} resamples")
        stats[start : start + b] = res
    lo_q = 100.0 * (1.0 - level) / 2.0
    hi_q = 100.0 * (1.0 + level) / 2.0
    low, high = percentiles(stats, (lo_q, hi_q)).values()
    return low, high
