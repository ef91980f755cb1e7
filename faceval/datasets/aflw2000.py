"""AFLW2000-3D: ``<root>/aflw2000/AFLW2000/imageXXXXX.{jpg,mat}``.

Sample ids are the image file names (``image00002.jpg``). Landmarks are ``pt3d_68[:2].T`` (scheme
``300w``, as stored); ``box_sizes`` is ``sqrt(w * h)`` of each face's 2D landmark box (the usual
AFLW2000-3D NME normaliser; the files carry no other box); poses are degrees yaw, pitch, roll from
``Pose_Para``. Splits: ``all`` (2000) and ``test`` (the 1969 faces whose three angles are within
+-99 degrees). A ``.mat`` without its image keeps its sample with ``image_paths[i] = None``
(warning; InputError when strict).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from faceval.datasets.base import Annotations
from faceval.datasets.common import (IMAGE_EXTENSIONS, empty_annotations_error, list_folder, make_annotations,
                                     report_missing_images, report_skipped)
from faceval.datasets.manifest import check_count
from faceval.errors import InputError
from faceval.io.aflw import landmark_box_size, read_aflw2000_mat

NAME = "aflw2000"


def load(root: Path | None, splits: tuple[str, ...], *, strict: bool, manifest: dict[str, Any],
         need_images: bool = True) -> Annotations:
    """Load AFLW2000-3D (every ``.mat`` in the folder, sorted by id; the folder is listed once)."""
    assert root is not None
    base = root / NAME / manifest["folder"]
    if not base.is_dir():
        raise InputError(f"AFLW2000-3D folder not found (expected layout: {manifest['layout']})", path=base)
    listing = list_folder(base, (".mat",) + IMAGE_EXTENSIONS)
    warnings: list[str] = []
    report_skipped(NAME, listing, warnings)
    mats = listing.with_suffix(".mat")
    if not mats:
        raise empty_annotations_error(NAME, base, manifest["layout"])
    ids: list[str] = []
    images: list[Path | None] = []
    missing: list[str] = []
    records = []
    for mat in mats:
        stem = mat[: -len(".mat")]
        image_name = listing.image_for(stem)
        sid = image_name if image_name is not None else stem + ".jpg"
        ids.append(sid)
        images.append(None if image_name is None else base / image_name)
        if image_name is None:
            missing.append(sid)
        records.append(read_aflw2000_mat(base / mat))
    landmarks = np.stack([r.landmarks for r in records])
    poses = np.stack([r.pose for r in records])
    limit = float(manifest.get("pose_limit_degrees", 99.0))
    in_range = np.flatnonzero((np.abs(poses) <= limit).all(axis=1))
    available = {"all": np.arange(len(ids), dtype=np.int64), "test": in_range.astype(np.int64)}
    split_index = {s: available[s] for s in splits}
    for split in splits:
        check_count(NAME, split, len(split_index[split]), manifest["splits"][split].get("count"), strict=strict,
                    warnings=warnings)
    report_missing_images(NAME, missing, strict=strict, warnings=warnings, where=base, need_images=need_images)
    return make_annotations(dataset=NAME, scheme="300w", sample_ids=ids, image_paths=images, landmarks=landmarks,
                            box_sizes=landmark_box_size(landmarks), poses=poses, splits=split_index,
                            warnings=warnings, data_root=root, pose_source="dataset")


_ID = re.compile(r"image\d{5}\.jpg")


def present_ids(root: Path | None, manifest: dict[str, Any]) -> list[str]:
    """Every AFLW2000-3D id under ``root`` (both splits), from the folder listing."""
    if root is None:
        return []
    listing = list_folder(root / NAME / manifest["folder"], (".mat",))
    return [listing.image_for(m[:-4]) or m[:-4] + ".jpg" for m in listing.with_suffix(".mat")]


def absent_sample(sample_id: str, present: frozenset[str], root: Path | None, manifest: dict[str, Any]) -> bool:
    """An AFLW2000-3D file name while this copy holds fewer than the manifest's images."""
    return bool(_ID.fullmatch(sample_id)) and len(present) < int(manifest["splits"]["all"]["count"])
