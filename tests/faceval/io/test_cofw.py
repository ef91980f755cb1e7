"""COFW v7.3 .mat reader, on synthetic files written in MATLAB's layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceval.errors import InputError
from faceval.io.cofw import CofwImages, read_cofw_image, read_cofw_mat
from tests.fixtures import cofw_arrays, write_aflw2000_mat, write_cofw_mat


def test_read_landmarks_flags_boxes(tmp_path: Path) -> None:
    landmarks, occluded, boxes = cofw_arrays(5)
    path = write_cofw_mat(tmp_path / "COFW_test_color.mat", "test", landmarks, occluded, boxes)
    assert path.read_bytes()[:10] == b"MATLAB 7.3"
    data = read_cofw_mat(path, "test")
    np.testing.assert_allclose(data.landmarks, landmarks, atol=1e-9)  # 1-based on disk, 0-based here
    assert (data.occluded == occluded).all()
    np.testing.assert_allclose(data.boxes[:, :2], boxes[:, :2] - 1)
    np.testing.assert_allclose(data.boxes[:, 2:] - data.boxes[:, :2], boxes[:, 2:])


def test_images_are_decoded_untransposed(tmp_path: Path) -> None:
    landmarks, occluded, boxes = cofw_arrays(3)
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, (30, 20, 3), dtype=np.uint8), rng.integers(0, 256, (25, 35), dtype=np.uint8),
              rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)]
    path = write_cofw_mat(tmp_path / "c.mat", "train", landmarks, occluded, boxes, images)
    assert (read_cofw_image(path, "train", 0) == images[0]).all()
    grey = read_cofw_image(path, "train", 1)
    assert grey.shape == (25, 35, 3) and (grey[:, :, 2] == images[1]).all()
    with CofwImages(path, "train") as reader:
        assert len(reader) == 3
        assert reader(2).shape == (10, 12, 3)
        with pytest.raises(IndexError):
            reader(3)


def test_missing_variables(tmp_path: Path) -> None:
    landmarks, occluded, boxes = cofw_arrays(2)
    path = write_cofw_mat(tmp_path / "c.mat", "train", landmarks, occluded, boxes)
    with pytest.raises(InputError, match="expected variable 'phisT' in the COFW .mat file, found: IsTr, bboxesTr, phisTr"):
        read_cofw_mat(path, "test")


def test_not_hdf5(tmp_path: Path) -> None:
    (tmp_path / "text.mat").write_text("hello")
    with pytest.raises(InputError, match="expected a MATLAB v7.3 \\(HDF5\\)"):
        read_cofw_mat(tmp_path / "text.mat")
    v5 = write_aflw2000_mat(tmp_path / "v5.mat", np.zeros((68, 2)), (0, 0, 0))
    with pytest.raises(InputError, match="HDF5"):
        read_cofw_mat(v5)


def test_wrong_shape(tmp_path: Path) -> None:
    import h5py

    with h5py.File(tmp_path / "c.mat", "w") as f:
        f["phisT"] = np.zeros((80, 3))
        f["bboxesT"] = np.zeros((4, 3))
        f["IsT"] = np.zeros((1, 3))
    with pytest.raises(InputError, match="N x 87"):
        read_cofw_mat(tmp_path / "c.mat")


def test_unknown_split_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="'test' or 'train'"):
        read_cofw_mat(tmp_path / "c.mat", "val")
    with pytest.raises(InputError, match="not found"):
        read_cofw_mat(tmp_path / "c.mat")
