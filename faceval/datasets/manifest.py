"""Dataset manifests: the JSON files in ``data_manifests/`` (installed as ``faceval.manifests``).

A manifest holds a dataset's description, scheme, on-disk layout, split definitions with expected
sample counts, the default selection, and sha256 digests of annotation files where the project has
a real copy to hash (``null`` otherwise; never invented). :func:`manifest_sha256` hashes the
manifest file itself, so a run records exactly which manifest it used.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import faceval
from faceval.errors import InputError
from faceval.runs.provenance import sha256_file  # noqa: F401  (the one implementation)

if TYPE_CHECKING:
    import numpy as np

#: every dataset faceval knows, in display order
DATASET_NAMES = ("300w", "wflw", "cofw", "cofw68", "aflw2000", "json", "sample")


def _manifest_bytes(name: str) -> bytes:
    """Bytes of ``<name>.json`` from the installed package, else from the source tree."""
    if name not in DATASET_NAMES:
        from faceval.errors import closest

        raise InputError(f"unknown dataset '{name}'{closest(name, DATASET_NAMES)}; known: {', '.join(DATASET_NAMES)}")
    try:
        return resources.files("faceval.manifests").joinpath(f"{name}.json").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        source = Path(faceval.__file__).resolve().parents[1] / "data_manifests" / f"{name}.json"
        return source.read_bytes()


@lru_cache(maxsize=None)
def load_manifest(name: str) -> dict[str, Any]:
    """The parsed manifest of dataset ``name`` (cached; do not mutate)."""
    return json.loads(_manifest_bytes(name).decode("utf-8"))


@lru_cache(maxsize=None)
def manifest_sha256(name: str) -> str:
    """sha256 (hex) of the manifest file's bytes: recorded in runs as the dataset definition used."""
    return hashlib.sha256(_manifest_bytes(name)).hexdigest()


def landmarks_digest(sample_ids: Iterable[str], landmarks: np.ndarray) -> str:
    """A format-independent digest of ground truth: sha256 over ``id + NUL + float64 LE bytes``
    of each sample's 0-based landmarks rounded to 6 decimals, in the given order.

    Used where the files exist in several textual forms with equal coordinates (header-less and
    official ``.pts``), so a byte hash of the files would not identify the annotations.
    """
    import numpy as np

    digest = hashlib.sha256()
    rounded = np.round(np.asarray(landmarks, dtype=np.float64), 6).astype("<f8")
    for sid, points in zip(sample_ids, rounded):
        digest.update(sid.encode("utf-8") + b"\0")
        digest.update(points.tobytes())
    return digest.hexdigest()


def check_count(dataset: str, split: str, found: int, expected: int | None, *, strict: bool,
                warnings: list[str]) -> None:
    """Compare a split's sample count with the manifest: warn (or raise when strict) on a difference."""
    if expected is None or found == expected:
        return
    if found < expected:
        message = f"{dataset}:{split}: {found} of {expected} samples present (manifest)"
    else:
        message = f"{dataset}:{split}: {found} samples found, the manifest expects {expected}"
    if strict:
        raise InputError(message + " (strict mode)")
    warnings.append(message)
