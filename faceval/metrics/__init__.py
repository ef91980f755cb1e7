"""Metrics, vectorised over all images: NME, failure rate, CED/AUC, percentiles, head pose,
bootstrap intervals, paired tests, and a registry of metric names.

All values are fractions (not percent) and degrees. No CLI or plotting dependency; scipy is
imported only inside :func:`paired_test`.
"""

from faceval.metrics.bootstrap import bootstrap_ci
from faceval.metrics.curves import AUC_MODES, auc, ced, failure_rate, percentiles, simpson_legacy
from faceval.metrics.nme import dataset_nme, per_image_nme, per_landmark_nme, point_errors, pooled_nme
from faceval.metrics.normalizers import NORMALIZERS, compute_normalizers
from faceval.metrics.paired import PairedResult, paired_test
from faceval.metrics.pose import pose_mae, pose_nonfinite_count, wrap_degrees
from faceval.metrics.registry import MetricInfo, compute_metric, metric_info, threshold_key
from faceval.metrics.summary import summarize

__all__ = [
    "AUC_MODES",
    "NORMALIZERS",
    "MetricInfo",
    "PairedResult",
    "auc",
    "bootstrap_ci",
    "ced",
    "compute_metric",
    "compute_normalizers",
    "dataset_nme",
    "failure_rate",
    "metric_info",
    "paired_test",
    "per_image_nme",
    "per_landmark_nme",
    "percentiles",
    "point_errors",
    "pooled_nme",
    "pose_mae",
    "pose_nonfinite_count",
    "simpson_legacy",
    "summarize",
    "threshold_key",
    "wrap_degrees",
]
