"""The in-memory form of one evaluation run (what a run file holds).

Reports and gates are computed from this alone, so a table can be rebuilt
without the model or the images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

SCHEMA_VERSION = 1

#: Protocol keys that must agree before two runs are compared (gate, report).
PROTOCOL_KEYS = (
    "normalizer",
    "thresholds",
    "auc_mode",
    "aggregation",
    "visible_only",
    "box_source",
    "box_scale",
    "box_square",
    "manifest_sha256",
    "sample_set_sha256",
)


@dataclass
class RunData:
    """One evaluation: per-image arrays, protocol, provenance and summary.

    Attributes:
        label: display name (the model's file stem, or ``--label``).
        dataset: dataset registry name.
        scheme: scheme of the ground truth.
        sample_ids: ``(N,)`` str, canonical order.
        splits: split name -> sorted int64 indices into the samples.
        predictions: ``(N, K, 2)`` float64, in the GT scheme, 0-based original-image pixels;
            NaN rows where no usable prediction exists.
        ground_truth: ``(N, K, 2)`` float64.
        visible: ``(N, K)`` bool.
        normalizers: ``(N,)`` float64, the ``d_i`` of each image.
        nme: ``(N,)`` float64 per-image NME as a fraction; ``inf`` for failures.
        failed_inputs: ``(N,)`` bool, True where the image or prediction was unusable.
        failure_reasons: ``(N,)`` str, empty where none.
        pose_pred / pose_gt: ``(N, 3)`` yaw, pitch, roll degrees, or None.
        protocol: see ``PROTOCOL_KEYS`` (plus informative keys such as ``conversion``).
        provenance: versions, providers, model hash and spec, command line, times.
        summary: split -> metric name -> value (the ``faceval score --format json`` ``splits``).
        model_info: params, macs, flops, throughput when known.
    """

    label: str
    dataset: str
    scheme: str
    sample_ids: np.ndarray
    splits: dict[str, np.ndarray]
    predictions: np.ndarray
    ground_truth: np.ndarray
    visible: np.ndarray
    normalizers: np.ndarray
    nme: np.ndarray
    failed_inputs: np.ndarray
    failure_reasons: np.ndarray
    pose_pred: np.ndarray | None = None
    pose_gt: np.ndarray | None = None
    protocol: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, dict[str, float]] = field(default_factory=dict)
    model_info: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def split_nme(self, split: str) -> np.ndarray:
        """Per-image NME of one split (fractions; inf for failures)."""
        return self.nme[self.splits[split]]
