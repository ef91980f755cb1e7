"""`json:PATH` datasets: SPIGA-style annotation JSON files (synthetic files in the peer's format)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from faceval import datasets
from faceval.errors import InputError
from faceval.runs.provenance import sha256_file
from tests.fixtures import random_faces, write_image


def _records(n: int = 4, seed: int = 0) -> list[dict]:
    faces = random_faces(n, seed=seed)
    rng = np.random.default_rng(seed)
    out = []
    for i, face in enumerate(faces):
        lo, hi = face.min(axis=0), face.max(axis=0)
        out.append({"imgpath": f"images/test/img_{i}.jpg", "bbox": [*lo.tolist(), *(hi - lo).tolist()],
                    "headpose": [float(v) for v in rng.uniform(-30, 30, 3)] + [0.1, 0.2, 3.0],
                    "ids": list(range(68)), "landmarks": face.tolist(),
                    "visible": [float(v) for v in rng.random(68) > 0.2]})
    return out


def _write(path: Path, records: list[dict], subsets: dict | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records))
    if subsets is not None:
        (path.parent / "db_info.json").write_text(json.dumps({"norm": {"corners": [36, 45]}, "test_subsets": subsets}))
    return path


def test_reads_every_field(tmp_path):
    records = _records()
    path = _write(tmp_path / "ann" / "test.json", records)
    ann = datasets.load(f"json:{path}", None, need_images=False)
    assert ann.dataset == "json" and ann.scheme == "300w" and list(ann.splits) == ["all"]
    assert ann.sample_ids == [r["imgpath"] for r in records]
    np.testing.assert_array_equal(ann.landmarks, np.array([r["landmarks"] for r in records]))
    np.testing.assert_array_equal(ann.visible, np.array([r["visible"] for r in records]) > 0.5)
    x, y, w, h = records[2]["bbox"]
    np.testing.assert_allclose(ann.boxes[2], [x, y, x + w, y + h])
    np.testing.assert_allclose(ann.poses[1], records[1]["headpose"][:3])
    assert ann.manifest_sha256 == sha256_file(path)  # the file is the dataset's definition
    assert ann.pose_source == "headpose of test.json"  # no machine-local path: it enters the protocol


def test_subsets_from_db_info_and_one_split(tmp_path):
    path = _write(tmp_path / "ann" / "test.json", _records(5), {"a": [0, 2], "b": [4, 1, 3]})
    ann = datasets.load(f"json:{path}", None, need_images=False)
    assert {k: v.tolist() for k, v in ann.splits.items()} == {"all": [0, 1, 2, 3, 4], "a": [0, 2], "b": [1, 3, 4]}
    one = datasets.load(f"json:{path}:b", None, need_images=False)
    assert list(one.splits) == ["b"] and one.sample_ids == [f"images/test/img_{i}.jpg" for i in (1, 3, 4)]
    with pytest.raises(InputError, match=r"unknown split 'c' of test\.json"):
        datasets.load(f"json:{path}:c", None, need_images=False)
    assert datasets.sample_ids(f"json:{path}:a", None) == ["images/test/img_0.jpg", "images/test/img_2.jpg"]


def test_subset_index_out_of_range(tmp_path):
    path = _write(tmp_path / "ann" / "test.json", _records(3), {"a": [0, 3]})
    with pytest.raises(InputError, match=r"db_info\.json.*outside the 3 records"):
        datasets.load(f"json:{path}", None, need_images=False)


def test_several_faces_of_one_image_get_face_indices(tmp_path):
    records = _records(3)
    records[2]["imgpath"] = records[0]["imgpath"]
    path = _write(tmp_path / "test.json", records)
    ann = datasets.load(f"json:{path}", None, need_images=False)
    assert ann.sample_ids == ["images/test/img_0.jpg#0", "images/test/img_1.jpg", "images/test/img_0.jpg#1"]


def test_images_beside_the_file_or_under_the_data_root(tmp_path):
    path = _write(tmp_path / "db" / "test.json", _records(2))
    write_image(tmp_path / "db" / "images" / "test" / "img_0.jpg")
    ann = datasets.load(f"json:{path}", None)
    assert ann.image_paths[0] == tmp_path / "db" / "images" / "test" / "img_0.jpg" and ann.image_paths[1] is None
    assert any("1 annotation(s) have no image" in w for w in ann.warnings)
    write_image(tmp_path / "other" / "images" / "test" / "img_1.jpg")
    ann = datasets.load(f"json:{path}", tmp_path / "other")
    assert ann.image_paths == [None, tmp_path / "other" / "images" / "test" / "img_1.jpg"]
    with pytest.raises(InputError, match="image not found"):
        datasets.load(f"json:{path}", None, strict=True)


def test_a_path_holding_a_colon(tmp_path):
    path = _write(tmp_path / "a:b" / "test.json", _records(2), {"s": [1]})
    assert len(datasets.load(f"json:{path}", None, need_images=False)) == 2
    assert datasets.load(f"json:{path}:s", None, need_images=False).sample_ids == ["images/test/img_1.jpg"]


@pytest.mark.parametrize("mutate, message", [
    (lambda r: r[1].pop("imgpath"), r"record 1 to be an object with 'imgpath' and 'landmarks'"),
    (lambda r: r[2]["landmarks"][5].__setitem__(0, "12.5"), r"bad\.json:\d+: column \d+: record 2 'landmarks'\[5\]"),
    (lambda r: r[2].__setitem__("landmarks", r[2]["landmarks"][:60]), r"record 2 'landmarks': expected 68 points as in record 0"),
    (lambda r: r[3].__setitem__("visible", [1] * 67), r"record 3 'visible'"),
    (lambda r: r[1].__setitem__("bbox", [1, 2, 3]), r"record 1 'bbox'"),
    (lambda r: r[1].__setitem__("headpose", [1, 2]), r"record 1 'headpose'"),
    (lambda r: r[2]["landmarks"][0].__setitem__(0, float("nan")), r"record 2 'landmarks': expected finite"),
])
def test_malformed_records_name_the_file(tmp_path, mutate, message):
    records = _records()
    mutate(records)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(records, indent=1))
    with pytest.raises(InputError, match=message) as info:
        datasets.load(f"json:{path}", None, need_images=False)
    assert "bad.json" in str(info.value)


def test_missing_file_and_unknown_point_count(tmp_path):
    with pytest.raises(InputError, match="annotation JSON not found") as info:
        datasets.load(f"json:{tmp_path / 'nope.json'}", None)
    assert "nope.json" in str(info.value)
    records = _records(2)
    for r in records:
        r["landmarks"] = r["landmarks"][:50]
        r.pop("visible")
    path = _write(tmp_path / "fifty.json", records)
    with pytest.raises(InputError, match="no landmark scheme has 50 points"):
        datasets.load(f"json:{path}", None)
    with pytest.raises(InputError, match="expected an annotation file after 'json:'"):
        datasets.load("json:", None)
