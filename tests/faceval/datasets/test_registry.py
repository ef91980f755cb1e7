"""The public dataset API: specs, names, roots, pose labels, manifests, verify."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import faceval.datasets as datasets
from faceval.datasets.manifest import DATASET_NAMES, load_manifest
from faceval.errors import InputError
from faceval.io.pose_csv import write_pose_csv
from tests.fixtures import build_300w_tree, random_faces


def test_list_datasets() -> None:
    listed = datasets.list_datasets()
    assert list(listed) == ["300w", "wflw", "cofw", "cofw68", "aflw2000", "json", "sample"]
    assert set(listed["wflw"]["splits"]) == {"test", "train", "largepose", "expression", "illumination", "makeup",
                                             "occlusion", "blur"}
    assert listed["300w"]["splits"]["common"]["count"] == 554
    assert listed["cofw"]["scheme"] == "cofw" and listed["aflw2000"]["scheme"] == "300w"


@pytest.mark.parametrize(("spec", "message"), [
    ("300x", "unknown dataset '300x' (did you mean '300w'?)"),
    ("wflw:blurr", "unknown split 'blurr' of dataset 'wflw' (did you mean 'blur'?)"),
    ("300w:", "expected a split after '300w:'"),
])
def test_unknown_names_suggest_closest(spec: str, message: str) -> None:
    with pytest.raises(InputError) as exc:
        datasets.load(spec, Path("/nonexistent"))
    assert message in str(exc.value)
    assert exc.value.exit_code == 2


def test_no_data_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FACEVAL_DATA_ROOT", raising=False)
    with pytest.raises(InputError, match="^no data root: pass --data-root DIR or set FACEVAL_DATA_ROOT$"):
        datasets.load("300w", None)


def test_data_root_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_300w_tree(tmp_path, {"ibug/a.jpg": random_faces(1)[0]})
    monkeypatch.setenv("FACEVAL_DATA_ROOT", str(tmp_path))
    assert datasets.load("300w:challenging", None).sample_ids == ["ibug/a.jpg"]


def test_pose_labels(tmp_path: Path) -> None:
    build_300w_tree(tmp_path, {"ibug/a.jpg": random_faces(1)[0], "ibug/b.jpg": random_faces(1)[0]})
    write_pose_csv(tmp_path / "poses.csv", ["ibug/b.jpg"], np.array([[1.0, 2.0, 3.0]]))
    ann = datasets.load("300w:challenging", tmp_path, pose_labels=tmp_path / "poses.csv")
    assert np.isnan(ann.poses[0]).all() and ann.poses[1].tolist() == [1.0, 2.0, 3.0]
    assert ann.pose_source == "poses.csv"  # the name: the path as typed is machine-local (it enters the protocol)
    write_pose_csv(tmp_path / "bad.csv", ["ibug/a.jpg", "ibug/c.jpg"], np.array([[1.0, 2.0, 3.0]] * 2))
    with pytest.raises(InputError, match=r"bad\.csv: 1 sample id\(s\) not in 300w: 'ibug/c.jpg'"):
        datasets.load("300w:challenging", tmp_path, pose_labels=tmp_path / "bad.csv")


def test_pose_labels_none_matching_names_the_file_and_both_sides(tmp_path: Path) -> None:
    """Every id of the CSV unknown (e.g. labels made for another subset): say so, with one id of each side."""
    build_300w_tree(tmp_path, {"ibug/a.jpg": random_faces(1)[0]})
    write_pose_csv(tmp_path / "other.csv", ["helen/testset/x.jpg", "helen/testset/y.jpg"], np.zeros((2, 3)))
    with pytest.raises(InputError) as exc:
        datasets.load("300w:challenging", tmp_path, pose_labels=tmp_path / "other.csv")
    text = str(exc.value)
    assert "other.csv" in text and "none of the sample ids in this pose CSV (2 rows)" in text and "\n" not in text
    assert "'helen/testset/x.jpg'" in text and "'ibug/a.jpg'" in text and "did you mean" not in text


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_manifests_are_consistent(name: str) -> None:
    manifest = load_manifest(name)
    assert manifest["name"] == name
    assert set(manifest["default_splits"]) <= set(manifest["splits"])
    for members in manifest.get("selections", {}).values():
        assert set(members) <= set(manifest["splits"])
    for entry in manifest["files"]:
        assert entry["sha256"] is None or len(entry["sha256"]) == 64
    if any(e["sha256"] is None for e in manifest["files"]) or not manifest["files"]:
        assert manifest["notes"]
    assert len(datasets.manifest_sha256(name)) == 64


def test_300w_split_counts_add_up() -> None:
    manifest = load_manifest("300w")
    folders, splits = manifest["folders"], manifest["splits"]
    for name, split in splits.items():
        assert split["count"] == sum(folders[f]["count"] for f in split["folders"]), name


def test_manifest_hash_is_of_the_file_bytes() -> None:
    # The installed manifest must be byte-identical to the repository's data_manifests/wflw.json.
    source = Path(__file__).resolve().parents[3] / "data_manifests" / "wflw.json"
    assert datasets.manifest_sha256("wflw") == hashlib.sha256(source.read_bytes()).hexdigest()


def test_wflw_attribute_hashes_match_the_real_lists() -> None:
    from tests.conftest import shared_path

    for entry in load_manifest("wflw")["files"]:
        if entry["sha256"]:
            path = shared_path("wflw_attribute_lists", Path(entry["path"]).name)
            assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]


def test_verify_sample_ok() -> None:
    report = datasets.verify("sample", None)
    assert report.ok and report.files_checked == 6 and report.counts == {"all": {"found": 3, "expected": 3, "images_found": 3}}


def test_verify_incomplete(tmp_path: Path) -> None:
    build_300w_tree(tmp_path, {"ibug/a.jpg": random_faces(1)[0]})
    report = datasets.verify("300w", tmp_path)
    assert not report.ok
    assert "300w:challenging: 1 of 135 samples present (manifest)" in report.problems
    assert json.loads(json.dumps(report.to_dict()))["ok"] is False
