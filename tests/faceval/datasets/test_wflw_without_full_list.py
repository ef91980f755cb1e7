"""WFLW without the full 207-token test list: the test split and subsets from list_98pt_test/ alone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from faceval import datasets
from faceval.errors import InputError
from faceval_cli.main import main
from tests.conftest import shared_path
from tests.fixtures import WFLW_FLAG_FOR_FILE, build_wflw_tree, wflw_records, write_wflw_attribute_list

ATTRS = "WFLW_annotations/list_98pt_test"
FULL = "WFLW_annotations/list_98pt_rect_attr_train_test/list_98pt_rect_attr_test.txt"
SUBSETS = {"largepose": "largepose", "expression": "expression", "illumination": "illumination",
           "makeup": "makeup", "occlusion": "occlusion", "blur": "blur"}


def _records() -> list[dict]:
    """Six images, 1 or 2 faces each; face 0 of image 0 has no attribute (it is in no attribute list)."""
    records = wflw_records(n_images=6, faces_per_image=(2, 1), seed=4)
    records[0]["flags"] = np.zeros(6, dtype=int)
    records[1]["flags"] = np.array([0, 0, 0, 0, 0, 1])
    return records


def _tree(tmp_path: Path, records: list[dict], *, full_197: bool) -> Path:
    root = build_wflw_tree(tmp_path / "data", records, with_images=False, attribute_lists=True)
    (root / "wflw" / FULL).unlink()
    if full_197:
        write_wflw_attribute_list(root / "wflw" / ATTRS / "list_98pt_test.txt", records)
    return root


def _expected_faces(records: list[dict], flag_file: str) -> list[int]:
    return [i for i, r in enumerate(records) if int(r["flags"][WFLW_FLAG_FOR_FILE[flag_file]]) == 1]


def test_with_the_197_token_full_testing_list(tmp_path):
    records = _records()
    root = _tree(tmp_path, records, full_197=True)
    ann = datasets.load("wflw", root, need_images=False)
    # the same ids as the full list gives: <image>#<k>
    seen: dict[str, int] = {}
    expected_ids = []
    for r in records:
        expected_ids.append(f"{r['image']}#{seen.get(r['image'], 0)}")
        seen[r["image"]] = seen.get(r["image"], 0) + 1
    assert ann.sample_ids == expected_ids and len(ann.splits["test"]) == len(records)
    for split, file in SUBSETS.items():
        assert ann.splits[split].tolist() == _expected_faces(records, file), split
    np.testing.assert_allclose(ann.landmarks, np.stack([r["landmarks"] for r in records]), atol=1e-6)
    assert np.isnan(ann.boxes).all()
    assert ann.attributes["blur"].tolist() == [int(r["flags"][5]) for r in records]
    assert any("test faces from list_98pt_test.txt" in w and "--box dataset" in w for w in ann.warnings)


def test_from_the_attribute_lists_alone(tmp_path):
    records = _records()
    root = _tree(tmp_path, records, full_197=False)
    ann = datasets.load("wflw", root, need_images=False)
    flagged = [i for i, r in enumerate(records) if np.asarray(r["flags"]).any()]
    assert 0 not in flagged and len(ann) == len(flagged)  # the face with no attribute is in no list
    # ids say they are not the full list's face indices
    assert all("#a" in sid for sid in ann.sample_ids)
    # face 1 of image 0 is the only listed face of that image
    assert [s for s in ann.sample_ids if s.startswith(records[0]["image"] + "#")] == [f"{records[1]['image']}#a0"]
    def row_of(record: dict) -> int:  # the loaded face of that image with those coordinates
        rows = [i for i, sid in enumerate(ann.sample_ids) if sid.split("#")[0] == record["image"]
                and np.abs(ann.landmarks[i] - record["landmarks"]).max() < 1e-5]
        assert len(rows) == 1
        return rows[0]

    for split, file in SUBSETS.items():
        want = sorted(row_of(records[i]) for i in _expected_faces(records, file))
        assert ann.splits[split].tolist() == want, split
    assert any("6 attribute list(s) alone" in w for w in ann.warnings)
    assert any(f"test: {len(flagged)} of 2500 samples present" in w for w in ann.warnings)  # never silently complete


def test_empty_or_missing_train_list_keeps_the_test_split(tmp_path):
    records = _records()
    root = _tree(tmp_path, records, full_197=True)
    from faceval.datasets.manifest import load_manifest
    from faceval.datasets.wflw import load as load_wflw

    train = root / "wflw" / "WFLW_annotations/list_98pt_rect_attr_train_test/list_98pt_rect_attr_train.txt"
    assert not train.exists()
    ann = load_wflw(root, ("test", "train"), strict=False, manifest=load_manifest("wflw"), need_images=False)
    assert len(ann.splits["test"]) == len(records) and len(ann.splits["train"]) == 0
    assert any("train list not found" in w for w in ann.warnings)
    train.parent.mkdir(parents=True, exist_ok=True)
    train.write_text("\n  \n")
    ann = load_wflw(root, ("test", "train"), strict=False, manifest=load_manifest("wflw"), need_images=False)
    assert len(ann.splits["test"]) == len(records) and len(ann.splits["train"]) == 0
    assert any("train list is empty" in w for w in ann.warnings)
    with pytest.raises(InputError, match="train list is empty"):
        load_wflw(root, ("test", "train"), strict=True, manifest=load_manifest("wflw"), need_images=False)


def test_real_attribute_lists_alone(tmp_path):
    real = shared_path("wflw_attribute_lists")
    folder = tmp_path / "data" / "wflw" / ATTRS
    folder.mkdir(parents=True)
    for name in SUBSETS.values():
        shutil.copy(real / f"list_98pt_test_{name}.txt", folder)
    ann = datasets.load("wflw", tmp_path / "data", need_images=False)
    # the sizes the dataset's README gives, and the 1966 distinct faces of the six lists
    sizes = {split: len(ann.splits[split]) for split in SUBSETS}
    assert sizes == {"largepose": 326, "expression": 314, "illumination": 698, "makeup": 206, "occlusion": 736,
                     "blur": 773}
    assert len(ann.splits["test"]) == 1966
    # independently: a face's key (image, coordinates) per line of each file
    keys = set()
    for name in SUBSETS.values():
        for line in (real / f"list_98pt_test_{name}.txt").read_text().splitlines():
            tokens = line.split()
            keys.add((tokens[-1], tuple(round(float(v), 3) for v in tokens[:-1])))
    assert len(keys) == 1966
    assert np.isnan(ann.boxes).all()


def test_box_dataset_is_refused_before_any_work(tmp_path, capsys):
    root = _tree(tmp_path, _records(), full_197=False)
    model = Path(__file__).resolve().parents[3] / "faceval" / "data" / "models" / "PFLD_GhostOne_112_1_opt_sim.onnx"
    capsys.readouterr()
    code = main(["run", "--model", str(model), "--dataset", "wflw", "--data-root", str(root), "--box", "dataset",
                 "--no-cache", "--no-progress", "--out", str(tmp_path / "r.h5")])
    err = capsys.readouterr().err
    assert code == 2 and "--box dataset: wflw has no face rectangles" in err
    assert not (tmp_path / "r.h5").exists()


def test_score_on_the_197_token_lists(tmp_path, capsys):
    records = _records()
    root = _tree(tmp_path, records, full_197=True)
    ann = datasets.load("wflw", root, need_images=False)
    rng = np.random.default_rng(0)
    preds = ann.landmarks + rng.normal(0, 1.0, ann.landmarks.shape)
    path = tmp_path / "p.json"
    path.write_text(json.dumps([{"sample_id": s, "landmarks": p.tolist()} for s, p in zip(ann.sample_ids, preds)]))
    capsys.readouterr()
    assert main(["score", "--predictions", str(path), "--dataset", "wflw", "--data-root", str(root),
                 "--format", "json"]) == 0
    splits = json.loads(capsys.readouterr().out)["splits"]
    gt = np.stack([r["landmarks"] for r in records])
    d = np.linalg.norm(gt[:, 60] - gt[:, 72], axis=1)
    per_image = np.linalg.norm(preds - gt, axis=2).mean(axis=1) / d
    assert splits["test"]["nme"] == pytest.approx(per_image.mean(), rel=1e-6)
    blur = _expected_faces(records, "blur")
    assert splits["blur"]["nme"] == pytest.approx(per_image[blur].mean(), rel=1e-6)
