"""Metric names: parsing, display names, direction (lower or higher is better), units.

Names (canonical form in brackets):

* ``nme`` -- dataset NME (mean of finite per-image NMEs), fraction, lower is better;
* ``nme_p50``, ``nme_p90``, ``nme_p95``, ``nme_p99`` (any ``nme_p<q>``, 0 <= q <= 100) -- NME
  percentiles, fraction, lower;
* ``fr@<t>`` -- failure rate at threshold t, fraction, lower; ``auc@<t>`` -- AUC at t,
  fraction, higher. The threshold is written with two decimals (``fr@0.1`` -> ``fr@0.10``),
  or more when two would round it (``auc@0.075``);
* ``mae_yaw``, ``mae_pitch``, ``mae_roll``, ``mae_mean`` -- head-pose MAE, degrees, lower;
* ``n`` -- images evaluated, count, higher; ``n_failed_inputs`` and ``n_nonfinite`` -- counts
  of unusable inputs and of images with a non-finite NME, lower.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

from faceval.errors import InputError, closest

_FIXED: dict[str, tuple[str, str, str]] = {
    "nme": ("NME", "lower", "fraction"),
    "nme_p50": ("NME p50", "lower", "fraction"),
    "nme_p90": ("NME p90", "lower", "fraction"),
    "nme_p95": ("NME p95", "lower", "fraction"),
    "nme_p99": ("NME p99", "lower", "fraction"),
    "mae_yaw": ("MAE yaw", "lower", "degrees"),
    "mae_pitch": ("MAE pitch", "lower", "degrees"),
    "mae_roll": ("MAE roll", "lower", "degrees"),
    "mae_mean": ("MAE mean", "lower", "degrees"),
    "n": ("Images", "higher", "count"),
    "n_failed_inputs": ("Failed inputs", "lower", "count"),
    "n_nonfinite": ("Non-finite NME", "lower", "count"),
}

#: Names for suggestions in error messages (threshold metrics shown with a typical threshold).
KNOWN_NAMES: tuple[str, ...] = tuple(_FIXED) + ("fr@0.10", "auc@0.10", "fr@0.08", "auc@0.08")

_THRESHOLD_RE = re.compile(r"^(fr|auc)@(.+)$")
_PERCENTILE_RE = re.compile(r"^nme_p(\d+(?:\.\d+)?)$")


@dataclass(frozen=True)
class MetricInfo:
    """What a metric is: canonical ``name``, ``display`` name, better ``direction``, ``unit``.

    ``threshold`` is the t of ``fr@t`` / ``auc@t`` (None otherwise); ``quantile`` the q of
    ``nme_p<q>`` (None otherwise).
    """

    name: str
    display: str
    direction: Literal["lower", "higher"]
    unit: Literal["fraction", "degrees", "count"]
    threshold: float | None = None
    quantile: float | None = None


def threshold_key(t: float) -> str:
    """Threshold as written in metric names: two decimals (``0.1 -> "0.10"``, ``0.08 -> "0.08"``).

    A threshold that two decimals would round (``0.075``) keeps its digits (``"0.075"``), so
    two different thresholds never share a key.
    """
    t = float(t)
    key = f"{t:.2f}"
    if float(key) == t:
        return key
    return f"{t:.10f}".rstrip("0")


def _parse_threshold(text: str, name: str) -> float:
    try:
        t = float(text)
    except ValueError:
        raise InputError(f"bad threshold in metric name '{name}': '{text}' is not a number") from None
    if not (np.isfinite(t) and t > 0):
        raise InputError(f"bad threshold in metric name '{name}': it must be finite and > 0")
    return t


def metric_info(name: str) -> MetricInfo:
    """Parse a metric name (see the module docstring) into its ``MetricInfo``.

    Raises:
        InputError: unknown name, with the closest known name suggested.
    """
    key = name.strip().lower()
    if key in _FIXED:
        display, direction, unit = _FIXED[key]
        q = None
        m = _PERCENTILE_RE.match(key)
        if m:
            q = float(m.group(1))
        return MetricInfo(key, display, direction, unit, quantile=q)  # type: ignore[arg-type]
    m = _THRESHOLD_RE.match(key)
    if m:
        kind, text = m.groups()
        t = _parse_threshold(text, name)
        canon = f"{kind}@{threshold_key(t)}"
        if kind == "fr":
            return MetricInfo(canon, f"FR@{threshold_key(t)}", "lower", "fraction", threshold=t)
        return MetricInfo(canon, f"AUC@{threshold_key(t)}", "higher", "fraction", threshold=t)
    m = _PERCENTILE_RE.match(key)
    if m:
        q = float(m.group(1))
        if 0 <= q <= 100:
            canon = f"nme_p{q:g}"
            return MetricInfo(canon, f"NME p{q:g}", "lower", "fraction", quantile=q)
    raise InputError(f"unknown metric '{name}'{closest(key, KNOWN_NAMES)}; known: {', '.join(KNOWN_NAMES)}")


def compute_metric(
    name: str,
    nme: np.ndarray,
    *,
    auc_mode: str = "exact",
    pose_pred: np.ndarray | None = None,
    pose_gt: np.ndarray | None = None,
    pose_wrap: bool = False,
    n_failed_inputs: int = 0,
) -> float:
    """Value of one named metric from per-image NMEs (fractions) and, for ``mae_*``, poses.

    Same definitions as :func:`faceval.metrics.summary.summarize` (``nme`` excludes non-finite
    images; ``fr@t`` strict ``>``; ``auc@t`` in ``auc_mode``; percentiles linear).
    ``n_failed_inputs`` is not derivable from NMEs: it returns the value passed in.

    Raises:
        InputError: unknown name, or a pose metric without ``pose_pred`` and ``pose_gt``.
    """
    from faceval.metrics.curves import auc, failure_rate, percentiles
    from faceval.metrics.nme import dataset_nme
    from faceval.metrics.pose import pose_mae

    info = metric_info(name)
    arr = np.asarray(nme, dtype=np.float64).reshape(-1)
    if info.name == "nme":
        return dataset_nme(arr)
    if info.quantile is not None:
        return next(iter(percentiles(arr, (info.quantile,)).values()))
    if info.name.startswith("fr@"):
        assert info.threshold is not None
        return failure_rate(arr, info.threshold)
    if info.name.startswith("auc@"):
        assert info.threshold is not None
        return auc(arr, info.threshold, mode=auc_mode)
    if info.unit == "degrees":
        if pose_pred is None or pose_gt is None:
            raise InputError(f"metric '{info.name}' needs head-pose predictions and ground truth")
        return pose_mae(pose_pred, pose_gt, wrap=pose_wrap)[info.name]
    if info.name == "n":
        return float(arr.size)
    if info.name == "n_nonfinite":  # failed inputs are counted in n_failed_inputs, not twice
        return float(max(0, np.count_nonzero(~np.isfinite(arr)) - int(n_failed_inputs)))
    if info.name == "n_failed_inputs":
        return float(n_failed_inputs)
    raise AssertionError(info.name)  # pragma: no cover
