"""300W: folders of images, each beside its 68-point ``.pts`` file.

Layout ``<root>/300w/<folder>/<image>.{jpg,png}`` + ``<image>.pts``; the folders of each split come
from the manifest. Sample ids are image paths relative to ``<root>/300w/`` (``/`` separators).
Canonical order: folders in the order the requested splits name them, sorted ids within a folder.

Missing files: a folder holding fewer annotations than the manifest gives a count warning
(InputError when strict); an annotation without its image keeps its sample (ground truth is
complete; ``faceval score`` needs no images) with ``image_paths[i] = None`` and the id built with
the folder's usual image extension, plus a warning (InputError when strict). Images without an
annotation are ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from faceval.datasets.base import Annotations
from faceval.datasets.common import (IMAGE_EXTENSIONS, empty_annotations_error, list_folder, make_annotations, report_missing_images,
                                     report_skipped)
from faceval.datasets.manifest import check_count
from faceval.errors import InputError
from faceval.io.pts import read_pts

NAME = "300w"


def read_pts_folder(base: Path, folder: str, default_ext: str, expected_points: int = 68,
                    warnings: list[str] | None = None) -> tuple[list[str], list[Path | None], list[np.ndarray], list[str]]:
    """Read every ``.pts`` in ``base/folder``; return ids, image paths, landmarks and ids lacking an image.

    Sorted by id. ``folder`` may be ``""`` (ids are then bare file names). The folder is listed
    once (no stat per image); entries that are not regular files (a FIFO named ``x.pts`` would
    block the reader forever) are skipped with a warning appended to ``warnings``.
    """
    directory = base / folder if folder else base
    listing = list_folder(directory, (".pts",) + IMAGE_EXTENSIONS)
    if warnings is not None:
        report_skipped(NAME, listing, warnings)
    records = []
    for pts_name in listing.with_suffix(".pts"):
        stem = pts_name[: -len(".pts")]
        image_name = listing.image_for(stem)
        name = image_name if image_name is not None else stem + default_ext
        sid = f"{folder}/{name}" if folder else name
        records.append((sid, None if image_name is None else directory / image_name, directory / pts_name))
    records.sort(key=lambda r: r[0])
    ids = [r[0] for r in records]
    images = [r[1] for r in records]
    landmarks = [read_pts(r[2], expected_points) for r in records]
    missing = [r[0] for r in records if r[1] is None]
    return ids, images, landmarks, missing


def load(root: Path | None, splits: tuple[str, ...], *, strict: bool, manifest: dict[str, Any],
         need_images: bool = True) -> Annotations:
    """Load the requested 300W splits (see module docstring)."""
    assert root is not None
    base = root / NAME
    if not base.is_dir():
        raise InputError(f"300W folder not found (expected layout: {manifest['layout']})", path=base)
    split_defs = manifest["splits"]
    folder_defs = manifest["folders"]
    folders: list[str] = []
    for split in splits:
        for folder in split_defs[split]["folders"]:
            if folder not in folders:
                folders.append(folder)
    warnings: list[str] = []
    ids: list[str] = []
    images: list[Path | None] = []
    landmarks: list[np.ndarray] = []
    missing: list[str] = []
    folder_index: dict[str, np.ndarray] = {}
    for folder in folders:
        f_ids, f_images, f_landmarks, f_missing = read_pts_folder(base, folder, folder_defs[folder]["image_ext"],
                                                                   warnings=warnings)
        folder_index[folder] = np.arange(len(ids), len(ids) + len(f_ids), dtype=np.int64)
        ids += f_ids
        images += f_images
        landmarks += f_landmarks
        missing += f_missing
    split_index = {s: np.concatenate([folder_index[f] for f in split_defs[s]["folders"]]) for s in splits}
    for split in splits:
        check_count(NAME, split, len(split_index[split]), split_defs[split].get("count"), strict=strict,
                    warnings=warnings)
    report_missing_images(NAME, missing, strict=strict, warnings=warnings, where=base, need_images=need_images)
    if not ids:
        raise empty_annotations_error(NAME, base, manifest["layout"])
    return make_annotations(dataset=NAME, scheme="300w", sample_ids=ids, image_paths=images,
                            landmarks=np.stack(landmarks), splits=split_index, warnings=warnings, data_root=root)


def _folders(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return manifest["folders"]


def present_ids(root: Path | None, manifest: dict[str, Any]) -> list[str]:
    """Every 300W sample id under ``root`` (all folders), from folder listings only."""
    if root is None:
        return []
    ids = []
    for folder, definition in _folders(manifest).items():
        listing = list_folder(root / NAME / folder, (".pts",))
        for pts_name in listing.with_suffix(".pts"):
            stem = pts_name[: -len(".pts")]
            ids.append(f"{folder}/{listing.image_for(stem) or stem + definition['image_ext']}")
    return ids


def absent_sample(sample_id: str, present: frozenset[str], root: Path | None, manifest: dict[str, Any]) -> bool:
    """An id in a 300W folder that holds fewer samples here than the manifest counts."""
    folder, _, name = sample_id.rpartition("/")
    definition = _folders(manifest).get(folder)
    if definition is None or not name.endswith(IMAGE_EXTENSIONS) or name.startswith("."):
        return False
    found = sum(1 for sid in present if sid.rpartition("/")[0] == folder)
    return found < int(definition["count"])


def layout_candidates(path: str, manifest: dict[str, Any]) -> list[str]:
    """Ids named by an image path that contains a 300W folder (``.../helen/trainset/x.jpg``)."""
    parts = path.replace("\\", "/").split("/")
    out = []
    for folder in _folders(manifest):
        depth = folder.count("/") + 1
        if len(parts) > depth and "/".join(parts[-depth - 1:-1]) == folder:
            out.append(f"{folder}/{parts[-1]}")
    return out
