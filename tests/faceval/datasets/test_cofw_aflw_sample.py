"""COFW, AFLW2000-3D and the bundled sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import faceval.datasets as datasets
from faceval.errors import InputError
from tests.fixtures import (SAMPLE_DIR, build_aflw2000_tree, cofw_arrays, random_faces, write_cofw_mat)


def _cofw_root(tmp_path: Path, n_test: int = 4, n_train: int = 0) -> Path:
    (tmp_path / "cofw").mkdir()
    for split, n in (("test", n_test), ("train", n_train)):
        if n:
            arrays = cofw_arrays(n, seed=n)
            write_cofw_mat(tmp_path / "cofw" / f"COFW_{split}_color.mat", split, *arrays)
    return tmp_path


def test_cofw_load(tmp_path: Path) -> None:
    root = _cofw_root(tmp_path)
    landmarks, occluded, boxes = cofw_arrays(4, seed=4)
    ann = datasets.load("cofw", root)
    assert ann.sample_ids == ["test/0", "test/1", "test/2", "test/3"]
    assert ann.scheme == "cofw" and ann.image_paths == [None] * 4
    np.testing.assert_allclose(ann.landmarks, landmarks, atol=1e-9)
    assert (ann.visible == ~occluded).all()
    np.testing.assert_allclose(ann.boxes[:, :2], boxes[:, :2] - 1)
    assert "cofw:test: 4 of 507 samples present (manifest)" in ann.warnings
    loader = datasets.image_loader(ann)
    assert loader is not None and loader(2).shape == (48, 40, 3)
    loader.close()


def test_cofw_train_missing_file_warns_or_fails(tmp_path: Path) -> None:
    root = _cofw_root(tmp_path, n_test=2, n_train=3)
    ann = datasets.load("cofw:train", root)
    assert ann.sample_ids == ["train/0", "train/1", "train/2"]
    (root / "cofw" / "COFW_train_color.mat").unlink()
    with pytest.raises(InputError, match="no COFW .mat file"):
        datasets.load("cofw:train", root)


def test_cofw_mat_without_variables(tmp_path: Path) -> None:
    root = _cofw_root(tmp_path, n_test=0, n_train=2)
    (root / "cofw" / "COFW_train_color.mat").rename(root / "cofw" / "COFW_test_color.mat")
    with pytest.raises(InputError, match="expected variable 'phisT'"):
        datasets.load("cofw", root)


def test_aflw2000(tmp_path: Path) -> None:
    faces = random_faces(3)
    build_aflw2000_tree(tmp_path, {"image00004.jpg": (faces[0], (10, -5, 2)), "image00002.jpg": (faces[1], (0, 0, 0)),
                                   "image00008.jpg": (faces[2], (-100, 3, 1))}, with_images=True)
    ann = datasets.load("aflw2000", tmp_path)
    assert ann.sample_ids == ["image00002.jpg", "image00004.jpg"] and list(ann.splits) == ["test", "yaw0-30", "yaw30-60", "yaw60-90"]
    np.testing.assert_allclose(ann.poses, [[0, 0, 0], [10, -5, 2]], atol=1e-9)
    assert ann.pose_source == "dataset" and ann.has_pose
    span = np.ptp(faces[1], axis=0)
    assert ann.box_sizes[0] == pytest.approx(np.sqrt(span[0] * span[1]))
    every = datasets.load("aflw2000:all", tmp_path)
    assert len(every) == 3 and every.splits["all"].tolist() == [0, 1, 2]


def test_sample_needs_no_root() -> None:
    ann = datasets.load("sample", None, strict=True)
    assert ann.sample_ids == ["breakingbad.jpg", "einstein.jpg", "takeo.ppm"]
    assert ann.landmarks.shape == (3, 68, 2) and ann.warnings == []
    assert ann.image_paths[2] == SAMPLE_DIR / "takeo.ppm" or ann.image_paths[2].name == "takeo.ppm"
    first = (SAMPLE_DIR / "breakingbad.pts").read_text().splitlines()[3].split()
    assert ann.landmarks[0, 0] == pytest.approx([float(first[0]) - 1, float(first[1]) - 1])
