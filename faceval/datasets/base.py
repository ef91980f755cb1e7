"""The in-memory form every dataset loader produces.

All coordinates are 0-based pixel coordinates of the original image, pixel
centres at integers (``.pts`` and COFW files are 1-based on disk; loaders
subtract 1). Poses are degrees in the order yaw, pitch, roll.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class PartialParent:
    """The partial split of a dataset copy that a split of unknown size is part of.

    ``n`` samples of ``split`` are present in this copy, of ``n_expected`` in the complete one.
    """

    split: str
    n: int
    n_expected: int


@dataclass
class Annotations:
    """Ground truth of one dataset selection (one or more splits).

    Attributes:
        dataset: registry name, e.g. ``"300w"``.
        scheme: landmark scheme name of ``landmarks`` (``"300w"``, ``"wflw"``, ...).
        sample_ids: stable ids in canonical order (see README, "Sample ids").
        image_paths: absolute image path per sample (``None`` when unknown).
        landmarks: ``(N, K, 2)`` float64 ground truth.
        visible: ``(N, K)`` bool, False where the dataset flags a point occluded.
        boxes: ``(N, 4)`` float64 dataset face rectangle ``x_min, y_min, x_max, y_max``;
            NaN rows where the dataset gives none.
        box_sizes: ``(N,)`` float64 dataset-given normaliser size (AFLW), NaN where none.
        poses: ``(N, 3)`` float64 yaw, pitch, roll in degrees, NaN where unknown.
        attributes: name -> ``(N,)`` array of per-sample attribute values.
        splits: split name -> sorted int64 indices into the samples.
        warnings: human-readable data warnings (e.g. fewer files than the manifest).
        manifest_sha256: hash of the dataset manifest used, if any.
        pose_source: where pose labels came from (``"dataset"``, a sidecar path, or ``None``).
        partial_parents: split of unknown size -> the partial split of this copy it is part of
            (AFLW2000-3D's yaw bins within a partial ``test``), whether or not that split is loaded.
    """

    dataset: str
    scheme: str
    sample_ids: list[str]
    image_paths: list[Path | None]
    landmarks: np.ndarray
    visible: np.ndarray
    boxes: np.ndarray
    box_sizes: np.ndarray
    poses: np.ndarray
    attributes: dict[str, np.ndarray] = field(default_factory=dict)
    splits: dict[str, np.ndarray] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    manifest_sha256: str | None = None
    pose_source: str | None = None
    data_root: Path | None = None
    partial_parents: dict[str, PartialParent] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.sample_ids)

    @property
    def num_points(self) -> int:
        return int(self.landmarks.shape[1])

    @property
    def has_pose(self) -> bool:
        return bool(np.isfinite(self.poses).all(axis=1).any())

    def select(self, indices: np.ndarray) -> "Annotations":
        """A new selection of the given sample rows (sorted), with splits remapped to it."""
        rows = np.unique(np.asarray(indices, dtype=np.int64))
        position = np.full(len(self.sample_ids), -1, dtype=np.int64)
        position[rows] = np.arange(len(rows))
        splits = {}
        for name, idx in self.splits.items():
            mapped = position[np.asarray(idx, dtype=np.int64)]
            splits[name] = mapped[mapped >= 0]
        return Annotations(
            dataset=self.dataset,
            scheme=self.scheme,
            sample_ids=[self.sample_ids[i] for i in rows],
            image_paths=[self.image_paths[i] for i in rows],
            landmarks=self.landmarks[rows],
            visible=self.visible[rows],
            boxes=self.boxes[rows],
            box_sizes=self.box_sizes[rows],
            poses=self.poses[rows],
            attributes={k: np.asarray(v)[rows] for k, v in self.attributes.items()},
            splits=splits,
            warnings=list(self.warnings),
            manifest_sha256=self.manifest_sha256,
            pose_source=self.pose_source,
            data_root=self.data_root,
            partial_parents=dict(self.partial_parents),
        )
