from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from faceval.errors import InputError
from faceval.runs.shards import merge_runs, parse_shard, shard_range
from tests.faceval.runs.helpers import make_run


def _split_run(run, count):  # noqa: ANN001
    """Cut a run into shards the way `faceval run --shard` selects samples."""
    from faceval.runs.data import RunData

    shards = []
    n = len(run.sample_ids)
    for i in range(1, count + 1):
        lo, hi = shard_range(n, i, count)
        rows = np.arange(lo, hi)
        splits = {k: v[(v >= lo) & (v < hi)] - lo for k, v in run.splits.items()}
        fields = {name: getattr(run, name)[rows] for name in (
            "sample_ids", "predictions", "ground_truth", "visible", "normalizers", "nme", "failed_inputs",
            "failure_reasons", "pose_pred", "pose_gt")}
        shards.append(RunData(label=run.label, dataset=run.dataset, scheme=run.scheme, splits=splits,
                              protocol=replace(run.protocol, shard=f"{i}/{count}"), provenance=dict(run.provenance),
                              **fields))
    return shards


def test_shard_ranges_cover_everything_once():
    for n in (0, 1, 7, 100):
        for count in (1, 3, 8):
            covered = np.concatenate([np.arange(*shard_range(n, i, count)) for i in range(1, count + 1)])
            np.testing.assert_array_equal(covered, np.arange(n))


def test_parse_shard_rejects_bad_values():
    assert parse_shard("3/8") == (3, 8)
    for bad in ("0/3", "4/3", "x", "1/0"):
        with pytest.raises(InputError):
            parse_shard(bad)


def test_merge_restores_the_unsharded_run():
    run = make_run(n=23)
    merged = merge_runs(list(reversed(_split_run(run, 4))))
    np.testing.assert_array_equal(merged.nme, run.nme)
    assert list(merged.sample_ids) == list(run.sample_ids)
    for name in run.splits:
        np.testing.assert_array_equal(merged.splits[name], run.splits[name])
    assert merged.protocol.shard is None
    assert merged.summary["full"]["n"] == 23
    assert merged.summary["full"]["nme"] == pytest.approx(float(np.mean(run.nme)))


def test_incomplete_shard_set_is_rejected():
    shards = _split_run(make_run(n=10), 3)
    with pytest.raises(InputError, match="complete set"):
        merge_runs(shards[:2])


def test_merge_errors_name_the_files():
    shards = _split_run(make_run(n=10), 2)
    with pytest.raises(InputError, match="shard 1/2 given twice: a.h5 and b.h5"):
        merge_runs([shards[0], shards[0]], ["a.h5", "b.h5"])
    plain = make_run(n=10)
    with pytest.raises(InputError, match="plain.h5: not a shard run"):
        merge_runs([shards[0], plain], ["a.h5", "plain.h5"])
