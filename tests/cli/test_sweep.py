"""`faceval run` with several --model or a glob: a sweep, one run file per model, one table."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from faceval.runs.runfile import read_run
from faceval_cli.main import main
from tests.conftest import shared_path

GHOSTONE = Path(__file__).resolve().parents[2] / "faceval" / "data" / "models" / "PFLD_GhostOne_112_1_opt_sim.onnx"
SPEC = ["--set", "color=RGB", "--set", "mean=0.5", "--set", "std=0.5", "--set", "scheme=wflw"]


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_two_models_give_two_run_files_and_one_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    shutil.copyfile(GHOSTONE, a)
    shutil.copyfile(GHOSTONE, b)
    out = tmp_path / "runs"
    assert main(["run", "--model", str(a), "--model", str(b), "--out", str(out), "--cache", str(tmp_path / "c"),
                 "--no-progress"]) == 0
    printed = capsys.readouterr().out
    files = sorted(p.name for p in out.iterdir())
    assert files == ["a-sample.h5", "b-sample.h5"]
    assert "a.onnx" in printed and "b.onnx" in printed and "2 models on sample" in printed


def test_glob_json_lists_every_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ckpts = tmp_path / "ckpts"
    ckpts.mkdir()
    for name in ("m2.onnx", "m1.onnx"):
        shutil.copyfile(GHOSTONE, ckpts / name)
    assert main(["run", "--model", str(ckpts / "*.onnx"), "--out", str(tmp_path / "o"), "--cache", str(tmp_path / "c"),
                 "--no-progress", "--format", "json"]) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [Path(r["model"]).name for r in runs] == ["m1.onnx", "m2.onnx"]
    assert runs[0]["splits"] == runs[1]["splits"] and runs[1]["timings"]["cache_hits"] == runs[1]["timings"]["images"]


def test_glob_that_matches_nothing_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--model", str(tmp_path / "none*.onnx"), "--no-progress"]) == 2
    line = _error_line(capsys)
    assert line.startswith("faceval: error: --model") and "none*.onnx" in line and "no model file matches" in line


def test_sweep_into_one_h5_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--model", str(GHOSTONE), "--model", str(GHOSTONE.with_name("x.onnx")),
                 "--out", str(tmp_path / "one.h5"), "--no-progress"]) == 2
    assert "give a folder" in _error_line(capsys)


def test_sweep_of_the_real_pfld_models_matches_separate_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    models = sorted(shared_path("models", "pfld_ghostone").glob("*.onnx"))
    helen = shared_path("300w_helen_test", "helen", "testset")
    root = tmp_path / "data"
    (root / "300w" / "helen").mkdir(parents=True)
    (root / "300w" / "helen" / "testset").symlink_to(helen)
    common = ["--dataset", "300w:helen", "--data-root", str(root), "--limit", "12", "--no-progress", *SPEC]
    args = ["run"] + [x for m in models for x in ("--model", str(m))]
    assert main(args + ["--out", str(tmp_path / "sweep"), "--cache", str(tmp_path / "c1"), *common]) == 0
    for m in models:
        alone = tmp_path / f"{m.stem}.h5"
        assert main(["run", "--model", str(m), "--out", str(alone), "--no-cache", *common]) == 0
        swept = read_run(tmp_path / "sweep" / f"{m.stem}-300w_helen.h5")
        np.testing.assert_array_equal(swept.predictions, read_run(alone).predictions)
    # three different models: three different results
    nmes = {float(read_run(tmp_path / f"{m.stem}.h5").summary["helen"]["nme"]) for m in models}
    assert len(nmes) == len(models)


def test_default_names_are_reserved_like_a_single_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two sweeps in the same second never share a run file: a name held by a live run's lock, or
    written by a finished run, is skipped (-2, -3, ...), as for a single run."""
    import faceval_cli.sweep as sweep_cli

    a, b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    shutil.copyfile(GHOSTONE, a)
    shutil.copyfile(GHOSTONE, b)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sweep_cli.time, "strftime", lambda fmt, *args: "20260101-000000")
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "a-sample-20260101-000000.h5.lock").write_text("1\n")  # pid 1 is alive: another sweep writing it
    (runs / "b-sample-20260101-000000.h5").write_bytes(b"a finished run")  # a run of the same second
    assert main(["run", "--model", str(a), "--model", str(b), "--cache", str(tmp_path / "c"), "--no-progress"]) == 0
    capsys.readouterr()
    assert (runs / "b-sample-20260101-000000.h5").read_bytes() == b"a finished run"
    written = sorted(p.name for p in runs.iterdir() if p.suffix == ".h5")
    assert written == ["a-sample-20260101-000000-2.h5", "b-sample-20260101-000000-2.h5", "b-sample-20260101-000000.h5"]
    assert read_run(runs / "a-sample-20260101-000000-2.h5").label == "a"
    assert sorted(p.name for p in runs.iterdir() if p.suffix == ".lock") == ["a-sample-20260101-000000.h5.lock"]


def test_a_sweep_refuses_a_folder_another_run_is_writing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = tmp_path / "a.onnx"
    shutil.copyfile(GHOSTONE, a)
    shutil.copyfile(GHOSTONE, tmp_path / "b.onnx")
    out = tmp_path / "o"
    out.mkdir()
    (out / "a-sample.h5.lock").write_text("1\n")
    assert main(["run", "--model", str(a), "--model", str(a.with_name("b.onnx")), "--out", str(out),
                 "--no-progress"]) == 2
    assert "another faceval run" in _error_line(capsys)


def test_a_sweep_writes_into_an_existing_folder_but_a_single_run_does_not(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    shutil.copyfile(GHOSTONE, a)
    shutil.copyfile(GHOSTONE, b)
    out = tmp_path / "runs"
    out.mkdir()
    assert main(["run", "--model", str(a), "--model", str(b), "--out", str(out), "--cache", str(tmp_path / "c"),
                 "--no-progress"]) == 0
    capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == ["a-sample.h5", "b-sample.h5"]
    assert main(["run", "--model", str(a), "--out", str(out), "--no-progress"]) == 2
    assert "it is a folder" in _error_line(capsys)
