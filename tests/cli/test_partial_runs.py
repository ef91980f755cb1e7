"""Partial data is never reported as the full split (issue 10, items 2 and 5).

With only the real HELEN photos present, `faceval run --dataset 300w` fills `common` (330 of 554)
and `full` (330 of 689); lfpw and challenging are empty. A shard or a `--limit` run is partial
in the same way. JSON, tables and gate must say so.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faceval_cli.main import main
from tests.cli.test_run import _helen_root
from tests.cli.test_score import PUBLIC_FOLDERS, _spiga_tree
from tests.cli.calls import call_ok as _ok


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("partial")
    root = _helen_root(tmp_path_factory.mktemp("helen"))  # links the shared photos: never write below it
    spiga_root, predictions, _ = _spiga_tree(tmp_path_factory.mktemp("spiga"), "300wpublic", PUBLIC_FOLDERS)
    out = {name: tmp / f"{name}.h5" for name in ("helen300w", "spiga", "helen", "shard", "limit", "spiga_helen")}
    common = ["--data-root", str(root), "--no-progress", "--cache", str(tmp / "cache"), "--format", "json"]
    assert main(["run", "--dataset", "300w", "--label", "PFLD", "--out", str(out["helen300w"]), *common]) == 0
    assert main(["run", "--dataset", "300w:helen", "--label", "PFLD", "--out", str(out["helen"]), *common]) == 0
    assert main(["run", "--dataset", "300w:helen", "--label", "PFLD", "--shard", "1/2", "--out", str(out["shard"]),
                 *common]) == 0
    assert main(["run", "--dataset", "300w:helen", "--label", "PFLD", "--limit", "40", "--out", str(out["limit"]),
                 *common]) == 0
    assert main(["score", "--predictions", str(predictions), "--dataset", "300w", "--data-root", str(spiga_root),
                 "--label", "SPIGA", "--out", str(out["spiga"]), "--format", "json"]) == 0
    return out


def test_json_marks_partial_and_empty_splits(runs, capsys):
    from faceval.runs.runfile import read_run

    out, _ = _ok(capsys, ["report", str(runs["helen300w"]), "--format", "json"])
    splits = json.loads(out)[0]["splits"]
    assert (splits["helen"]["n"], splits["helen"]["n_expected"], splits["helen"]["complete"]) == (330, 330, True)
    assert (splits["common"]["n"], splits["common"]["n_expected"], splits["common"]["complete"]) == (330, 554, False)
    assert (splits["full"]["n"], splits["full"]["n_expected"], splits["full"]["complete"]) == (330, 689, False)
    assert splits["lfpw"]["n"] == 0 and splits["lfpw"]["nme"] is None and splits["lfpw"]["complete"] is False
    run = read_run(runs["helen300w"])
    assert run.split_expected == {"helen": 330, "lfpw": 224, "common": 554, "challenging": 135, "full": 689}
    # the same in the summary printed by `run --format json` (the run file's own summary)
    from faceval.evaluation.scoring import summary_json

    assert summary_json(run)["splits"]["full"]["n_expected"] == 689


def test_tables_mark_partial_cells_and_never_bold_them(runs, capsys):
    md, _ = _ok(capsys, ["report", str(runs["spiga"]), str(runs["helen300w"]), "--format", "markdown",
                         "--metrics", "nme", "--splits", "helen,lfpw,full"])
    lines = md.splitlines()
    spiga = next(line for line in lines if line.startswith("| SPIGA"))
    pfld = next(line for line in lines if line.startswith("| PFLD"))
    # full: the partial cell does not compete, so neither is bold (one comparable value only)
    assert spiga.split("|")[4].strip() == "2.99"
    full_cell = pfld.split("|")[4].strip()
    assert full_cell.endswith("†") and "**" not in full_cell
    assert pfld.split("|")[3].strip() == "–"  # lfpw: no image, never 'nan'
    assert "† partial split: 330 of 689 images" in md
    helen_cell = pfld.split("|")[2].strip()
    assert "†" not in helen_cell  # helen is complete: a normal, comparable cell
    tex, _ = _ok(capsys, ["report", str(runs["spiga"]), str(runs["helen300w"]), "--format", "latex",
                          "--metrics", "nme", "--splits", "full"])
    row = next(line for line in tex.splitlines() if line.startswith("PFLD"))
    assert row.endswith(r"$^\dagger$ \\") and r"\textbf" not in row
    assert r"$^\dagger$ partial split: 330 of 689 images" in tex
    html, _ = _ok(capsys, ["report", str(runs["spiga"]), str(runs["helen300w"]), "--format", "html",
                           "--metrics", "nme", "--splits", "full"])
    assert "†</td>" in html and "<strong>" not in html and "full (330 of 689)" in html and "nan" not in html.split("<h2>Runs</h2>")[0]


def test_human_summary_marks_partial_split(runs, capsys):
    from faceval.runs.runfile import read_run
    from faceval_cli.summary_view import print_summary

    capsys.readouterr()
    print_summary(read_run(runs["helen300w"]))
    err = capsys.readouterr().err
    full = next(line for line in err.splitlines() if line.strip("│ ").startswith("full"))
    assert "330 of 689†" in full
    lfpw = next(line for line in err.splitlines() if line.strip("│ ").startswith("lfpw"))
    assert "nan" not in lfpw and "–" in lfpw
    assert "warning: split 'full' is partial: 330 of 689 images" in err


def test_gate_refuses_partial_run_against_complete_baseline(runs, capsys):
    capsys.readouterr()
    assert main(["gate", str(runs["helen300w"]), "--baseline", str(runs["spiga"]), "--allow-protocol-change"]) == 2
    err = capsys.readouterr().err
    assert "partial on splits 'lfpw' (0 of 224 images; baseline 224 images)" in err
    assert "'common' (330 of 554 images; baseline 554 images)" in err and "'full' (330 of 689 images;" in err
    assert "Traceback" not in err
    # partial against partial of the same samples is a fair comparison
    assert main(["gate", str(runs["helen300w"]), "--baseline", str(runs["helen300w"])]) == 0


def test_gate_refuses_shard_and_limit_runs(runs, capsys):
    capsys.readouterr()
    assert main(["gate", str(runs["shard"]), "--baseline", str(runs["helen"])]) == 2
    err = capsys.readouterr().err
    assert "shard 1/2 of a sharded run on split 'helen' (shard 1/2, 165 of 330 images; baseline 330 images)" in err
    assert "faceval merge" in err
    assert main(["gate", str(runs["limit"]), "--baseline", str(runs["helen"]), "--allow-protocol-change"]) == 2
    assert "partial on split 'helen' (40 of 330 images; baseline 330 images)" in capsys.readouterr().err
    md, _ = _ok(capsys, ["report", str(runs["helen"]), str(runs["shard"]), str(runs["limit"]), "--format", "markdown",
                         "--metrics", "nme"])
    assert "† partial split: shard 1/2, 165 of 330 images" in md and "‡ partial split: 40 of 330 images" in md
