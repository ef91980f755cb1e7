"""Helpers shared by the dataset loaders: image lookup, missing-image policy, assembling Annotations."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from faceval.datasets.base import Annotations
from faceval.errors import InputError

#: image extensions looked for beside an annotation file, in order
IMAGE_EXTENSIONS = (".jpg", ".png", ".jpeg", ".ppm", ".bmp", ".JPG", ".PNG", ".JPEG")


@dataclass
class FolderListing:
    """One folder's regular files by name, read with a single directory scan (no stat per file).

    ``skipped`` holds the names of non-regular entries (FIFOs, sockets, devices, folders) whose
    name ends in one of the suffixes asked for: opening a FIFO would block forever.
    """

    directory: Path
    files: set[str] = field(default_factory=set)
    skipped: list[str] = field(default_factory=list)

    def with_suffix(self, suffix: str) -> list[str]:
        """Regular files ending in ``suffix``, sorted."""
        return sorted(name for name in self.files if name.endswith(suffix))

    def image_for(self, stem: str) -> str | None:
        """The name of the image with ``stem`` (a known image extension, in order), or None."""
        for ext in IMAGE_EXTENSIONS:
            if stem + ext in self.files:
                return stem + ext
        return None


def list_folder(directory: Path, suffixes: Sequence[str]) -> FolderListing:
    """Scan ``directory`` once; regular files (or links to them) and skipped non-regular entries.

    Only entries whose type the scan does not report (rare file systems) or symbolic links are
    stat-ed. A folder that cannot be listed gives an empty listing (the loaders report it).
    """
    listing = FolderListing(directory)
    try:
        entries = list(os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return listing
    except OSError as exc:
        raise InputError(f"cannot list the folder: {exc.strerror or exc}", path=directory) from None
    wanted = tuple(suffixes)
    for entry in entries:
        try:
            regular = entry.is_file()  # d_type; follows a symbolic link to its target
        except OSError:
            regular = False
        if regular:
            listing.files.add(entry.name)
        elif entry.name.endswith(wanted):
            listing.skipped.append(entry.name)
    listing.skipped.sort()
    return listing


def report_skipped(dataset: str, listing: FolderListing, warnings: list[str]) -> None:
    """Warn once per folder about non-regular files that look like data (a FIFO named x.pts, ...)."""
    if listing.skipped:
        shown = ", ".join(listing.skipped[:3]) + (", ..." if len(listing.skipped) > 3 else "")
        warnings.append(f"{dataset}: skipped {len(listing.skipped)} entr{'y' if len(listing.skipped) == 1 else 'ies'} "
                        f"of {listing.directory} that are not regular files ({shown})")


def is_regular_file(path: Path) -> bool | None:
    """True for a regular file, False for an existing non-regular one (FIFO, device, ...), None when absent."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return None


def report_missing_images(dataset: str, missing: Sequence[str], *, strict: bool, warnings: list[str],
                          where: Path | None = None, need_images: bool = True) -> None:
    """Policy for annotations whose image is absent.

    The sample is kept (its ground truth is complete, and ``faceval score`` needs no images) with
    ``image_paths[i] = None``; a warning names the count and the first few. With ``strict`` the
    first missing image raises InputError naming its path. With ``need_images=False`` (a caller
    that never opens images, ``faceval score``) nothing is reported.
    """
    if not missing or not need_images:
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
