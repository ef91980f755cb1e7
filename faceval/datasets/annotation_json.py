"""Datasets given as a SPIGA-style annotation JSON: ``json:PATH`` and ``cofw68``.

The file is a JSON list of records ``{"imgpath", "landmarks": [[x, y], ...], "bbox": [x, y, w, h],
"headpose": [yaw, pitch, roll (, tx, ty, tz)], "visible": [0/1, ...], "ids": [...]}`` with 0-based
pixel coordinates (SPIGA's ground truth is the ``.pts`` coordinates minus 1); ``bbox``, ``headpose``
and ``visible`` are optional, ``ids`` (the peer's landmark ids) is ignored. Reading is
:func:`faceval.io.spiga.read_spiga_json`: a malformed record is an error naming the file, line and
column.

* Sample ids are the ``imgpath`` as written (``/`` separators); an image named by several records
  (several faces) gives ``<imgpath>#<k>``, k = the face's index among its records in file order.
* Landmark scheme: from the point count (68 -> ``300w``, 98 -> ``wflw``, 29 -> ``cofw``, 19 -> ``aflw``).
* Boxes: ``bbox`` converted to ``x_min, y_min, x_max, y_max`` (NaN where absent). Poses: ``headpose``
  yaw, pitch, roll in degrees (the file's labels; ``pose_source`` is ``headpose of <file name>``).
* Splits of ``json:PATH``: ``all`` (every record) and, when a SPIGA ``db_info.json`` lies beside the
  file, its ``test_subsets`` (name -> record indices). ``json:PATH:SPLIT`` selects one. Images are
  ``<data root>/<imgpath>`` when a data root is given, else ``<folder of the JSON>/<imgpath>``.
* ``json`` runs record the sha256 of the annotation file as their ``manifest_sha256``: the file is the
  dataset's definition, so two different files never compare as one protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from faceval.datasets.base import Annotations
from faceval.datasets.common import is_regular_file, make_annotations, report_missing_images
from faceval.datasets.manifest import check_count
from faceval.errors import InputError
from faceval.io.spiga import SpigaRecords, read_spiga_json

NAME = "json"
ALL = "all"


@dataclass(frozen=True)
class JsonSpec:
    """A parsed ``json:PATH[:SPLIT]``."""

    path: Path
    split: str | None


def parse_json_spec(spec: str) -> JsonSpec:
    """``json:PATH`` or ``json:PATH:SPLIT``: PATH is the whole rest when it names a file, else the
    part before the last ``:`` (so a path holding ``:`` still works)."""
    _, _, rest = spec.strip().partition(":")
    rest = rest.strip()
    if not rest:
        raise InputError("expected an annotation file after 'json:' (e.g. json:annotations/test.json)")
    whole = Path(rest).expanduser()
    if ":" in rest and not whole.exists():
        head, _, split = rest.rpartition(":")
        if head and split and Path(head).expanduser().exists():
            return JsonSpec(Path(head).expanduser(), split.strip())
    return JsonSpec(whole, None)


def _subsets(path: Path, n: int) -> dict[str, np.ndarray]:
    """``test_subsets`` of the ``db_info.json`` beside ``path`` (SPIGA's layout); {} when none."""
    from faceval.io.spiga import read_spiga_subsets

    info = path.parent / "db_info.json"
    if not is_regular_file(info):
        return {}
    out = {}
    for name, idx in read_spiga_subsets(info).items():
        if name == ALL:
            continue
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise InputError(f"subset '{name}' holds record index {int(idx.max() if idx.max() >= n else idx.min())}, "
                             f"outside the {n} records of {path.name}", path=info)
        out[name] = np.unique(idx)
    return out


def sample_ids_for(image_paths: list[str]) -> list[str]:
    """``imgpath`` per record, ``imgpath#k`` for an image named by several records."""
    paths = [p.replace("\\", "/") for p in image_paths]
    counts: dict[str, int] = {}
    for p in paths:
        counts[p] = counts.get(p, 0) + 1
    seen: dict[str, int] = {}
    ids = []
    for p in paths:
        if counts[p] == 1:
            ids.append(p)
            continue
        k = seen.get(p, 0)
        seen[p] = k + 1
        ids.append(f"{p}#{k}")
    return ids


def annotations_from_records(records: SpigaRecords, path: Path, *, dataset: str, image_base: Path,
                             splits: dict[str, np.ndarray], strict: bool, need_images: bool,
                             warnings: list[str], data_root: Path | None, pose_source: str) -> Annotations:
    """Annotations of every record read from ``path`` with the given ``splits`` (record indices).

    ``pose_source`` is recorded when some record has a ``headpose`` (a name that does not depend on
    where the data lives: it enters the protocol).
    """
    from faceval.schemes import scheme_for_points

    bad = np.flatnonzero(~np.isfinite(records.landmarks).all(axis=(1, 2)))
    if bad.size:
        raise InputError(f"record {int(bad[0])} 'landmarks': expected finite ground-truth coordinates, "
                         "found NaN or infinity", path=path)
    k = records.landmarks.shape[1]
    scheme = scheme_for_points(k)
    if scheme is None:
        raise InputError(f"records have {k} landmarks; no landmark scheme has {k} points "
                         "(68: 300w, 98: wflw, 29: cofw, 19: aflw)", path=path)
    ids = sample_ids_for(records.image_paths)
    images: list[Path | None] = []
    missing: list[str] = []
    for rel in records.image_paths:
        if not need_images:
            images.append(None)
            continue
        image = Path(rel) if Path(rel).is_absolute() else image_base / rel
        if is_regular_file(image):
            images.append(image)
        else:
            images.append(None)
            missing.append(rel)
    report_missing_images(dataset, missing, strict=strict, warnings=warnings, where=image_base,
                          need_images=need_images)
    has_pose = bool(np.isfinite(records.poses).all(axis=1).any())
    return make_annotations(dataset=dataset, scheme=scheme.name, sample_ids=ids, image_paths=images,
                            landmarks=records.landmarks, visible=records.visible, boxes=records.boxes,
                            poses=records.poses, splits=splits, warnings=warnings, data_root=data_root,
                            pose_source=pose_source if has_pose else None)


def load_json_dataset(spec: str, data_root: Path | None, *, strict: bool = False,
                      need_images: bool = True) -> Annotations:
    """Load ``json:PATH[:SPLIT]`` (see module docstring); ``manifest_sha256`` = the file's sha256."""
    from faceval.datasets.manifest import sha256_file
    from faceval.errors import closest

    parsed = parse_json_spec(spec)
    path = parsed.path
    regular = is_regular_file(path)
    if regular is None:
        raise InputError("annotation JSON not found (json:PATH names a SPIGA-style annotation file)", path=path)
    if regular is False:
        raise InputError("annotation JSON is not a regular file", path=path)
    records = read_spiga_json(path)
    n = len(records)
    available = {ALL: np.arange(n, dtype=np.int64), **_subsets(path, n)}
    if parsed.split is not None and parsed.split not in available:
        raise InputError(f"unknown split '{parsed.split}' of {path.name}{closest(parsed.split, list(available))}; "
                         f"known: {', '.join(available)}", path=path)
    chosen = {parsed.split: available[parsed.split]} if parsed.split is not None else available
    image_base = Path(data_root) if data_root is not None else path.parent
    ann = annotations_from_records(records, path, dataset=NAME, image_base=image_base, splits=chosen,
                                   strict=strict, need_images=need_images, warnings=[], data_root=image_base,
                                   pose_source=f"headpose of {path.name}")
    ann.manifest_sha256 = sha256_file(path)
    return ann


def json_dataset_ids(spec: str):  # type: ignore[no-untyped-def]
    """The :class:`~faceval.datasets.ids.DatasetIds` of ``json:PATH``: every record of the file."""
    from faceval.datasets.ids import DatasetIds

    parsed = parse_json_spec(spec)
    ids = sample_ids_for(read_spiga_json(parsed.path).image_paths)
    return DatasetIds(NAME, None, _present=frozenset(ids))


# --------------------------------------------------------------------------- the registered loader

def load(root: Path | None, splits: tuple[str, ...], *, strict: bool, manifest: dict[str, Any],
         need_images: bool = True) -> Annotations:
    """Registry entry point: ``json`` needs its file (``json:PATH``), which only the spec gives."""
    raise InputError("the json dataset needs its annotation file: --dataset json:PATH (e.g. json:annotations/test.json)")


def load_manifest_dataset(name: str, root: Path | None, splits: tuple[str, ...], *, strict: bool,
                          manifest: dict[str, Any], need_images: bool) -> Annotations:
    """A registered dataset stored as one annotation JSON (``cofw68``): ``<root>/<name>/<file>``.

    The manifest gives ``annotation_file`` (relative to ``<root>/<name>/``; images are relative to
    that folder too) and its splits; ``test`` is every record.
    """
    assert root is not None
    base = root / name
    path = base / manifest["annotation_file"]
    regular = is_regular_file(path)
    if not regular:
        what = "not a regular file" if regular is False else "not found"
        raise InputError(f"{name} annotation file {what} (expected layout: {manifest['layout']})", path=path)
    records = read_spiga_json(path)
    n = len(records)
    warnings: list[str] = []
    split_index = {s: np.arange(n, dtype=np.int64) for s in splits}
    for split in splits:
        check_count(name, split, n, manifest["splits"][split].get("count"), strict=strict, warnings=warnings)
    return annotations_from_records(records, path, dataset=name, image_base=base, splits=split_index, strict=strict,
                                    need_images=need_images, warnings=warnings, data_root=root,
                                    pose_source=f"headpose of {name}/{manifest['annotation_file']}")
