"""Shards: split one evaluation across machines (``--shard I/N``) and join the pieces.

Shard ``I`` of ``N`` (1-based) takes the contiguous block of samples
``[floor((I-1)·n/N), floor(I·n/N))`` of the canonical order, so concatenating
the shards in order restores the canonical order exactly.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from faceval.errors import InputError
from faceval.runs.data import RunData


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
        shard = run.protocol.shard
        if not shard:
            raise InputError("not a shard run (made without --shard I/N)", path=name)
        if shard in seen:
            raise InputError(f"shard {shard} given twice: {seen[shard]} and {name}")
        seen[shard] = name
    ordered = sorted(shards, key=lambda r: parse_shard(str(r.protocol.shard))[0])
    counts = {parse_shard(str(r.protocol.shard))[1] for r in ordered}
    indices = [parse_shard(str(r.protocol.shard))[0] for r in ordered]
    if len(counts) != 1 or indices != list(range(1, counts.pop() + 1)):
        have = ", ".join(str(r.protocol.shard) for r in ordered)
        raise InputError(f"shards do not form a complete set 1..N (found: {have})")
    first = ordered[0]
    for run in ordered[1:]:
        for diff in run.protocol.differences(first.protocol, informative=True):
            raise InputError(f"shards differ in protocol '{diff.key}': {diff.other!r} vs {diff.this!r}")
        if run.dataset != first.dataset or run.provenance.get("model_sha256") != first.provenance.get("model_sha256"):
            raise InputError("shards come from different datasets or models")

    offsets = np.cumsum([0] + [len(r.sample_ids) for r in ordered])
    splits: dict[str, np.ndarray] = {}
    for name in first.splits:
        splits[name] = np.concatenate([r.splits[name] + off for r, off in zip(ordered, offsets[:-1])]).astype(np.int64)

    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(r, name) for r in ordered])

    pose_pred = cat("pose_pred") if all(r.pose_pred is not None for r in ordered) else None
    pose_gt = cat("pose_gt") if all(r.pose_gt is not None for r in ordered) else None
    protocol = replace(first.protocol, shard=None)
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
        provenance=dict(first.provenance, merged_from=[str(r.protocol.shard) for r in ordered],
                        shard_providers=[r.provenance.get("providers_used") for r in ordered]),
        model_info=dict(first.model_info),
        split_expected=dict(first.split_expected),
    )
    from faceval.runs.provenance import sample_set_sha256

    if sample_set_sha256(merged.sample_ids) != protocol.sample_set_sha256:
        raise InputError("merged shards do not give the full sample set of the evaluation (missing or extra samples)")
    merged.summary = recompute_summary(merged)
    return merged
