"""The bundled sample: three real photos with official ``.pts`` files (needs no data root).

Sample ids are the image file names; one split, ``all``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from faceval.datasets.base import Annotations
from faceval.datasets.common import make_annotations, report_missing_images
from faceval.datasets.manifest import check_count
from faceval.datasets.w300 import read_pts_folder

NAME = "sample"


def sample_dir() -> Path:
    """Folder of the bundled sample (``faceval/data/sample``)."""
    return Path(str(resources.files("faceval.data").joinpath("sample")))


def load(root: Path | None, splits: tuple[str, ...], *, strict: bool, manifest: dict[str, Any],
         need_images: bool = True) -> Annotations:
    """Load the bundled sample (``root`` is ignored)."""
    base = sample_dir()
    warnings: list[str] = []
    ids, images, landmarks, missing = read_pts_folder(base, "", ".jpg", warnings=warnings)
    check_count(NAME, "all", len(ids), manifest["splits"]["all"]["count"], strict=strict, warnings=warnings)
    report_missing_images(NAME, missing, strict=strict, warnings=warnings, where=base, need_images=need_images)
    return make_annotations(dataset=NAME, scheme="300w", sample_ids=ids, image_paths=images,
                            landmarks=np.stack(landmarks), splits={"all": np.arange(len(ids))},
                            warnings=warnings, data_root=base)
