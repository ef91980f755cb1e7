"""300W loader: the real HELEN test .pts, synthetic trees, missing files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import faceval.datasets as datasets
from faceval.errors import InputError
from faceval.datasets.manifest import landmarks_digest, load_manifest
from tests.conftest import shared_path
from tests.fixtures import build_300w_tree, random_faces


@pytest.fixture
def helen_root(tmp_path: Path) -> Path:
    """A data root whose 300w/ is the real header-less HELEN test copy."""
    os.symlink(shared_path("300w_helen_test"), tmp_path / "300w")
    return tmp_path


def test_real_helen_split(helen_root: Path) -> None:
    ann = datasets.load("300w:helen", helen_root, strict=True)
    assert len(ann) == 330 and ann.warnings == []
    assert ann.sample_ids[0] == "helen/testset/296814969_3.jpg"
    assert ann.sample_ids == sorted(ann.sample_ids)
    assert all(p is not None and p.is_file() for p in ann.image_paths)
    assert np.isnan(ann.boxes).all() and ann.visible.all() and not ann.has_pose
    records = json.loads(shared_path("spiga_results", "300wpublic", "test.json").read_text())
    gt = {Path(r["imgpath"]).name: np.asarray(r["landmarks"]) for r in records}
    for i in range(0, 330, 41):
        np.testing.assert_allclose(ann.landmarks[i], gt[Path(ann.sample_ids[i]).name], atol=1e-5)


def test_real_helen_matches_manifest_digest(helen_root: Path) -> None:
    ann = datasets.load("300w:helen", helen_root)
    assert landmarks_digest(ann.sample_ids, ann.landmarks) == load_manifest("300w")["landmark_digests"]["helen"]["sha256"]


def test_default_selection_with_only_helen_warns(helen_root: Path) -> None:
    ann = datasets.load("300w", helen_root)
    assert list(ann.splits) == ["helen", "lfpw", "common", "challenging", "full"]
    assert len(ann.splits["common"]) == 330 and len(ann.splits["lfpw"]) == 0
    assert "300w:lfpw: 0 of 224 samples present (manifest)" in ann.warnings
    with pytest.raises(InputError, match=r"300w:lfpw: 0 of 224 samples present"):
        datasets.load("300w", helen_root, strict=True)


def test_synthetic_tree_order_splits_and_coordinates(tmp_path: Path) -> None:
    faces = random_faces(5)
    samples = {"ibug/b.jpg": faces[0], "helen/testset/z.jpg": faces[1], "helen/testset/a.jpg": faces[2],
               "lfpw/testset/c.png": faces[3], "300W/01_Indoor/indoor_001.png": faces[4]}
    build_300w_tree(tmp_path, samples, with_images=True)
    ann = datasets.load("300w", tmp_path)
    assert ann.sample_ids == ["helen/testset/a.jpg", "helen/testset/z.jpg", "lfpw/testset/c.png", "ibug/b.jpg"]
    assert {k: v.tolist() for k, v in ann.splits.items()} == {
        "helen": [0, 1], "lfpw": [2], "common": [0, 1, 2], "challenging": [3], "full": [0, 1, 2, 3]}
    for i, sid in enumerate(ann.sample_ids):
        np.testing.assert_allclose(ann.landmarks[i], samples[sid], atol=1e-6)
    assert ann.image_paths[3] == tmp_path / "300w" / "ibug" / "b.jpg"
    assert ann.manifest_sha256 == datasets.manifest_sha256("300w")
    private = datasets.load("300w:private", tmp_path)
    assert private.sample_ids == ["300W/01_Indoor/indoor_001.png"]
    assert list(private.splits) == ["private", "indoor", "outdoor"]
    assert datasets.sample_ids("300w:challenging", tmp_path) == ["ibug/b.jpg"]


def test_annotation_without_image_is_kept_with_warning(tmp_path: Path) -> None:
    build_300w_tree(tmp_path, {"helen/testset/a.jpg": random_faces(1)[0]}, with_images=False)
    ann = datasets.load("300w:helen", tmp_path)
    assert ann.sample_ids == ["helen/testset/a.jpg"] and ann.image_paths == [None]
    assert any("have no image" in w and "helen/testset/a.jpg" in w for w in ann.warnings)


def test_missing_image_strict_names_path(tmp_path: Path) -> None:
    faces = random_faces(330)
    build_300w_tree(tmp_path, {f"helen/testset/{i:03d}.jpg": faces[i] for i in range(330)}, with_images=False)
    with pytest.raises(InputError, match=r"300w/helen/testset/000\.jpg: image not found"):
        datasets.load("300w:helen", tmp_path, strict=True)


def test_malformed_pts_in_tree(tmp_path: Path) -> None:
    build_300w_tree(tmp_path, {"ibug/a.jpg": random_faces(1)[0]}, with_images=False)
    (tmp_path / "300w" / "ibug" / "a.pts").write_text("1 2\n" * 10)
    with pytest.raises(InputError, match=r"a\.pts: expected 68 points, found 10"):
        datasets.load("300w:challenging", tmp_path)


def test_missing_dataset_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="300W folder not found"):
        datasets.load("300w", tmp_path)


def test_empty_selection(tmp_path: Path) -> None:
    (tmp_path / "300w").mkdir()
    with pytest.raises(InputError, match="no 300w samples found"):
        datasets.load("300w:train", tmp_path)
