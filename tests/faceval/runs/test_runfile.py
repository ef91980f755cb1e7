from __future__ import annotations

import json
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


# ---- checksums: the run file is a trusted boundary

_DATASETS = ("samples/ids", "arrays/predictions", "arrays/ground_truth", "arrays/visible", "arrays/normalizers",
             "arrays/nme", "arrays/failed_inputs", "arrays/failure_reasons", "arrays/pose_pred", "arrays/pose_gt",
             "splits/a", "splits/b", "splits/full")
#: dataset path -> the RunData field it is read into (splits are read when the file is opened)
_FIELD = {"samples/ids": "sample_ids", **{p: p.split("/")[1] for p in _DATASETS if p.startswith("arrays/")}}


def _read_all(path):  # noqa: ANN001
    run = read_run(path)
    return {name: getattr(run, name) for name in _FIELD.values()} | {"splits": run.splits, "summary": run.summary}


def test_identical_runs_give_byte_identical_files(tmp_path):
    a = write_run(tmp_path / "a.h5", make_run())
    b = write_run(tmp_path / "b.h5", make_run())
    assert a.read_bytes() == b.read_bytes()
    c = write_run(tmp_path / "c.h5", make_run(seed=1))
    assert a.read_bytes() != c.read_bytes()


def test_every_dataset_is_chunked_with_fletcher32(tmp_path):
    import h5py

    path = write_run(tmp_path / "r.h5", make_run())
    found = []
    with h5py.File(path) as h5:
        h5.visititems(lambda name, obj: found.append((name, obj.chunks is not None, obj.fletcher32))
                      if isinstance(obj, h5py.Dataset) else None)
    assert sorted(name for name, _, _ in found) == sorted(_DATASETS)
    assert all(chunked and fletcher for _, chunked, fletcher in found), found


@pytest.mark.parametrize("name", _DATASETS)
def test_an_array_edited_in_place_with_h5py_is_a_damaged_file(tmp_path, name):
    """h5py recomputes fletcher32 when it writes: only the stored digest tells the edit."""
    import h5py

    path = write_run(tmp_path / "r.h5", make_run())
    with h5py.File(path, "r+") as h5:
        data = h5[name][()]
        if data.dtype.kind == "S":
            data[0] = b"X" + data[0][1:] if len(data[0]) else b"X"
        elif data.dtype.kind == "b":
            data[0] = ~data[0]
        elif name == "arrays/nme":
            data[:10] *= 3  # the case: tripled per-image NMEs, summary left as it was
        else:
            data.flat[0] = data.flat[0] + 1
        h5[name][...] = data
    with pytest.raises(InputError, match=rf"r\.h5: damaged run file \('{name}' does not match its checksum\)"):
        _read_all(path)


@pytest.mark.parametrize("name", _DATASETS)
def test_a_flipped_byte_in_a_chunk_is_a_damaged_file(tmp_path, name):
    import h5py

    path = write_run(tmp_path / "r.h5", make_run())
    with h5py.File(path) as h5:
        info = h5[name].id.get_chunk_info(0)
    data = bytearray(path.read_bytes())
    data[info.byte_offset + info.size // 2] ^= 0x04
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match=rf"r\.h5: damaged run file \('{name}' fails its fletcher32 checksum\)"):
        _read_all(path)


def test_byte_flips_anywhere_give_the_original_arrays_or_a_damaged_file(tmp_path):
    """Every 151st byte of the file flipped in turn: the reader never hands out a changed value."""
    clean = write_run(tmp_path / "clean.h5", make_run(n=6))
    original = _read_all(clean)
    raw = clean.read_bytes()
    outcomes = {"error": 0, "same": 0}
    for offset in range(0, len(raw), 151):
        path = tmp_path / "flipped.h5"
        data = bytearray(raw)
        data[offset] ^= 0x01
        path.write_bytes(bytes(data))
        try:
            got = _read_all(path)
        except InputError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc)
            outcomes["error"] += 1
            continue
        for key, value in original.items():
            if isinstance(value, dict):
                assert list(got[key]) == list(value)
                for split in value:
                    assert np.array_equal(np.asarray(got[key][split]), np.asarray(value[split])), (offset, key)
            else:
                np.testing.assert_array_equal(got[key], value, err_msg=f"offset {offset}: {key}")
        outcomes["same"] += 1
    assert outcomes["error"] > 0 and sum(outcomes.values()) == len(range(0, len(raw), 151))


def test_edited_attributes_are_a_damaged_file(tmp_path):
    import h5py

    path = write_run(tmp_path / "r.h5", make_run())
    with h5py.File(path, "r+") as h5:
        summary = json.loads(h5.attrs["summary"])
        summary["full"]["nme"] *= 3
        h5.attrs["summary"] = json.dumps(summary, sort_keys=True)
    with pytest.raises(InputError, match=r"r\.h5: damaged run file \(attributes do not match their checksum\)"):
        read_run(path)


def test_a_dataset_removed_or_added_is_a_damaged_file(tmp_path):
    import h5py

    path = write_run(tmp_path / "r.h5", make_run())
    with h5py.File(path, "r+") as h5:
        del h5["arrays/pose_gt"]
    with pytest.raises(InputError, match=r"damaged run file \(missing arrays/pose_gt\)"):
        read_run(path)
    path = write_run(tmp_path / "s.h5", make_run())
    with h5py.File(path, "r+") as h5:
        h5["splits/extra"] = np.arange(3)
    with pytest.raises(InputError, match=r"damaged run file \(not in its checksum list: splits/extra\)"):
        read_run(path)
    path = write_run(tmp_path / "t.h5", make_run())
    with h5py.File(path, "r+") as h5:
        h5["extra"] = np.arange(3)
    with pytest.raises(InputError, match=r"damaged run file \(unexpected extra\)"):
        read_run(path)


def test_schema_1_files_without_checksums_are_refused(tmp_path):
    import h5py

    path = write_run(tmp_path / "r.h5", make_run())
    with h5py.File(path, "r+") as h5:
        h5.attrs["schema_version"] = 1
        del h5.attrs["attrs_sha256"]
    with pytest.raises(InputError, match="schema version 1 has no checksums"):
        read_run(path)


# ---- lazy reading

def test_large_arrays_are_read_on_first_access_only(tmp_path):
    """Damage the predictions after opening: NME and poses still read; predictions then fail."""
    import h5py

    run = make_run()
    path = write_run(tmp_path / "r.h5", run)
    back = read_run(path)
    assert back.loaded() == []
    with h5py.File(path, "r+") as h5:
        h5["arrays/predictions"][0, 0, 0] += 1.0
    np.testing.assert_array_equal(back.nme, run.nme)
    np.testing.assert_array_equal(back.pose_pred, run.pose_pred)
    assert set(back.loaded()) == {"nme", "pose_pred"}
    with pytest.raises(InputError, match=r"damaged run file \('arrays/predictions' does not match its checksum\)"):
        back.predictions  # noqa: B018


def test_a_replaced_file_is_not_read_lazily(tmp_path):
    path = write_run(tmp_path / "r.h5", make_run(seed=0))
    back = read_run(path)
    write_run(path, make_run(seed=1))  # another valid run at the same path
    with pytest.raises(InputError, match=r"r\.h5: run file was replaced since it was opened; cannot read its 'nme'"):
        back.nme  # noqa: B018
    path.unlink()
    with pytest.raises(InputError, match="removed or replaced"):
        back.predictions  # noqa: B018


def test_lazy_run_behaves_as_run_data(tmp_path):
    import dataclasses

    run = make_run()
    back = read_run(write_run(tmp_path / "r.h5", run))
    assert isinstance(back, type(run))
    copy = dataclasses.replace(back, label="other")
    np.testing.assert_array_equal(copy.predictions, run.predictions)
    back.nme = back.nme * 0  # fields stay assignable
    assert float(back.nme.sum()) == 0.0
    eager = read_run(tmp_path / "r.h5", lazy=False)
    assert set(eager.loaded()) == {"sample_ids", "failure_reasons", "predictions", "ground_truth", "visible",
                                   "normalizers", "nme", "failed_inputs", "pose_pred", "pose_gt"}


def test_splits_keep_their_order(tmp_path):
    run = make_run()
    run.splits = {"zeta": run.splits["a"], "alpha": run.splits["b"], "full": run.splits["full"]}
    assert list(read_run(write_run(tmp_path / "r.h5", run)).splits) == ["zeta", "alpha", "full"]


def test_report_and_gate_never_read_the_landmark_arrays(tmp_path):
    """Issue 14: a table or a default gate reads summaries and small arrays only. Damaged
    predictions/GT/visibility (never read) leave them working; reading them still fails."""
    import h5py

    from faceval.report import render_report
    from faceval.report.gate import evaluate_gate

    path = write_run(tmp_path / "r.h5", make_run())
    with h5py.File(path, "r+") as h5:
        for name in ("arrays/predictions", "arrays/ground_truth", "arrays/visible"):
            data = h5[name][()]
            data.flat[0] = not data.flat[0] if data.dtype.kind == "b" else data.flat[0] + 1
            h5[name][...] = data
    run, base = read_run(path), read_run(path)
    text, _ = render_report([run], "markdown")
    assert "model" in text
    assert evaluate_gate(run, base).passed
    assert not {"predictions", "ground_truth", "visible"} & set(run.loaded() + base.loaded())
    with pytest.raises(InputError, match="'arrays/predictions' does not match its checksum"):
        run.predictions  # noqa: B018


def test_a_report_or_gate_reads_only_what_its_metrics_need(tmp_path):
    """NME/FR/AUC read the per-image NME and failure flags only; pose metrics add the poses; a
    significance test adds the sample ids; every array read is verified (a damaged one fails)."""
    import h5py

    from faceval.metrics.run_metrics import metric_value
    from faceval.report import render_report
    from faceval.report.gate import evaluate_gate

    path = write_run(tmp_path / "r.h5", make_run())
    run = read_run(path, prefetch=("nme", "failed_inputs"))
    assert set(run.loaded()) == {"nme", "failed_inputs"}
    render_report([run], "markdown")
    base = read_run(path)
    assert evaluate_gate(run, base).passed
    assert set(run.loaded()) == {"nme", "failed_inputs"} and set(base.loaded()) == {"nme", "failed_inputs"}
    metric_value(run, "full", "mae_yaw")
    assert set(run.loaded()) == {"nme", "failed_inputs", "pose_pred", "pose_gt"}
    with h5py.File(path, "r+") as h5:  # damage the poses: a fresh reader of a pose metric fails
        h5["arrays/pose_gt"][0, 0] += 1.0
    with pytest.raises(InputError, match=r"'arrays/pose_gt' does not match its checksum"):
        metric_value(read_run(path), "full", "mae_yaw")
    assert metric_value(read_run(path), "full", "nme") == pytest.approx(float(np.mean(make_run().nme[make_run().splits["full"]])))
