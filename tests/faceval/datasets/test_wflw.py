"""WFLW loader on synthetic lists (real attribute lists are covered in tests/faceval/io)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import faceval.datasets as datasets
from faceval.errors import InputError
from tests.conftest import shared_path
from tests.fixtures import build_wflw_tree, wflw_records, write_wflw_attribute_list

ATTRS = ("largepose", "expression", "illumination", "makeup", "occlusion", "blur")


def test_ids_splits_boxes_flags(tmp_path: Path) -> None:
    records = wflw_records(6, faces_per_image=(1, 3))
    build_wflw_tree(tmp_path, records)
    ann = datasets.load("wflw", tmp_path)
    assert len(ann) == len(records) == 12
    assert ann.sample_ids[1:4] == [f"{records[1]['image']}#{k}" for k in range(3)]
    assert list(ann.splits) == ["test", *ATTRS]
    flags = np.stack([r["flags"] for r in records])
    for col, name in enumerate(ATTRS):
        assert ann.splits[name].tolist() == np.flatnonzero(flags[:, col] == 1).tolist()
    assert (ann.attributes["blur"] == flags[:, 5]).all()
    np.testing.assert_allclose(ann.boxes, np.round(np.stack([r["box"] for r in records])))
    np.testing.assert_allclose(ann.landmarks, np.stack([r["landmarks"] for r in records]), atol=1e-6)
    assert all(p is not None and p.is_file() for p in ann.image_paths)
    assert not any("attribute list" in w for w in ann.warnings)


def test_one_attribute_split_holds_only_its_faces(tmp_path: Path) -> None:
    records = wflw_records(6)
    build_wflw_tree(tmp_path, records)
    ann = datasets.load("wflw:blur", tmp_path)
    expected = [i for i, r in enumerate(records) if r["flags"][5] == 1]
    assert len(ann) == len(expected) and ann.splits["blur"].tolist() == list(range(len(expected)))
    assert datasets.sample_ids("wflw:blur", tmp_path) == ann.sample_ids


def test_train_split(tmp_path: Path) -> None:
    build_wflw_tree(tmp_path, wflw_records(2), train_records=wflw_records(3, seed=5, event="1--Handshaking"))
    ann = datasets.load("wflw:train", tmp_path)
    assert all(s.startswith("1--Handshaking/") for s in ann.sample_ids)
    assert "wflw:train: %d of 7500 samples present (manifest)" % len(ann) in ann.warnings


def test_attribute_list_mismatch_warns(tmp_path: Path) -> None:
    records = wflw_records(6)
    build_wflw_tree(tmp_path, records)
    blur = [r for r in records if r["flags"][5] == 1]
    write_wflw_attribute_list(tmp_path / "wflw/WFLW_annotations/list_98pt_test/list_98pt_test_blur.txt", blur[:-1])
    ann = datasets.load("wflw", tmp_path)
    assert any(w.startswith("wflw:blur: the blur flags") and "1 flagged face(s) not in the list" in w
               for w in ann.warnings)


def test_missing_images_kept(tmp_path: Path) -> None:
    build_wflw_tree(tmp_path, wflw_records(2), with_images=False)
    ann = datasets.load("wflw:test", tmp_path)
    assert ann.image_paths == [None] * len(ann)
    assert any("have no image" in w for w in ann.warnings)


def test_real_attribute_lists_cross_checked_against_inconsistent_flags(tmp_path: Path) -> None:
    source = shared_path("wflw_attribute_lists")
    records = wflw_records(2)
    build_wflw_tree(tmp_path, records, attribute_lists=False, with_images=False)
    folder = tmp_path / "wflw/WFLW_annotations/list_98pt_test"
    folder.mkdir(parents=True)
    shutil.copy(source / "list_98pt_test_makeup.txt", folder)
    ann = datasets.load("wflw:makeup", tmp_path)
    assert any("official attribute list list_98pt_test_makeup.txt has 206" in w for w in ann.warnings)


def test_malformed_list_line(tmp_path: Path) -> None:
    build_wflw_tree(tmp_path, wflw_records(2), with_images=False)
    path = tmp_path / "wflw/WFLW_annotations/list_98pt_rect_attr_train_test/list_98pt_rect_attr_test.txt"
    lines = path.read_text().splitlines()
    lines[1] += " extra"
    path.write_text("\n".join(lines))
    with pytest.raises(InputError, match=r"list_98pt_rect_attr_test\.txt:2: expected 207 tokens .* found 208"):
        datasets.load("wflw", tmp_path)


def test_no_list(tmp_path: Path) -> None:
    (tmp_path / "wflw").mkdir()
    with pytest.raises(InputError, match="no WFLW annotation list"):
        datasets.load("wflw", tmp_path)
    with pytest.raises(InputError, match="test list not found"):
        datasets.load("wflw", tmp_path, strict=True)
