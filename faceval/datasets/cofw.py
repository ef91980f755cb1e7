"""COFW: ``COFW_test_color.mat`` and ``COFW_train_color.mat`` (MATLAB v7.3) under ``<root>/cofw/``.

Sample ids are ``test/<i>`` and ``train/<i>`` (i = 0-based row). Landmarks and boxes are 0-based
(see :mod:`faceval.io.cofw`); ``visible`` is the negated occlusion flag. Images live inside the
``.mat``: ``image_paths`` are all None and :func:`image_loader` decodes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from faceval.datasets.base import Annotations
from faceval.datasets.common import is_regular_file, make_annotations
from faceval.datasets.manifest import check_count, load_manifest
from faceval.errors import InputError
from faceval.io.cofw import CofwImages, read_cofw_mat

NAME = "cofw"


def mat_path(root: Path, split: str) -> Path:
    """Path of the ``.mat`` holding ``split``."""
    return root / NAME / load_manifest(NAME)["mat_files"][split]


def load(root: Path | None, splits: tuple[str, ...], *, strict: bool, manifest: dict[str, Any],
         need_images: bool = True) -> Annotations:
    """Load the requested COFW splits; order: the splits in request order, rows in file order.

    ``need_images`` is accepted for the common loader signature; COFW's images live in the ``.mat``.
    """
    assert root is not None
    base = root / NAME
    if not base.is_dir():
        raise InputError(f"COFW folder not found (expected layout: {manifest['layout']})", path=base)
    warnings: list[str] = []
    ids: list[str] = []
    landmarks, visible, boxes = [], [], []
    split_index: dict[str, np.ndarray] = {}
    for split in splits:
        path = mat_path(root, split)
        expected = manifest["splits"][split].get("count")
        regular = is_regular_file(path)
        if regular is False:
            warnings.append(f"{NAME}: skipped {path}: not a regular file")
        if not regular:
            if strict:
                raise InputError(f"COFW {split} file not found", path=path)
            split_index[split] = np.empty(0, dtype=np.int64)
            check_count(NAME, split, 0, expected, strict=False, warnings=warnings)
            continue
        data = read_cofw_mat(path, split)
        split_index[split] = np.arange(len(ids), len(ids) + len(data), dtype=np.int64)
        ids += [f"{split}/{i}" for i in range(len(data))]
        landmarks.append(data.landmarks)
        visible.append(~data.occluded)
        boxes.append(data.boxes)
        check_count(NAME, split, len(data), expected, strict=strict, warnings=warnings)
    if not ids:
        raise InputError(f"no COFW .mat file found under {base} (expected layout: {manifest['layout']})")
    return make_annotations(dataset=NAME, scheme="cofw", sample_ids=ids, image_paths=[None] * len(ids),
                            landmarks=np.concatenate(landmarks), visible=np.concatenate(visible),
                            boxes=np.concatenate(boxes), splits=split_index, warnings=warnings, data_root=root)


def image_loader(annotations: Annotations) -> Callable[[int], np.ndarray]:
    """A callable ``load(i) -> (H, W, 3) uint8 RGB`` for sample ``i`` of COFW ``annotations``.

    Opens each split's ``.mat`` once, on first use, and keeps it open (h5py serialises reads:
    call it from one thread or accept serial decoding). ``load.close()`` closes the files.
    """
    if annotations.data_root is None:
        raise InputError("COFW annotations without a data root: cannot locate the .mat files")
    root = Path(annotations.data_root)
    handles: dict[str, CofwImages] = {}
    sample_ids = annotations.sample_ids

    def load_image(index: int) -> np.ndarray:
        split, _, row = sample_ids[index].partition("/")
        if split not in handles:
            handles[split] = CofwImages(mat_path(root, split), split)
        return handles[split](int(row))

    def close() -> None:
        for handle in handles.values():
            handle.close()
        handles.clear()

    load_image.close = close  # type: ignore[attr-defined]
    return load_image


def absent_sample(sample_id: str, present: frozenset[str], root: Path | None, manifest: dict[str, Any]) -> bool:
    """``test/<i>`` or ``train/<i>`` within the manifest's count while that split's file is absent."""
    split, _, row = sample_id.partition("/")
    if split not in manifest["mat_files"] or not row.isdigit() or not row.isascii() or root is None:
        return False
    return int(row) < int(manifest["splits"][split]["count"]) and not is_regular_file(mat_path(root, split))
