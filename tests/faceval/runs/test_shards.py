from __future__ import annotations

import re

import numpy as np
import pytest

from faceval.errors import InputError
from faceval.runs.data import RunData
from faceval.runs.shards import merge_runs, parse_shard, protocol_dict, shard_range
from faceval.runs.provenance import sample_set_sha256
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
        full = {"shard_of_n": n, "shard_of_sample_set_sha256": run.protocol["sample_set_sha256"],
                "shard_of_ground_truth_sha256": _independent_gt_digest(run), "shard_of_boxes_sha256": "b" * 64}
        shards.append(RunData(label=run.label, dataset=run.dataset, scheme=run.scheme, splits=splits,
                              protocol=dict(protocol_dict(run.protocol), shard=f"{i}/{count}", **full,
                                            sample_set_sha256=sample_set_sha256(fields["sample_ids"])),
                              provenance=dict(run.provenance, spec=dict(SPEC)), **fields))
    return shards


SPEC = {"input_size": [112, 112], "color": "RGB", "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0], "box": "landmarks",
        "box_scale": 1.2}


def _independent_gt_digest(run) -> str:  # noqa: ANN001
    """The full set's ground-truth digest, written out here from the definition (not via shards.py)."""
    import hashlib

    def arr(a):  # noqa: ANN001, ANN202
        a = np.ascontiguousarray(a)
        return hashlib.sha256(f"{a.dtype.str}{a.shape}".encode() + a.tobytes()).hexdigest().encode()

    digest = hashlib.sha256(sample_set_sha256(run.sample_ids).encode())
    digest.update(arr(run.ground_truth.astype(np.float64)) + arr(run.visible.astype(bool))
                  + (b"none" if run.pose_gt is None else arr(run.pose_gt.astype(np.float64))))
    for name in sorted(run.splits):
        digest.update(name.encode() + arr(np.asarray(run.splits[name], dtype=np.int64)))
    return digest.hexdigest()


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
    assert "shard" not in merged.protocol
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


def test_merged_run_has_the_full_sample_set_and_no_shard_keys():
    run = make_run(n=23)
    shards = _split_run(run, 4)
    assert {protocol_dict(s.protocol)["sample_set_sha256"] for s in shards}.isdisjoint(
        {protocol_dict(run.protocol)["sample_set_sha256"]})
    merged = merge_runs(shards, [f"s{i}.h5" for i in range(4)])
    proto = protocol_dict(merged.protocol)
    assert proto["sample_set_sha256"] == protocol_dict(run.protocol)["sample_set_sha256"]
    assert not [k for k in proto if k.startswith("shard")]
    assert [s["file"] for s in merged.provenance["shards"]] == ["s0.h5", "s1.h5", "s2.h5", "s3.h5"]
    assert merged.provenance["spec"] == SPEC


@pytest.mark.parametrize(("where", "key", "value", "message"), [
    ("spec", "color", "BGR", "model spec field 'color': 'RGB' (a.h5) vs 'BGR' (b.h5)"),
    ("spec", "mean", [0.5, 0.5, 0.5], "model spec field 'mean': [0.0, 0.0, 0.0] (a.h5) vs [0.5, 0.5, 0.5] (b.h5)"),
    ("spec", "box_scale", 1.3, "model spec field 'box_scale': 1.2 (a.h5) vs 1.3 (b.h5)"),
    ("provenance", "model_sha256", "def", "model sha256: 'abc' (a.h5) vs 'def' (b.h5)"),
    ("provenance", "dataset_spec", "300w:helen", "dataset selection: None (a.h5) vs '300w:helen' (b.h5)"),
    ("provenance", "box_detector_sha256", "f00", "provenance 'box_detector_sha256': None (a.h5) vs 'f00' (b.h5)"),
    ("shard_of", "ground_truth_sha256", "0" * 64, "full set field 'ground_truth_sha256'"),
    ("shard_of", "boxes_sha256", "0" * 64, "full set field 'boxes_sha256'"),
])
def test_shards_that_differ_in_what_determines_predictions_are_refused(where, key, value, message):
    shards = _split_run(make_run(n=10), 2)
    second = shards[1]
    if where == "spec":
        second.provenance["spec"] = dict(second.provenance["spec"], **{key: value})
    elif where == "provenance":
        second.provenance[key] = value
    else:
        second.protocol = dict(protocol_dict(second.protocol), **{f"shard_of_{key}": value})
    with pytest.raises(InputError, match="^shards differ in " + re.escape(message)):
        merge_runs(shards, ["a.h5", "b.h5"])


def test_shard_with_the_wrong_number_of_samples_is_refused():
    run = make_run(n=10)
    shards = _split_run(run, 2)
    cut = _split_run(make_run(n=10), 2)[1]
    short = RunData(**{**{f: getattr(cut, f) for f in cut.__dataclass_fields__},
                       "sample_ids": cut.sample_ids[:4], "nme": cut.nme[:4]})
    with pytest.raises(InputError, match=r"^b.h5: shard 2/2 of 10 samples should hold 5, holds 4$"):
        merge_runs([shards[0], short], ["a.h5", "b.h5"])


def test_shards_whose_ground_truth_is_not_the_full_sets_are_refused():
    shards = _split_run(make_run(n=10), 2)
    shards[1].ground_truth = shards[1].ground_truth + 1.0  # same identity claimed, other GT stored
    with pytest.raises(InputError, match="do not give the full set's ground truth"):
        merge_runs(shards, ["a.h5", "b.h5"])


def test_shard_identity_survives_the_run_file(tmp_path):
    from faceval.runs.runfile import read_run, write_run

    shards = _split_run(make_run(n=10), 2)
    paths = [write_run(tmp_path / f"s{i}.h5", s) for i, s in enumerate(shards)]
    back = [read_run(p) for p in paths]
    proto = protocol_dict(back[0].protocol)
    assert proto["shard"] == "1/2" and proto["shard_of_n"] == 10
    merged = merge_runs(back, [str(p) for p in paths])
    out = read_run(write_run(tmp_path / "merged.h5", merged))
    assert "shard" not in protocol_dict(out.protocol)
    assert protocol_dict(out.protocol)["sample_set_sha256"] == sample_set_sha256([f"img{i:03d}.jpg" for i in range(10)])
