"""SPIGA JSON reader, on the peer's real files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from faceval.errors import InputError
from faceval.io.spiga import read_spiga_json, read_spiga_subsets
from tests.conftest import shared_path


@pytest.mark.parametrize(("folder", "count"), [("300wpublic", 689), ("300wprivate", 600), ("cofw68", 507)])
def test_real_ground_truth_and_predictions(folder: str, count: int) -> None:
    gt = read_spiga_json(shared_path("spiga_results", folder, "test.json"))
    pred = read_spiga_json(shared_path("spiga_results", folder, "spiga_results_test.json"))
    assert len(gt) == len(pred) == count
    assert gt.landmarks.shape == (count, 68, 2)
    assert np.isfinite(gt.poses).all() and np.isfinite(gt.boxes).all()
    assert (gt.boxes[:, 2:] > gt.boxes[:, :2]).all()


def test_real_subsets() -> None:
    subsets = read_spiga_subsets(shared_path("spiga_results", "300wpublic", "db_info.json"))
    assert {k: len(v) for k, v in subsets.items()} == {"helen": 330, "lfpw": 224, "common": 554, "ibug": 135}
    assert read_spiga_subsets(shared_path("spiga_results", "cofw68", "db_info.json")) == {}


def test_cofw68_visibility_flags() -> None:
    gt = read_spiga_json(shared_path("spiga_results", "cofw68", "test.json"))
    assert 0 < gt.visible.mean() < 1


def test_bad_json(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('[{"imgpath": "a.jpg",\n "landmarks": [[1, 2]],}]')
    with pytest.raises(InputError, match=r"a\.json:2: column \d+: invalid JSON"):
        read_spiga_json(tmp_path / "a.json")
    (tmp_path / "b.json").write_text('[{"imgpath": "a.jpg", "landmarks": [[1, 2]], "bbox": [1, "x", 3, 4]}]')
    with pytest.raises(InputError, match="record 0"):
        read_spiga_json(tmp_path / "b.json")
    (tmp_path / "c.json").write_text('{"imgpath": "a.jpg"}')
    with pytest.raises(InputError, match="JSON list"):
        read_spiga_json(tmp_path / "c.json")


def test_strings_booleans_and_bad_headpose_lengths_are_errors_with_line_and_column(tmp_path: Path) -> None:
    """The old reader converted "1.5" and true to numbers and cut or dropped odd head poses."""
    good = {"imgpath": "a.jpg", "landmarks": [[1, 2], [3, 4]], "headpose": [1, 2, 3, 0, 0, 0]}
    cases = {
        "str": ({**good, "landmarks": [[1, 2], [3, "4"]]}, r"record 1 'landmarks'\[1\]\[1\]: expected a JSON number, found the string \"4\""),
        "bool": ({**good, "landmarks": [[True, 2], [3, 4]]}, r"record 1 'landmarks'\[0\]\[0\]: expected a JSON number, found true"),
        "pose4": ({**good, "headpose": [1, 2, 3, 4]}, r"record 1 'headpose': expected a list \[yaw, pitch, roll\] or \[yaw, pitch, roll, tx, ty, tz\], found a list of 4"),
        "pose2": ({**good, "headpose": [1, 2]}, r"record 1 'headpose': expected .* found a list of 2"),
        "posestr": ({**good, "headpose": [1, "2", 3]}, r"record 1 'headpose'\[1\]: expected a JSON number"),
    }
    for name, (bad, match) in cases.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps([good, bad], indent=1))
        with pytest.raises(InputError, match=match) as info:
            read_spiga_json(path)
        message = str(info.value)
        assert re.match(rf"{re.escape(str(path))}:\d+: column \d+: record 1", message), message
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps([good, {**good, "headpose": [4.5, 5, 6]}]))
    np.testing.assert_array_equal(read_spiga_json(ok).poses, [[1, 2, 3], [4.5, 5, 6]])


def test_error_position_is_the_offending_value(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('[{"imgpath": "a.jpg",\n  "landmarks": [[1, 2],\n    [3,   "x"]]}]')
    with pytest.raises(InputError, match=r"p\.json:3: column 11: record 0 'landmarks'\[1\]\[1\]"):
        read_spiga_json(path)
