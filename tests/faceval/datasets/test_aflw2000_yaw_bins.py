"""AFLW2000-3D yaw bins (3DDFA's protocol) on synthetic .mat files in the real format (MATLAB v5)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.io import savemat

from faceval import datasets
from faceval_cli.main import main
from tests.fixtures import build_aflw2000_tree, random_faces

#: file name -> (yaw, pitch, roll) degrees, and the bin a reader of the paper puts it in
CASES = {
    "image00001.jpg": ((0.0, 5.0, 1.0), "yaw0-30"),
    "image00002.jpg": ((30.0, 2.0, 0.0), "yaw0-30"),       # exactly 30: |yaw| <= 30
    "image00003.jpg": ((-30.0, 2.0, 0.0), "yaw0-30"),
    "image00004.jpg": ((30.01, 2.0, 0.0), "yaw30-60"),
    "image00005.jpg": ((60.0, -3.0, 4.0), "yaw30-60"),      # exactly 60: (30, 60]
    "image00006.jpg": ((-60.0, -3.0, 4.0), "yaw30-60"),
    "image00007.jpg": ((60.02, 0.0, 0.0), "yaw60-90"),
    "image00008.jpg": ((-89.0, 0.0, 0.0), "yaw60-90"),
    "image00009.jpg": ((98.0, 0.0, 0.0), "yaw60-90"),       # > 60 up to the +-99 filter
    "image00010.jpg": ((120.0, 0.0, 0.0), None),            # outside +-99: in no bin, not in test
    "image00011.jpg": ((10.0, 105.0, 0.0), None),           # pitch outside +-99
}


def _tree(tmp_path):
    faces = random_faces(len(CASES), seed=5)
    records = {name: (faces[i], pose) for i, (name, (pose, _)) in enumerate(CASES.items())}
    return build_aflw2000_tree(tmp_path / "data", records, with_images=False)


def _expected(bin_name):
    return sorted(name for name, (_, b) in CASES.items() if b == bin_name)


def test_yaw_bins_with_exact_edges(tmp_path):
    root = _tree(tmp_path)
    ann = datasets.load("aflw2000", root, need_images=False)
    assert list(ann.splits) == ["test", "yaw0-30", "yaw30-60", "yaw60-90"]
    for name in ("yaw0-30", "yaw30-60", "yaw60-90"):
        assert sorted(ann.sample_ids[i] for i in ann.splits[name]) == _expected(name), name
    # the bins partition the +-99 test split
    union = np.sort(np.concatenate([ann.splits[b] for b in ("yaw0-30", "yaw30-60", "yaw60-90")]))
    assert union.tolist() == ann.splits["test"].tolist() and len(union) == 9


def test_one_bin_and_the_yaw_selection(tmp_path):
    root = _tree(tmp_path)
    one = datasets.load("aflw2000:yaw30-60", root, need_images=False)
    assert list(one.splits) == ["yaw30-60"] and sorted(one.sample_ids) == _expected("yaw30-60")
    sel = datasets.load("aflw2000:yaw", root, need_images=False)
    assert list(sel.splits) == ["yaw0-30", "yaw30-60", "yaw60-90"] and len(sel) == 9


def test_float32_pose_para_at_the_edges(tmp_path):
    """Pose_Para stored in single precision: radians(30) is 30.0000008 degrees, still the 0-30 bin."""
    base = tmp_path / "data" / "aflw2000" / "AFLW2000"
    base.mkdir(parents=True)
    face = random_faces(1, seed=2)[0]
    for i, yaw in enumerate((30.0, 60.0, -60.0), start=1):
        pt3d = np.vstack([face.T, np.zeros((1, 68))])
        para = np.array([[0.0, np.radians(yaw), 0.0, 0.0, 0.0, 0.0, 1.0]], dtype=np.float32)
        savemat(str(base / f"image{i:05d}.mat"), {"pt3d_68": pt3d, "pt2d": -np.ones((2, 21)), "Pose_Para": para,
                                                 "roi": np.array([[0.0, 0.0, 100.0, 100.0]])})
    ann = datasets.load("aflw2000", tmp_path / "data", need_images=False)
    assert np.degrees(np.float64(np.float32(np.radians(30.0)))) > 30.0  # the stored value is above the edge
    assert [ann.sample_ids[i] for i in ann.splits["yaw0-30"]] == ["image00001.jpg"]
    assert [ann.sample_ids[i] for i in ann.splits["yaw30-60"]] == ["image00002.jpg", "image00003.jpg"]
    assert len(ann.splits["yaw60-90"]) == 0


def test_score_reports_nme_per_bin(tmp_path, capsys):
    root = _tree(tmp_path)
    faces = random_faces(len(CASES), seed=5)
    rng = np.random.default_rng(1)
    preds = faces + rng.normal(0, 2.0, faces.shape)
    rows = [{"sample_id": name, "landmarks": preds[i].tolist()} for i, name in enumerate(CASES)]
    path = tmp_path / "p.json"
    path.write_text(json.dumps(rows))
    capsys.readouterr()
    code = main(["score", "--predictions", str(path), "--dataset", "aflw2000", "--data-root", str(root),
                 "--normalizer", "bbox", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    splits = json.loads(out)["splits"]
    names = list(CASES)
    for bin_name in ("yaw0-30", "yaw30-60", "yaw60-90"):
        per_image = []
        for name in _expected(bin_name):
            i = names.index(name)
            gt = faces[i]
            d = np.sqrt(np.ptp(gt[:, 0]) * np.ptp(gt[:, 1]))
            per_image.append(np.mean(np.linalg.norm(preds[i] - gt, axis=1)) / d)
        assert splits[bin_name]["n"] == len(per_image)
        # GT .mat files store float64: equal up to that precision
        assert splits[bin_name]["nme"] == pytest.approx(np.mean(per_image), rel=1e-9), bin_name
