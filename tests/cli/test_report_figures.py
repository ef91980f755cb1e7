"""``faceval report --format html`` figures on a real run: SPIGA's 300W predictions scored by faceval."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from faceval_cli.main import main
from tests.browser import screenshot
from tests.cli.test_score import PUBLIC_FOLDERS, _spiga_tree
from tests.conftest import shared_path
from tests.faceval.report.test_figures import div_texts


@pytest.fixture(scope="module")
def spiga_html(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("spiga-figures")
    root, predictions, pose_csv = _spiga_tree(tmp, "300wpublic", PUBLIC_FOLDERS)
    run = tmp / "spiga.h5"
    assert main(["score", "--predictions", str(predictions), "--dataset", "300w", "--data-root", str(root),
                 "--pose-labels", str(pose_csv), "--label", "SPIGA", "--out", str(run), "--format", "json"]) == 0
    page = tmp / "report.html"
    assert main(["report", str(run), "--out", str(page)]) == 0
    return page


def test_figures_show_the_peer_numbers(spiga_html):
    divs = div_texts(spiga_html.read_text(encoding="utf-8"))
    assert divs.links == []
    # NME per split: SPIGA's own metric file (spiga_metrics_test.txt) rounded as the table rounds;
    # the bars follow the table's splits, which for 300W's paper layout are Common, Challenging, Full
    bars = [t for t in divs.text["nme-splits"] if t]
    for value in ("2.59", "4.66", "2.99"):  # common, challenging, full
        assert value in bars
    assert [t for t in bars if t in ("Common", "Challenging", "Full", "HELEN", "LFPW")] == [
        "Common", "Challenging", "Full"]

    # NME against |yaw|: the image counts per bin from the GT head poses of test.json
    gt = json.loads((shared_path("spiga_results", "300wpublic") / "test.json").read_text())
    yaw = np.abs([g["headpose"][0] for g in gt])
    edges = [(0, 15), (15, 30), (30, 45), (45, 60), (60, 90)]
    counts = [int(((yaw >= lo) & ((yaw <= hi) if hi == 90 else (yaw < hi))).sum()) for lo, hi in edges]
    assert sum(counts) == 689
    assert [t for t in divs.text["nme-yaw"] if t.startswith("n=")] == [f"n={c}" for c in counts if c]

    # error per landmark: the worst point over the 689 faces, from the JSON files directly
    pred = json.loads((shared_path("spiga_results", "300wpublic") / "spiga_results_test.json").read_text())
    g = np.asarray([x["landmarks"] for x in gt], dtype=np.float64)
    p = np.asarray([x["landmarks"] for x in pred], dtype=np.float64)
    per_point = (np.linalg.norm(p - g, axis=2) / np.linalg.norm(g[:, 36] - g[:, 45], axis=1)[:, None]).mean(axis=0)
    worst = int(np.argmax(per_point))
    title = " ".join(divs.text["landmarks-1"])
    assert "SPIGA — full (689 images)" in title
    assert f"worst point {worst} ({worst + 1} in 1-based markup): {100 * per_point[worst]:.2f} %" in title


def test_real_report_renders_in_headless_chromium(spiga_html, tmp_path):
    shot = screenshot(spiga_html, tmp_path, window=(1200, 4000)).astype(np.int64)
    rows_with_ink = np.flatnonzero((np.abs(shot - 255).max(axis=2) > 40).any(axis=1))
    assert rows_with_ink.size > 1500  # table, CED plots and figures drawn down the page
    viridis_yellow = np.linalg.norm(shot - np.array([253, 231, 37]), axis=2) < 40
    assert viridis_yellow.sum() > 100  # the landmark panel's colour bar and its worst points
    assert re.search(r"<h2>NME against head yaw</h2>", spiga_html.read_text(encoding="utf-8"))
