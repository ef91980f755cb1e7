"""The in-memory form of one evaluation run (what a run file holds).

Reports and gates are computed from this alone, so a table can be rebuilt
without the model or the images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from faceval.runs.protocol import COMPARED_KEYS, Protocol, ProtocolDifference

if TYPE_CHECKING:
    from faceval.metrics.view import MetricView

SCHEMA_VERSION = 1

#: Protocol keys that must agree before two runs are compared (gate, report).
PROTOCOL_KEYS = COMPARED_KEYS


@dataclass(frozen=True)
class SplitCount:
    """How complete one split of a run is: ``n`` samples present of ``n_expected`` (None: unknown).

    ``within`` is set for a split of unknown size that is part of a partial split (AFLW2000-3D's
    yaw bins within a partial ``test``): its own count cannot show what is missing, so it is
    partial too.
    """

    split: str
    n: int
    n_expected: int | None
    shard: str | None = None
    within: "SplitCount | None" = None

    @property
    def complete(self) -> bool:
        """False when the complete split is known to hold more samples, for a shard I/N, N > 1,
        or within a partial split."""
        short = self.n_expected is not None and self.n < self.n_expected
        if self.shard is not None and (short or not self.shard.endswith("/1")):
            return False
        if self.within is not None:
            return False
        return self.n_expected is None or self.n >= self.n_expected

    def describe(self) -> str:
        """``330 of 689 images``, ``shard 1/2, 165 of 330 images``, ``412 images, within split 'test'
        (1500 of 1969 images)``, or ``330 images`` when complete."""
        text = f"{self.n} images" if self.n_expected is None or self.n >= self.n_expected else (
            f"{self.n} of {self.n_expected} images")
        if self.within is not None:
            text += f", within split '{self.within.split}' ({self.within.describe()})"
        short = self.n_expected is not None and self.n < self.n_expected
        if self.shard is not None and (short or not self.shard.endswith("/1")):
            text = f"shard {self.shard}, {text}"
        return text

    def to_json(self) -> dict[str, Any]:
        """``n_expected`` (None: unknown) and ``complete``, plus ``within`` (``split``, ``n``,
        ``n_expected``) for a split within a partial split: the keys every JSON split object has."""
        out: dict[str, Any] = {"n_expected": self.n_expected, "complete": self.complete}
        if self.within is not None:
            out["within"] = {"split": self.within.split, "n": self.within.n, "n_expected": self.within.n_expected}
        return out


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
            NaN rows where no usable prediction exists. None for a pose-only run (as are
            ``normalizers`` and ``nme``: no landmark was predicted, no landmark metric exists).
        ground_truth: ``(N, K, 2)`` float64.
        visible: ``(N, K)`` bool.
        normalizers: ``(N,)`` float64, the ``d_i`` of each image.
        nme: ``(N,)`` float64 per-image NME as a fraction; ``inf`` for failures.
        failed_inputs: ``(N,)`` bool, True where the image or prediction was unusable.
        failure_reasons: ``(N,)`` str, empty where none.
        pose_pred / pose_gt: ``(N, 3)`` yaw, pitch, roll degrees, or None.
        protocol: the :class:`~faceval.runs.protocol.Protocol` (a dict given here is validated
            into one).
        provenance: versions, providers, model hash and spec, command line, times.
        summary: split -> metric name -> value (the ``faceval score --format json`` ``splits``).
        model_info: params, macs, flops, throughput when known.
        split_expected: split -> number of samples the complete split has (from the dataset
            manifest); a split without a key is of unknown size, complete unless it lies within
            a partial split (see :meth:`split_count`).
        split_within: split of unknown size -> the partial split of the dataset copy it is part
            of, recorded when the run was scored (for a parent split the run did not load, e.g.
            ``aflw2000:yaw``); a parent split in the run is found from the indices.
        pose_only: True for a run of a pose-only model (FSA-Net, HopeNet ...): pose metrics only;
            ``predictions``, ``normalizers`` and ``nme`` are None. ``ground_truth`` and ``visible``
            still hold the dataset's landmarks.
    """

    label: str
    dataset: str
    scheme: str
    sample_ids: np.ndarray
    splits: dict[str, np.ndarray]
    predictions: np.ndarray | None
    ground_truth: np.ndarray
    visible: np.ndarray
    normalizers: np.ndarray | None
    nme: np.ndarray | None
    failed_inputs: np.ndarray
    failure_reasons: np.ndarray
    pose_pred: np.ndarray | None = None
    pose_gt: np.ndarray | None = None
    protocol: Protocol = field(default_factory=Protocol)
    provenance: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, dict[str, float]] = field(default_factory=dict)
    model_info: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION
    split_expected: dict[str, int] = field(default_factory=dict)
    pose_only: bool = False
    split_within: dict[str, SplitCount] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.protocol, Protocol):
            self.protocol = Protocol.from_dict(self.protocol)

    @property
    def selection(self) -> str:
        """The dataset selection the run evaluated: ``300w:helen`` for one split, else the dataset (``300w``).

        From the ``dataset_spec`` the run recorded in its provenance (the dataset name lower-cased
        as the registry reads it); the dataset alone when none was recorded.
        """
        _, sep, split = str(self.provenance.get("dataset_spec") or "").partition(":")
        return f"{self.dataset}:{split.strip()}" if sep and split.strip() else self.dataset

    def split_count(self, split: str) -> SplitCount:
        """Samples of ``split`` present and expected.

        A split of unknown size is partial when it lies within a partial split: one recorded in
        ``split_within``, or a split of this run with a known size that lacks samples and holds
        every sample of ``split`` (the first such in split order).
        """
        expected = self.split_expected.get(split)
        within = None
        if expected is None:
            within = self.split_within.get(split) or self._partial_superset(split)
        return SplitCount(split, int(len(self.splits[split])), None if expected is None else int(expected),
                          self.protocol.shard, within)

    def _partial_superset(self, split: str) -> SplitCount | None:
        idx = np.asarray(self.splits[split], dtype=np.int64)
        for other, other_idx in self.splits.items():
            expected = self.split_expected.get(other)
            if other == split or expected is None or len(other_idx) >= expected:
                continue
            if np.isin(idx, np.asarray(other_idx, dtype=np.int64)).all():
                return SplitCount(other, int(len(other_idx)), int(expected))
        return None

    def incomplete_splits(self) -> list[SplitCount]:
        """Splits with fewer samples than the complete split (missing files, ``--limit``) or of a shard."""
        return [c for c in (self.split_count(s) for s in self.splits) if not c.complete]

    def prefetch(self, names: "list[str] | tuple[str, ...]") -> None:
        """Make the named per-image fields ready (a run read from a file reads them in one go)."""

    def view(self, split: str, *, landmarks: bool = False, pose: bool = True, ids: bool = True) -> "MetricView":
        """The typed per-image view of one split that every metric reads (see :mod:`faceval.metrics.view`).

        The landmark arrays (predictions, GT, normalisers, visibility) are read only for pooled or
        point-mean NME or when ``landmarks`` is set (a metric whose ``reads_landmarks`` is True).
        ``pose`` / ``ids``: include the poses / sample ids (a metric that needs neither reads
        neither from a run file).
        """
        from faceval.metrics.view import MetricView

        from faceval.metrics.bins import BIN_SPLITS, bin_index
        from faceval.schemes import point_subset

        idx = np.asarray(self.splits[split], dtype=np.int64)
        # the pooled and point-mean NMEs read the landmark arrays of the scored points; a metric
        # with reads_landmarks (the group NMEs, indexed on the full scheme) reads every point;
        # a pose-only run has none
        pooled = self.protocol.aggregation in ("pooled", "point-mean")
        read = (landmarks or pooled) and not self.pose_only  # else no landmark array is read
        needed = (([] if self.pose_only else ["nme"]) + ["failed_inputs"] + (["pose_pred", "pose_gt"] if pose else [])
                  + (["sample_ids"] if ids else []))
        if read:
            needed += ["predictions", "ground_truth", "normalizers"] + (["visible"] if self.protocol.visible_only else [])
        self.prefetch(needed)
        with_pose = pose and self.pose_pred is not None and self.pose_gt is not None
        points = point_subset(self.scheme, self.protocol.points) if pooled and not landmarks and read else None
        cols = slice(None) if points is None else np.asarray(points, dtype=np.int64)
        n_all = int(np.asarray(self.failed_inputs).size)
        bins = (bin_index(self.dataset, self.splits, n_all)
                if self.dataset in BIN_SPLITS and not self.pose_only else None)
        return MetricView(
            nme=None if self.pose_only else np.asarray(self.nme, dtype=np.float64)[idx],
            failed_inputs=np.asarray(self.failed_inputs, dtype=bool)[idx],
            protocol=self.protocol,
            predictions=np.asarray(self.predictions)[idx][:, cols] if read else None,
            ground_truth=np.asarray(self.ground_truth)[idx][:, cols] if read else None,
            normalizers=np.asarray(self.normalizers, dtype=np.float64)[idx] if read else None,
            visible=(np.asarray(self.visible, dtype=bool)[idx][:, cols]
                     if read and self.protocol.visible_only else None),
            pose_pred=np.asarray(self.pose_pred, dtype=np.float64)[idx] if with_pose else None,
            pose_gt=np.asarray(self.pose_gt, dtype=np.float64)[idx] if with_pose else None,
            sample_ids=np.asarray(self.sample_ids)[idx] if ids else None,
            scheme=self.scheme,
            bins=None if bins is None else bins[idx],
            n_bins=len(BIN_SPLITS.get(self.dataset, ())) if bins is not None else 0,
        )

    def split_nme(self, split: str) -> np.ndarray:
        """Per-image NME of one split (fractions; inf for failures); InputError for a pose-only run."""
        if self.pose_only:
            from faceval.errors import InputError

            raise InputError(f"run '{self.label}' is pose-only: it has no landmark predictions and no NME")
        return self.nme[self.splits[split]]


def pose_label_difference(run: "RunData", baseline: "RunData") -> ProtocolDifference | None:
    """``pose labels`` (their sources and how many common samples differ) when the two runs'
    pose ground truth differs on a sample both hold, else None.

    The label source is informative in the protocol (a sidecar path is machine-local), so the
    labels themselves are compared: pose MAE, bias and correlation against other labels are
    other numbers, whatever the files are called.
    """
    if run.pose_gt is None or baseline.pose_gt is None:
        return None
    a_ids = np.asarray(run.sample_ids).astype(str)
    b_ids = np.asarray(baseline.sample_ids).astype(str)
    _, ia, ib = np.intersect1d(a_ids, b_ids, return_indices=True)
    a = np.asarray(run.pose_gt, dtype=np.float64)[ia]
    b = np.asarray(baseline.pose_gt, dtype=np.float64)[ib]
    differ = int(np.count_nonzero(~((a == b) | (np.isnan(a) & np.isnan(b))).all(axis=1)))
    if not differ:
        return None
    count = f" ({differ} of {len(ia)} common samples differ)"
    return ProtocolDifference("pose labels", (run.protocol.pose_source or "unnamed") + count,
                              baseline.protocol.pose_source or "unnamed")


def run_differences(run: "RunData", other: "RunData", *, pose_labels: bool = True) -> list[ProtocolDifference]:
    """:meth:`Protocol.differences` of two runs (``this`` = run), then :func:`pose_label_difference`:
    the one comparison of gate and report. ``pose_labels``: compare the pose labels too (they
    determine the pose metrics only: a comparison of landmark metrics leaves them unread)."""
    diffs = run.protocol.differences(other.protocol)
    labels = pose_label_difference(run, other) if pose_labels else None
    return diffs + ([labels] if labels is not None else [])
