"""Putting predictions in a dataset's sample order: ids, image paths from other tools, missing rows."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from faceval.errors import ID_CUTOFF, InputError, closest
from faceval.io.predictions.common import LoadedPredictions, RawPredictions, show

if TYPE_CHECKING:
    from faceval.datasets.ids import DatasetIds


def align_predictions(raw: RawPredictions, sample_ids: Sequence[str], *, source: Path, allow_missing: bool = False,
                      ignore_extra: bool = False, known: "DatasetIds | None" = None) -> LoadedPredictions:
    """Put ``raw`` in the order of ``sample_ids``; see :func:`faceval.io.predictions.read_predictions`."""
    if raw.ids is None:
        pred = _ordered(raw, len(sample_ids), source)
    else:
        ids = raw.ids
        if raw.image_paths:
            resolver = ImagePathResolver(sample_ids, known)
            ids = [resolver.resolve(p, source) for p in ids]
        pred = _align(ids, raw, sample_ids, source, ignore_extra, known)
    return _check_missing(pred, sample_ids, allow_missing, source)


def _check_missing(pred: LoadedPredictions, sample_ids: Sequence[str], allow_missing: bool, source: Path) -> LoadedPredictions:
    if pred.missing and not allow_missing:
        absent = [show(sample_ids[i]) for i in np.flatnonzero(~pred.present)[:3]]
        raise InputError(
            f"predictions for {pred.missing} of {len(sample_ids)} samples are missing (first: {', '.join(absent)}); "
            "pass --allow-missing to count them as failures",
            path=source,
        )
    return pred


def _ordered(raw: RawPredictions, n: int, source: Path) -> LoadedPredictions:
    if raw.landmarks.shape[0] != n:
        raise InputError(
            f"expected predictions for {n} samples in canonical order (faceval datasets samples), "
            f"found {raw.landmarks.shape[0]} rows",
            path=source,
        )
    return LoadedPredictions(raw.landmarks, raw.pose, np.ones(n, dtype=bool), raw.format, owned=raw.owned)


def _trailing_match(a: list[str], b: list[str]) -> int:
    """How many trailing path components ``a`` and ``b`` share."""
    n = 0
    for x, y in zip(reversed(a), reversed(b)):
        if x != y:
            break
        n += 1
    return n


class ImagePathResolver:
    """Map an image path from another tool (SPIGA's ``imgpath``) to a faceval sample id.

    Candidates are the samples with the same file name, in the selection or anywhere else in the
    dataset (``known``: present under the data root, or named by the folder layout, e.g.
    ``helen/trainset/x.jpg``). The one sharing the longest path suffix wins. A tie is an error
    naming the candidates; so is a winner outside the selection while a selected sample of that
    name exists (``helen/trainset/x.jpg`` is not ``helen/testset/x.jpg``). A winner outside the
    selection with no selected rival is returned (and left out like any out-of-split row).
    """

    def __init__(self, sample_ids: Sequence[str], known: "DatasetIds | None" = None) -> None:
        self.selected = set(sample_ids)
        self.known = known
        universe = set(self.selected)
        if known is not None:
            universe |= known.present()
        self.by_name: dict[str, list[str]] = {}
        for sid in universe:
            self.by_name.setdefault(sid.split("#")[0].rsplit("/", 1)[-1], []).append(sid)

    def resolve(self, imgpath: str, source: Path) -> str:
        path = imgpath.replace("\\", "/")
        if path in self.selected:
            return path
        name = path.split("#")[0].rsplit("/", 1)[-1]
        candidates = set(self.by_name.get(name, []))
        if self.known is not None:
            candidates.update(self.known.layout_candidates(path))
        if not candidates:
            return path  # reported as unknown by _align
        parts = path.split("/")
        scored = sorted(candidates, key=lambda c: (-_trailing_match(parts, c.split("/")), c))
        best = _trailing_match(parts, scored[0].split("/"))
        top = [c for c in scored if _trailing_match(parts, c.split("/")) == best]
        if len(top) > 1:
            raise InputError(f"image path '{show(imgpath)}' matches several samples equally well "
                             f"({', '.join(repr(c) for c in top[:3])}); give paths that tell them apart",
                             path=source)
        winner = top[0]
        if winner not in self.selected:
            rivals = [c for c in scored if c in self.selected]
            if rivals:
                raise InputError(f"image path '{show(imgpath)}' names '{winner}', a sample outside the selection "
                                 f"(e.g. a training image), not '{rivals[0]}' of the selection; "
                                 "fix the path or score the split it belongs to", path=source)
        return winner


def _align(ids: list[str], raw: RawPredictions, sample_ids: Sequence[str], source: Path,
           ignore_extra: bool = False, known: "DatasetIds | None" = None) -> LoadedPredictions:
    lms, pose, fmt = raw.landmarks, raw.pose, raw.format
    if len(ids) != lms.shape[0] or (pose is not None and pose.shape != (lms.shape[0], 3)):
        raise InputError(f"expected one sample id per row of predictions, found {len(ids)} ids for {lms.shape[0]} rows",
                         path=source)
    index = {sid: i for i, sid in enumerate(sample_ids)}
    if len(set(ids)) != len(ids):
        seen: dict[str, int] = {}
        for row, sid in enumerate(ids):
            if sid in seen:
                raise InputError(f"sample id '{show(sid)}' appears twice (entries {seen[sid] + 1} and {row + 1})",
                                 path=source)
            seen[sid] = row
    rows_all = np.fromiter((index.get(sid, -1) for sid in ids), dtype=np.int64, count=len(ids))
    keep = rows_all >= 0
    outside = absent = 0
    if not keep.all():
        unknown = [ids[r] for r in np.flatnonzero(~keep)]
        strangers = unknown
        if known is not None:
            present = known.present()
            outside = sum(1 for sid in unknown if sid in present)
            absent_ids = [sid for sid in unknown if sid not in present and known.is_absent_sample(sid)]
            absent = len(absent_ids)
            absent_set = set(absent_ids)
            strangers = [sid for sid in unknown if sid not in present and sid not in absent_set]
        if strangers and not ignore_extra:
            name = known.name if known is not None else "the dataset"
            also = f"; {absent} other ids are samples of {name} missing from this data root" if absent else ""
            raise InputError(
                f"{len(strangers)} sample ids are not in the dataset (first: '{show(strangers[0])}'"
                f"{closest(strangers[0], list(index), ID_CUTOFF)}){also}; "
                "list valid ids with 'faceval datasets samples', or pass --ignore-extra to score a subset",
                path=source,
            )
    dropped = int((~keep).sum())
    counts = {"ignored": dropped - outside - absent, "outside": outside, "absent": absent}
    n, k = len(sample_ids), lms.shape[1]
    if not dropped and len(ids) == n and raw.owned and bool((rows_all == np.arange(n)).all()):
        # already in dataset order, every sample present: the reader's arrays are the result (no copy)
        return LoadedPredictions(lms, pose, np.ones(n, dtype=bool), fmt, owned=True, **counts)
    rows = rows_all[keep]
    out = np.full((n, k, 2), np.nan)
    present_mask = np.zeros(n, dtype=bool)
    out[rows] = lms if not dropped else lms[keep]
    present_mask[rows] = True
    pose_out = None
    if pose is not None:
        pose_out = np.full((n, 3), np.nan)
        pose_out[rows] = pose if not dropped else pose[keep]
    return LoadedPredictions(out, pose_out, present_mask, fmt, owned=True, **counts)
