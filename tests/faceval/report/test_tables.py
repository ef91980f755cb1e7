"""Report tables: LaTeX, Markdown, CSV, JSON from in-memory runs with known per-image NME."""

from __future__ import annotations

import io
import json
import re
import sys

from dataclasses import replace

import numpy as np
import pytest

from faceval.errors import InputError
from faceval.report import render_report
from faceval.report.formats import latex_escape, markdown_escape, render_latex, render_markdown
from faceval.report.tables import Units, build_table, default_metrics, long_records, parse_metric_list
from tests.faceval.report.helpers import base_protocol, make_run, spiga_300w_run, three_splits_run


@pytest.fixture
def runs():
    """Three 300W-like runs; 'my_model#1' is best on NME (scale 0.9)."""
    return [three_splits_run("mnv2", 1.0, 0), three_splits_run("my_model#1", 0.9, 1), three_splits_run("ASMNet", 1.2, 2)]


def _simple_runs():
    """Two runs with exactly known numbers on two splits."""
    a = make_run("A", [0.02, 0.04, 0.06, 0.12], {"test": range(4), "hard": [2, 3]}, dataset="wflw")
    b = make_run("B", [0.03, 0.03, 0.05, 0.05], {"test": range(4), "hard": [2, 3]}, dataset="wflw")
    return a, b


def test_library_does_not_import_click_rich_or_matplotlib():
    import subprocess

    code = (
        "import sys, faceval.report, faceval.report.tables, faceval.report.formats, faceval.report.gate, "
        "faceval.report.ci_outputs, faceval.report.ced; "
        "bad = [m for m in ('click', 'rich', 'matplotlib', 'scipy') if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_default_metrics_use_first_threshold():
    a, _ = _simple_runs()
    assert default_metrics([a]) == ["nme", "fr@0.10", "auc@0.10"]
    r300 = three_splits_run("x")
    assert default_metrics([r300]) == ["nme", "fr@0.08", "auc@0.08"]
    nothr = make_run("n", [0.1], protocol=base_protocol("cofw", thresholds=[]))
    assert default_metrics([nothr]) == ["nme"]


def test_parse_metric_list_canonical_and_unknown():
    assert parse_metric_list("nme, fr@0.1,auc@0.10,nme_p90") == ["nme", "fr@0.10", "auc@0.10", "nme_p90"]
    with pytest.raises(InputError, match="did you mean 'nme'"):
        parse_metric_list("nmee")


def test_latex_booktabs_escaping_bold_and_percent(runs):
    text, warnings = render_report(runs, "latex")
    assert warnings == []
    for rule in (r"\toprule", r"\midrule", r"\bottomrule"):
        assert text.count(rule) == 1
    # the paper layout: NME on Common and Challenging, NME, FR and AUC on Full
    assert r"\multicolumn{1}{c}{Common}" in text and r"\multicolumn{3}{c}{Full}" in text
    assert r"\cmidrule(lr){2-2}" in text and r"\cmidrule(lr){4-6}" in text
    assert r"my\_model\#1" in text and "my_model#1" not in text
    # caption names the protocol and units
    caption = re.search(r"\\caption\{(.*)\}", text).group(1)
    assert "inter-ocular" in caption and "thresholds 0.08/0.10" in caption and "AUC exact" in caption
    assert r"in \%" in caption
    # percent formatting: NME 2 decimals in percent, AUC 4-decimal fraction
    rows = {line.split(" & ")[0]: line for line in text.splitlines() if line.endswith(r"\\") and " & " in line}
    table = build_table(runs)
    nme_common = table.cells[(1, table.columns[0])].value
    assert rows[r"my\_model\#1"].split(" & ")[1] == rf"\textbf{{{100 * nme_common:.2f}}}"
    auc_cells = [rows[k].split(" & ")[5].removesuffix(r" \\") for k in (r"mnv2", r"my\_model\#1", r"ASMNet")]
    assert all(re.fullmatch(r"(\\textbf\{)?0\.\d{4}\}?", c) for c in auc_cells)


def test_bold_direction_lowest_nme_highest_auc():
    a, b = _simple_runs()
    table = build_table([a, b], metrics=["nme", "auc@0.10", "fr@0.10"])
    cols = {(c.split, c.metric): c for c in table.columns}
    # test: A nme = mean(.02,.04,.06,.12)=0.06, B = 0.04 -> B best; AUC: A=(.08+.06+.04+0)/4/.1=0.45, B=(.07+.07+.05+.05)/4/.1=0.6
    assert table.best_rows(cols[("test", "nme")]) == {1}
    assert table.best_rows(cols[("test", "auc@0.10")]) == {1}
    # hard: A nme (0.06+0.12)/2=0.09 B=0.05 ; FR@0.10: A 0.5, B 0 -> B
    assert table.best_rows(cols[("hard", "fr@0.10")]) == {1}
    # a higher-is-better column where A wins
    c = make_run("C", [0.0, 0.0, 0.0, 0.2], {"test": range(4), "hard": [2, 3]}, dataset="wflw")
    t2 = build_table([a, b, c], metrics=["auc@0.10", "nme"])
    col_auc = next(x for x in t2.columns if x.split == "test" and x.metric == "auc@0.10")
    assert t2.best_rows(col_auc) == {2}  # C: 0.75
    col_nme = next(x for x in t2.columns if x.split == "test" and x.metric == "nme")
    assert t2.best_rows(col_nme) == {1}  # B 0.04 < C 0.05


def test_ties_all_bold():
    a = make_run("A", [0.03, 0.03], dataset="wflw")
    b = make_run("B", [0.03, 0.03], dataset="wflw")
    text = render_latex(build_table([a, b], metrics=["nme"]))
    assert text.count(r"\textbf{3.00}") == 2


def test_single_metric_table_like_asmnet_table2(runs):
    text, _ = render_report(runs, "latex", metrics=["nme"])
    assert "Model & Common & Challenging & Full" in text
    assert r"\multicolumn" not in text
    assert text.count(r"\textbf{") == 3


def test_markdown_pipe_table_shape(runs):
    text, _ = render_report(runs, "markdown", ci=True)
    lines = text.splitlines()
    table_lines = [l for l in lines if l.startswith("|")]
    assert len(table_lines) == 2 + len(runs)
    counts = {l.count(" | ") for l in table_lines}
    assert len(counts) == 1
    assert re.fullmatch(r"\| :--- (\| ---: )+\|", table_lines[1])
    assert "**" in text
    assert r"my\_model\#1" in text
    assert "Protocol: inter-ocular" in text


def test_escapes():
    assert latex_escape("a_b#1 50% & $x$ {y} ~^\\") == (
        r"a\_b\#1 50\% \& \$x\$ \{y\} \textasciitilde{}\textasciicircum{}\textbackslash{}"
    )
    assert markdown_escape("a|b*c_d") == r"a\|b\*c\_d"


def test_csv_long_reads_back_with_pandas(runs):
    import pandas as pd

    text, _ = render_report(runs, "csv")
    df = pd.read_csv(io.StringIO(text))
    assert list(df.columns[:7]) == ["run", "dataset", "split", "metric", "value", "unit", "n"]
    assert "normalizer" in df.columns and "sample_set_sha256" in df.columns
    assert len(df) == len(runs) * 3 * 3
    for run in runs:
        for split in run.splits:
            for metric in ("nme", "fr@0.08", "auc@0.08"):
                got = df[(df.run == run.label) & (df.split == split) & (df.metric == metric)].value.item()
                assert got == run.summary[split][metric]  # exact: repr round trip
    nme_full = df[(df.run == "mnv2") & (df.split == "full") & (df.metric == "nme")].value.item()
    assert nme_full == pytest.approx(float(np.mean(runs[0].nme)))
    assert (df.unit == "fraction").all()


def test_csv_long_with_ci_and_percent(runs):
    import pandas as pd

    df = pd.read_csv(io.StringIO(render_report(runs, "csv", ci=True)[0]))
    assert {"ci_low", "ci_high"} <= set(df.columns)
    assert (df.ci_low <= df.value + 1e-12).all() and (df.value <= df.ci_high + 1e-12).all()
    pct = pd.read_csv(io.StringIO(render_report(runs, "csv", units_mode="percent")[0]))
    assert pct.value.iloc[0] == pytest.approx(100 * df.value.iloc[0])
    assert pct.unit.iloc[0] == "percent"


def test_csv_paper_layout(runs):
    import pandas as pd

    df = pd.read_csv(io.StringIO(render_report(runs, "csv", layout="paper")[0]))
    assert list(df.model) == ["mnv2", "my_model#1", "ASMNet"]
    assert df["full/nme"].iloc[0] == runs[0].summary["full"]["nme"]


def test_byte_identical_on_repeat(runs):
    for fmt in ("latex", "markdown", "csv", "json", "html"):
        first = render_report(runs, fmt, ci=True)[0]
        second = render_report([three_splits_run("mnv2", 1.0, 0), three_splits_run("my_model#1", 0.9, 1),
                                three_splits_run("ASMNet", 1.2, 2)], fmt, ci=True)[0]
        assert first == second, fmt


def test_ci_columns_contain_point_estimate(runs):
    table = build_table(runs, ci=True)
    for (row, col), cell in table.cells.items():
        assert cell.ci is not None
        low, high = cell.ci
        assert low <= cell.value + 1e-12 <= high + 2e-12, (row, col, cell)
    text = render_latex(table)
    assert r"$\pm$" in text and "bootstrap 95" in text
    md = render_markdown(table)
    assert "±" not in md.splitlines()[0]  # no separate ± columns: the interval is in the value's cell
    assert md.splitlines()[2].count(" ± ") == len(table.columns)


def test_long_records_ci_keys(runs):
    recs = long_records(runs[:1], ci=True)
    assert all(r["ci_low"] <= r["value"] <= r["ci_high"] for r in recs)


def test_json_per_run(runs):
    text, _ = render_report(runs, "json")
    data = json.loads(text)
    assert [d["label"] for d in data] == ["mnv2", "my_model#1", "ASMNet"]
    entry = data[0]
    assert entry["schema_version"] == 1 and entry["dataset"] == "300w"
    assert entry["protocol"]["normalizer"] == "inter-ocular"
    assert list(entry["splits"]) == ["common", "challenging", "full"]
    assert entry["splits"]["full"]["nme"] == runs[0].summary["full"]["nme"]
    with_ci = json.loads(render_report(runs, "json", metrics=["nme"], ci=True)[0])
    low, high = with_ci[0]["ci"]["intervals"]["full"]["nme"]
    assert low <= with_ci[0]["splits"]["full"]["nme"] <= high


def test_units_overrides(runs):
    pct = build_table(runs, units=Units("percent"))
    frac = build_table(runs, units=Units("fraction", precision=3))
    auc_col = next(c for c in pct.columns if c.metric.startswith("auc"))
    nme_col = pct.columns[0]
    v_auc = pct.cells[(0, auc_col)].value
    v_nme = pct.cells[(0, nme_col)].value
    assert pct.units.format(auc_col.metric, v_auc) == f"{100 * v_auc:.2f}"
    assert frac.units.format(nme_col.metric, v_nme) == f"{v_nme:.3f}"
    with pytest.raises(InputError):
        Units("permille")


def test_different_protocols_warn_and_caption():
    a = make_run("A", [0.03, 0.04], dataset="wflw")
    b = make_run("B", [0.03, 0.05], dataset="wflw", protocol=base_protocol("wflw", normalizer="inter-pupil"))
    text, warnings = render_report([a, b], "latex")
    assert warnings and any("normalizer" in w for w in warnings)
    assert "Protocols: (a) inter-ocular" in text and "(b) inter-pupil" in text
    assert r"A$^{a}$" in text and r"B$^{b}$" in text
    md, _ = render_report([a, b], "markdown")
    assert "| A (a) |" in md and "| B (b) |" in md


def test_runs_of_one_model_on_two_datasets_share_a_row():
    w = make_run("mnv2", [0.09, 0.10], {"test": [0, 1]}, dataset="wflw")
    t = three_splits_run("mnv2")
    table = build_table([t, w], metrics=["nme"])
    assert len(table.rows) == 1
    assert [table.group_title(ds, s) for ds, s, _ in table.groups()] == [
        "300W Common", "300W Challenging", "300W Full", "WFLW Test"]
    text = render_latex(table)
    assert "Results on 300W, WFLW" in text


def test_missing_split_and_split_filter(runs):
    w = make_run("other", [0.03, 0.04], {"common": [0, 1]})
    table = build_table(runs + [w], metrics=["nme"])
    text = render_markdown(table)
    assert "| other | 3.50 | – | – |" in text
    only, _ = render_report(runs, "markdown", splits=["full", "common"], metrics=["nme"])
    assert only.splitlines()[0] == "| Model | Full NME (%) | Common NME (%) |"
    with pytest.raises(InputError, match="did you mean 'full'"):
        render_report(runs, "markdown", splits=["fulll"])


def test_failures_and_pose_metrics():
    nme = [0.02, np.inf, 0.04, 0.05]
    pose_gt = np.zeros((4, 3))
    pose_pred = np.array([[1.0, 2.0, 3.0]] * 4)
    r = make_run("p", nme, dataset="wflw", pose_pred=pose_pred, pose_gt=pose_gt)
    text, _ = render_report([r], "markdown", metrics=["nme", "fr@0.10", "mae_yaw", "mae_mean"], ci=True)
    header, _, row = text.splitlines()[:3]
    assert header == "| Model | Full NME (%) | Full FR@0.10 (%) | Full MAE yaw (°) | Full MAE mean (°) |"
    # NME: mean of the finite 0.02, 0.04, 0.05; FR: the one failure of 4; yaw error 1 on every
    # image, mean (1 + 2 + 3) / 3 = 2 on every image: no spread, half-widths 0.
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[0] == "p" and cells[1].startswith("3.67 ± ") and cells[2].startswith("25.00 ± ")
    assert cells[3:] == ["1.00 ± 0.00", "2.00 ± 0.00"]


def test_long_layout_rejected_for_latex(runs):
    with pytest.raises(InputError, match="long layout"):
        render_report(runs, "latex", layout="long")


def test_real_spiga_300w_table_shows_full_nme_2_99():
    run = spiga_300w_run()
    text, _ = render_report([run], "latex", metrics=["nme"], splits=["common", "challenging", "full"])
    row = next(l for l in text.splitlines() if l.startswith("SPIGA"))
    assert row == r"SPIGA & 2.59 & 4.66 & 2.99 \\"
    md, _ = render_report([run], "markdown", metrics=["nme", "auc@0.08", "fr@0.08"], splits=["full"])
    assert "| SPIGA | 2.99 | 0.6272 | 0.73 |" in md  # exact closed-form AUC
    # SPIGA's own AUC (62.7275) comes from its histogram mode, recorded in the protocol
    run.protocol = replace(run.protocol, auc_mode="spiga-hist")
    from faceval.evaluation.scoring import recompute_summary

    run.summary = recompute_summary(run)
    md, _ = render_report([run], "markdown", metrics=["auc@0.08"], splits=["full"])
    assert "| SPIGA | 0.6273 |" in md and "AUC spiga-hist" in md


def test_caption_names_the_annotation_file_of_json_runs():
    """``json:`` runs were captioned "Results on json."; the caption names each file's stem."""
    runs = []
    for label, spec in (("A", "json:/data/spiga/300wpublic/test.json"), ("B", "json:/data/other/wflw_test.json:all")):
        run = make_run(label, [0.03, 0.04, 0.05], dataset="json")
        run.provenance = dict(run.provenance, dataset_spec=spec)
        runs.append(run)
    assert build_table(runs[:1], metrics=["nme"]).caption().startswith("Results on test. ")
    assert build_table(runs, metrics=["nme"]).caption().startswith("Results on test, wflw_test. ")
    assert "Results on 300W. " in build_table([make_run("C", [0.03])], metrics=["nme"]).caption()
