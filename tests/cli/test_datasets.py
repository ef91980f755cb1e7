"""``faceval datasets``: list, info, verify, samples; exit codes and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from faceval_cli.main import main
from tests.fixtures import build_300w_tree, random_faces

HEAVY = ("onnxruntime", "matplotlib", "pandas", "scipy")


@pytest.fixture(autouse=True)
def _no_env_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FACEVAL_DATA_ROOT", raising=False)


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("faceval: error: ")
    return lines[0]


def test_list_json_names_every_dataset(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets", "list", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)["datasets"]
    assert set(listed) == {"300w", "wflw", "cofw", "cofw68", "aflw2000", "json", "sample"}
    assert "blur" in listed["wflw"]["splits"] and "private" in listed["300w"]["splits"]
    assert listed["cofw68"]["splits"]["test"]["count"] == 507 and listed["cofw68"]["scheme"] == "300w"
    assert set(listed["aflw2000"]["splits"]) == {"test", "all", "yaw0-30", "yaw30-60", "yaw60-90"}
    assert listed["aflw2000"]["splits"]["yaw30-60"]["count"] is None  # no copy to count them from
    assert listed["json"]["needs_data_root"] is False


def test_list_and_info_show_the_new_datasets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets", "list"]) == 0
    out = capsys.readouterr().out
    assert "yaw0-30 (?)" in out and any(line.startswith("cofw68 ") for line in out.splitlines())
    assert main(["datasets", "info", "json"]) == 0
    out = capsys.readouterr().out
    assert "json:PATH" in out and "db_info.json" in out
    assert main(["datasets", "info", "cofw68"]) == 0
    assert "cofw68/test.json" in capsys.readouterr().out


def test_list_human_goes_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets", "list"]) == 0
    out, err = capsys.readouterr()
    assert "aflw2000" in out and err == ""  # a listing is data: `faceval datasets list | grep wflw` works
    assert any(line.startswith("wflw ") for line in out.splitlines())


@pytest.mark.parametrize("args", [["datasets", "list"], ["datasets", "--help"], ["datasets", "list", "--format", "json"]])
def test_list_and_help_stay_light(args: list[str]) -> None:
    code = (
        "import sys\n"
        "from faceval_cli.main import main\n"
        f"rc = main({args!r})\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "sys.stderr.write('HEAVY=' + ','.join(heavy) + '\\n')\n"
        "sys.exit(rc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "HEAVY=\n" in result.stderr, result.stderr


def test_info(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets", "info", "wflw", "--format", "json"]) == 0
    details = json.loads(capsys.readouterr().out)
    assert details["splits"]["largepose"]["count"] == 326 and len(details["manifest_sha256"]) == 64


def test_info_human_goes_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets", "info", "wflw"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "largepose" in out and "manifest sha256" in out


def test_info_with_root_shows_found_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_300w_tree(tmp_path, {"ibug/a.jpg": random_faces(1)[0]})
    assert main(["datasets", "info", "300w", "--data-root", str(tmp_path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["found"]["challenging"] == {"found": 1, "expected": 135, "images_found": 1}


def test_info_with_root_human_is_an_aligned_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_300w_tree(tmp_path, {"ibug/a.jpg": random_faces(1)[0]})
    assert main(["datasets", "info", "300w", "--data-root", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if line.split()[:4] == ["split", "expected", "found", "status"])
    rows = {line.split()[0]: line for line in lines if line.startswith("    ") and line.split()[0] in
            ("helen", "challenging", "train")}
    assert rows["challenging"].split()[1:4] == ["135", "1", "134"]  # expected, found, "134 missing"
    assert "134 missing" in rows["challenging"]
    # right-aligned numbers: each column ends where its header ends
    for column in ("expected", "found"):
        end = header.index(column) + len(column)
        assert {row[:end].split()[-1].isdigit() for row in rows.values()} == {True}
        assert {len(row[:end].rstrip()) for row in rows.values()} == {end}
    assert all(line == line.rstrip() for line in lines)  # no trailing padding


def test_human_tables_are_not_cut_at_80_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets", "info", "300w"]) == 0  # stdout is not a terminal under capsys
    out = capsys.readouterr().out
    assert "training set = afw 337 + helen train 2000 + lfpw train 811" in out and "…" not in out


def test_samples(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_300w_tree(tmp_path, {"ibug/b.jpg": random_faces(1)[0], "helen/testset/a.jpg": random_faces(1)[0]})
    assert main(["datasets", "samples", "300w:full", "--data-root", str(tmp_path)]) == 0
    assert capsys.readouterr().out.split() == ["helen/testset/a.jpg", "ibug/b.jpg"]
    assert main(["datasets", "samples", "sample", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["sample_ids"] == ["breakingbad.jpg", "einstein.jpg", "takeo.ppm"]


def test_verify_sample_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets", "verify", "sample"]) == 0
    out, err = capsys.readouterr()
    assert "complete and matching" in out and err == ""
    assert any(line.split() == ["all", "3", "3", "complete"] for line in out.splitlines())


def test_verify_incomplete_human_findings_on_stdout_error_on_stderr(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    build_300w_tree(tmp_path, {"ibug/a.jpg": random_faces(1)[0]})
    assert main(["datasets", "verify", "300w", "--data-root", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert "problem: 300w:challenging: 1 of 135 samples present (manifest)" in out
    assert any(line.split()[:3] == ["challenging", "135", "1"] for line in out.splitlines())
    assert len(err.strip().splitlines()) == 1 and err.startswith("faceval: error: 300w: ")


def test_verify_incomplete_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_300w_tree(tmp_path, {"ibug/a.jpg": random_faces(1)[0]})
    assert main(["datasets", "verify", "300w", "--data-root", str(tmp_path), "--format", "json"]) == 2
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["ok"] is False and "300w:challenging: 1 of 135 samples present (manifest)" in report["problems"]
    assert "Traceback" not in captured.err and captured.err.startswith("faceval: error: 300w: ")


@pytest.mark.parametrize(("args", "message"), [
    (["datasets", "samples", "wflww"], "unknown dataset 'wflww' (did you mean 'wflw'?)"),
    (["datasets", "samples", "300w:commn", "--data-root", "."], "did you mean 'common'?"),
    (["datasets", "info", "cofx"], "did you mean 'cofw'?"),
    (["datasets", "samples", "300w"], "no data root: pass --data-root DIR or set FACEVAL_DATA_ROOT"),
    (["datasets", "verify", "wflw"], "no data root"),
    # once "unknown dataset 'json:a.json'; known: ..., json, ..." (json is known)
    (["datasets", "info", "json:a.json"], "datasets info takes a dataset name, not the file of 'json:a.json'"),
])
def test_input_errors_exit_2_with_one_line(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    assert message in _error_line(capsys)


def test_malformed_annotation_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_300w_tree(tmp_path, {"ibug/a.jpg": random_faces(1)[0]}, with_images=False)
    (tmp_path / "300w" / "ibug" / "a.pts").write_text("version: 1\nn_points: 68\n{\n1 x\n}\n")
    assert main(["datasets", "samples", "300w:challenging", "--data-root", str(tmp_path)]) == 2
    line = _error_line(capsys)
    assert "a.pts:4: expected numeric coordinates, found 'x'" in line
