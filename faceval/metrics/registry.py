"""The metric registry: one object per metric, used by every caller.

Each :class:`Metric` has its canonical ``name``, ``display`` name, ``unit``, better
``direction``, and the one formula: :meth:`Metric.per_image` (the per-image quantity of a
:class:`~faceval.metrics.view.MetricView`) and :meth:`Metric.aggregate` (that array to the
value). The summary, bootstrap intervals, report cells, gate rules and paired tests, CED
legends and the JSON summary all call these, so they cannot disagree.

Names are made by :func:`metric_name` and parsed by :func:`parse_metric`, nowhere else
(canonical form in brackets):

* ``nme`` -- dataset NME: the mean of the finite per-image NMEs, or with the ``pooled``
  aggregation the sum of point errors over the sum of normalisers, or with ``point-mean``
  (mmpose) the mean of ``e_ik / d_i`` over every counted (image, point) pair
  (:func:`faceval.metrics.nme.point_mean`); fraction, lower is better;
* ``nme_binmean`` -- 3DDFA's "mean of the three yaw-bin means": ``(1/B) sum_b mean_{i in bin b}
  NME_i`` over the bin splits of :data:`faceval.metrics.bins.BIN_SPLITS` (AFLW2000-3D
  ``yaw0-30``, ``yaw30-60``, ``yaw60-90``); on a split holding images of every bin, when the run
  has all the bin splits; fraction, lower;
* ``nme_p<q>`` (``nme_p50``, ``nme_p90``, ``nme_p95``, ``nme_p99``; any 0 <= q <= 100) -- NME
  percentile (linear; a failure is +inf), fraction, lower;
* ``fr@<t>`` -- failure rate ``mean_i [NME_i > t]`` (or the protocol's peer FR cut, ``grid`` /
  ``spiga-hist``: :func:`faceval.metrics.curves.failure_rate`), fraction, lower; ``auc@<t>`` -- AUC
  at t in the protocol's AUC mode, fraction, higher. The threshold is written by :func:`threshold_key`:
  two decimals (``fr@0.1`` -> ``fr@0.10``), or more when two would round it (``fr@0.075``);
* ``mae_yaw``, ``mae_pitch``, ``mae_roll`` -- head-pose MAE over the images whose label and
  prediction of that angle are both finite, the difference wrapped into (-180, 180] when the
  protocol's ``pose_wrap`` is on; ``mae_mean`` the mean of the three; degrees, lower;
* ``nme_group:<group>`` (``nme_group:eyes``, ``nme_group:brows``, ...) -- the NME of one named point
  group of the run's scheme (jaw, brows, nose, eyes, mouth, ...): the mean over images of the
  mean normalised error of the group's points (:mod:`faceval.metrics.landmarks`); fraction, lower;
* ``bias_yaw``, ``bias_pitch``, ``bias_roll`` -- mean signed error ``mean (pred - gt)`` over the same
  images (wrapped alike); degrees, closer to zero is better (direction ``zero``);
  ``corr_yaw``, ``corr_pitch``, ``corr_roll`` -- Pearson correlation of the predicted angle with its
  label over the same images (NaN with fewer than two images or a constant side); ratio, higher.
  Together they tell a convention mismatch (a flipped sign, an offset) at once
  (:mod:`faceval.metrics.pose_conventions`);
* ``n`` -- images in the split; ``n_pose`` -- images with at least one scored angle (the pose
  MAE's sample), higher; ``n_failed_inputs`` and ``n_nonfinite`` -- unusable inputs and
  non-finite predictions of usable inputs, lower; counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from faceval.errors import InputError, closest
from faceval.metrics.group_metric import GroupNmeMetric
from faceval.metrics.metric import POSE_ANGLES, Direction, Metric, Unit, _clean_nme, _mean_finite_rows
from faceval.metrics.pose_metrics import PoseBiasMetric, PoseCorrelationMetric, PoseMaeMetric, pose_errors
from faceval.metrics.view import MetricView
from faceval.runs.protocol import Protocol



#: Percentiles reported in every summary.
SUMMARY_PERCENTILES: tuple[int, ...] = (50, 90, 95, 99)

_THRESHOLD_RE = re.compile(r"^(fr|auc)@(.+)$")
_PERCENTILE_RE = re.compile(r"^nme_p(\d+(?:\.\d+)?)$")
_FIXED_FAMILIES = ("nme", "nme_binmean", "mae_yaw", "mae_pitch", "mae_roll", "mae_mean", "bias_yaw", "bias_pitch",
                   "bias_roll", "corr_yaw", "corr_pitch", "corr_roll", "n", "n_pose", "n_failed_inputs", "n_nonfinite")


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


def metric_name(family: str, param: float | str | None = None) -> str:
    """The canonical name of a metric: the one place names are made.

    ``metric_name("fr", 0.075) == "fr@0.075"``, ``metric_name("auc", 0.1) == "auc@0.10"``,
    ``metric_name("nme_p", 90) == "nme_p90"``, ``metric_name("mae_yaw") == "mae_yaw"``,
    ``metric_name("nme_group", "eyes") == "nme_group:eyes"``.
    """
    if family == "nme_group":
        return _group_metric_name(param)
    if family in ("fr", "auc"):
        if param is None:
            raise InputError(f"metric '{family}' needs a threshold, e.g. {family}@0.10")
        return f"{family}@{threshold_key(param)}"
    if family == "nme_p":
        if param is None:
            raise InputError("a percentile metric needs q, e.g. nme_p90")
        return f"nme_p{float(param):g}"
    if family in _FIXED_FAMILIES and param is None:
        return family
    raise InputError(f"unknown metric family '{family}'")


# --------------------------------------------------------------------------------------------
# the metric objects
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NmeMetric(Metric):
    """``nme``: mean of the finite per-image NMEs (``pooled``: sum of errors / sum of normalisers)."""

    def per_image(self, view: MetricView) -> np.ndarray:
        if view.protocol.aggregation == "point-mean":
            return _point_mean_per_image(view)
        if view.protocol.aggregation != "pooled":
            return _clean_nme(view)
        # Pooled: per image (sum_k v_ik e_ik, d_i sum_k v_ik); an image with a non-finite NME is
        # left out of both sums (as the mean leaves it out), marked by an inf error sum.
        if view.predictions is None or view.ground_truth is None or view.normalizers is None:
            raise InputError("pooled NME needs the predictions, ground truth and normalisers of the run")
        err = np.linalg.norm(np.asarray(view.predictions, dtype=np.float64)
                             - np.asarray(view.ground_truth, dtype=np.float64), axis=2)
        k = err.shape[1] if err.ndim == 2 else 0
        if view.protocol.visible_only and view.visible is not None:
            vis = np.asarray(view.visible, dtype=bool)
        else:
            vis = np.ones((view.n, k), dtype=bool)
        with np.errstate(invalid="ignore"):
            sums = np.where(vis, err, 0.0).sum(axis=1)
        weights = vis.sum(axis=1) * np.asarray(view.normalizers, dtype=np.float64)
        sums = np.where(np.isfinite(_clean_nme(view)) & np.isfinite(sums), sums, np.inf)
        return np.stack([sums, weights], axis=1) if view.n else np.empty((0, 2))

    def aggregate_rows(self, rows: np.ndarray, protocol: Protocol | None = None) -> np.ndarray:
        if protocol is not None and protocol.aggregation == "point-mean":
            return _point_mean_rows(np.asarray(rows), protocol)
        rows = np.asarray(rows, dtype=np.float64)
        if rows.ndim == 3:  # pooled pairs
            ok = np.isfinite(rows[..., 0])
            num = np.where(ok, rows[..., 0], 0.0).sum(axis=1)
            den = np.where(ok, rows[..., 1], 0.0).sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                out = np.where(ok.any(axis=1), num / np.where(den > 0, den, 1.0), np.inf)
            return np.where(rows.shape[1] == 0, np.nan, out)
        if rows.shape[0] == 1:
            from faceval.metrics.nme import dataset_nme

            return np.array([dataset_nme(rows[0])])
        return _mean_finite_rows(rows)

    def paired_values(self, view: MetricView) -> np.ndarray:
        return _clean_nme(view)


@dataclass(frozen=True)
class PercentileMetric(Metric):
    """``nme_p<q>``: linear percentile of the per-image NMEs (a failure is +inf)."""

    def per_image(self, view: MetricView) -> np.ndarray:
        return _clean_nme(view)

    def aggregate_rows(self, rows: np.ndarray, protocol: Protocol | None = None) -> np.ndarray:
        from faceval.metrics.curves import percentiles

        assert self.quantile is not None
        rows = np.asarray(rows, dtype=np.float64)
        if rows.shape[0] == 1:
            return np.array([next(iter(percentiles(rows[0], (self.quantile,)).values()))])
        n = rows.shape[1]
        if n == 0:
            return np.full(rows.shape[0], np.nan)
        srt = np.sort(rows, axis=1)
        h = (n - 1) * self.quantile / 100.0
        lo, hi = int(np.floor(h)), int(np.ceil(h))
        a, b = srt[:, lo], srt[:, hi]
        with np.errstate(invalid="ignore"):
            out = np.where(h > lo, a + (h - lo) * (b - a), a)
        return np.where(np.isinf(a) | ((h > lo) & np.isinf(b)), np.inf, out)

    def paired_values(self, view: MetricView) -> np.ndarray:
        return _clean_nme(view)


@dataclass(frozen=True)
class FailureRateMetric(Metric):
    """``fr@t``: fraction of images with ``NME_i > t`` (strict; a failure is above every t)."""

    def per_image(self, view: MetricView) -> np.ndarray:
        return _clean_nme(view)

    def aggregate_rows(self, rows: np.ndarray, protocol: Protocol | None = None) -> np.ndarray:
        from faceval.metrics.curves import failure_rate, grid_end

        assert self.threshold is not None
        rows = np.asarray(rows, dtype=np.float64)
        if rows.shape[1] == 0:
            return np.full(rows.shape[0], np.nan)
        cut = (protocol or Protocol()).fr_cut
        if cut == "spiga-hist":  # a histogram per row: no closed form
            return np.array([failure_rate(row, self.threshold, cut) for row in rows])
        bound = grid_end(self.threshold) if cut == "grid" else self.threshold
        return np.count_nonzero(rows > bound, axis=1) / rows.shape[1]

    def paired_values(self, view: MetricView) -> np.ndarray:
        return _clean_nme(view)


@dataclass(frozen=True)
class AucMetric(Metric):
    """``auc@t`` in the protocol's AUC mode (``exact``: ``mean_i max(0, t - NME_i) / t``); not
    available under AUC mode ``none`` (a peer that computes no AUC: HRNet, mmpose, 3DDFA)."""

    def available(self, view: MetricView) -> bool:
        return super().available(view) and view.protocol.auc_mode != "none"

    def per_image(self, view: MetricView) -> np.ndarray:
        return _clean_nme(view)

    def aggregate_rows(self, rows: np.ndarray, protocol: Protocol | None = None) -> np.ndarray:
        from faceval.metrics.curves import auc

        assert self.threshold is not None
        mode = (protocol or Protocol()).auc_mode
        rows = np.asarray(rows, dtype=np.float64)
        t = self.threshold
        if rows.shape[0] > 1 and mode == "exact" and rows.shape[1]:
            return np.where(rows < t, (t - rows) / t, 0.0).mean(axis=1)
        # One row (the point estimate, summed in sorted order as the summary always did), or a
        # legacy mode, which has no closed form: row by row.
        return np.array([auc(np.sort(row), t, mode=mode) for row in rows])

    def paired_values(self, view: MetricView) -> np.ndarray:
        return _clean_nme(view)


@dataclass(frozen=True)
class CountMetric(Metric):
    """Counts: ``n``, ``n_pose``, ``n_failed_inputs``, ``n_nonfinite`` (sum of a per-image indicator)."""

    def per_image(self, view: MetricView) -> np.ndarray:
        if self.name == "n":
            return np.ones(view.n)
        if self.name == "n_pose":
            return (~np.isnan(pose_errors(view))).any(axis=1).astype(np.float64)
        failed = np.asarray(view.failed_inputs, dtype=bool).reshape(-1)
        if self.name == "n_failed_inputs":
            return failed.astype(np.float64)
        # n_nonfinite: non-finite NME of a usable input (a failed input is counted once, above)
        return (~np.isfinite(np.asarray(view.nme, dtype=np.float64)) & ~failed).astype(np.float64)

    def aggregate_rows(self, rows: np.ndarray, protocol: Protocol | None = None) -> np.ndarray:
        return np.asarray(rows, dtype=np.float64).sum(axis=1)


# --------------------------------------------------------------------------------------------
# peer-protocol metrics: mmpose's point-mean NME, 3DDFA's mean of the yaw-bin means
# --------------------------------------------------------------------------------------------


def _point_mean_per_image(view: MetricView) -> np.ndarray:
    """``(n, K)`` normalised point distances ``q_ik`` (NaN: not counted) for ``point-mean``."""
    from faceval.metrics.nme import normalised_point_errors

    if view.predictions is None or view.ground_truth is None or view.normalizers is None:
        raise InputError("point-mean NME needs the predictions, ground truth and normalisers of the run")
    visible = view.visible if view.protocol.visible_only else None
    q = normalised_point_errors(view.predictions, view.ground_truth, view.normalizers, visible=visible,
                                dtype=view.protocol.distance_dtype)
    # an image the per-image NME calls a failure is left out (as the mean leaves it out)
    return np.where(np.isfinite(_clean_nme(view))[:, None], q, np.nan)


def _point_mean_rows(rows: np.ndarray, protocol: Protocol) -> np.ndarray:
    from faceval.metrics.nme import point_mean_rows

    return point_mean_rows(rows, protocol.distance_dtype)


@dataclass(frozen=True)
class BinMeanMetric(Metric):
    """``nme_binmean``: ``(1/B) sum_b mean_{i in bin b, NME_i finite} NME_i`` (3DDFA).

    A bin whose images all failed has mean inf (as ``nme``); a bin without images (a bootstrap
    resample can lose one) gives NaN. Available on a view that has images of every bin.
    """

    def available(self, view: MetricView) -> bool:
        if view.bins is None or view.n_bins == 0 or not view.has_landmarks:
            return False
        return bool(np.isin(np.arange(view.n_bins), np.asarray(view.bins)).all())

    def value(self, view: MetricView) -> float:
        if not self.available(view):
            raise InputError("metric 'nme_binmean' needs every bin split of the dataset in the run "
                             "(AFLW2000-3D: aflw2000:yaw0-30, aflw2000:yaw30-60, aflw2000:yaw60-90) "
                             "and images of each bin in the split")
        return self.aggregate(self.per_image(view), view.protocol)

    def per_image(self, view: MetricView) -> np.ndarray:
        """``(n, 3)``: NME, bin index (-1: none), number of bins."""
        if view.bins is None:
            raise InputError("metric 'nme_binmean' needs the bin splits of the dataset in the run")
        bins = np.asarray(view.bins, dtype=np.float64)
        return np.stack([_clean_nme(view), bins, np.full(view.n, float(view.n_bins))], axis=1)

    def aggregate_rows(self, rows: np.ndarray, protocol: Protocol | None = None) -> np.ndarray:
        from faceval.metrics.bins import mean_of_bin_means_rows

        return mean_of_bin_means_rows(np.asarray(rows, dtype=np.float64))

    def paired_values(self, view: MetricView) -> np.ndarray:
        return _clean_nme(view)


_FIXED: dict[str, Metric] = {
    "nme": NmeMetric("nme", "NME", "lower", "fraction"),
    "mae_yaw": PoseMaeMetric("mae_yaw", "MAE yaw", "lower", "degrees"),
    "mae_pitch": PoseMaeMetric("mae_pitch", "MAE pitch", "lower", "degrees"),
    "mae_roll": PoseMaeMetric("mae_roll", "MAE roll", "lower", "degrees"),
    "mae_mean": PoseMaeMetric("mae_mean", "MAE mean", "lower", "degrees"),
    **{metric_name(f"bias_{a}"): PoseBiasMetric(metric_name(f"bias_{a}"), f"bias {a}", "zero", "degrees")
       for a in POSE_ANGLES},
    **{metric_name(f"corr_{a}"): PoseCorrelationMetric(metric_name(f"corr_{a}"), f"corr {a}", "higher", "ratio")
       for a in POSE_ANGLES},
    "n": CountMetric("n", "Images", "higher", "count"),
    "n_pose": CountMetric("n_pose", "Images with pose", "higher", "count"),
    "n_failed_inputs": CountMetric("n_failed_inputs", "Failed inputs", "lower", "count"),
    "n_nonfinite": CountMetric("n_nonfinite", "Non-finite NME", "lower", "count"),
}
_FIXED["nme_binmean"] = BinMeanMetric("nme_binmean", "NME bin mean", "lower", "fraction")

#: Names for suggestions in error messages (threshold metrics shown with a typical threshold).
KNOWN_NAMES: tuple[str, ...] = ("nme",) + tuple(metric_name("nme_p", q) for q in SUMMARY_PERCENTILES) + tuple(
    n for n in _FIXED if n != "nme") + tuple(metric_name(k, t) for t in (0.10, 0.08) for k in ("fr", "auc"))


def _parse_threshold(text: str, name: str) -> float:
    try:
        t = float(text)
    except ValueError:
        raise InputError(f"bad threshold in metric name '{name}': '{text}' is not a number") from None
    if not (np.isfinite(t) and t > 0):
        raise InputError(f"bad threshold in metric name '{name}': it must be finite and > 0")
    return t


def parse_metric(name: str) -> Metric:
    """The metric of a name (any spelling: ``NME``, ``fr@0.1``, ``auc@.075``): the one parser.

    Raises:
        InputError: unknown name, with the closest known name suggested.
    """
    key = str(name).strip().lower()
    if key in _FIXED:
        return _FIXED[key]
    m = _THRESHOLD_RE.match(key)
    if m:
        kind, text = m.groups()
        t = _parse_threshold(text, name)
        canon = metric_name(kind, t)
        if kind == "fr":
            return FailureRateMetric(canon, f"FR@{threshold_key(t)}", "lower", "fraction", threshold=t)
        return AucMetric(canon, f"AUC@{threshold_key(t)}", "higher", "fraction", threshold=t)
    if key.startswith(GROUP_PREFIX):
        return _parse_group_metric(key, name)
    m = _PERCENTILE_RE.match(key)
    if m:
        q = float(m.group(1))
        if 0 <= q <= 100:
            canon = metric_name("nme_p", q)
            return PercentileMetric(canon, f"NME p{q:g}", "lower", "fraction", quantile=q)
    raise InputError(f"unknown metric '{name}'{closest(key, KNOWN_NAMES)}; known: {', '.join(KNOWN_NAMES)}")


#: Kept name of the parser (a :class:`Metric` has every attribute the old ``MetricInfo`` had).
metric_info = parse_metric
MetricInfo = Metric


#: The pose metrics of a summary, in order (with ``n_pose`` after them).
POSE_SUMMARY: tuple[str, ...] = ("mae_yaw", "mae_pitch", "mae_roll", "mae_mean") + tuple(
    metric_name(f"{kind}_{a}") for kind in ("bias", "corr") for a in POSE_ANGLES)


def summary_metrics(thresholds: tuple[float, ...] | list[float], *, with_pose: bool,
                    with_landmarks: bool = True) -> list[Metric]:
    """The metrics of a split summary, in order: ``n``, ``nme``, percentiles, ``fr@T``/``auc@T``
    per threshold (with landmarks), the pose metrics (:data:`POSE_SUMMARY`) and ``n_pose`` (with
    pose), ``n_nonfinite`` (with landmarks), ``n_failed_inputs``."""
    names = ["n"]
    if with_landmarks:
        names += ["nme"] + [metric_name("nme_p", q) for q in SUMMARY_PERCENTILES]
        for t in thresholds:
            names += [metric_name("fr", t), metric_name("auc", t)]
    if with_pose:
        names += [*POSE_SUMMARY, "n_pose"]
    names += (["n_nonfinite"] if with_landmarks else []) + ["n_failed_inputs"]
    return [parse_metric(n) for n in names]


def summary_of(view: MetricView) -> dict[str, float]:
    """Every summary metric of one split (counts as ints), keyed by canonical name."""
    out: dict[str, float] = {}
    for metric in summary_metrics(view.protocol.thresholds, with_pose=view.has_pose,
                                  with_landmarks=view.has_landmarks):
        if not metric.available(view):  # auc@T under AUC mode 'none'
            continue
        value = metric.value(view)
        out[metric.name] = int(value) if metric.is_count else value
    out.update(_cross_split_summary(view))
    return out


def _cross_split_summary(view: MetricView) -> dict[str, float]:
    """``nme_binmean`` on a split holding images of every bin of a run with all bin splits."""
    binmean = _FIXED["nme_binmean"]
    return {binmean.name: binmean.value(view)} if binmean.available(view) else {}


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
    """Value of one named metric from per-image NMEs (fractions) and, for pose metrics, poses.

    A thin wrapper: ``parse_metric(name).value(MetricView.from_nme(...))``.

    Raises:
        InputError: unknown name, or a pose metric without ``pose_pred`` and ``pose_gt``.
    """
    view = MetricView.from_nme(nme, protocol=Protocol(auc_mode=auc_mode, pose_wrap=pose_wrap, thresholds=()),
                               n_failed_inputs=n_failed_inputs, pose_pred=pose_pred, pose_gt=pose_gt)
    return parse_metric(name).value(view)


# --------------------------------------------------------------------------------------------
# group NME: nme_group:<group>
# --------------------------------------------------------------------------------------------

#: Prefix of the group metrics' names (``nme_group:eyes``).
GROUP_PREFIX = "nme_group:"
_GROUP_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def _known_groups() -> list[str]:
    """Group names of every scheme, in scheme order, each once."""
    from faceval.schemes import SCHEME_NAMES, load_scheme

    return list(dict.fromkeys(g for s in SCHEME_NAMES for g in load_scheme(s).groups))


def _group_metric_name(group: float | str | None) -> str:
    if not isinstance(group, str) or not _GROUP_RE.match(group):
        raise InputError(f"a group metric needs a landmark group name, e.g. {GROUP_PREFIX}eyes, got {group!r}")
    return GROUP_PREFIX + group


def _parse_group_metric(key: str, name: str) -> "GroupNmeMetric":
    group = key[len(GROUP_PREFIX):].strip()
    known = _known_groups()
    if group not in known:
        raise InputError(f"unknown landmark group '{group}' in metric '{name}'{closest(group, known)}; "
                         f"groups: {', '.join(known)}")
    return GroupNmeMetric(metric_name("nme_group", group), f"NME {group}", "lower", "fraction", group=group)


KNOWN_NAMES = KNOWN_NAMES + (metric_name("nme_group", "eyes"),)

#: Re-exported: the metric base class and its types live in :mod:`faceval.metrics.metric`.
__all__ = ["Direction", "Metric", "Unit", "POSE_ANGLES", "GroupNmeMetric", "PoseMaeMetric", "PoseBiasMetric",
           "PoseCorrelationMetric", "metric_name", "parse_metric", "summary_of", "summary_metrics", "threshold_key",
           "compute_metric", "KNOWN_NAMES", "SUMMARY_PERCENTILES", "GROUP_PREFIX", "POSE_SUMMARY", "metric_info",
           "MetricInfo"]
