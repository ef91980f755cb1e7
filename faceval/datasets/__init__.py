"""Datasets: a registry of loaders that turn a dataset on disk into :class:`Annotations`.

Public API::

    load(spec, data_root, *, strict=False, pose_labels=None) -> Annotations
    list_datasets() -> {name: {"splits", "description", "scheme", ...}}
    sample_ids(spec, data_root) -> list[str]
    image_loader(annotations) -> Callable[[int], np.ndarray] | None
    manifest_sha256(name) -> str
    verify(spec, data_root, *, all_splits=False) -> VerifyReport

``spec`` is ``NAME`` (the dataset's default selection, e.g. ``300w`` = helen, lfpw, common,
challenging, full) or ``NAME:SPLIT`` (one split, or a named selection such as ``300w:private`` =
private, indoor, outdoor), or ``json:PATH[:SPLIT]`` (a SPIGA-style annotation JSON; see
:mod:`faceval.datasets.annotation_json`). The annotations hold the union of the selected splits' samples in
canonical order, with ``splits`` mapping each selected split to its indices.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from faceval.datasets.manifest import DATASET_NAMES, load_manifest, manifest_sha256
from faceval.datasets.registry import dataset_info, is_json_spec, loader_module, resolve_splits
from faceval.errors import InputError

__all__ = ["Annotations", "DATASET_NAMES", "image_loader", "list_datasets", "load", "manifest_sha256",
           "sample_ids", "verify"]

if TYPE_CHECKING:
    import numpy as np

    from faceval.datasets.base import Annotations


def __getattr__(name: str) -> Any:
    # numpy is imported only when annotations are loaded: listing datasets prints static manifests.
    if name == "Annotations":
        from faceval.datasets.base import Annotations

        return Annotations
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


NO_ROOT = "no data root: pass --data-root DIR or set FACEVAL_DATA_ROOT"


def resolve_data_root(data_root: Path | str | None) -> Path | None:
    """The given root, else ``$FACEVAL_DATA_ROOT``, else None."""
    if data_root is not None and str(data_root) != "":
        return Path(data_root).expanduser()
    env = os.environ.get("FACEVAL_DATA_ROOT", "")
    return Path(env).expanduser() if env else None


def load(spec: str, data_root: Path | str | None, *, strict: bool = False,
         pose_labels: Path | str | None = None, need_images: bool = True) -> Annotations:
    """Load the ground truth of ``spec`` (``NAME`` or ``NAME:SPLIT``) from ``data_root``.

    Args:
        spec: dataset selection.
        data_root: folder holding ``<name>/`` dataset folders (``$FACEVAL_DATA_ROOT`` when None;
            ignored for ``sample``).
        strict: raise InputError instead of warning when files are missing (counts below the
            manifest, annotations without images).
        pose_labels: a sidecar CSV ``sample_id,yaw,pitch,roll`` (degrees) filling ``poses``.
        need_images: False for callers that never open images (``faceval score``): missing
            images are then neither a warning nor, with ``strict``, an error.

    Raises:
        InputError: unknown dataset or split (with the closest name), no data root, a missing
            dataset folder, malformed annotation files, pose ids not in the dataset.
    """
    root = resolve_data_root(data_root)
    if is_json_spec(spec):
        from faceval.datasets.annotation_json import load_json_dataset

        annotations = _restrict_to_splits(load_json_dataset(spec, root, strict=strict, need_images=need_images))
        if pose_labels is not None:
            apply_pose_labels(annotations, Path(pose_labels))
        return annotations
    info, _, splits = resolve_splits(spec)
    if info.needs_data_root:
        if root is None:
            raise InputError(NO_ROOT)
        if not root.exists():
            raise InputError("data root not found", path=root)
        if not root.is_dir():
            raise InputError("data root is not a folder", path=root)
    manifest = load_manifest(info.name)
    annotations = loader_module(info.name).load(root, tuple(splits), strict=strict, manifest=manifest,
                                                need_images=need_images)
    annotations = _restrict_to_splits(annotations)
    annotations.manifest_sha256 = manifest_sha256(info.name)
    if pose_labels is not None:
        apply_pose_labels(annotations, Path(pose_labels))
    return annotations


def _restrict_to_splits(ann: Annotations) -> Annotations:
    """Keep only samples in some selected split (canonical order kept); re-index the splits."""
    import numpy as np

    keep = np.unique(np.concatenate([np.asarray(v, dtype=np.int64) for v in ann.splits.values()] or
                                    [np.empty(0, dtype=np.int64)]))
    return ann if len(keep) == len(ann) else ann.select(keep)


def apply_pose_labels(ann: Annotations, path: Path) -> None:
    """Fill ``ann.poses`` from a sidecar CSV; ids unknown to the dataset raise InputError."""
    import numpy as np

    from faceval.io.pose_csv import read_pose_csv

    ids, poses = read_pose_csv(path)
    position = {sid: i for i, sid in enumerate(ann.sample_ids)}
    unknown = [sid for sid in ids if sid not in position]
    if ids and len(unknown) == len(ids) and ann.sample_ids:
        raise InputError(f"none of the sample ids in this pose CSV ({len(ids)} row{'s' if len(ids) != 1 else ''}) is a sample id of {ann.dataset} "
                         f"(e.g. file '{ids[0]}', dataset '{ann.sample_ids[0]}')", path=path)
    if unknown:
        from faceval.errors import ID_CUTOFF, closest

        shown = ", ".join(f"'{s}'" for s in unknown[:3]) + (", ..." if len(unknown) > 3 else "")
        raise InputError(f"{len(unknown)} sample id(s) not in {ann.dataset}: {shown}"
                         f"{closest(unknown[0], ann.sample_ids, ID_CUTOFF)}", path=path)
    rows = np.array([position[sid] for sid in ids], dtype=np.int64)
    new = np.full((len(ann), 3), np.nan)
    new[rows] = poses
    ann.poses = new
    # the file name, not the path as typed: it enters the protocol, which shards made on other
    # machines (or with a relative path) must share; the labels themselves are in the GT digests
    ann.pose_source = path.name
    missing = len(ann) - len(rows)
    if missing:
        ann.warnings.append(f"{ann.dataset}: {missing} of {len(ann)} samples have no pose label in {path}")


def list_datasets() -> dict[str, dict[str, Any]]:
    """name -> {"splits": {split: {"count", "description"}}, "description", "scheme", "default_splits", ...}."""
    return {name: dataset_info(name).to_dict() for name in DATASET_NAMES}


def sample_ids(spec: str, data_root: Path | str | None) -> list[str]:
    """Sample ids of a selection: the split's ids for ``NAME:SPLIT``, all selected ids otherwise."""
    ann = load(spec, data_root)
    if is_json_spec(spec):
        return list(ann.sample_ids)
    _, split, _ = resolve_splits(spec)
    if split is not None and split in ann.splits:
        return [ann.sample_ids[i] for i in ann.splits[split]]
    return list(ann.sample_ids)


def image_loader(annotations: Annotations) -> Callable[[int], np.ndarray] | None:
    """For datasets whose images live inside annotation files (COFW): ``load(i) -> (H, W, 3) uint8 RGB``.

    None for datasets with image files (use ``annotations.image_paths``).
    """
    if annotations.dataset == "cofw":
        from faceval.datasets.cofw import image_loader as cofw_loader

        return cofw_loader(annotations)
    return None


def verify(spec: str, data_root: Path | str | None, *, all_splits: bool = False):  # type: ignore[no-untyped-def]
    """Check a local copy of ``NAME[:SPLIT]`` against its manifest; see :func:`faceval.datasets.verification.verify_dataset`."""
    from faceval.datasets.verification import verify_dataset

    return verify_dataset(spec, data_root, all_splits=all_splits)
