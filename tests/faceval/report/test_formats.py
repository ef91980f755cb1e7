"""Paper-format cells and captions (--ci in the cell, --caption, --label, --rename) and the
display-name columns of CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
import re

import numpy as np
import pytest

from faceval.errors import InputError
from faceval.report import render_report
from faceval.report.formats import latex_escape
from faceval.report.tables import build_table
from tests.faceval.report.helpers import base_protocol, make_run, three_splits_run


@pytest.fixture
def runs():
    return [three_splits_run("mnv2", 1.0, 0), three_splits_run("ours", 0.9, 1)]


def test_ci_is_one_cell_pm_or_interval(runs):
    table = build_table(runs, ci=True)
    col = table.columns[0]
    low, high = table.cells[(0, col)].ci
    value = table.cells[(0, col)].value
    md = render_report(runs, "markdown", ci=True)[0].splitlines()
    assert len(md[0].split("|")) == len(md[2].split("|"))  # no extra ± columns
    cell = md[2].split("|")[2].strip()
    assert cell == f"{100 * value:.2f} ± {100 * (high - low) / 2:.2f}"
    md_int = render_report(runs, "markdown", ci=True, ci_style="interval")[0].splitlines()
    assert md_int[2].split("|")[2].strip() == f"{100 * value:.2f} \\[{100 * low:.2f}, {100 * high:.2f}\\]"
    html = render_report(runs, "html", ci=True)[0]
    assert f"<td>{100 * value:.2f} ± {100 * (high - low) / 2:.2f}</td>" in html
    tex = render_report(runs, "latex", ci=True, ci_style="interval")[0]
    assert f"{100 * value:.2f}\\,{{\\scriptsize [{100 * low:.2f}, {100 * high:.2f}]}}" in tex
    assert "[low, high] is the bootstrap 95" in tex
    # the best cell is bold on its value only
    best_row = tex.splitlines()[[i for i, line in enumerate(tex.splitlines()) if line.startswith("ours &")][0]]
    assert re.match(r"ours & \\textbf\{\d+\.\d\d\}\\,\{\\scriptsize \[", best_row)
    with pytest.raises(InputError, match="ci-style"):
        render_report(runs, "markdown", ci=True, ci_style="brackets")


def test_caption_label_and_escaping(runs):
    tex = render_report(runs, "latex", caption="Ours vs. MobileNetV2 on 50% of 300W, box ×1.2, σ = 1",
                        label="tab:main-300w")[0]
    caption = re.search(r"\\caption\{(.*)\}", tex).group(1)
    assert caption.startswith(r"Ours vs. MobileNetV2 on 50\% of 300W, box $\times$1.2, $\sigma$ = 1. NME, FR@0.08 in \%")
    assert "Protocol: inter-ocular normaliser" in caption  # the facts always follow the user's sentence
    assert "\\label{tab:main-300w}" in tex and "tab:faceval" not in tex
    default = render_report(runs, "latex")[0]
    assert "\\caption{Results on 300W. " in default and "\\label{tab:faceval}" in default
    md = render_report(runs, "markdown", caption="Table 2: ours.")[0]
    assert md.splitlines()[-1].startswith("Table 2: ours. NME, FR@0.08 in %")
    for bad in ("tab main", "tab{x}", "a%b", ""):
        with pytest.raises(InputError, match="--label"):
            render_report(runs, "latex", label=bad)
    with pytest.raises(InputError, match="--label is for LaTeX"):
        render_report(runs, "markdown", label="tab:x")
    with pytest.raises(InputError, match="--caption is for"):
        render_report(runs, "csv", caption="x")
    assert latex_escape("–×σ±") == r"--$\times$$\sigma$$\pm$"


def test_box_scale_reads_times_in_every_caption():
    proto = base_protocol("300w", box_source="landmarks", box_scale=1.2, box_square=True)
    run = make_run("m", [0.03, 0.04], protocol=proto)
    assert "box landmarks $\\times$1.2 square" in render_report([run], "latex")[0]
    assert "box landmarks ×1.2 square" in render_report([run], "markdown")[0]
    assert "x1.2" not in render_report([run], "html")[0]


def test_rename_in_paper_formats_ids_in_csv_and_json(runs):
    renames = {"full": "Fullset", "mnv2": "MobileNetV2", "300w": "300-W"}
    md = render_report(runs, "markdown", renames=renames)[0]
    assert md.splitlines()[0].startswith("| Model | Common NME (%) | Challenging NME (%) | Fullset NME (%) |")
    assert "| MobileNetV2 |" in md and "| mnv2 |" not in md
    long_csv = list(csv.DictReader(io.StringIO(render_report(runs, "csv", renames=renames)[0])))
    assert {r["split"] for r in long_csv} == {"common", "challenging", "full"}  # ids kept
    names = {(r["split"], r["split_name"]) for r in long_csv}
    assert names == {("common", "Common"), ("challenging", "Challenging"), ("full", "Fullset")}
    assert {r["run"] for r in long_csv} == {"mnv2", "ours"} and {r["dataset_name"] for r in long_csv} == {"300-W"}
    wide = list(csv.DictReader(io.StringIO(render_report(runs, "csv", layout="paper", renames=renames)[0])))
    assert [(r["model"], r["name"]) for r in wide] == [("mnv2", "MobileNetV2"), ("ours", "ours")]
    assert "full/nme" in wide[0] and "full/auc@0.08" in wide[0]
    data = json.loads(render_report(runs, "json", renames=renames)[0])
    assert data[0]["label"] == "mnv2" and data[0]["dataset"] == "300w" and data[0]["dataset_name"] == "300-W"
    assert data[0]["split_names"] == {"common": "Common", "challenging": "Challenging", "full": "Fullset"}
    assert list(data[0]["splits"]) == ["common", "challenging", "full"]


def test_auc_is_a_fraction_in_every_format_by_default(runs):
    auc = float(np.mean(np.maximum(0.0, 0.08 - runs[0].nme)) / 0.08)  # closed form on the full set
    md = render_report(runs, "markdown")[0]
    assert f"| {auc:.4f} |" in md or f"| **{auc:.4f}** |" in md
    assert f"{auc:.4f}" in render_report(runs, "latex")[0] and f"{auc:.4f}" in render_report(runs, "html")[0]
    long_csv = list(csv.DictReader(io.StringIO(render_report(runs, "csv")[0])))
    value = next(r for r in long_csv if r["run"] == "mnv2" and r["split"] == "full" and r["metric"] == "auc@0.08")
    assert float(value["value"]) == pytest.approx(auc) and value["unit"] == "fraction"
    data = json.loads(render_report(runs, "json")[0])
    assert data[0]["splits"]["full"]["auc@0.08"] == pytest.approx(auc)
    pct = render_report(runs, "markdown", units_mode="percent")[0]
    assert f"{100 * auc:.2f}" in pct


@pytest.mark.parametrize("layout", ["long", "paper"])
@pytest.mark.parametrize("units_mode", [None, "percent"])
def test_counts_are_integers_in_csv_and_json(layout, units_mode):
    """Counts (n, n_nonfinite) were written as floats ('330.0') in the report CSV and JSON."""
    from tests.faceval.report.helpers import three_splits_run

    run = three_splits_run("A")
    expected = {s: len(list(idx)) for s, idx in run.splits.items()}
    text = render_report([run], "csv", layout=layout, metrics=["n", "n_nonfinite"], units_mode=units_mode)[0]
    rows = list(csv.DictReader(io.StringIO(text)))
    if layout == "long":
        got = {r["split"]: r["value"] for r in rows if r["metric"] == "n"}
        assert {r["value"] for r in rows if r["metric"] == "n_nonfinite"} == {"0"}
    else:
        got = {s: rows[0][f"{s}/n"] for s in expected}
    assert got == {s: str(n) for s, n in expected.items()}
    doc = json.loads(render_report([run], "json", metrics=["n", "n_nonfinite"], units_mode=units_mode)[0])
    for split, n in expected.items():
        values = doc[0]["splits"][split]
        assert type(values["n"]) is int and values["n"] == n
        assert type(values["n_nonfinite"]) is int and values["n_nonfinite"] == 0
