"""COFW-68: the 507 COFW test faces with 68-point (iBUG scheme) annotations and visibility.

Layout as a peer distributes it (SPIGA): ``<root>/cofw68/test.json``, a SPIGA-style annotation JSON
(see :mod:`faceval.datasets.annotation_json`), images at ``<root>/cofw68/<imgpath>``
(``images/01345.jpg`` ...). Sample ids are the ``imgpath``; ``visible`` is the file's visibility,
``boxes`` its ``bbox``, poses its ``headpose``. ``faceval score`` needs no images.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from faceval.datasets.annotation_json import load_manifest_dataset
from faceval.datasets.base import Annotations

NAME = "cofw68"


def load(root: Path | None, splits: tuple[str, ...], *, strict: bool, manifest: dict[str, Any],
         need_images: bool = True) -> Annotations:
    """Load COFW-68 (the ``test`` split: every record of ``test.json``, in file order)."""
    return load_manifest_dataset(NAME, root, splits, strict=strict, manifest=manifest, need_images=need_images)
