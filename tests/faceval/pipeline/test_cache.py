"""Crop cache: round trip, merge, atomic replace, corrupt files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from faceval.pipeline.cache import CropCache, crop_key_fields, default_cache_dir

KEY = crop_key_fields("wflw", input_size=(16, 12), box_source="dataset", scale=1.2, square=True,
                      resample="bilinear")


def _entries(ids, seed=0):
    rng = np.random.default_rng(seed)
    return list(ids), rng.integers(0, 256, (len(ids), 12, 16, 3), dtype=np.uint8), rng.normal(size=(len(ids), 4))


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("FACEVAL_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "faceval" / "crops"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "faceval" / "crops"


def test_key_changes_file_name(tmp_path):
    a = CropCache(tmp_path, KEY)
    b = CropCache(tmp_path, dict(KEY, scale=1.3))
    assert a.path != b.path and a.path.name.startswith("wflw-") and a.path.suffix == ".h5"
    assert CropCache(tmp_path, dict(KEY)).path == a.path


def test_round_trip_and_merge(tmp_path):
    ids, crops, boxes = _entries(["a", "b", "c"])
    with CropCache(tmp_path, KEY) as c:
        assert c.get_many(ids) == {}
        c.put_many(ids, crops, boxes)
        assert set(c.get_many(["a", "z"])) == {"a"}  # visible before saving
    c = CropCache(tmp_path, KEY)
    got = c.get_many(["c", "a", "missing"])
    assert set(got) == {"a", "c"}
    np.testing.assert_array_equal(got["c"][0], crops[2])
    np.testing.assert_array_equal(got["a"][1], boxes[0])
    # second run adds new entries and overwrites one; old ones are kept
    ids2, crops2, boxes2 = _entries(["c", "d"], seed=1)
    c.put_many(ids2, crops2, boxes2)
    c.close()
    c = CropCache(tmp_path, KEY)
    assert len(c) == 4
    got = c.get_many(["a", "b", "c", "d"])
    np.testing.assert_array_equal(got["c"][0], crops2[0])
    np.testing.assert_array_equal(got["b"][0], crops[1])
    c.close()
    assert [p.name for p in tmp_path.iterdir()] == [c.path.name]  # no temp files left


def test_dense_and_sparse_reads_return_each_entry(tmp_path):
    """Every entry, every third (runs of one row) and a few runs of rows: the stored bytes each time."""
    ids, crops, boxes = _entries([f"s{i:03d}" for i in range(700)], seed=2)  # several HDF5 chunks of rows
    with CropCache(tmp_path, KEY) as c:
        c.put_many(ids, crops, boxes)
    c = CropCache(tmp_path, KEY)
    for pick in (list(range(700)), list(range(0, 700, 3)), [5, 6, 7, 300, 301, 650, 699], [698, 3, 4]):
        got = c.get_many([ids[i] for i in pick])
        assert sorted(got) == sorted(ids[i] for i in pick)
        for i in pick:
            assert got[ids[i]][0].tobytes() == crops[i].tobytes() and got[ids[i]][1].tobytes() == boxes[i].tobytes()
    c.close()


def test_corrupt_cache_is_ignored_and_replaced(tmp_path):
    c = CropCache(tmp_path, KEY)
    c.path.write_bytes(b"garbage, not HDF5")
    assert c.get_many(["a"]) == {} and c.corrupt and c.warnings
    ids, crops, boxes = _entries(["a"])
    c.put_many(ids, crops, boxes)
    c.save()
    c2 = CropCache(tmp_path, KEY)
    assert not c2.corrupt
    np.testing.assert_array_equal(c2.get_many(["a"])["a"][0], crops[0])


def test_truncated_cache_is_ignored(tmp_path):
    with CropCache(tmp_path, KEY) as c:
        c.put_many(*_entries(["a", "b"]))
    data = c.path.read_bytes()
    c.path.write_bytes(data[: len(data) // 3])
    c = CropCache(tmp_path, KEY)
    assert c.get_many(["a", "b"]) == {}
    c.put_many(*_entries(["b"], seed=4))
    c.close()
    assert set(CropCache(tmp_path, KEY).get_many(["a", "b"])) == {"b"}


def test_abort_keeps_old_file(tmp_path):
    with CropCache(tmp_path, KEY) as c:
        c.put_many(*_entries(["a"]))
    before = c.path.read_bytes()
    c = CropCache(tmp_path, KEY)
    c.put_many(*_entries(["b"]))
    c.abort()  # e.g. a crash before saving
    assert c.path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [c.path.name]


def test_unwritable_directory_is_not_fatal(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    c = CropCache(blocker / "sub", KEY)  # cannot mkdir under a file
    assert c.get_many(["a"]) == {}
    c.put_many(*_entries(["a"]))  # warns, does not raise
    c.put_many(*_entries(["b"]))
    c.__exit__(None, None, None)
    assert c.warnings and not (blocker / "sub").exists()
