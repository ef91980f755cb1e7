"""Reports and gates on run files made by `faceval score` from a peer's real predictions (SPIGA)."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from faceval_cli.main import main
from tests.cli.test_score import PUBLIC_FOLDERS, _spiga_tree


@pytest.fixture(scope="module")
def spiga_runs(tmp_path_factory) -> dict[str, Path]:
    """SPIGA's run, a copy with a planted regression, and one scored with another normaliser."""
    tmp = tmp_path_factory.mktemp("spiga")
    root, predictions, _ = _spiga_tree(tmp, "300wpublic", PUBLIC_FOLDERS)
    preds = json.loads(predictions.read_text())
    rng = np.random.default_rng(0)
    for item in preds:  # planted regression: 1.5 px of extra noise on every landmark
        lm = np.asarray(item["landmarks"], dtype=np.float64)
        item["landmarks"] = (lm + rng.normal(0, 1.5, lm.shape)).tolist()
    worse = tmp / "worse_results.json"
    worse.write_text(json.dumps(preds))
    runs = {"spiga": tmp / "spiga.h5", "worse": tmp / "worse.h5", "bbox": tmp / "bbox.h5"}
    common = ["--dataset", "300w", "--data-root", str(root), "--format", "json"]
    assert main(["score", "--predictions", str(predictions), "--label", "SPIGA", "--out", str(runs["spiga"]), *common]) == 0
    assert main(["score", "--predictions", str(worse), "--label", "SPIGA_noisy", "--out", str(runs["worse"]), *common]) == 0
    assert main(["score", "--predictions", str(predictions), "--label", "SPIGA", "--normalizer", "bbox",
                 "--out", str(runs["bbox"]), *common]) == 0
    return runs


def _report(capsys, *args: str) -> str:
    capsys.readouterr()
    code = main(["report", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_latex_table_from_real_runs(spiga_runs, capsys):
    tex = _report(capsys, str(spiga_runs["spiga"]), str(spiga_runs["worse"]), "--format", "latex")
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex
    assert "SPIGA\\_noisy" in tex  # escaped underscore
    assert "\\textbf{2.99}" in tex  # the full-set NME, bold as the best (lowest) of the column
    assert "inter-ocular" in tex


def test_markdown_and_csv_from_real_runs(spiga_runs, capsys):
    import pandas as pd

    md = _report(capsys, str(spiga_runs["spiga"]), str(spiga_runs["worse"]), "--format", "markdown")
    rows = [line for line in md.splitlines() if line.startswith("|")]
    assert len({line.count("|") for line in rows}) == 1  # a well-formed pipe table
    assert any(line.startswith("| SPIGA |") and "**2.99**" in line for line in rows)
    csv = _report(capsys, str(spiga_runs["spiga"]), "--format", "csv")
    table = pd.read_csv(io.StringIO(csv))
    full = table[(table["split"] == "full") & (table["metric"] == "nme")]["value"].item()
    assert full == pytest.approx(0.029937, abs=1e-6)  # stored fraction, SPIGA's 2.9937 %


def test_html_from_real_runs(spiga_runs, tmp_path, capsys):
    out = tmp_path / "report.html"
    assert main(["report", str(spiga_runs["spiga"]), str(spiga_runs["worse"]), "--format", "html", "--out", str(out)]) == 0
    html = out.read_text()
    assert "<svg" in html and "SPIGA_noisy" in html and "2.99" in html


def test_gate_passes_against_itself(spiga_runs, capsys):
    assert main(["gate", str(spiga_runs["spiga"]), "--baseline", str(spiga_runs["spiga"])]) == 0


def test_gate_catches_the_planted_regression(spiga_runs, tmp_path, capsys):
    junit = tmp_path / "gate.xml"
    code = main(["gate", str(spiga_runs["worse"]), "--baseline", str(spiga_runs["spiga"]),
                 "--rule", "nme@full:+1%", "--significance", "0.01", "--junit-xml", str(junit)])
    assert code == 1
    suite = ET.parse(junit).getroot()
    failed = [case for case in suite.iter("testcase") if case.find("failure") is not None]
    assert failed and any("nme@full:+1%" in (case.get("name") or "") for case in failed)


def test_gate_refuses_different_normalisers(spiga_runs, capsys):
    capsys.readouterr()
    code = main(["gate", str(spiga_runs["bbox"]), "--baseline", str(spiga_runs["spiga"])])
    assert code == 2 and "normalizer" in capsys.readouterr().err


def test_latex_table_from_spiga_runs_compiles_unedited(spiga_runs, tmp_path, capsys):
    """The default paper table of SPIGA's runs (with --ci) goes into a document as it is."""
    import re
    import subprocess

    from tests.browser import require_tool
    from tests.faceval.report.helpers import spiga_300w_run

    pdflatex = require_tool(("pdflatex",), "texlive-latex-base")
    pdftotext = require_tool(("pdftotext",), "poppler-utils")
    table = tmp_path / "table.tex"
    assert main(["report", str(spiga_runs["spiga"]), str(spiga_runs["worse"]), "--ci", "--label", "tab:spiga",
                 "--rename", "SPIGA_noisy=SPIGA + noise", "--out", str(table)]) == 0
    tex = table.read_text(encoding="utf-8")
    assert "\\label{tab:spiga}" in tex and "Results on 300W." in tex
    plain = tmp_path / "plain.tex"  # the default table, without --ci, in the same document
    assert main(["report", str(spiga_runs["spiga"]), str(spiga_runs["worse"]), "--label", "tab:plain",
                 "--out", str(plain)]) == 0
    (tmp_path / "paper.tex").write_text(
        "\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n\\input{table}\n"
        "See Table~\\ref{tab:spiga}.\n\\input{plain}\n\\end{document}\n", encoding="utf-8")
    for _ in range(2):  # twice, so that the reference resolves
        result = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "paper.tex"], cwd=tmp_path,
                                capture_output=True, text=True, timeout=180, check=False)
        assert result.returncode == 0, result.stdout[-3000:]
    log = (tmp_path / "paper.log").read_text(encoding="latin-1")
    assert "Overfull \\hbox" not in log  # the table fits the text width of a plain article page (345pt)
    assert "undefined" not in log.lower()
    text = subprocess.run([pdftotext, "-layout", "paper.pdf", "-"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, check=True).stdout
    assert "See Table 1." in text
    header = next(line for line in text.splitlines() if "Common" in line)
    assert header.split() == ["Common", "Challenging", "Full"]
    row = next(line for line in text.splitlines() if line.strip().startswith("SPIGA ") and "noise" not in line)
    # SPIGA's own metric file: common 2.5871, challenging (iBUG) 4.6623, full 2.9937, FR@0.08 0.7257 %;
    # AUC@0.08 closed form from the per-image NME computed with numpy alone (the test helper)
    nme = spiga_300w_run().nme
    auc = float(np.mean(np.maximum(0.0, 0.08 - nme)) / 0.08)
    values = re.findall(r"(\d+\.\d+)\s*±\s*\d+\.\d+", row)
    assert values == ["2.59", "4.66", "2.99", "0.73", f"{auc:.4f}"]
    assert "FR0.08 (%)" in text and "AUC0.08" in text  # thresholds as subscripts
    assert "SPIGA + noise" in text and "inter-ocular normaliser" in text
