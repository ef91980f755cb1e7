"""``faceval report --model-columns params,flops,speed``: model cost beside accuracy (ASMNet Table 1)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from faceval.errors import InputError
from faceval.report import render_report
from faceval.report.formats import render_html
from faceval.report.tables import build_table, parse_model_columns
from faceval.runs.runfile import write_run
from faceval_cli.main import main
from tests.faceval.report.helpers import three_splits_run

ALL = ["params", "flops", "speed"]


@pytest.fixture
def runs() -> list:
    """Three runs: 'asm' on 300W (no model_info) and WFLW (full model_info), 'mnv2' on 300W (no speed)."""
    asm_300w = three_splits_run("asm", 1.0, 0)
    asm_300w.model_info = {}
    mnv2 = three_splits_run("mnv2", 0.9, 1)
    mnv2.model_info = {"params": 2_257_984, "macs": 300_000_000, "flops": 600_123_456}
    asm_wflw = three_splits_run("asm", 1.1, 2, dataset="wflw")
    asm_wflw.model_info = {"params": 1_431_119, "macs": 256_527_976, "flops": 513_055_952,
                           "images_per_s": 17.6, "providers_used": ["CPUExecutionProvider"]}
    return [asm_300w, mnv2, asm_wflw]


def _md_rows(text: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| :"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            rows[cells[0]] = cells[1:]
    return rows


def test_markdown_values_missing_and_no_bold(runs) -> None:
    text, _ = render_report(runs, "markdown", metrics=["nme"], model_columns=ALL)
    rows = _md_rows(text)
    assert rows["Model"][:3] == ["Params (M)", "FLOPs (B)", "img/s"]
    # 'asm' merges two runs: the 300W one has no model_info, so the WFLW run's values are used.
    assert rows["asm (a,b)"][:3] == ["1.43", "0.51", "18"]
    # 1.431119 M < 2.257984 M and 0.51 < 0.60 B, yet nothing in the cost columns is bold.
    assert rows["mnv2 (a)"][:3] == ["2.26", "0.60", "–"]
    assert not any("**" in c for r in rows.values() for c in r[:3])
    assert "Params in millions" in text and "FLOPs in billions" in text


def test_latex_values_and_missing(runs) -> None:
    text, _ = render_report(runs, "latex", model_columns=["params", "flops", "speed"])
    lines = text.splitlines()
    # 300W: NME on Common and Challenging, NME/FR/AUC on Full; the synthetic WFLW run has no Test
    # split (its main split), so each of its splits gets all three metrics
    assert r"\begin{tabular}{l ccc c c ccc ccc ccc ccc}" in lines
    header = next(line for line in lines if line.startswith("Model & "))
    assert header.startswith(r"Model & Params (M) & FLOPs (B) & img/s & NME (\%)")
    # the group rules start after the three cost columns
    assert r"\cmidrule(lr){5-5}" in text and r"\cmidrule(lr){7-9}" in text and r"\cmidrule(lr){2-4}" not in text
    asm = next(line for line in lines if line.startswith("asm$"))
    mnv2 = next(line for line in lines if line.startswith("mnv2$"))
    assert asm.split(" & ")[1:4] == ["1.43", "0.51", "18"]
    assert mnv2.split(" & ")[1:4] == ["2.26", "0.60", "--"]  # -- is LaTeX's en dash (as other missing cells)


def test_latex_single_metric_header(runs) -> None:
    text, _ = render_report(runs, "latex", metrics=["nme"], model_columns=["flops"])
    assert r"Model & FLOPs (B) & 300W Common & 300W Challenging" in text
    assert r"\begin{tabular}{l c c c c c c c}" in text


def test_subset_order_and_html(runs) -> None:
    # plots=False: the CED plots do not depend on the option and take seconds to draw
    plain = render_html(build_table(runs, metrics=["nme"]), runs, plots=False)
    assert render_html(build_table(runs, metrics=["nme"], model_columns=None), runs, plots=False) == plain
    assert "Params" not in plain.split("<h2>Runs</h2>")[0]
    text = render_html(build_table(runs, metrics=["nme"], model_columns=["speed", "params"]), runs, plots=False)
    assert "<tr><th>Model</th><th>img/s</th><th>Params (M)</th>" in text
    assert "<td>–</td><td>2.26</td>" in text and "<td>18</td><td>1.43</td>" in text


def test_csv_paper_and_long(runs) -> None:
    text, _ = render_report(runs, "csv", layout="paper", metrics=["nme"], model_columns=ALL)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0])[:5] == ["model", "name", "params", "flops", "images_per_s"]
    assert (rows[0]["params"], rows[0]["flops"], rows[0]["images_per_s"]) == ("1431119", "513055952", "17.6")
    assert (rows[1]["params"], rows[1]["images_per_s"]) == ("2257984", "")

    text, _ = render_report(runs, "csv", metrics=["nme"], splits=["full"], model_columns=ALL)
    plain, _ = render_report(runs, "csv", metrics=["nme"], splits=["full"])
    long_rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == plain.splitlines()[0]  # same columns
    cost = [r for r in long_rows if r["split"] == ""]
    assert [(r["run"], r["dataset"], r["metric"], r["value"], r["unit"]) for r in cost] == [
        ("asm", "300w", "params", "", "count"), ("asm", "300w", "flops", "", "count"),
        ("asm", "300w", "images_per_s", "", "images/s"),
        ("mnv2", "300w", "params", "2257984", "count"), ("mnv2", "300w", "flops", "600123456", "count"),
        ("mnv2", "300w", "images_per_s", "", "images/s"),
        ("asm", "wflw", "params", "1431119", "count"), ("asm", "wflw", "flops", "513055952", "count"),
        ("asm", "wflw", "images_per_s", "17.6", "images/s"),
    ]
    # the metric rows are those of the plain output, in order
    assert [line for line in text.splitlines() if line.split(",")[2]] == plain.splitlines()


def test_json_model_info(runs) -> None:
    text, _ = render_report(runs, "json", metrics=["nme"], model_columns=["params", "speed"])
    data = json.loads(text)
    assert [d["model_info"] for d in data] == [
        {"params": None, "images_per_s": None},
        {"params": 2_257_984, "images_per_s": None},
        {"params": 1_431_119, "images_per_s": 17.6},
    ]
    assert "model_info" not in json.loads(render_report(runs, "json", metrics=["nme"])[0])[0]


@pytest.mark.parametrize("fmt,layout", [("markdown", None), ("latex", None), ("csv", None),
                                        ("csv", "paper"), ("json", None)])
def test_default_output_unchanged(runs, fmt, layout) -> None:
    plain, _ = render_report(runs, fmt, layout=layout)
    assert render_report(runs, fmt, layout=layout, model_columns=None)[0] == plain
    assert render_report(runs, fmt, layout=layout, model_columns=[])[0] == plain
    if fmt == "markdown":
        # with the option, dropping the three cost cells and the caption sentence gives the plain table
        wide, _ = render_report(runs, fmt, layout=layout, model_columns=ALL)
        stripped = []
        for line in wide.splitlines():
            if line.startswith("| "):
                cells = line.split(" | ")
                line = " | ".join(cells[:1] + cells[4:])
            elif "Model columns from the run files" in line:
                head, tail = line.split(" Model columns from the run files", 1)
                line = head + " Protocols:" + tail.split(" Protocols:", 1)[1]
            stripped.append(line)
        assert "\n".join(stripped) + "\n" == plain


def test_table_object(runs) -> None:
    table = build_table(runs, metrics=["nme"], model_columns=["params"])
    assert table.model_columns == ["params"]
    assert table.model_values == {(0, "params"): 1_431_119.0, (1, "params"): 2_257_984.0}
    assert build_table(runs).model_columns == [] and build_table(runs).model_values == {}


def test_parse_model_columns() -> None:
    assert parse_model_columns(None) is None
    assert parse_model_columns("flops, params,flops") == ["flops", "params"]
    with pytest.raises(InputError, match="did you mean 'params'"):
        parse_model_columns("param")
    with pytest.raises(InputError, match="no column"):
        parse_model_columns(" , ")


def test_cli_unknown_column_exit_2(runs, tmp_path: Path, capsys) -> None:
    path = tmp_path / "r.h5"
    write_run(path, runs[1])
    assert main(["report", str(path), "--model-columns", "params,flop"]) == 2
    err = capsys.readouterr().err
    assert "unknown model column 'flop'" in err and "did you mean 'flops'" in err


def test_cli_option_and_default(runs, tmp_path: Path, capsys) -> None:
    paths = []
    for k, run in enumerate(runs):
        paths.append(tmp_path / f"{k}.h5")
        write_run(paths[-1], run)
    args = ["report", *map(str, paths), "--metrics", "nme"]
    assert main(args) == 0
    plain = capsys.readouterr().out
    assert plain == render_report(runs, "markdown", metrics=["nme"])[0] and "Params" not in plain
    assert main([*args, "--model-columns", "params,flops,speed"]) == 0
    out = capsys.readouterr().out
    assert out == render_report(runs, "markdown", metrics=["nme"], model_columns=ALL)[0]
    assert "| asm (a,b) | 1.43 | 0.51 | 18 |" in out
