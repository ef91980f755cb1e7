"""Pose-only runs in run files: no landmark arrays stored, None when read, pose metrics recomputed."""

from __future__ import annotations

import dataclasses

import h5py
import numpy as np
import pytest

from faceval.errors import InputError
from faceval.evaluation.scoring import recompute_summary
from faceval.runs.protocol import Protocol
from faceval.runs.runfile import read_run, verify_run, write_run
from tests.faceval.runs.helpers import make_run


def pose_only_run(n: int = 20, seed: int = 0):  # type: ignore[no-untyped-def]
    """``make_run``'s run as a pose-only model would leave it (no predictions, NME or normalisers)."""
    run = make_run(n=n, seed=seed)
    run = dataclasses.replace(run, predictions=None, normalizers=None, nme=None, pose_only=True,
                              protocol=dataclasses.replace(run.protocol, normalizer=None, thresholds=(),
                                                           pose_order=("yaw", "pitch", "roll"),
                                                           pose_signs=(-1.0, 1.0, 1.0), pose_scale=1.0,
                                                           pose_units="degrees"))
    run.summary = recompute_summary(run)
    return run


def test_a_pose_only_run_stores_no_landmark_arrays_and_reads_them_as_none(tmp_path) -> None:
    run = pose_only_run()
    path = write_run(tmp_path / "p.h5", run)
    with h5py.File(path, "r") as h5:
        assert sorted(h5["arrays"]) == ["failed_inputs", "failure_reasons", "ground_truth", "pose_gt", "pose_pred",
                                        "visible"]
        assert h5.attrs["pose_only"] == "true"
    for back in (read_run(path), verify_run(path)):
        assert back.pose_only and back.predictions is None and back.nme is None and back.normalizers is None
        np.testing.assert_array_equal(back.pose_pred, run.pose_pred)
        np.testing.assert_array_equal(back.ground_truth, run.ground_truth)
        assert back.protocol.pose_signs == (-1.0, 1.0, 1.0) and back.protocol.normalizer is None
    stats = recompute_summary(read_run(path))["full"]
    err = run.pose_pred - run.pose_gt
    assert "nme" not in stats and stats["mae_pitch"] == pytest.approx(np.abs(err[:, 1]).mean())
    assert stats["bias_yaw"] == pytest.approx(err[:, 0].mean())
    assert stats["corr_roll"] == pytest.approx(np.corrcoef(run.pose_pred[:, 2], run.pose_gt[:, 2])[0, 1])
    with pytest.raises(InputError, match="pose-only"):
        read_run(path).split_nme("full")


def test_a_landmark_run_file_is_unchanged_and_a_forged_marker_is_damage(tmp_path) -> None:
    path = write_run(tmp_path / "l.h5", make_run())
    with h5py.File(path, "r") as h5:
        assert "pose_only" not in h5.attrs and "predictions" in h5["arrays"]
    assert not read_run(path).pose_only
    with h5py.File(path, "a") as h5:  # the attribute digest no longer matches
        h5.attrs["pose_only"] = "true"
    with pytest.raises(InputError, match="damaged run file"):
        read_run(path)


def test_pose_decoding_keys_round_trip_and_are_informative_only() -> None:
    proto = Protocol(pose_order=("pitch", "yaw", "roll"), pose_signs=(-1, 1, 1), pose_scale=65, pose_units="degrees")
    data = proto.to_dict()
    assert data["pose_order"] == ["pitch", "yaw", "roll"] and data["pose_signs"] == [-1.0, 1.0, 1.0]
    assert Protocol.from_dict(data) == proto
    assert "pose_order" not in Protocol().to_dict()  # unset: not written (older files stay as they were)
    other = dataclasses.replace(proto, pose_signs=(1.0, 1.0, 1.0))
    assert proto.differences(other) == []
    assert [d.key for d in proto.differences(other, informative=True)] == ["pose_signs"]
    assert "signs -,+,+" in proto.describe() and "pitch/yaw/roll x65" in proto.describe()
    with pytest.raises(InputError, match="protocol 'pose_signs'"):
        Protocol.from_dict({"pose_signs": [2, 1, 1]})
    with pytest.raises(InputError, match="protocol 'pose_order'"):
        Protocol.from_dict({"pose_order": ["yaw", "yaw", "roll"]})
