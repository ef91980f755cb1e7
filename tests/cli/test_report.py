"""``faceval report`` and ``faceval plot ced`` through the real entry point and run files."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from faceval.runs.runfile import write_run
from faceval_cli.main import main
from tests.faceval.report.helpers import base_protocol, make_run, three_splits_run


@pytest.fixture
def run_files(tmp_path: Path) -> list[Path]:
    paths = []
    for label, scale, seed in (("mnv2", 1.0, 0), ("my_model#1", 0.9, 1)):
        path = tmp_path / f"{seed}.h5"
        write_run(path, three_splits_run(label, scale, seed))
        paths.append(path)
    return paths


def test_report_markdown_default_to_stdout(run_files, capsys):
    assert main(["report", *map(str, run_files)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| Model | Common NME (%) |")
    assert r"my\_model\#1" in out


def test_report_latex_to_file_atomic_and_identical(run_files, tmp_path, capsys):
    out = tmp_path / "table.tex"
    assert main(["report", *map(str, run_files), "--out", str(out)]) == 0  # format from extension
    first = out.read_bytes()
    assert b"\\toprule" in first and b"\\textbf{" in first
    assert main(["report", *map(str, run_files), "--format", "latex", "--out", str(out)]) == 0
    assert out.read_bytes() == first
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
    assert capsys.readouterr().out == ""


def test_report_csv_long_reads_back(run_files, capsys):
    import pandas as pd

    from faceval.runs.runfile import read_run

    assert main(["report", *map(str, run_files), "--format", "csv", "--metrics", "nme,fr@0.10", "--ci"]) == 0
    df = pd.read_csv(io.StringIO(capsys.readouterr().out))
    run = read_run(run_files[0])
    got = df[(df.run == "mnv2") & (df.split == "full") & (df.metric == "nme")]
    assert got.value.item() == run.summary["full"]["nme"]
    assert got.ci_low.item() <= got.value.item() <= got.ci_high.item()
    assert set(df.metric) == {"nme", "fr@0.10"}


def test_report_json(run_files, capsys):
    assert main(["report", *map(str, run_files), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["label"] for d in data] == ["mnv2", "my_model#1"]
    assert data[0]["schema_version"] == 1 and "splits" in data[0]


def test_report_fraction_and_precision(run_files, capsys):
    assert main(["report", *map(str, run_files), "--fraction", "--precision", "3", "--metrics", "nme"]) == 0
    out = capsys.readouterr().out
    assert "| mnv2 | 0.0" in out and "NME |" in out


def test_report_html_and_ced(run_files, tmp_path, capsys):
    html = tmp_path / "r.html"
    ced = tmp_path / "ced.svg"
    assert main(["report", *map(str, run_files), "--out", str(html), "--ced", str(ced)]) == 0
    assert html.read_text().startswith("<!DOCTYPE html>")
    assert ced.read_bytes().startswith(b"<?xml")
    assert "wrote CED plot" in capsys.readouterr().err


def test_report_protocol_warning(tmp_path, capsys):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    write_run(a, make_run("A", [0.03, 0.04], dataset="wflw"))
    write_run(b, make_run("B", [0.03, 0.05], dataset="wflw", protocol=base_protocol("wflw", normalizer="inter-pupil")))
    assert main(["report", str(a), str(b), "--format", "latex"]) == 0
    captured = capsys.readouterr()
    assert "warning" in captured.err and "normalizer" in captured.err
    assert "Protocols: (a)" in captured.out


@pytest.mark.parametrize(
    "args,message",
    [
        (["--metrics", "nmee"], "did you mean 'nme'"),
        (["--splits", "fulll"], "did you mean 'full'"),
        (["--format", "latex", "--layout", "long"], "long layout"),
        (["--ced", "x.jpg"], "unknown extension"),
    ],
)
def test_report_input_errors_exit_2(run_files, capsys, args, message):
    assert main(["report", *map(str, run_files), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("faceval: error:") and message in err


def test_report_missing_file_exit_2(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope.h5")]) == 2
    assert "not found" in capsys.readouterr().err


@pytest.mark.parametrize("ext", ["pdf", "png", "svg"])
def test_plot_ced_byte_identical(run_files, tmp_path, ext):
    a, b = tmp_path / f"a.{ext}", tmp_path / f"b.{ext}"
    assert main(["plot", "ced", *map(str, run_files), "--out", str(a), "--split", "challenging", "--threshold", "0.1"]) == 0
    assert main(["plot", "ced", *map(str, run_files), "--out", str(b), "--split", "challenging", "--threshold", "0.1"]) == 0
    assert a.read_bytes() == b.read_bytes() and a.stat().st_size > 1000


def test_plot_ced_bad_split_exit_2(run_files, tmp_path, capsys):
    assert main(["plot", "ced", *map(str, run_files), "--out", str(tmp_path / "x.pdf"), "--split", "nope"]) == 2
    assert "has no split 'nope'" in capsys.readouterr().err


def test_cli_modules_import_no_matplotlib():
    code = (
        "import sys, faceval_cli.main, faceval_cli.report, faceval_cli.gate, faceval_cli.plot; "
        "print([m for m in ('matplotlib', 'scipy', 'pandas', 'h5py') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_report_caption_label_rename_and_ci_style_flags(run_files, tmp_path, capsys):
    out = tmp_path / "t.tex"
    assert main(["report", *map(str, run_files), "--out", str(out), "--ci", "--ci-style", "interval",
                 "--caption", "Our models", "--label", "tab:ours", "--rename", "mnv2=MobileNetV2",
                 "--rename", "full=Fullset"]) == 0
    tex = out.read_text(encoding="utf-8")
    assert "\\caption{Our models. NME" in tex and "\\label{tab:ours}" in tex
    assert "\\multicolumn{3}{c}{Fullset}" in tex and tex.count("MobileNetV2 & ") == 1
    assert re.search(r"MobileNetV2 & \d\.\d\d\\,\{\\scriptsize \[\d\.\d\d, \d\.\d\d\]\}", tex)


@pytest.mark.parametrize("split", ["empty", None])
def test_plot_ced_of_an_empty_split_is_one_line_exit_2(tmp_path, capsys, split):
    """An empty split drew a blank plot with exit 0."""
    path = tmp_path / "r.h5"
    write_run(path, make_run("A", [0.03, 0.04, 0.05], {"empty": [], "full": [0, 1, 2]}))
    png = tmp_path / "ced.png"
    args = ["plot", "ced", str(path), "--out", str(png)] + (["--split", split] if split else [])
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and "'empty'" in err
    assert not png.exists()
    assert main(["plot", "ced", str(path), "--out", str(png), "--split", "full"]) == 0


def test_plot_ced_flags_and_labels_read_back(tmp_path, capsys):
    from PIL import Image

    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    write_run(a, three_splits_run("SPIGA", 1.0, 0))
    write_run(b, three_splits_run("SPIGA", 1.2, 1))
    png = tmp_path / "ced.png"
    assert main(["plot", "ced", str(a), str(b), "--out", str(png), "--size", "6x4", "--legend", "right",
                 "--xmax", "12"]) == 0
    assert Image.open(png).size == (900, 600)
    svg = tmp_path / "ced.svg"
    assert main(["plot", "ced", str(a), str(b), "--out", str(svg), "--fraction", "--xmax", "0.12"]) == 0
    text = svg.read_text(encoding="utf-8")
    assert ">SPIGA: AUC@0.08 " in text and ">SPIGA#2: AUC@0.08 " in text  # unique as in `report`
    assert "NME (fraction, inter-ocular)" in text
    capsys.readouterr()
    assert main(["report", str(a), str(b), "--metrics", "nme"]) == 0
    assert "| SPIGA\\#2 |" in capsys.readouterr().out  # Markdown escapes the #


def test_csv_and_json_tell_apart_two_runs_of_one_label(tmp_path, capsys):
    """Two runs labelled SPIGA on one dataset: Markdown shows SPIGA#2; the long CSV and JSON did not."""
    import csv as csv_module

    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    write_run(a, three_splits_run("SPIGA", 1.0, 0))
    write_run(b, three_splits_run("SPIGA", 1.2, 1))
    capsys.readouterr()
    assert main(["report", str(a), str(b), "--format", "csv", "--metrics", "nme"]) == 0
    rows = list(csv_module.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(dict.fromkeys(r["run"] for r in rows)) == ["SPIGA", "SPIGA#2"]
    assert main(["report", str(a), str(b), "--format", "json", "--metrics", "nme"]) == 0
    assert [entry["label"] for entry in json.loads(capsys.readouterr().out)] == ["SPIGA", "SPIGA#2"]


def test_long_csv_rows_carry_the_point_subset_fr_cut_and_preset(tmp_path, capsys):
    """SPIGA's 300W predictions scored on all 68 points, on menpofit's 49 and with PIPNet's preset:
    the long CSV's rows must tell them apart (they once had identical protocol columns, 2.99 vs 2.19 %)."""
    import csv as csv_module

    from tests.conftest import shared_path

    base = shared_path("spiga_results", "300wpublic")
    runs = {}
    for name, extra in (("all", []), ("inner49", ["--points", "inner49"]), ("pipnet", ["--protocol", "pipnet"])):
        runs[name] = tmp_path / f"{name}.h5"
        assert main(["score", "--predictions", str(base / "spiga_results_test.json"), "--dataset",
                     f"json:{base / 'test.json'}", "--out", str(runs[name]), *extra]) == 0
    capsys.readouterr()
    assert main(["report", *map(str, runs.values()), "--format", "csv", "--metrics", "nme", "--splits", "all"]) == 0
    rows = list(csv_module.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["points"], r["fr_cut"], r["preset"], r["distance_dtype"]) for r in rows] == [
        ("all", "strict", "", "float64"), ("inner49", "strict", "", "float64"), ("all", "grid", "pipnet", "float64")]
    protocol_columns = [c for c in rows[0] if c not in ("value",)]
    assert len({tuple(r[c] for c in protocol_columns) for r in rows}) == 3


def test_no_bold_in_a_column_mixing_protocols(tmp_path, capsys):
    """SPIGA's 300W predictions on all 68 points and on menpofit's inner 49: the 49-point NME
    (2.19 %) is lower but not better; it was bold as the column's best."""
    from tests.conftest import shared_path

    base = shared_path("spiga_results", "300wpublic")
    runs = []
    for name, extra in (("all", []), ("all2", ["--label", "again"]), ("inner49", ["--points", "inner49"])):
        runs.append(tmp_path / f"{name}.h5")
        assert main(["score", "--predictions", str(base / "spiga_results_test.json"), "--dataset",
                     f"json:{base / 'test.json'}", "--out", str(runs[-1]), *extra]) == 0
    for files, bold in ((runs, False), (runs[:2], True)):
        capsys.readouterr()
        assert main(["report", *map(str, files), "--format", "markdown", "--splits", "all",
                     "--metrics", "nme"]) == 0
        out = capsys.readouterr().out
        assert ("**2.99**" in out) is bold, out
        assert "**2.19**" not in out
        assert ("none in a column mixing protocols" in out) is not bold


def test_plot_ced_of_two_normalisers_names_both_and_warns(tmp_path, capsys):
    """SPIGA's COFW-68 predictions normalised by the box and inter-ocular in one CED: the axis named
    only the first run's normaliser, and plot (unlike report) said nothing about the protocols."""
    from tests.conftest import shared_path

    base = shared_path("spiga_results", "cofw68")
    runs = []
    for normalizer in ("bbox", "inter-ocular"):
        runs.append(tmp_path / f"{normalizer}.h5")
        assert main(["score", "--predictions", str(base / "spiga_results_test.json"), "--dataset",
                     f"json:{base / 'test.json'}", "--normalizer", normalizer, "--label", normalizer,
                     "--out", str(runs[-1])]) == 0
    svg = tmp_path / "ced.svg"
    capsys.readouterr()
    assert main(["plot", "ced", *map(str, runs), "--out", str(svg)]) == 0
    err = capsys.readouterr().err
    assert "warning: runs use different protocols" in err
    assert "NME (%, bbox / inter-ocular)" in svg.read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["plot", "ced", str(runs[0]), "--out", str(svg)]) == 0
    assert "warning" not in capsys.readouterr().err and "NME (%, bbox)" in svg.read_text(encoding="utf-8")


def test_json_runs_of_two_annotation_files_are_never_one_columns_rivals(tmp_path, capsys):
    """SPIGA's 300W and COFW-68 test files are both dataset 'json': their runs shared the 'All'
    columns under one protocol line, and 2.99 % (300W) was bold against 3.93 % (COFW-68)."""
    from tests.conftest import shared_path

    runs = []
    for db in ("300wpublic", "cofw68"):
        base = shared_path("spiga_results", db)
        runs.append(tmp_path / f"{db}.h5")
        assert main(["score", "--predictions", str(base / "spiga_results_test.json"), "--dataset",
                     f"json:{base / 'test.json'}", "--label", db, "--out", str(runs[-1])]) == 0
    capsys.readouterr()
    assert main(["report", *map(str, runs), "--format", "markdown", "--splits", "all", "--metrics", "nme"]) == 0
    out = capsys.readouterr().out
    assert "| 300wpublic (a) | 2.99 |" in out and "| cofw68 (b) | 3.93 |" in out and "**" not in out
    import hashlib

    for db in ("300wpublic", "cofw68"):  # the file's own digest, as the run records it (manifest_sha256)
        digest = hashlib.sha256(shared_path("spiga_results", db, "test.json").read_bytes()).hexdigest()
        assert f"annotations test.json (sha256 {digest[:8]})" in out
    capsys.readouterr()
    assert main(["report", str(runs[0]), "--format", "markdown", "--splits", "all"]) == 0
    assert "annotations" not in capsys.readouterr().out  # one file: the protocol line as it always was


def test_report_help_states_the_bold_rule(capsys):
    assert main(["report", "--help"]) == 0
    assert "never in a column mixing protocols" in " ".join(capsys.readouterr().out.split())
