"""Percentile-bootstrap confidence intervals for per-image statistics, vectorised.

Resampling draws an index matrix ``I`` of shape ``(B, N)`` (uniform with replacement) in chunks
of rows, so memory stays at about ``_CHUNK_ELEMENTS`` indices whatever B and N are; the
statistic is evaluated on ``values[I]`` row by row at once. The interval is the percentile
interval ``(P_{(1-level)/2}, P_{(1+level)/2})`` of the B replicate statistics (numpy's linear
percentile; an infinite replicate is ``+inf``, never NaN).

Reproducibility: draws come from ``np.random.default_rng(seed)`` in a fixed sequence (the chunk
size depends only on N), so a given (values, statistic, n_boot, level, seed) gives the same
interval bit for bit on every run. :func:`metric_interval` puts the images in the order of their
sorted sample ids before resampling, so a run's intervals do not depend on the order its samples
were stored or predicted in (the same images give the same interval).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from faceval.errors import InputError

#: Resampled indices per chunk (int64: 32 MB).
_CHUNK_ELEMENTS = 1 << 22

Statistic = Callable[[np.ndarray], np.ndarray]

if TYPE_CHECKING:
    from faceval.metrics.registry import Metric
    from faceval.metrics.view import MetricView


@dataclass(frozen=True)
class Interval:
    """A metric's point estimate and its percentile-bootstrap interval (same units)."""

    estimate: float
    low: float
    high: float
    level: float
    n_boot: int
    seed: int


def metric_interval(view: "MetricView", metric: "Metric | str", *, n_boot: int = 2000, level: float = 0.95,
                    seed: int = 0) -> Interval | None:
    """Point estimate and bootstrap interval of a registry metric over the images of one view.

    The estimate is ``metric.value(view)`` (the summary's value); replicates resample the
    metric's per-image array (images, with replacement) and apply the same aggregate. The images
    are resampled in the order of their sorted sample ids (when the view has them), so the
    interval does not depend on the order of the samples. None for counts and for a view
    without images.
    """
    from faceval.metrics.registry import parse_metric

    m = parse_metric(metric) if isinstance(metric, str) else metric
    if m.is_count or view.n == 0:
        return None
    values = m.per_image(view)
    estimate = m.aggregate(values, view.protocol)
    if view.sample_ids is not None and len(view.sample_ids) == len(values):
        values = np.asarray(values)[np.argsort(np.asarray(view.sample_ids, dtype=str), kind="stable")]
    low, high = bootstrap_ci(values, lambda rows: m.aggregate_rows(rows, view.protocol), n_boot=n_boot,
                             level=level, seed=seed)
    return Interval(estimate=estimate, low=low, high=high, level=level, n_boot=int(n_boot), seed=seed)


def bootstrap_ci(
    values: np.ndarray,
    statistic: Statistic | str,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over per-image ``values`` (``(N, ...)``).

    Args:
        values: per-image values (e.g. NME fractions; inf for failures), images on axis 0.
        statistic: a callable mapping a ``(B, N, ...)`` array of resampled rows to ``(B,)``, or
            a registry metric name (``"nme"``, ``"nme_p<q>"``, ``"fr@T"``, ``"auc@T"`` exact,
            ``"mae_yaw"``, ...) whose per-image values ``values`` are.
        n_boot: number of bootstrap replicates B.
        level: confidence level in (0, 1).
        seed: seed of ``np.random.default_rng``.

    Returns:
        ``(low, high)`` = the ``(1-level)/2`` and ``(1+level)/2`` percentiles of the B replicate
        statistics. NaN for empty ``values``.
    """
    from faceval.metrics.curves import percentiles

    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        arr = arr.reshape(-1)
    if not 0 < level < 1:
        raise InputError(f"confidence level must be in (0, 1); got {level!r}")
    if int(n_boot) < 1:
        raise InputError(f"n_boot must be >= 1; got {n_boot!r}")
    n = arr.shape[0]
    if n == 0:
        return float("nan"), float("nan")
    if isinstance(statistic, str):
        from faceval.metrics.registry import parse_metric

        metric = parse_metric(statistic)
        if metric.is_count:
            raise InputError(f"bootstrap intervals are for rates and errors, not the count '{metric.name}'")
        data = np.where(np.isnan(arr), np.inf, arr) if metric.unit == "fraction" else arr
        func: Callable[[np.ndarray], np.ndarray] = metric.aggregate_rows
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
