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
