"""SPIGA JSON reader, on the peer's real files."""

from __future__ import annotations

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
    with pytest.raises(InputError, match=r"a\.json:2: expected JSON"):
        read_spiga_json(tmp_path / "a.json")
    (tmp_path / "b.json").write_text('[{"imgpath": "a.jpg", "landmarks": [[1, 2]], "bbox": [1, "x", 3, 4]}]')
    with pytest.raises(InputError, match="record 0"):
        read_spiga_json(tmp_path / "b.json")
    (tmp_path / "c.json").write_text('{"imgpath": "a.jpg"}')
    with pytest.raises(InputError, match="JSON list"):
        read_spiga_json(tmp_path / "c.json")
