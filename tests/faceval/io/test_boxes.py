"""Box files (faceval.io.boxes): CSV, JSON and 300W's official bounding_boxes_*.mat, written in their real formats."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from faceval.errors import InputError
from faceval.io.boxes import read_boxes


def write_300w_mat(path: Path, records: list[tuple[str, list[float], list[float]]], *, cell: bool = True) -> None:
    """A bounding_boxes_*.mat as 300W ships it: 1xN cell array of 1x1 structs (imgName, bb_detector, bb_ground_truth).

    Read back with scipy, the official files index as ``bounding_boxes[0][k][0][0]`` = (imgName, bb_detector,
    bb_ground_truth), each box a 1x4 double; ``cell=False`` writes a plain 1xN struct array instead.
    """
    if cell:
        cells = np.empty((1, len(records)), dtype=object)
        for k, (name, det, gt) in enumerate(records):
            cells[0, k] = {"imgName": name, "bb_detector": np.array([det], dtype=np.float64),
                           "bb_ground_truth": np.array([gt], dtype=np.float64)}
        scipy.io.savemat(str(path), {"bounding_boxes": cells})
    else:
        dtype = [("imgName", object), ("bb_detector", object), ("bb_ground_truth", object)]
        arr = np.empty((1, len(records)), dtype=dtype)
        for k, (name, det, gt) in enumerate(records):
            arr[0, k] = (name, np.array([det], dtype=np.float64), np.array([gt], dtype=np.float64))
        scipy.io.savemat(str(path), {"bounding_boxes": arr})


RECORDS = [
    ("image_0001.png", [101.5, 80.25, 300.0, 310.0], [110.0, 90.0, 290.0, 305.5]),
    ("296814969_3.jpg", [1.0, 2.0, 51.0, 62.0], [3.0, 4.0, 49.0, 58.0]),
]


# -- .mat ------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", [True, False])
@pytest.mark.parametrize("field", ["bb_detector", "bb_ground_truth"])
def test_mat_reads_the_chosen_field_zero_based(tmp_path, field, cell):
    path = tmp_path / "bounding_boxes_helen_testset.mat"
    write_300w_mat(path, RECORDS, cell=cell)
    # the official files read back, in scipy, as bounding_boxes[0][k][0][0] = (imgName, det, gt)
    if cell:
        raw = scipy.io.loadmat(str(path))["bounding_boxes"][0][0][0][0]
        assert str(raw[0][0]) == "image_0001.png" and raw[1][0].tolist() == RECORDS[0][1]
    table = read_boxes(path, field)
    column = 1 if field == "bb_detector" else 2
    assert table.keys == tuple(r[0] for r in RECORDS)
    expected = np.array([r[column] for r in RECORDS]) - 1.0  # 1-based MATLAB pixels -> faceval's 0-based frame
    np.testing.assert_array_equal(table.boxes, expected)
    assert table.format == "300w-mat" and table.field == field
    assert table.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_mat_keys_match_the_file_name_of_sample_ids(tmp_path):
    path = tmp_path / "bb.mat"
    write_300w_mat(path, RECORDS)
    table = read_boxes(path, "bb_detector")
    found = table.lookup(["lfpw/testset/image_0001.png", "helen/testset/296814969_3.jpg", "helen/testset/x.jpg"])
    assert found.found.tolist() == [True, True, False]
    assert found.missing_ids == ("helen/testset/x.jpg",)
    np.testing.assert_array_equal(found.boxes[0], np.array(RECORDS[0][1]) - 1.0)
    assert np.isnan(found.boxes[2]).all()


def test_mat_name_shared_by_two_samples_is_refused(tmp_path):
    path = tmp_path / "bb.mat"
    write_300w_mat(path, RECORDS)
    table = read_boxes(path, "bb_detector")
    with pytest.raises(InputError, match="share the name 'image_0001.png'"):
        table.lookup(["lfpw/trainset/image_0001.png", "lfpw/testset/image_0001.png"])


def test_mat_needs_a_field(tmp_path):
    path = tmp_path / "bb.mat"
    write_300w_mat(path, RECORDS)
    with pytest.raises(InputError, match="--boxes-field bb_detector|bb_ground_truth"):
        read_boxes(path)
    with pytest.raises(InputError, match="unknown box field 'bb_gt'"):
        read_boxes(path, "bb_gt")


def test_mat_bad_contents(tmp_path):
    other = tmp_path / "other.mat"
    scipy.io.savemat(str(other), {"boxes": np.zeros((2, 4))})
    with pytest.raises(InputError, match=r"other.mat: expected the variable 'bounding_boxes'.*found: boxes"):
        read_boxes(other, "bb_detector")
    inverted = tmp_path / "inverted.mat"
    write_300w_mat(inverted, [RECORDS[0], ("b.jpg", [50.0, 2.0, 10.0, 62.0], [3.0, 4.0, 49.0, 58.0])])
    with pytest.raises(InputError, match=r"bounding_boxes\{2\}: bb_detector: expected x2 > x1"):
        read_boxes(inverted, "bb_detector")
    assert len(read_boxes(inverted, "bb_ground_truth")) == 2  # only the chosen field is checked
    three = tmp_path / "three.mat"
    write_300w_mat(three, [("a.jpg", [1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0])])
    with pytest.raises(InputError, match=r"bounding_boxes\{1\}: expected bb_detector as 4 numbers"):
        read_boxes(three, "bb_detector")
    dup = tmp_path / "dup.mat"
    write_300w_mat(dup, [RECORDS[0], RECORDS[0]])
    with pytest.raises(InputError, match="given twice"):
        read_boxes(dup, "bb_detector")
    junk = tmp_path / "junk.mat"
    junk.write_bytes(b"this is not a MATLAB file at all" * 10)
    with pytest.raises(InputError, match="junk.mat: not a readable MATLAB v5 file"):
        read_boxes(junk, "bb_detector")


# -- CSV -------------------------------------------------------------------------------------


def test_csv_corners_and_xywh(tmp_path):
    corners = tmp_path / "boxes.csv"
    corners.write_text("sample_id,x1,y1,x2,y2\nhelen/testset/a.jpg,10,20.5,110,140\nb.jpg,-3,0,7.25,1e2\n")
    table = read_boxes(corners)
    assert table.keys == ("helen/testset/a.jpg", "b.jpg")
    np.testing.assert_array_equal(table.boxes, [[10, 20.5, 110, 140], [-3, 0, 7.25, 100]])
    xywh = tmp_path / "xywh.csv"
    xywh.write_text("h,sample_id,x,y,w\n120,a.jpg,10,20,100\n")  # columns in any order, said by the header
    np.testing.assert_array_equal(read_boxes(xywh).boxes, [[10, 20, 110, 140]])
    # CSV keys are sample ids, matched exactly (no file-name matching)
    assert read_boxes(corners).lookup(["x/b.jpg", "b.jpg"]).found.tolist() == [False, True]


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty box CSV file"),
        ("sample_id,x1,y1,x2,y2\n", "header but no boxes"),
        ("id,x1,y1,x2,y2\na,1,2,3,4\n", ":1: expected a header 'sample_id,x1,y1,x2,y2' or 'sample_id,x,y,w,h'"),
        ("sample_id,x1,y1,x2,y2,score\na,1,2,3,4,0.9\n", ":1: expected a header"),
        ("sample_id,x1,y1,x2,y2\na,1,2,3\n", ":2: expected 5 comma-separated values, found 4"),
        ("sample_id,x1,y1,x2,y2\na,1,2,3,4\nb,1,nan,3,4\n", ":3: expected a number for y1, found 'nan'"),
        ("sample_id,x1,y1,x2,y2\na,1,2,inf,4\n", ":2: expected a number for x2, found 'inf'"),
        ("sample_id,x1,y1,x2,y2\na,1_0,2,30,40\n", ":2: expected a number for x1, found '1_0'"),
        ("sample_id,x1,y1,x2,y2\na,0x10,2,30,40\n", ":2: expected a number for x1, found '0x10'"),
        ("sample_id,x1,y1,x2,y2\na,,2,30,40\n", ":2: expected a number for x1, found ''"),
        ("sample_id,x1,y1,x2,y2\na,10,2,5,40\n", ":2: expected x2 > x1 and y2 > y1"),
        ("sample_id,x,y,w,h\na,10,2,0,40\n", ":2: expected w > 0 and h > 0"),
        ("sample_id,x1,y1,x2,y2\na,1,2,3,4\n\na,1,2,3,4\n", ":4: sample_id 'a' given twice \\(first on line 2\\)"),
        ("sample_id,x1,y1,x2,y2\n,1,2,3,4\n", ":2: empty sample_id"),
    ],
)
def test_csv_bad_input_names_file_and_line(tmp_path, text, message):
    path = tmp_path / "b.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as info:
        read_boxes(path)
    assert str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)


def test_field_is_refused_for_csv_and_unknown_types(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("sample_id,x1,y1,x2,y2\na,1,2,3,4\n")
    with pytest.raises(InputError, match="applies to 300W .mat box files only"):
        read_boxes(path, "bb_detector")
    with pytest.raises(InputError, match="unknown box file type '.txt'"):
        read_boxes(tmp_path / "b.txt")
    with pytest.raises(InputError, match="box file not found"):
        read_boxes(tmp_path / "missing.csv")


# -- JSON ------------------------------------------------------------------------------------


def test_json_list_of_objects(tmp_path):
    path = tmp_path / "boxes.json"
    path.write_text('[\n {"sample_id": "a.jpg", "x1": 1, "y1": 2.5, "x2": 30, "y2": 40},\n'
                    ' {"sample_id": "b.jpg", "x": 5, "y": 6, "w": 10, "h": 20}\n]\n')
    table = read_boxes(path)
    assert table.keys == ("a.jpg", "b.jpg")
    np.testing.assert_array_equal(table.boxes, [[1, 2.5, 30, 40], [5, 6, 15, 26]])
    assert table.format == "json" and table.field is None


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty box JSON file"),
        ("[]", "empty list"),
        ('{"a.jpg": [1, 2, 3, 4]}', ":1: expected a JSON list of objects"),
        ('[\n{"sample_id": "a", "x1": 1, "y1": 2, "x2": 3, "y2": 4},\n{"sample_id": "b", "x1": NaN, "y1": 2, '
         '"x2": 3, "y2": 4}\n]', ":3: expected a finite number, found 'NaN'"),
        ('[\n{"sample_id": "a", "x1": "1", "y1": 2, "x2": 3, "y2": 4}]', ":2: expected a number for x1, found \"1\""),
        ('[\n{"sample_id": "a", "x1": true, "y1": 2, "x2": 3, "y2": 4}]', ":2: expected a number for x1, found true"),
        ('[\n\n{"sample_id": "a", "x1": 1, "y1": 2, "x2": 3}]', ":3: expected keys sample_id,x1,y1,x2,y2"),
        ('[\n{"sample_id": 7, "x1": 1, "y1": 2, "x2": 3, "y2": 4}]', ":2: expected a non-empty string for sample_id"),
        ('[\n{"sample_id": "a", "x1": 1, "y1": 2, "x2": 3, "y2": 4},\n{"sample_id": "a", "x1": 1, "y1": 2, '
         '"x2": 3, "y2": 4}]', ":3: sample_id 'a' given twice \\(first on line 2\\)"),
        ('[\n{"sample_id": "a", "x1": 1, "y1": 2, "x2": 3, "y2": 4}\n{"sample_id": "b"}]', ":3: not valid JSON"),
        ('[\n{"sample_id": "a", "x1": 1, "y1": 2, "x2": 3, "y2": 4}] x', ":2: not valid JSON: extra data"),
        ('[\n{"sample_id": "a", "x1": 1, "y1": 2, "x2": 3, "y2": 1}]', ":2: expected x2 > x1 and y2 > y1"),
    ],
)
def test_json_bad_input_names_file_and_line(tmp_path, text, message):
    path = tmp_path / "b.json"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as info:
        read_boxes(path)
    assert str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)


def test_provenance_names_file_hash_and_field(tmp_path):
    path = tmp_path / "bb.mat"
    write_300w_mat(path, RECORDS)
    prov = read_boxes(path, "bb_ground_truth").provenance()
    assert prov == {"file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                    "format": "300w-mat", "field": "bb_ground_truth", "boxes": 2}
