"""Metrics of runs: the value, interval and per-image errors of a named metric on one split.

What ``report`` cells, ``gate`` checks and CED legends read. Every value is computed from the
run's per-image arrays by the registry (:mod:`faceval.metrics.registry`), never taken from the
stored summary, so a table, a gate and the JSON summary cannot disagree.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Sequence

import numpy as np

from faceval.errors import InputError
from faceval.metrics.bootstrap import Interval, metric_interval
from faceval.metrics.registry import Metric, metric_name, parse_metric
from faceval.runs.data import RunData

#: Bootstrap settings for ``--ci`` (documented in captions).
CI_LEVEL = 0.95
CI_N_BOOT = 2000
CI_SEED = 0


def parse_metric_list(text: str | Sequence[str] | None) -> list[str] | None:
    """Parse ``"nme,fr@0.10,auc@0.10"`` (or a list) into canonical names; None stays None."""
    if text is None:
        return None
    items = text.split(",") if isinstance(text, str) else list(text)
    names: list[str] = []
    for item in items:
        item = item.strip()
        if not item:
            continue
        name = parse_metric(item).name
        if name not in names:
            names.append(name)
    if not names:
        raise InputError("--metrics lists no metric")
    return names


def default_metrics(runs: Sequence[RunData]) -> list[str]:
    """``nme``, ``fr@T``, ``auc@T`` with T the first threshold of the first run with thresholds
    (no ``auc@T`` when that run's AUC mode is ``none``);
    ``nme_binmean`` after ``nme`` when a run holds every bin split of its dataset (3DDFA's yaw bins);
    with pose-only runs among them also ``mae_mean``, and only the four pose MAEs when all are."""
    from faceval.metrics.bins import bin_coverage

    pose_mae = [metric_name(f"mae_{a}") for a in ("yaw", "pitch", "roll", "mean")]
    if runs and all(run.pose_only for run in runs):
        return pose_mae
    extra = ["mae_mean"] if any(run.pose_only for run in runs) else []
    names = ["nme"]
    if any(bin_coverage(run.dataset, run.splits).complete for run in runs):
        names.append("nme_binmean")
    for run in runs:
        if run.protocol.thresholds:
            t = run.protocol.thresholds[0]
            auc = [] if run.protocol.auc_mode == "none" else [metric_name("auc", t)]
            return names + [metric_name("fr", t)] + auc + extra
    return names + extra


@functools.lru_cache(maxsize=4096)
def _parsed(name: str) -> Metric:
    return parse_metric(name)


def _metric(metric: str | Metric) -> Metric:
    return _parsed(metric) if isinstance(metric, str) else metric


def uses_pose(metrics: Sequence[str | Metric]) -> bool:
    """True when one of ``metrics`` is a pose metric (then the runs' pose labels determine it)."""
    return any(_metric(m).needs_pose for m in metrics)


def metric_value(run: RunData, split: str, metric: str | Metric) -> int | float | None:
    """A metric of one split, from the per-image arrays (None: no such split, no pose for a pose
    metric, or an empty split); a count (``n``, ``n_pose``, ...) is an ``int``."""
    m = _metric(metric)
    if split not in run.splits:
        return None
    _check_bins(run, m)
    view = run.view(split, landmarks=m.reads_landmarks, pose=m.needs_pose, ids=False)
    if not m.available(view):
        return None
    if view.n == 0 and not m.is_count:
        return None
    return int(m.value(view)) if m.is_count else float(m.value(view))


def _check_bins(run: RunData, metric: Metric) -> None:
    """A cross-split metric (``nme_binmean``) of a run holding only some of its bin splits is refused."""
    if metric.name != "nme_binmean":
        return
    from faceval.metrics.bins import bin_coverage

    coverage = bin_coverage(run.dataset, run.splits)
    if coverage.partial:
        raise InputError(f"metric 'nme_binmean' of run '{run.label}' is {coverage.describe_missing()} "
                         "(the mean of the bin means needs every bin)")


def metric_ci(run: RunData, split: str, metric: str | Metric) -> Interval | None:
    """Bootstrap 95 % interval of a metric over the images of a split (seeded, reproducible).

    The same per-image values and aggregate as :func:`metric_value` (the interval's
    ``estimate``); counts and empty splits get None.
    """
    m = _metric(metric)
    if split not in run.splits:
        return None
    _check_bins(run, m)
    # the sample ids too: the bootstrap resamples in sorted-id order (independent of storage order)
    view = run.view(split, landmarks=m.reads_landmarks, pose=m.needs_pose, ids=True)
    if not m.available(view):
        return None
    return metric_interval(view, m, n_boot=CI_N_BOOT, level=CI_LEVEL, seed=CI_SEED)


def paired_errors(run: RunData, baseline: RunData, split: str, metric: str | Metric) -> tuple[np.ndarray, np.ndarray]:
    """Per-image errors of the samples common to both splits, matched by sample id.

    The metric's :meth:`~faceval.metrics.registry.Metric.paired_values` (NME; the wrapped pose
    error for pose metrics); a missing value (NaN: no pose) counts as a failure, inf.
    """
    m = _metric(metric)
    a_view = run.view(split, landmarks=m.reads_landmarks, pose=m.needs_pose)
    b_view = baseline.view(split, landmarks=m.reads_landmarks, pose=m.needs_pose)
    a_vals, b_vals = m.paired_values(a_view), m.paired_values(b_view)
    if a_vals is None or b_vals is None:
        what = "a count" if m.is_count else "an aggregate of the whole split (pose bias, correlation)"
        raise InputError(f"metric '{m.name}' is {what}: it has no per-image errors to test")
    a_ids = np.asarray(a_view.sample_ids).astype(str)
    b_ids = np.asarray(b_view.sample_ids).astype(str)
    _, ia, ib = np.intersect1d(a_ids, b_ids, assume_unique=False, return_indices=True)
    a = np.where(np.isnan(a_vals[ia]), np.inf, a_vals[ia])
    b = np.where(np.isnan(b_vals[ib]), np.inf, b_vals[ib])
    return a, b


def pose_coverage(run: RunData, split: str) -> tuple[int, int] | None:
    """``(n_pose, n)`` of a split: images whose pose was scored, images; None without pose."""
    n_pose = metric_value(run, split, "n_pose")
    if n_pose is None:
        return None
    return int(n_pose), int(len(run.splits[split]))


def split_json(run: RunData, split: str, values: dict[str, Any]) -> dict[str, Any]:
    """One split's JSON object: ``values`` plus ``n_expected`` (null: unknown) and ``complete``;
    a split of unknown size within a partial split also has ``within`` (that split's ``split``,
    ``n`` and ``n_expected``)."""
    out = dict(values)
    if split in run.splits:
        out.update(run.split_count(split).to_json())
    return out


def is_empty(value: float | None) -> bool:
    """True for a missing or NaN value (shown as "–")."""
    return value is None or (isinstance(value, float) and math.isnan(value))
