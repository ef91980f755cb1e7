"""``faceval show RUN`` through the real entry point, on a real run file."""

from __future__ import annotations

import json

import numpy as np

from faceval_cli.main import main
from tests.faceval.views.helpers import FAILURES, helen_run_file, write_failures_run


def test_show_human_lists_protocol_provenance_failures_and_worst(tmp_path, capsys):
    run = write_failures_run(tmp_path / "r.h5")
    assert main(["show", str(tmp_path / "r.h5"), "--worst", "3"]) == 0
    out = capsys.readouterr().out
    assert "protocol: inter-ocular normaliser, thresholds 0.08/0.10, AUC exact" in out
    assert "model_sha256: abc" in out
    assert f"failures: {len(FAILURES)}" in out
    for i, (reason, _) in FAILURES.items():
        assert f"{run.sample_ids[i]} [" in out
        assert (reason or "non-finite output") in out
    worst = int(np.nanargmax(np.where(np.isfinite(run.nme), run.nme, np.nan)))
    assert "3 worst images" in out and str(run.sample_ids[worst]) in out


def test_show_json_is_one_object_with_null_for_failures(tmp_path, capsys):
    run = write_failures_run(tmp_path / "r.h5")
    assert main(["show", str(tmp_path / "r.h5"), "--format", "json", "--worst", "2"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["failures"]["count"] == len(FAILURES)
    assert {s["sample_id"] for s in doc["failures"]["samples"]} == {str(run.sample_ids[i]) for i in FAILURES}
    assert all(s["nme"] is None for s in doc["failures"]["samples"])  # inf -> null
    assert len(doc["worst"]["samples"]) == 2
    assert doc["splits"]["full"]["n"] == 20


def test_show_missing_run_file_is_one_line_exit_2(tmp_path, capsys):
    assert main(["show", str(tmp_path / "nope.h5")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nope.h5" in err


def test_show_real_helen_run(capsys):
    """The real GhostOne run on the 330 HELEN photos: 330 samples, worst NME above the mean."""
    out, _ = helen_run_file()
    capsys.readouterr()
    assert main(["show", str(out), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["n_samples"] == 330 and doc["failures"]["count"] == 0
    nmes = [s["nme"] for s in doc["worst"]["samples"]]
    assert len(nmes) == 10 and nmes == sorted(nmes, reverse=True)
    assert nmes[-1] > doc["splits"]["helen"]["nme"]


def test_show_summary_is_the_run_summary_table_with_pose_and_partial_splits(capsys):
    """`show` prints the table `score`/`run` print: the pose MAE where the run has pose, and a
    partial split as '330 of 689†' with its footnote (it had its own table without either)."""
    from tests.conftest import shared_path

    spiga = shared_path("spiga_results", "300wpublic")
    out, root = helen_run_file()
    base = out.parent
    rows = json.loads((spiga / "test.json").read_text())
    subsets = json.loads((spiga / "db_info.json").read_text())["test_subsets"]
    pose_csv = base / "pose-for-show.csv"
    pose_csv.write_text("sample_id,yaw,pitch,roll\n" + "".join(
        f"helen/testset/{rows[i]['imgpath'].rsplit('/', 1)[-1]},{rows[i]['headpose'][0]!r},"
        f"{rows[i]['headpose'][1]!r},{rows[i]['headpose'][2]!r}\n" for i in subsets["helen"]))
    scored = base / "spiga-pose-for-show.h5"
    assert main(["score", "--predictions", str(spiga / "spiga_results_test.json"), "--dataset", "300w",
                 "--data-root", str(root), "--ignore-extra", "--pose-labels", str(pose_csv), "--out", str(scored),
                 "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)["splits"]
    assert main(["show", str(scored), "--worst", "1"]) == 0
    text = capsys.readouterr().out
    assert "pose MAE y/p/r (mean) °" in text
    helen = summary["helen"]
    assert (f"{helen['mae_yaw']:.2f}/{helen['mae_pitch']:.2f}/{helen['mae_roll']:.2f} ({helen['mae_mean']:.2f})"
            in text)
    assert "330 of 689†" in text and "† split 'full' is partial: 330 of 689 images (not comparable with the complete split)" in text
