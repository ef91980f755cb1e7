"""AFLW2000-3D: ``<root>/aflw2000/AFLW2000/imageXXXXX.{jpg,mat}``.

Sample ids are the image file names (``image00002.jpg``). Landmarks are ``pt3d_68[:2].T`` (scheme
``300w``, as stored); ``box_sizes`` is ``sqrt(w * h)`` of each face's 2D landmark box (the usual
AFLW2000-3D NME normaliser; the files carry no other box); poses are degrees yaw, pitch, roll from
``Pose_Para``. Splits: ``all`` (2000), ``test`` (the 1969 faces whose three angles are within
+-99 degrees) and the yaw bins papers report (3DDFA): ``yaw0-30`` (``|yaw| <= 30``), ``yaw30-60``
(``30 < |yaw| <= 60``) and ``yaw60-90`` (``|yaw| > 60``), each a subset of ``test``. The bins compare
``|yaw|`` in degrees rounded to :data:`BIN_DECIMALS` decimals, so a yaw stored as the radians of
exactly 30 (or 60) degrees, in float64 or float32, falls in the lower bin as the degrees it means.
A ``.mat`` without its image keeps its sample with ``image_paths[i] = None`` (warning; InputError
when strict).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from faceval.datasets.base import Annotations, PartialParent
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
    available.update(yaw_bins(poses[:, 0], in_range, manifest["yaw_bins"]))
    split_index = {s: available[s] for s in splits}
    for split in splits:
        check_count(NAME, split, len(split_index[split]), manifest["splits"][split].get("count"), strict=strict,
                    warnings=warnings)
    report_missing_images(NAME, missing, strict=strict, warnings=warnings, where=base, need_images=need_images)
    ann = make_annotations(dataset=NAME, scheme="300w", sample_ids=ids, image_paths=images, landmarks=landmarks,
                           box_sizes=landmark_box_size(landmarks), poses=poses, splits=split_index,
                           warnings=warnings, data_root=root, pose_source="dataset")
    # the yaw bins have no known size: within a partial 'test' they are partial too
    test_count = manifest["splits"][BIN_PARENT].get("count")
    if isinstance(test_count, int) and len(in_range) < test_count:
        ann.partial_parents = {s: PartialParent(BIN_PARENT, int(len(in_range)), test_count)
                               for s in splits if s in manifest["yaw_bins"]}
    return ann


#: the split every yaw bin is a subset of
BIN_PARENT = "test"


#: decimals of the degrees compared with the yaw-bin edges (1e-5 degrees: below float32 radians noise)
BIN_DECIMALS = 5


def yaw_bins(yaw_degrees: np.ndarray, candidates: np.ndarray, edges: dict[str, list[float | None]]
             ) -> dict[str, np.ndarray]:
    """Bin name -> sorted indices of ``candidates`` whose ``|yaw|`` lies in ``(low, high]``.

    ``edges`` maps each bin to ``[low, high]`` in degrees (None: open); the lowest bin includes 0.
    """
    magnitude = np.round(np.abs(np.asarray(yaw_degrees, dtype=np.float64)[candidates]), BIN_DECIMALS)
    out = {}
    for name, (low, high) in edges.items():
        keep = np.ones(len(candidates), dtype=bool)
        if low is not None:
            keep &= magnitude > low
        if high is not None:
            keep &= magnitude <= high
        out[name] = np.asarray(candidates, dtype=np.int64)[keep]
    return out


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
