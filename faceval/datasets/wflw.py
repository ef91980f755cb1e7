"""WFLW: full annotation lists (test 2500, train 7500) and images under ``WFLW_images/``.

Sample ids are ``<image path relative to WFLW_images>#<k>`` (k = index of the face among that
image's lines, in file order). The six attribute splits are the test faces whose flag is 1; when
the official attribute lists are present they are cross-checked (a difference is a warning).
Without the full test list, the test split and its subsets come from the 197-token lists of
``list_98pt_test/`` (see :mod:`faceval.datasets.wflw_attributes`; no rectangles). A missing or
empty train list leaves the test split intact (a warning; an error when strict).
Coordinates are taken as stored (0-based, no shift); boxes are the list's rectangle; the six flags
are exposed as ``attributes`` (int8, -1 none). Canonical order: the test list's lines, then the
train list's, each in file order. An annotation whose image is absent keeps its sample with
``image_paths[i] = None`` and a warning (InputError when strict).
"""

from __future__ import annotations

from collections import Counter
import re
from pathlib import Path
from typing import Any

import numpy as np

from faceval.datasets.base import Annotations
from faceval.datasets.common import is_regular_file, make_annotations, report_missing_images
from faceval.datasets.manifest import check_count
from faceval.errors import InputError
from faceval.datasets.wflw_attributes import build_test_set
from faceval.io.wflw import ATTRIBUTE_LIST_NAMES, ATTRIBUTE_NAMES, WflwList, read_wflw_attribute_list, read_wflw_list

NAME = "wflw"


def load(root: Path | None, splits: tuple[str, ...], *, strict: bool, manifest: dict[str, Any],
         need_images: bool = True) -> Annotations:
    """Load the requested WFLW splits (see module docstring).

    With ``need_images=False`` (``faceval score``) no image file is looked at: ``image_paths``
    are then all None.
    """
    assert root is not None
    base = root / NAME
    if not base.is_dir():
        raise InputError(f"WFLW folder not found (expected layout: {manifest['layout']})", path=base)
    split_defs = manifest["splits"]
    lists_needed = [name for name in ("test", "train") if any(split_defs[s]["list"] == name for s in splits)]
    warnings: list[str] = []
    parts: list[tuple[str, WflwList, int, list[str]]] = []
    offset = 0
    from_attribute_lists = False
    for list_name in lists_needed:
        path = base / manifest["lists"][list_name]
        regular = is_regular_file(path)
        if regular is False:
            warnings.append(f"{NAME}: skipped {path}: not a regular file")
        fallback = build_test_set(base, manifest) if list_name == "test" and not regular else None
        if fallback is not None:
            from_attribute_lists = True
            warnings.append(f"{NAME}: full test list {path.name} not found; test faces from {fallback.source} "
                            "(no face rectangles: --box dataset cannot be used)")
            for name, count in fallback.unmatched.items():
                warnings.append(f"{NAME}: {count} face(s) of {name} are not in the test list")
            parts.append((list_name, fallback.faces, offset, fallback.ids))
            offset += len(fallback.faces)
            continue
        if not regular:
            if strict:
                raise InputError(f"WFLW {list_name} list not found (expected layout: {manifest['layout']})", path=path)
            warnings.append(f"{NAME}: {list_name} list not found: {path}")
            continue
        if list_name == "train" and _blank(path):  # an empty test list is a broken file: the reader says so
            if strict:
                raise InputError(f"WFLW {list_name} list is empty", path=path)
            warnings.append(f"{NAME}: {list_name} list is empty: {path}")
            continue
        parsed = read_wflw_list(path)
        parts.append((list_name, parsed, offset, parsed.face_ids()))
        offset += len(parsed)
    if not parts:
        raise InputError(f"no WFLW annotation list found under {base} (expected layout: {manifest['layout']})")

    ids: list[str] = []
    images: list[Path | None] = []
    missing: list[str] = []
    skipped: list[str] = []
    image_root = base / "WFLW_images"
    for _, parsed, _, part_ids in parts:
        ids += part_ids
        if not need_images:
            images += [None] * len(parsed)
            continue
        for rel in parsed.image_paths:
            path = image_root / rel
            regular = is_regular_file(path)
            images.append(path if regular else None)
            if not regular:
                missing.append(rel)
            if regular is False:
                skipped.append(rel)
    if skipped:
        warnings.append(f"{NAME}: skipped {len(skipped)} image(s) that are not regular files ({', '.join(skipped[:3])})")
    landmarks = np.concatenate([p.landmarks for _, p, _, _ in parts])
    boxes = np.concatenate([p.boxes for _, p, _, _ in parts])
    flags = np.concatenate([p.flags for _, p, _, _ in parts])
    ranges = {name: np.arange(off, off + len(p), dtype=np.int64) for name, p, off, _ in parts}

    split_index: dict[str, np.ndarray] = {}
    for split in splits:
        definition = split_defs[split]
        rows = ranges.get(definition["list"], np.empty(0, dtype=np.int64))
        if "flag" in definition:
            rows = rows[flags[rows, ATTRIBUTE_NAMES.index(definition["flag"])] == 1]
        split_index[split] = rows
        check_count(NAME, split, len(rows), definition.get("count"), strict=strict, warnings=warnings)
        if "flag" in definition and "test" in ranges and not from_attribute_lists:
            _cross_check(base, manifest, split, definition["flag"], [ids[i] for i in rows], landmarks[rows],
                         warnings)
    report_missing_images(NAME, missing, strict=strict, warnings=warnings, where=image_root, need_images=need_images)
    attributes = {name: flags[:, k].copy() for k, name in enumerate(ATTRIBUTE_NAMES)}
    return make_annotations(dataset=NAME, scheme="wflw", sample_ids=ids, image_paths=images, landmarks=landmarks,
                            boxes=boxes, attributes=attributes, splits=split_index, warnings=warnings,
                            data_root=root)


def _blank(path: Path) -> bool:
    """True for a list file holding nothing but white space (an empty train list, say)."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
        return not head.strip() and not handle.read(1)


def _row_keys(image_paths: list[str], landmarks: np.ndarray) -> Counter:
    rounded = np.round(landmarks, 3).reshape(len(landmarks), -1)
    return Counter((image, row.tobytes()) for image, row in zip(image_paths, rounded))


def _cross_check(base: Path, manifest: dict[str, Any], split: str, flag: str, ids: list[str],
                 landmarks: np.ndarray, warnings: list[str]) -> None:
    """Compare the flagged faces with the official attribute list, when present."""
    path = base / manifest["attribute_lists"][ATTRIBUTE_LIST_NAMES[flag]]
    if not path.is_file():
        return
    official = read_wflw_attribute_list(path)
    images = [sid.rsplit("#", 1)[0] for sid in ids]
    ours = _row_keys(images, landmarks)
    theirs = _row_keys(official.image_paths, official.landmarks)
    if ours == theirs:
        return
    only_ours = sum((ours - theirs).values())
    only_theirs = sum((theirs - ours).values())
    warnings.append(f"{NAME}:{split}: the {flag} flags of the test list select {len(ids)} faces, the official "
                    f"attribute list {path.name} has {len(official)}; {only_ours} flagged face(s) not in the list, "
                    f"{only_theirs} listed face(s) not flagged")


_ID = re.compile(r"[^/#]+/[^/#]+\.(?:jpg|png)#\d+")


def absent_sample(sample_id: str, present: frozenset[str], root: Path | None, manifest: dict[str, Any]) -> bool:
    """A WFLW-shaped id (``<event>/<image>.jpg#k``) while one of the two lists is absent here."""
    if not _ID.fullmatch(sample_id) or root is None:
        return False
    return any(not is_regular_file(root / NAME / rel) for rel in manifest["lists"].values())
