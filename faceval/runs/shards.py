"""Shards: split one evaluation across machines (``--shard I/N``) and join the pieces.

Shard ``I`` of ``N`` (1-based) takes the contiguous block of samples
``[floor((I-1)·n/N), floor(I·n/N))`` of the canonical order, so concatenating
the shards in order restores the canonical order exactly.

A shard's identity (its protocol) says what it is a part of:

* ``shard``: ``"I/N"``; present only in unmerged shards (a run without it is complete
  for its selection);
* ``sample_set_sha256``: the shard's own samples (so a shard never compares as the full set);
* ``shard_of_n``, ``shard_of_sample_set_sha256``, ``shard_of_ground_truth_sha256`` (ids,
  landmarks, visibility, poses, splits) and ``shard_of_boxes_sha256`` (dataset boxes and sizes):
  the full selection it was cut from (flat JSON scalars, like every protocol key).

``merge_runs`` requires every field that determines predictions to agree across shards
(dataset, model sha256, resolved spec, box source and its inputs, dataset selection, manifest,
the full set's data identity) and checks that the merged arrays are exactly the full set.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import numpy as np

from faceval.errors import InputError
from faceval.runs.data import RunData
from faceval.runs.protocol import COMPARED_KEYS, value_text

if TYPE_CHECKING:
    from faceval.datasets.base import Annotations

#: Protocol keys that may differ between shards of one evaluation.
SHARD_OF_KEYS = ("shard_of_n", "shard_of_sample_set_sha256", "shard_of_ground_truth_sha256", "shard_of_boxes_sha256")
_SHARD_KEYS = ("shard", "sample_set_sha256", *SHARD_OF_KEYS)
#: Provenance fields that determine predictions: shards must agree on them.
IDENTITY_PROVENANCE = ("command", "model_sha256", "spec", "dataset_spec", "predictions_sha256")
#: ... and any provenance field whose name starts with one of these (box sources and their inputs).
IDENTITY_PREFIXES = ("box", "detector")
#: Provenance fields that are machine-local and so may differ between shards made on several machines:
#: ``box_source`` (the box source's providers and cache file; its identity, box file or detector sha256
#: and spec, is in the protocol and compared there) and ``data_identity`` (each shard's own image files:
#: resolved paths and mtimes). The full set's sample set and ground truth are checked through the
#: ``shard_of_*`` digests.
MACHINE_LOCAL_PROVENANCE = frozenset({"box_source", "data_identity"})


def protocol_dict(protocol: Any) -> dict[str, Any]:
    """A run's protocol as its JSON object (a typed protocol's ``to_dict()``, or the dict itself)."""
    return protocol.to_dict() if hasattr(protocol, "to_dict") else dict(protocol)


def full_set_of(run: RunData) -> dict[str, Any] | None:
    """What a shard run was cut from (``n``, ``sample_set_sha256``, ``ground_truth_sha256``,
    ``boxes_sha256``), or None for a run that is not a shard."""
    proto = protocol_dict(run.protocol)
    if not any(key in proto for key in SHARD_OF_KEYS):
        return None
    return {key.removeprefix("shard_of_"): proto.get(key) for key in SHARD_OF_KEYS}


def parse_shard(text: str) -> tuple[int, int]:
    """Parse ``"I/N"`` (1 <= I <= N)."""
    try:
        left, right = text.split("/")
        index, count = int(left), int(right)
    except ValueError:
        raise InputError(f"--shard expects I/N such as 3/8, found '{text}'") from None
    if count < 1 or not 1 <= index <= count:
        raise InputError(f"--shard {text}: expected 1 <= I <= N")
    return index, count


def shard_range(n: int, index: int, count: int) -> tuple[int, int]:
    """Start and stop of shard ``index`` of ``count`` over ``n`` samples."""
    return (index - 1) * n // count, index * n // count


def _digest_arrays(digest: Any, *arrays: np.ndarray | None) -> None:
    from faceval.runs.runfile import array_sha256

    for array in arrays:
        digest.update(b"none" if array is None else array_sha256(array).encode("ascii"))


def ground_truth_sha256(sample_ids: Any, landmarks: np.ndarray, visible: np.ndarray, poses: np.ndarray | None,
                        splits: dict[str, np.ndarray]) -> str:
    """Digest of a selection's ground truth as a run file stores it (ids, GT, visibility, poses, splits)."""
    from faceval.runs.provenance import sample_set_sha256

    digest = hashlib.sha256(sample_set_sha256(sample_ids).encode("ascii"))
    _digest_arrays(digest, np.asarray(landmarks, dtype=np.float64), np.asarray(visible, dtype=bool),
                   None if poses is None else np.asarray(poses, dtype=np.float64))
    for name in sorted(splits):
        digest.update(name.encode("utf-8"))
        _digest_arrays(digest, np.asarray(splits[name], dtype=np.int64))
    return digest.hexdigest()


def run_ground_truth_sha256(run: RunData) -> str:
    """:func:`ground_truth_sha256` of a run's stored ground truth."""
    return ground_truth_sha256(run.sample_ids, run.ground_truth, run.visible, run.pose_gt, run.splits)


def full_set_identity(ann: "Annotations") -> dict[str, Any]:
    """What a shard is a part of: the full selection's size, sample set and data digests."""
    from faceval.runs.provenance import sample_set_sha256

    boxes = hashlib.sha256()
    _digest_arrays(boxes, np.asarray(ann.boxes, dtype=np.float64), np.asarray(ann.box_sizes, dtype=np.float64))
    return {
        "n": len(ann),
        "sample_set_sha256": sample_set_sha256(ann.sample_ids),
        "ground_truth_sha256": ground_truth_sha256(ann.sample_ids, ann.landmarks, ann.visible,
                                                   ann.poses if ann.has_pose else None, ann.splits),
        "boxes_sha256": boxes.hexdigest(),
    }


def shard_identity(ann: "Annotations", index: int, count: int) -> dict[str, Any]:
    """Protocol keys of shard ``index`` of ``count`` of the selection ``ann`` (before it is cut)."""
    return {"shard": f"{index}/{count}", **{f"shard_of_{k}": v for k, v in full_set_identity(ann).items()}}


_DISPLAY = {"command": "command", "model_sha256": "model sha256", "spec": "model spec",
            "dataset_spec": "dataset selection", "predictions_sha256": "predictions sha256"}


def _identity_fields(run: RunData) -> dict[str, Any]:
    """Everything besides the protocol that determines a shard's predictions, by display name."""
    fields: dict[str, Any] = {"dataset": run.dataset, "scheme": run.scheme, "full set": full_set_of(run)}
    keys = set(IDENTITY_PROVENANCE) | {k for k in run.provenance
                                         if k.startswith(IDENTITY_PREFIXES) and k not in MACHINE_LOCAL_PROVENANCE}
    for key in sorted(keys):
        fields[_DISPLAY.get(key, f"provenance '{key}'")] = run.provenance.get(key)
    return fields


def _first_difference(a: Any, b: Any) -> tuple[list[str], Any, Any] | None:
    """Path to the first place where two JSON-like values differ (dicts compared key by key)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            found = _first_difference(a.get(key), b.get(key))
            if found:
                return [str(key), *found[0]], found[1], found[2]
        return None
    return None if a == b else ([], a, b)


def check_same_evaluation(shards: list[RunData], names: list[str]) -> None:
    """Every field that determines predictions agrees across shards, or InputError naming it."""
    first = _identity_fields(shards[0])
    for name, run in zip(names[1:], shards[1:]):
        other = _identity_fields(run)
        for label in sorted(set(first) | set(other)):
            found = _first_difference(first.get(label), other.get(label))
            if found:
                path, a, b = found
                where = label + "".join(f" field '{p}'" for p in path)
                raise InputError(f"shards differ in {where}: {a!r} ({names[0]}) vs {b!r} ({name}); "
                                 "shards of one evaluation must use the same model, spec, boxes and data")


def _check_shard_sizes(ordered: list[RunData], names: list[str]) -> None:
    """Each shard holds its own sample set and the size its I/N gives over the full set."""
    from faceval.runs.provenance import sample_set_sha256

    for name, run in zip(names, ordered):
        proto = protocol_dict(run.protocol)
        index, count = parse_shard(str(proto["shard"]))
        full = full_set_of(run)
        if not isinstance(full, dict) or not isinstance(full.get("n"), int):
            raise InputError("shard run without the identity of its full set (shard_of_*); "
                             "re-run it with this faceval", path=name)
        lo, hi = shard_range(full["n"], index, count)
        if len(run.sample_ids) != hi - lo:
            raise InputError(f"shard {index}/{count} of {full['n']} samples should hold {hi - lo}, "
                             f"holds {len(run.sample_ids)}", path=name)
        if sample_set_sha256(run.sample_ids) != proto.get("sample_set_sha256"):
            raise InputError("shard's samples do not match its sample_set_sha256", path=name)


def merge_runs(shards: list[RunData], names: list[str] | None = None) -> RunData:
    """Join shard runs of one evaluation into one run (summary recomputed from per-image arrays).

    ``names`` (the shard files) are used in error messages.
    """
    from faceval.evaluation.scoring import recompute_summary

    if not shards:
        raise InputError("no shard run files given")
    names = names or [f"run {i + 1}" for i in range(len(shards))]
    seen: dict[str, str] = {}
    for name, run in zip(names, shards):
        shard = protocol_dict(run.protocol).get("shard")
        if not shard:
            raise InputError("not a shard run (made without --shard I/N)", path=name)
        if shard in seen:
            raise InputError(f"shard {shard} given twice: {seen[shard]} and {name}")
        seen[shard] = name
    order = sorted(range(len(shards)), key=lambda i: parse_shard(str(protocol_dict(shards[i].protocol).get("shard", "1/1")))[0])
    ordered, ordered_names = [shards[i] for i in order], [names[i] for i in order]
    counts = {parse_shard(str(protocol_dict(r.protocol).get("shard", "1/1")))[1] for r in ordered}
    indices = [parse_shard(str(protocol_dict(r.protocol).get("shard", "1/1")))[0] for r in ordered]
    if len(counts) != 1 or indices != list(range(1, counts.pop() + 1)):
        have = ", ".join(str(protocol_dict(r.protocol).get("shard", "none")) for r in ordered)
        raise InputError(f"shards do not form a complete set 1..N (found: {have})")
    _check_shard_sizes(ordered, ordered_names)
    check_same_evaluation(ordered, ordered_names)
    first = ordered[0]
    for name, run in zip(ordered_names[1:], ordered[1:]):
        a, b = protocol_dict(first.protocol), protocol_dict(run.protocol)
        # the compared keys first (a different point subset, not the 'overrides' it implies)
        keys = [k for k in COMPARED_KEYS if k in a or k in b] + sorted((set(a) | set(b)) - set(COMPARED_KEYS))
        for key in keys:
            if key in _SHARD_KEYS:
                continue
            if a.get(key) != b.get(key):
                shown = [value_text(r.protocol.value(key)) or "not set" for r in (first, run)]
                raise InputError(f"shards differ in protocol '{key}': '{shown[0]}' ({ordered_names[0]}) vs "
                                 f"'{shown[1]}' ({name})")
        if run.dataset != first.dataset or run.provenance.get("model_sha256") != first.provenance.get("model_sha256"):
            raise InputError(f"shards come from different datasets or models: {ordered_names[0]} and {name}")

    offsets = np.cumsum([0] + [len(r.sample_ids) for r in ordered])
    splits: dict[str, np.ndarray] = {}
    for name in first.splits:
        splits[name] = np.concatenate([r.splits[name] + off for r, off in zip(ordered, offsets[:-1])]).astype(np.int64)

    def cat(name: str) -> np.ndarray | None:
        if first.pose_only and name in ("predictions", "normalizers", "nme"):
            return None  # a pose-only run has none (every shard alike: the spec is part of their identity)
        return np.concatenate([getattr(r, name) for r in ordered])

    pose_pred = cat("pose_pred") if all(r.pose_pred is not None for r in ordered) else None
    # a shard none of whose samples has a pose label stores none: its rows are unknown (NaN)
    pose_gt = np.concatenate([np.full((len(r.sample_ids), 3), np.nan) if r.pose_gt is None else r.pose_gt
                              for r in ordered]) if any(r.pose_gt is not None for r in ordered) else None
    protocol = {k: v for k, v in protocol_dict(first.protocol).items() if k not in _SHARD_KEYS}
    full = full_set_of(first)
    assert full is not None  # checked by _check_shard_sizes
    protocol["sample_set_sha256"] = full["sample_set_sha256"]
    merged = RunData(
        label=first.label,
        dataset=first.dataset,
        scheme=first.scheme,
        sample_ids=cat("sample_ids"),
        splits=splits,
        predictions=cat("predictions"),
        ground_truth=cat("ground_truth"),
        visible=cat("visible"),
        normalizers=cat("normalizers"),
        nme=cat("nme"),
        failed_inputs=cat("failed_inputs"),
        failure_reasons=cat("failure_reasons"),
        pose_pred=pose_pred,
        pose_gt=pose_gt,
        protocol=protocol,
        provenance=dict(first.provenance, merged_from=[str(protocol_dict(r.protocol).get("shard")) for r in ordered],
                        shard_providers=[r.provenance.get("providers_used") for r in ordered],
                        shards=[dict(r.provenance, file=n, shard=str(protocol_dict(r.protocol).get("shard")))
                                for r, n in zip(ordered, ordered_names)]),
        model_info=dict(first.model_info),
        split_expected=dict(first.split_expected),
        split_within=dict(first.split_within),
        pose_only=first.pose_only,
    )
    from faceval.runs.provenance import sample_set_sha256

    if sample_set_sha256(merged.sample_ids) != full["sample_set_sha256"] or len(merged.sample_ids) != full["n"]:
        raise InputError("merged shards do not give the full sample set of the evaluation (missing or extra samples)")
    if run_ground_truth_sha256(merged) != full["ground_truth_sha256"]:
        raise InputError("merged shards do not give the full set's ground truth (landmarks, visibility, poses or "
                         "splits differ from what the shards were cut from)")
    merged.summary = recompute_summary(merged)
    return merged
