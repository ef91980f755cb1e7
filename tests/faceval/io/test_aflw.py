"""AFLW2000-3D .mat reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceval.errors import InputError
from faceval.io.aflw import landmark_box_size, read_aflw2000_mat
from tests.fixtures import cofw_arrays, random_faces, write_aflw2000_mat, write_cofw_mat


def test_landmarks_and_pose_order(tmp_path: Path) -> None:
    face = random_faces(1)[0]
    record = read_aflw2000_mat(write_aflw2000_mat(tmp_path / "image00002.mat", face, (-30.0, 12.5, 4.0)))
    np.testing.assert_allclose(record.landmarks, face)
    assert record.landmarks_3d.shape == (68, 3)
    np.testing.assert_allclose(record.pose, [-30.0, 12.5, 4.0])
    assert record.pt2d.shape == (21, 2) and np.isnan(record.pt2d[19:]).all()


def test_pose_para_is_pitch_yaw_roll_radians(tmp_path: Path) -> None:
    from scipy.io import savemat

    savemat(str(tmp_path / "a.mat"), {"pt3d_68": np.zeros((3, 68)),
                                      "Pose_Para": np.array([[0.1, 0.2, 0.3, 0, 0, 0, 1]])})
    yaw, pitch, roll = read_aflw2000_mat(tmp_path / "a.mat").pose
    assert (yaw, pitch, roll) == pytest.approx(np.degrees([0.2, 0.1, 0.3]))


def test_box_size() -> None:
    pts = np.array([[0.0, 0.0], [4.0, 9.0], [2.0, 1.0]])
    assert landmark_box_size(pts) == pytest.approx(6.0)
    assert landmark_box_size(np.stack([pts, pts * 2])).tolist() == pytest.approx([6.0, 12.0])


def test_missing_variables(tmp_path: Path) -> None:
    from scipy.io import savemat

    savemat(str(tmp_path / "a.mat"), {"pt2d": np.zeros((2, 21))})
    with pytest.raises(InputError, match="missing pt3d_68, Pose_Para; found: pt2d"):
        read_aflw2000_mat(tmp_path / "a.mat")


def test_not_a_mat_file(tmp_path: Path) -> None:
    (tmp_path / "a.mat").write_bytes(b"\x89PNG not a mat file at all" * 10)
    with pytest.raises(InputError, match="expected a MATLAB .mat file"):
        read_aflw2000_mat(tmp_path / "a.mat")
    landmarks, occluded, boxes = cofw_arrays(1)
    v73 = write_cofw_mat(tmp_path / "v73.mat", "test", landmarks, occluded, boxes)
    with pytest.raises(InputError, match="v7.3"):
        read_aflw2000_mat(v73)


def test_wrong_shape(tmp_path: Path) -> None:
    from scipy.io import savemat

    savemat(str(tmp_path / "a.mat"), {"pt3d_68": np.zeros((3, 67)), "Pose_Para": np.zeros((1, 7))})
    with pytest.raises(InputError, match="3 x 68"):
        read_aflw2000_mat(tmp_path / "a.mat")
