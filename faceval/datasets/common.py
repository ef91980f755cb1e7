"""Helpers shared by the dataset loaders: image lookup, missing-image policy, assembling Annotations."""

from __future__ import annotations

from contextvars import ContextVar

from pathlib import Path
from typing import Sequence

import numpy as np

from faceval.datasets.base import Annotations
from faceval.errors import InputError

#: image extensions looked for beside an annotation file, in order
IMAGE_EXTENSIONS = (".jpg", ".png", ".jpeg", ".ppm", ".bmp", ".JPG", ".PNG", ".JPEG")


def find_image(annotation: Path) -> Path | None:
    """The image beside ``annotation`` (same stem, a known image extension), or None."""
    for ext in IMAGE_EXTENSIONS:
        candidate = annotation.with_suffix(ext)
        if candidate.is_file():
            return candidate
    return None


#: False while loading for a caller that never opens images (``faceval score``): missing
#: images are then neither warned about nor, with ``strict``, an error.
IMAGES_NEEDED: ContextVar[bool] = ContextVar("faceval_images_needed", default=True)


def report_missing_images(dataset: str, missing: Sequence[str], *, strict: bool, warnings: list[str],
                          where: Path | None = None) -> None:
    """Policy for annotations whose image is absent.

    The sample is kept (its ground truth is complete, and ``faceval score`` needs no images) with
    ``image_paths[i] = None``; a warning names the count and the first few. With ``strict`` the
    first missing image raises InputError naming its path.
    """
    if not missing or not IMAGES_NEEDED.get():
        return
    if strict:
        raise InputError("image not found for an annotation (strict mode)",
                         path=(where / missing[0]) if where else missing[0])
    shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
    warnings.append(f"{dataset}: {len(missing)} annotation(s) have no image ({shown}); "
                    "kept without an image path")


def empty_annotations_error(dataset: str, base: Path, layout: str) -> InputError:
    return InputError(f"no {dataset} samples found under {base} (expected layout: {layout})")


def make_annotations(*, dataset: str, scheme: str, sample_ids: list[str], image_paths: list[Path | None],
                     landmarks: np.ndarray, visible: np.ndarray | None = None, boxes: np.ndarray | None = None,
                     box_sizes: np.ndarray | None = None, poses: np.ndarray | None = None,
                     attributes: dict[str, np.ndarray] | None = None, splits: dict[str, np.ndarray],
                     warnings: list[str], data_root: Path | None, pose_source: str | None = None) -> Annotations:
    """Build :class:`Annotations`, filling absent arrays with their documented defaults."""
    n = len(sample_ids)
    landmarks = np.asarray(landmarks, dtype=np.float64).reshape(n, -1, 2)
    k = landmarks.shape[1]
    return Annotations(
        dataset=dataset,
        scheme=scheme,
        sample_ids=list(sample_ids),
        image_paths=list(image_paths),
        landmarks=landmarks,
        visible=np.ones((n, k), dtype=bool) if visible is None else np.asarray(visible, dtype=bool),
        boxes=np.full((n, 4), np.nan) if boxes is None else np.asarray(boxes, dtype=np.float64),
        box_sizes=np.full(n, np.nan) if box_sizes is None else np.asarray(box_sizes, dtype=np.float64),
        poses=np.full((n, 3), np.nan) if poses is None else np.asarray(poses, dtype=np.float64),
        attributes=dict(attributes or {}),
        splits={name: np.asarray(idx, dtype=np.int64) for name, idx in splits.items()},
        warnings=warnings,
        data_root=data_root,
        pose_source=pose_source,
    )
