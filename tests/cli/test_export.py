"""``faceval export``: one row per sample in CSV / JSON / Parquet, checked against the run file."""

from __future__ import annotations

from dataclasses import replace

import csv
import json
import math

import numpy as np
import pytest

from faceval_cli.main import main
from tests.faceval.views.helpers import FAILURES, helen_run_file, write_failures_run


def _rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_csv_has_one_row_per_sample_with_reason_pose_and_box(tmp_path, capsys):
    run = write_failures_run(tmp_path / "r.h5")
    run.protocol = replace(run.protocol, box_source="landmarks", box_scale=1.2, box_square=True)
    from faceval.runs.runfile import write_run

    write_run(tmp_path / "r.h5", run)
    out = tmp_path / "per_image.csv"
    assert main(["export", str(tmp_path / "r.h5"), "--out", str(out)]) == 0
    rows = _rows(out)
    assert [r["sample_id"] for r in rows] == [str(s) for s in run.sample_ids]
    for i, row in enumerate(rows):
        if i in FAILURES:
            assert row["nme"] == "inf"
            assert row["failure_reason"] == (FAILURES[i][0] or "non-finite output")
        else:
            assert float(row["nme"]) == run.nme[i]  # full precision, read back exactly
            assert row["failure_reason"] == ""
        assert row["splits"] == ("a;full" if i < 10 else "b;full")
        assert row["normalizer"] == "inter-ocular" and float(row["normalizer_px"]) == run.normalizers[i]
    # pose error = |pred - gt| per angle; the box = GT landmark box, square side max(w, h) x 1.2
    i = 0
    assert float(rows[i]["pose_err_roll"]) == pytest.approx(abs(run.pose_pred[i, 2] - run.pose_gt[i, 2]), rel=1e-12)
    gt = run.ground_truth[i]
    side = max(np.ptp(gt[:, 0]), np.ptp(gt[:, 1])) * 1.2
    cx = (gt[:, 0].min() + gt[:, 0].max()) / 2
    assert float(rows[i]["box_x0"]) == pytest.approx(cx - side / 2, rel=1e-12)
    assert float(rows[i]["box_x1"]) - float(rows[i]["box_x0"]) == pytest.approx(side, rel=1e-12)
    assert "e_0" not in rows[0]


def test_scored_run_without_box_leaves_the_box_empty(tmp_path):
    write_failures_run(tmp_path / "r.h5")  # box_source None, as faceval score writes
    out = tmp_path / "p.csv"
    assert main(["export", str(tmp_path / "r.h5"), "--out", str(out)]) == 0
    assert _rows(out)[0]["box_x0"] == ""


def test_per_landmark_columns_are_normalised_point_errors(tmp_path):
    run = write_failures_run(tmp_path / "r.h5")
    out = tmp_path / "p.csv"
    assert main(["export", str(tmp_path / "r.h5"), "--out", str(out), "--per-landmark"]) == 0
    rows = _rows(out)
    assert [c for c in rows[0] if c.startswith("e_")] == [f"e_{k}" for k in range(68)]
    i, k = 4, 40
    expected = math.hypot(*(run.predictions[i, k] - run.ground_truth[i, k])) / run.normalizers[i]
    assert float(rows[i][f"e_{k}"]) == pytest.approx(expected, rel=1e-12)
    assert rows[3]["e_0"] == ""  # a failure has no point errors
    # the mean of a row's point errors is its NME
    assert np.mean([float(rows[i][f"e_{k}"]) for k in range(68)]) == pytest.approx(run.nme[i], rel=1e-12)


@pytest.mark.parametrize("points", ["inner51", "inner49"])
def test_per_landmark_columns_are_only_the_scored_points(tmp_path, points):
    from faceval.runs.runfile import write_run

    run = write_failures_run(tmp_path / "r.h5")
    run.protocol = replace(run.protocol, points=points)
    write_run(tmp_path / "r.h5", run)
    out = tmp_path / "p.csv"
    assert main(["export", str(tmp_path / "r.h5"), "--out", str(out), "--per-landmark"]) == 0
    rows = _rows(out)
    # 300-W: inner51 = 68 minus the jaw 0-16; inner49 = that minus the inner mouth corners 60 and 64
    scored = [k for k in range(17, 68) if points == "inner51" or k not in (60, 64)]
    assert [c for c in rows[0] if c.startswith("e_")] == [f"e_{k}" for k in scored]
    i = 4
    expected = [math.hypot(*(run.predictions[i, k] - run.ground_truth[i, k])) / run.normalizers[i] for k in scored]
    assert [float(rows[i][f"e_{k}"]) for k in scored] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_per_landmark_leaves_out_invisible_points_under_visible_only(tmp_path, suffix):
    """Under visible_only an occluded point is not scored (as in the group NME): empty / null."""
    from faceval.runs.runfile import write_run

    run = write_failures_run(tmp_path / "r.h5")
    rng = np.random.default_rng(7)
    visible = rng.uniform(size=run.ground_truth.shape[:2]) > 0.3
    run.visible = visible
    for visible_only in (True, False):
        run.protocol = replace(run.protocol, visible_only=visible_only)
        write_run(tmp_path / "r.h5", run)
        out = tmp_path / f"p{int(visible_only)}{suffix}"
        assert main(["export", str(tmp_path / "r.h5"), "--out", str(out), "--per-landmark"]) == 0
        if suffix == ".csv":
            rows = [{c: (None if v == "" else float(v)) for c, v in r.items() if c.startswith("e_")}
                    for r in _rows(out)]
        else:
            rows = [{c: v for c, v in r.items() if c.startswith("e_")}
                    for r in json.loads(out.read_text(encoding="utf-8"))["samples"]]
        i = 4
        assert i not in FAILURES
        for k in range(68):
            expected = math.hypot(*(run.predictions[i, k] - run.ground_truth[i, k])) / run.normalizers[i]
            if visible_only and not visible[i, k]:
                assert rows[i][f"e_{k}"] is None, k
            else:
                assert rows[i][f"e_{k}"] == pytest.approx(expected, rel=1e-12), k
        assert sum(rows[i][f"e_{k}"] is None for k in range(68)) == (int((~visible[i]).sum()) if visible_only else 0)


def test_json_export_uses_null_for_failures(tmp_path):
    run = write_failures_run(tmp_path / "r.h5")
    out = tmp_path / "p.json"
    assert main(["export", str(tmp_path / "r.h5"), "--out", str(out)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert len(doc["samples"]) == len(run.sample_ids) and doc["label"] == run.label
    assert doc["samples"][3]["nme"] is None and doc["samples"][3]["failure_reason"] == FAILURES[3][0]
    assert doc["samples"][0]["splits"] == ["a", "full"] and doc["samples"][0]["nme"] == run.nme[0]


def test_parquet_export_round_trips(tmp_path):
    pytest.importorskip("pyarrow", reason="pyarrow is not installed: .parquet export needs it")
    import pandas as pd

    run = write_failures_run(tmp_path / "r.h5")
    out = tmp_path / "p.parquet"
    assert main(["export", str(tmp_path / "r.h5"), "--out", str(out)]) == 0
    table = pd.read_parquet(out)
    assert list(table["sample_id"]) == [str(s) for s in run.sample_ids]
    assert np.isinf(table["nme"][3]) and table["nme"][0] == run.nme[0]


def test_unknown_suffix_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys):
    write_failures_run(tmp_path / "r.h5")
    assert main(["export", str(tmp_path / "r.h5"), "--out", str(tmp_path / "p.xlsx")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"faceval: error: {tmp_path / 'p.xlsx'}: unknown export format '.xlsx'; expected .csv, .json, .parquet"
    assert list(tmp_path.iterdir()) == [tmp_path / "r.h5"]


def test_export_real_helen_run(tmp_path):
    run_file, _ = helen_run_file()
    out = tmp_path / "helen.csv"
    assert main(["export", str(run_file), "--out", str(out), "--per-landmark"]) == 0
    rows = _rows(out)
    assert len(rows) == 330
    from faceval.runs.runfile import read_run

    run = read_run(run_file)
    mean_nme = np.mean([float(r["nme"]) for r in rows])
    assert mean_nme == pytest.approx(run.summary["helen"]["nme"], rel=1e-12)


def test_parquet_without_pyarrow_is_one_line_exit_2(tmp_path, capsys):
    try:
        import pyarrow  # noqa: F401
        pytest.skip("pyarrow is installed: the missing-pyarrow message cannot be shown")
    except ImportError:
        pass
    write_failures_run(tmp_path / "r.h5")
    out = tmp_path / "p.parquet"
    assert main(["export", str(tmp_path / "r.h5"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"faceval: error: {out}: writing .parquet needs the pyarrow package") and not out.exists()
