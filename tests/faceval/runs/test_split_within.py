"""A split of unknown size within a partial split is partial too (AFLW2000-3D's yaw bins)."""

from __future__ import annotations

import numpy as np

from faceval.runs.data import SplitCount
from faceval.runs.runfile import read_run, write_run
from tests.faceval.runs.helpers import make_run


def _run(expected: dict[str, int]):
    run = make_run(n=20)
    # 'a' (10) and 'b' (10) of unknown size; 'full' (20) the parent of both
    run.split_expected = dict(expected)
    return run


def test_unknown_size_splits_within_a_partial_parent_are_partial():
    run = _run({"full": 25})
    for name in ("a", "b"):
        count = run.split_count(name)
        assert count.n_expected is None and not count.complete
        assert count.within == SplitCount("full", 20, 25)
        assert count.describe() == "10 images, within split 'full' (20 of 25 images)"
    assert [c.split for c in run.incomplete_splits()] == ["a", "b", "full"]
    assert run.split_count("a").to_json() == {"n_expected": None, "complete": False,
                                              "within": {"split": "full", "n": 20, "n_expected": 25}}


def test_a_complete_parent_or_a_split_outside_it_stays_complete():
    run = _run({"full": 20})
    assert all(run.split_count(s).complete for s in run.splits) and run.incomplete_splits() == []
    # the parent lacks samples, but 'b' is not a subset of 'a' (the only partial split)
    run = _run({"a": 12})
    assert not run.split_count("a").complete
    assert run.split_count("b").complete and run.split_count("b").within is None
    assert run.split_count("full").complete  # 'full' holds samples outside 'a'
    # a split of known size keeps its own count, whatever its parent
    run = _run({"full": 25, "a": 10})
    assert run.split_count("a").complete and run.split_count("a").within is None


def test_a_recorded_parent_survives_the_run_file(tmp_path):
    """``aflw2000:yaw`` holds only the bins: the partial 'test' is recorded, not found from indices."""
    run = make_run(n=20)
    run.splits = {"a": np.arange(0, 10), "b": np.arange(10, 20)}
    run.split_within = {"a": SplitCount("test", 900, 1969), "b": SplitCount("test", 900, 1969)}
    back = read_run(write_run(tmp_path / "r.h5", run))
    assert back.split_within == run.split_within
    assert not back.split_count("a").complete
    assert back.split_count("b").describe() == "10 images, within split 'test' (900 of 1969 images)"
    # a run without one writes no attribute and reads back complete
    plain = make_run(n=20)
    assert read_run(write_run(tmp_path / "p.h5", plain)).split_within == {}


def test_a_damaged_split_within_attribute_is_refused(tmp_path):
    import h5py
    import pytest

    from faceval.errors import InputError
    from faceval.runs import runfile

    run = make_run(n=20)
    run.split_within = {"a": SplitCount("full", 20, 25)}
    path = write_run(tmp_path / "r.h5", run)
    with h5py.File(path, "r+") as h5:
        h5.attrs["split_within"] = '{"a": {"split": "full", "n": -1, "n_expected": 25}}'
        h5.attrs["attrs_sha256"] = runfile._attrs_sha256(h5.attrs)
    with pytest.raises(InputError, match="split_within"):
        read_run(path)
