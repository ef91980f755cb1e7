"""Pose sidecar CSV reader and writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceval.errors import InputError
from faceval.io.pose_csv import read_pose_csv, write_pose_csv


def test_round_trip(tmp_path: Path) -> None:
    poses = np.array([[1.5, -2.0, 3.25], [0.0, 10.0, -45.0]])
    write_pose_csv(tmp_path / "p.csv", ["a.jpg", "b/c.png"], poses)
    ids, read = read_pose_csv(tmp_path / "p.csv")
    assert ids == ["a.jpg", "b/c.png"]
    np.testing.assert_array_equal(read, poses)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty pose CSV"),
        ("id,yaw,pitch,roll\n", "expected the header 'sample_id,yaw,pitch,roll'"),
        ("sample_id,yaw,pitch,roll\na,1,2\n", r":2: expected 4 columns"),
        ("sample_id,yaw,pitch,roll\na,1,2,x\n", r":2: expected numeric"),
        ("sample_id,yaw,pitch,roll\na,1,2,3\na,1,2,3\n", r":3: duplicate sample id 'a'"),
    ],
)
def test_malformed(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "p.csv").write_text(text)
    with pytest.raises(InputError, match=message):
        read_pose_csv(tmp_path / "p.csv")
