from __future__ import annotations

import os

import numpy as np
import pytest

from faceval.errors import InputError
from faceval.runs.runfile import read_run, write_run
from tests.faceval.runs.helpers import make_run


def test_round_trip_returns_the_same_arrays(tmp_path):
    run = make_run()
    path = write_run(tmp_path / "r.h5", run)
    back = read_run(path)
    for name in ("predictions", "ground_truth", "visible", "normalizers", "nme", "failed_inputs", "pose_pred", "pose_gt"):
        np.testing.assert_array_equal(getattr(back, name), getattr(run, name))
    assert list(back.sample_ids) == list(run.sample_ids)
    assert list(back.splits) == ["a", "b", "full"]
    for name in run.splits:
        np.testing.assert_array_equal(back.splits[name], run.splits[name])
    assert back.protocol == run.protocol
    assert back.provenance == run.provenance
    assert back.summary == run.summary
    assert back.label == "model" and back.dataset == "300w"


def test_run_without_pose_round_trips(tmp_path):
    back = read_run(write_run(tmp_path / "r.h5", make_run(with_pose=False)))
    assert back.pose_pred is None and back.pose_gt is None


def test_identical_runs_give_identical_dataset_bytes(tmp_path):
    import h5py

    a = write_run(tmp_path / "a.h5", make_run())
    b = write_run(tmp_path / "b.h5", make_run())
    with h5py.File(a) as fa, h5py.File(b) as fb:
        for name in fa["arrays"]:
            assert fa["arrays"][name][()].tobytes() == fb["arrays"][name][()].tobytes()


def test_crash_during_write_leaves_no_file(tmp_path, monkeypatch):
    import h5py

    target = tmp_path / "r.h5"
    original = h5py.File.create_dataset if hasattr(h5py.File, "create_dataset") else None

    def boom(self, name, *args, **kwargs):  # noqa: ANN001
        if name == "arrays/nme":
            raise KeyboardInterrupt
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", boom)
    with pytest.raises(KeyboardInterrupt):
        write_run(target, make_run())
    assert not target.exists()
    assert not [p for p in os.listdir(tmp_path)], "temporary file left behind"


@pytest.mark.parametrize("content", [b"", b"not hdf5 at all"])
def test_non_run_files_give_input_error(tmp_path, content):
    path = tmp_path / "bad.h5"
    path.write_bytes(content)
    with pytest.raises(InputError, match="not a faceval run file"):
        read_run(path)


def test_hdf5_without_marker_is_rejected(tmp_path):
    import h5py

    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as h5:
        h5["x"] = 1
    with pytest.raises(InputError, match="format marker"):
        read_run(path)


def test_missing_run_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_run(tmp_path / "nope.h5")


def test_unwritable_folder_is_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        write_run(tmp_path / "missing" / "r.h5", make_run())


def test_written_files_follow_the_umask(tmp_path):
    mask = os.umask(0o022)
    try:
        path = write_run(tmp_path / "r.h5", make_run())
    finally:
        os.umask(mask)
    assert (path.stat().st_mode & 0o777) == 0o644
