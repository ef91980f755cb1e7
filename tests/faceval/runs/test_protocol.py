"""The typed protocol: written to the run file and read back as the same type; one text; one comparison."""

from __future__ import annotations

import json
from dataclasses import replace

import h5py
import pytest

from faceval.errors import InputError
from faceval.runs.protocol import Protocol
from faceval.runs.runfile import read_run, write_run
from tests.faceval.runs.helpers import make_run


def _reseal(h5) -> None:
    """Recompute the attributes' checksum, as a faceval that wrote such a protocol would have."""
    from faceval.runs.runfile import _ATTRS_DIGEST, _attrs_sha256

    h5.attrs[_ATTRS_DIGEST] = _attrs_sha256(h5.attrs)


def test_round_trip_through_the_run_file(tmp_path):
    run = make_run()
    run.protocol = replace(run.protocol, box_source="landmarks", box_scale=1.2, box_square=True, shard="2/3",
                           conversion="wflw->300w")
    run.split_expected = {"a": 10, "full": 20}
    back = read_run(write_run(tmp_path / "r.h5", run))
    assert isinstance(back.protocol, Protocol) and back.protocol == run.protocol
    assert back.split_expected == {"a": 10, "full": 20}
    with h5py.File(tmp_path / "r.h5") as h5:
        stored = json.loads(h5.attrs["protocol"])
    assert stored["thresholds"] == [0.08, 0.1] and stored["shard"] == "2/3"


def test_schema_1_file_without_new_attributes_reads(tmp_path):
    """Files without split_expected (and with a protocol lacking pose_wrap) still read."""
    path = write_run(tmp_path / "old.h5", make_run())
    with h5py.File(path, "r+") as h5:
        del h5.attrs["split_expected"]
        proto = json.loads(h5.attrs["protocol"])
        del proto["pose_wrap"]
        proto["future_key"] = "x"  # a key this faceval does not know is kept and compared
        h5.attrs["protocol"] = json.dumps(proto)
        _reseal(h5)
    run = read_run(path)
    assert run.split_expected == {} and run.protocol.pose_wrap is False
    assert run.split_count("full").complete
    assert run.protocol.to_dict()["future_key"] == "x"
    diffs = run.protocol.differences(replace(run.protocol, extra=()))
    assert [(d.key, d.this, d.other) for d in diffs] == [("future_key", "x", "")]


@pytest.mark.parametrize("key,value,expected", [
    ("thresholds", [0.1, -1], "a list of positive numbers"),
    ("visible_only", "yes", "true or false"),
    ("box_scale", 0, "a positive number or null"),
    ("shard", "3/2", "'I/N' with 1 <= I <= N"),
    ("normalizer", 5, "a string or null"),
    ("nested", {"a": 1}, "a JSON string, number, boolean or null"),
])
def test_bad_protocol_is_one_line_naming_the_file(tmp_path, key, value, expected):
    path = write_run(tmp_path / "bad.h5", make_run())
    with h5py.File(path, "r+") as h5:
        proto = json.loads(h5.attrs["protocol"])
        proto[key] = value
        h5.attrs["protocol"] = json.dumps(proto)
        _reseal(h5)
    with pytest.raises(InputError) as info:
        read_run(path)
    message = str(info.value)
    assert message.startswith(f"{path}: damaged run file: protocol '{key}'") and expected in message
    assert "\n" not in message and info.value.exit_code == 2


def test_describe_is_the_one_text():
    p = Protocol(thresholds=(0.075, 0.1), box_source="landmarks", box_scale=1.2, box_square=True)
    assert p.describe() == "inter-ocular normaliser, thresholds 0.075/0.10, AUC exact, box landmarks ×1.2 square"
    assert Protocol(aggregation="pooled", visible_only=True, pose_wrap=True, shard="1/2").describe() == (
        "inter-ocular normaliser (pooled aggregation), visible points only, thresholds 0.10, AUC exact, "
        "pose wrapped to (-180, 180], shard 1/2")


def test_differences_compare_typed_values():
    a = Protocol(thresholds=(0.1,))
    assert a.differences(Protocol(thresholds=(0.10,))) == []
    diffs = a.differences(Protocol(pose_wrap=True, normalizer="bbox"))
    assert [(d.key, d.this, d.other) for d in diffs] == [("normalizer", "inter-ocular", "bbox"),
                                                        ("pose_wrap", "false", "true")]
    assert diffs[0].describe() == "normalizer: run 'inter-ocular', baseline 'bbox'"
    # shard never counts as a difference; informative keys only for merge
    assert a.differences(replace(a, shard="1/2")) == []
    assert a.differences(replace(a, conversion="wflw->300w")) == []
    assert [d.key for d in a.differences(replace(a, conversion="wflw->300w"), informative=True)] == ["conversion"]


def test_shards_are_partial_and_the_merge_is_complete():
    from faceval.runs.shards import merge_runs
    from tests.faceval.runs.test_shards import _split_run

    run = make_run(n=10)
    run.split_expected = {"a": 5, "b": 5, "full": 10}
    shards = _split_run(run, 2)
    for shard in shards:
        shard.split_expected = dict(run.split_expected)
    first = {c.split: c.describe() for c in shards[0].incomplete_splits()}
    assert first == {"a": "shard 1/2, 5 images", "b": "shard 1/2, 0 of 5 images", "full": "shard 1/2, 5 of 10 images"}
    merged = merge_runs(shards)
    assert merged.split_expected == run.split_expected and merged.incomplete_splits() == []
