"""WFLW list readers: the real attribute lists, synthetic full lists, malformed lines."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from faceval.errors import InputError
from faceval.io.wflw import read_wflw_attribute_list, read_wflw_list
from tests.conftest import shared_path
from tests.fixtures import wflw_records, write_wflw_attribute_list, write_wflw_list

SIZES = {"largepose": 326, "expression": 314, "illumination": 698, "makeup": 206, "occlusion": 736, "blur": 773}


@pytest.mark.parametrize("name", sorted(SIZES))
def test_real_attribute_lists(name: str) -> None:
    path = shared_path("wflw_attribute_lists", f"list_98pt_test_{name}.txt")
    parsed = read_wflw_attribute_list(path)
    assert len(parsed) == SIZES[name]
    assert parsed.landmarks.shape == (SIZES[name], 98, 2)
    assert all(p.endswith(".jpg") and "--" in p for p in parsed.image_paths)
    first = path.read_text().split("\n", 1)[0].split()
    assert parsed.landmarks[0, 0] == pytest.approx([float(first[0]), float(first[1])])  # no shift
    assert parsed.image_paths[0] == first[-1]
    assert np.isnan(parsed.boxes).all() and (parsed.flags == -1).all()


def test_real_attribute_list_is_fast() -> None:
    path = shared_path("wflw_attribute_lists", "list_98pt_test_blur.txt")
    start = time.perf_counter()
    read_wflw_attribute_list(path)
    assert time.perf_counter() - start < 1.0


def test_full_list_round_trip_and_face_ids(tmp_path: Path) -> None:
    records = wflw_records(3, faces_per_image=(2, 1))
    parsed = read_wflw_list(write_wflw_list(tmp_path / "list.txt", records))
    assert len(parsed) == 5
    np.testing.assert_allclose(parsed.landmarks, np.stack([r["landmarks"] for r in records]), atol=1e-6)
    assert (parsed.flags == np.stack([r["flags"] for r in records])).all()
    assert parsed.face_ids()[:3] == [f"{records[0]['image']}#0", f"{records[0]['image']}#1", f"{records[2]['image']}#0"]
    assert parsed.line_numbers.tolist() == [1, 2, 3, 4, 5]


def test_full_list_parses_7500_lines_quickly(tmp_path: Path) -> None:
    records = wflw_records(1, faces_per_image=(1,))
    line = (tmp_path / "one.txt")
    write_wflw_list(line, records)
    (tmp_path / "big.txt").write_text(line.read_text() * 7500)
    start = time.perf_counter()
    parsed = read_wflw_list(tmp_path / "big.txt")
    assert len(parsed) == 7500
    assert time.perf_counter() - start < 3.0


def _lines(tmp_path: Path) -> list[str]:
    return write_wflw_list(tmp_path / "list.txt", wflw_records(3)).read_text().splitlines()


def test_wrong_token_count_message(tmp_path: Path) -> None:
    lines = _lines(tmp_path)
    lines[1] = " ".join(lines[1].split()[4:])
    (tmp_path / "list.txt").write_text("\n".join(lines))
    with pytest.raises(InputError) as exc:
        read_wflw_list(tmp_path / "list.txt")
    assert str(exc.value) == (f"{tmp_path / 'list.txt'}:2: expected 207 tokens (196 coordinates, 4 rectangle values, "
                              "6 attribute flags, image path), found 203")
    assert exc.value.line == 2


def test_non_numeric_names_line(tmp_path: Path) -> None:
    lines = _lines(tmp_path)
    tokens = lines[2].split()
    tokens[7] = "x1.5"
    lines[2] = " ".join(tokens)
    (tmp_path / "list.txt").write_text("\n".join(lines))
    with pytest.raises(InputError, match=r"list\.txt:3: expected numeric values, found 'x1.5'"):
        read_wflw_list(tmp_path / "list.txt")


def test_bad_flag(tmp_path: Path) -> None:
    lines = _lines(tmp_path)
    tokens = lines[0].split()
    tokens[201] = "2"
    lines[0] = " ".join(tokens)
    (tmp_path / "list.txt").write_text("\n".join(lines))
    with pytest.raises(InputError, match=r":1: expected a 0/1 expression flag"):
        read_wflw_list(tmp_path / "list.txt")


def test_full_list_given_to_attribute_reader(tmp_path: Path) -> None:
    path = write_wflw_list(tmp_path / "list.txt", wflw_records(1))
    with pytest.raises(InputError, match="expected 197 tokens .* found 207"):
        read_wflw_attribute_list(path)


def test_empty_and_undecodable(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(InputError, match="empty WFLW"):
        read_wflw_list(tmp_path / "empty.txt")
    (tmp_path / "latin.txt").write_bytes("caf\xe9 1 2".encode("latin-1"))
    with pytest.raises(InputError, match="UTF-8"):
        read_wflw_list(tmp_path / "latin.txt")


def test_attribute_list_writer_round_trip(tmp_path: Path) -> None:
    records = wflw_records(2)
    parsed = read_wflw_attribute_list(write_wflw_attribute_list(tmp_path / "a.txt", records))
    assert parsed.image_paths == [r["image"] for r in records]


def test_strict_numbers_and_fast_reader_agree_with_the_checker(tmp_path: Path) -> None:
    """The vectorised reader gives the token checker's arrays; '1_000' and non-ASCII digits are errors
    (the old np.array(tokens, float) took both)."""
    from faceval.io import wflw as module

    records = wflw_records(3)
    path = write_wflw_list(tmp_path / "list.txt", records)
    fast = read_wflw_list(path)
    expected = np.stack([r["landmarks"] for r in records])
    np.testing.assert_allclose(fast.landmarks, expected, atol=1e-6)
    assert fast.image_paths == [r["image"] for r in records]
    assert module._read_fast(path, 207) is not None  # the plain file takes the vectorised path
    for token in ("1_000", "\u0661\u0662", "nan", "true"):
        lines = path.read_text().splitlines()
        parts = lines[1].split()
        parts[7] = token
        lines[1] = " ".join(parts)
        bad = tmp_path / "bad.txt"
        bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
        with pytest.raises(InputError, match=rf"bad\.txt:2: expected numeric values, found '{token}'"):
            read_wflw_list(bad)


def test_many_pieces_give_the_same_list(tmp_path: Path, monkeypatch) -> None:
    """The list read in 700-byte pieces (one or two lines each) equals the records written."""
    from faceval.io import table

    records = wflw_records(6, faces_per_image=(1, 2, 3))
    path = write_wflw_list(tmp_path / "list.txt", records)
    monkeypatch.setattr(table, "PIECE_BYTES", 700)
    parsed = read_wflw_list(path)
    np.testing.assert_allclose(parsed.landmarks, np.stack([r["landmarks"] for r in records]), atol=1e-6)
    assert (parsed.flags == np.stack([r["flags"] for r in records])).all()
    assert parsed.image_paths == [r["image"] for r in records]
    from faceval.io import wflw as module

    assert module._read_fast(path, 207) is not None  # read by the vectorised path, not the checker
