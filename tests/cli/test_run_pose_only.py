"""`faceval run` with a pose-only model (no landmark output) on the bundled photos, and every view of its run.

The model is a tiny ONNX graph built here (pose output ``angles``); the pose labels are a sidecar
CSV written here. Expected values are computed in the test from the run file's poses and the CSV.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from faceval_cli.main import main
from tests.faceval.models.conftest import make_tiny_model

IDS = ("breakingbad.jpg", "einstein.jpg", "takeo.ppm")
LABELS = np.array([[10.0, -5.0, 2.0], [-20.0, 3.0, -1.0], [35.0, 8.0, 4.0]])


def _call(capsys, args: list[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def pose_run(tmp_path_factory):  # type: ignore[no-untyped-def]
    """One pose-only run of the tiny model on the sample (labels from a sidecar CSV), reused by the tests."""
    root = tmp_path_factory.mktemp("pose_only")
    model = make_tiny_model(root / "angles.onnx", outputs=(("angles", 3),), size=16)
    labels = root / "poses.csv"
    labels.write_text("sample_id,yaw,pitch,roll\n" + "".join(f"{i},{y},{p},{r}\n" for i, (y, p, r) in zip(IDS, LABELS)))
    out = root / "run.h5"
    code = main(["run", "--model", str(model), "--set", "pose_output=angles", "--set", "pose_signs=-1,1,1",
                 "--pose-labels", str(labels), "--no-cache", "--no-progress", "--format", "json", "--out", str(out)])
    assert code == 0
    return {"root": root, "model": model, "labels": labels, "out": out}


def test_a_pose_only_run_has_pose_metrics_only(pose_run, capsys) -> None:
    from faceval.runs.runfile import read_run

    run = read_run(pose_run["out"])
    assert run.pose_only and run.predictions is None and run.nme is None
    stats = run.summary["all"]
    assert "nme" not in stats and not any(k.startswith(("fr@", "auc@", "nme_p")) for k in stats)
    order = [list(run.sample_ids).index(i) for i in IDS]
    err = run.pose_pred[order] - LABELS
    np.testing.assert_array_equal(run.pose_gt[order], LABELS)
    for a, angle in enumerate(("yaw", "pitch", "roll")):
        assert stats[f"mae_{angle}"] == pytest.approx(np.mean(np.abs(err[:, a])))
        assert stats[f"bias_{angle}"] == pytest.approx(np.mean(err[:, a]))
        assert stats[f"corr_{angle}"] == pytest.approx(np.corrcoef(run.pose_pred[order, a], LABELS[:, a])[0, 1])
    proto = run.protocol
    assert proto.pose_signs == (-1.0, 1.0, 1.0) and proto.pose_order == ("yaw", "pitch", "roll")
    assert proto.pose_scale == 1.0 and proto.pose_units == "degrees" and proto.normalizer is None
    assert proto.thresholds == () and proto.pose_source == pose_run["labels"].name
    assert run.provenance["spec"]["pose_signs"] == [-1.0, 1.0, 1.0]


def test_the_signs_are_applied_explicitly_and_recorded(pose_run, capsys, tmp_path) -> None:
    from faceval.runs.runfile import read_run

    code, _, err = _call(capsys, ["run", "--model", str(pose_run["model"]), "--set", "pose_output=angles",
                                  "--pose-labels", str(pose_run["labels"]), "--no-cache", "--no-progress",
                                  "--out", str(tmp_path / "plain.h5")])
    assert code == 0, err
    plain, signed = read_run(tmp_path / "plain.h5"), read_run(pose_run["out"])
    np.testing.assert_allclose(signed.pose_pred, plain.pose_pred * [-1.0, 1.0, 1.0])
    assert plain.protocol.pose_signs == (1.0, 1.0, 1.0)
    assert "NME %" in err and "pose only (no landmarks)" in err and "nan" not in err.lower()


def test_a_pose_only_run_without_pose_labels_is_refused_before_any_work(pose_run, capsys, tmp_path) -> None:
    code, _, err = _call(capsys, ["run", "--model", str(pose_run["model"]), "--set", "pose_output=angles",
                                  "--no-cache", "--no-progress", "--out", str(tmp_path / "none.h5")])
    assert code == 2 and "Traceback" not in err
    line = next(line for line in err.splitlines() if line.startswith("faceval: error:"))
    assert "is a pose-only model (no landmark output) and 'sample' has no pose labels: nothing to score" in line
    assert not (tmp_path / "none.h5").exists()


def test_a_pose_only_run_whose_labels_give_no_pose_names_the_file(pose_run, capsys, tmp_path) -> None:
    """--pose-labels given but every row NaN: the error names the file, not 'give the labels with --pose-labels'."""
    labels = tmp_path / "nan_poses.csv"
    labels.write_text("sample_id,yaw,pitch,roll\n" + "".join(f"{i},nan,nan,nan\n" for i in IDS))
    code, _, err = _call(capsys, ["run", "--model", str(pose_run["model"]), "--set", "pose_output=angles",
                                  "--pose-labels", str(labels), "--no-cache", "--no-progress",
                                  "--out", str(tmp_path / "none.h5")])
    assert code == 2 and "Traceback" not in err
    line = next(line for line in err.splitlines() if line.startswith("faceval: error:"))
    assert "nan_poses.csv" in line and "--pose-labels FILE" not in line and "no finite yaw, pitch, roll" in line


def test_show_export_report_and_gate_show_no_landmark_number(pose_run, capsys, tmp_path) -> None:
    run = str(pose_run["out"])
    code, out, err = _call(capsys, ["show", run])
    assert code == 0, err
    summary_row = next(line for line in out.splitlines() if line.strip("│┃ ").startswith("all"))
    assert summary_row.count("–") >= 2 and not re.search(r"\b(inf|nan)\b", out, re.IGNORECASE)
    assert "head pose per split" in out
    code, out, _ = _call(capsys, ["show", run, "--format", "json"])
    data = json.loads(out)
    assert code == 0 and "nme" not in data["splits"]["all"] and data["worst"]["samples"] == []
    assert all(s["nme"] is None for s in data["failures"]["samples"])

    csv = tmp_path / "samples.csv"
    code, _, err = _call(capsys, ["export", run, "--out", str(csv)])
    assert code == 0, err
    lines = csv.read_text().splitlines()
    header = lines[0].split(",")
    nme_col = header.index("nme")
    assert all(line.split(",")[nme_col] == "" for line in lines[1:]) and "pose_err_yaw" in header
    code, _, err = _call(capsys, ["export", run, "--out", str(tmp_path / "x.csv"), "--per-landmark"])
    assert code == 2 and "is pose-only" in err and "Traceback" not in err
    assert err.startswith(f"faceval: error: {run}: run 'angles' is pose-only")  # names the file

    code, out, err = _call(capsys, ["report", run, "--format", "markdown"])
    assert code == 0, err
    assert "MAE yaw" in out and "MAE mean" in out and "nan" not in out.lower()
    code, out, err = _call(capsys, ["report", run, "--format", "markdown", "--metrics", "nme,mae_yaw,bias_yaw,corr_yaw"])
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith("| angles"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "–" and all(re.fullmatch(r"-?\d+\.\d+", c) for c in cells[2:]), row

    code, out, err = _call(capsys, ["gate", run, "--baseline", run])
    assert code == 0, err
    assert "mae_mean" in out + err
    code, _, err = _call(capsys, ["gate", run, "--baseline", run, "--rule", "nme:+1%"])
    assert code == 2 and "a pose-only run has no landmark metrics" in err and "Traceback" not in err
    code, _, err = _call(capsys, ["gate", run, "--baseline", run, "--rule", "bias_yaw:+0.5", "--rule", "corr_yaw:-0.1"])
    assert code == 0, err


def test_gallery_refuses_a_pose_only_run(pose_run, capsys, tmp_path) -> None:
    code, _, err = _call(capsys, ["gallery", str(pose_run["out"]), "--out", str(tmp_path / "g.html")])
    assert code == 2 and "no landmarks to draw" in err and "Traceback" not in err
    assert err.startswith(f"faceval: error: {pose_run['out']}: run 'angles' is pose-only")  # names the file


def test_html_report_and_ced_of_a_pose_only_run(pose_run, capsys, tmp_path) -> None:
    html = tmp_path / "r.html"
    code, _, err = _call(capsys, ["report", str(pose_run["out"]), "--out", str(html)])
    assert code == 0, err
    text = html.read_text()
    assert "MAE yaw" in text and "<svg" not in text and not re.search(r"\b(inf|nan)\b", text.split("<h2>Runs")[0])
    code, _, err = _call(capsys, ["plot", "ced", str(pose_run["out"]), "--out", str(tmp_path / "c.svg")])
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    # the file is named (the message once named only the run's label)
    assert f"faceval: error: {pose_run['out']}: run 'angles' is pose-only: it has no NME, so no CED curve" in err
    code, _, err = _call(capsys, ["report", str(pose_run["out"]), "--ced", str(tmp_path / "c.pdf")])
    assert code == 2 and f"{pose_run['out']}: run 'angles' is pose-only" in err


def test_evaluate_in_python_gives_a_pose_only_run(pose_run) -> None:
    import faceval

    run = faceval.evaluate(pose_run["model"], "sample", spec={"pose_output": "angles"}, cache=False,
                           pose_labels=pose_run["labels"])
    assert run.pose_only and "nme" not in run.summary["splits"]["all"] and run.pose_warning is None
    table = run.per_image()
    assert table["nme"].isna().all() and table["err_yaw"].notna().all()
    assert run.protocol["pose_signs"] == [1.0, 1.0, 1.0] and run.protocol["normalizer"] is None


def test_pose_only_shards_merge_into_the_whole_run(pose_run, capsys, tmp_path) -> None:
    from faceval.runs.runfile import read_run

    args = ["run", "--model", str(pose_run["model"]), "--set", "pose_output=angles", "--set", "pose_signs=-1,1,1",
            "--pose-labels", str(pose_run["labels"]), "--no-cache", "--no-progress"]
    for i in (1, 2):
        code, _, err = _call(capsys, [*args, "--shard", f"{i}/2", "--out", str(tmp_path / f"s{i}.h5")])
        assert code == 0, err
    code, _, err = _call(capsys, ["merge", str(tmp_path / "s1.h5"), str(tmp_path / "s2.h5"),
                                  "--out", str(tmp_path / "m.h5")])
    assert code == 0, err
    merged, whole = read_run(tmp_path / "m.h5"), read_run(pose_run["out"])
    assert merged.pose_only and merged.predictions is None
    np.testing.assert_allclose(merged.pose_pred, whole.pose_pred)
    assert merged.summary["all"]["mae_mean"] == pytest.approx(whole.summary["all"]["mae_mean"])


def test_a_sweep_of_pose_only_models_shows_the_pose_mae_and_no_nme(pose_run, capsys, tmp_path) -> None:
    import shutil

    for name in ("a.onnx", "b.onnx"):
        shutil.copy(pose_run["model"], tmp_path / name)
    code, out, err = _call(capsys, ["run", "--model", str(tmp_path / "a.onnx"), "--model", str(tmp_path / "b.onnx"),
                                    "--set", "pose_output=angles", "--pose-labels", str(pose_run["labels"]),
                                    "--no-cache", "--out", str(tmp_path / "sweep")])
    assert code == 0, err
    from faceval.runs.runfile import read_run

    mae = read_run(tmp_path / "sweep" / "a-sample.h5").summary["all"]["mae_mean"]
    row = next(line for line in out.splitlines() if line.startswith("a.onnx"))
    assert row.split()[1] == "–" and row.split()[2] == f"{mae:.2f}" and "MAE mean" in out


def test_an_unreadable_image_is_a_counted_failure_without_a_made_up_number(pose_run, capsys, tmp_path) -> None:
    sample = Path(__file__).resolve().parents[2] / "faceval" / "data" / "sample"
    folder = tmp_path / "data" / "300w" / "helen" / "testset"
    folder.mkdir(parents=True)
    (folder / "einstein.jpg").symlink_to(sample / "einstein.jpg")
    (folder / "einstein.pts").symlink_to(sample / "einstein.pts")
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    (folder / "broken.pts").write_text((sample / "einstein.pts").read_text())
    labels = tmp_path / "poses.csv"
    labels.write_text("sample_id,yaw,pitch,roll\nhelen/testset/einstein.jpg,5,1,2\nhelen/testset/broken.jpg,1,1,1\n")
    out = tmp_path / "r.h5"
    code, _, err = _call(capsys, ["run", "--model", str(pose_run["model"]), "--set", "pose_output=angles",
                                  "--dataset", "300w:helen", "--data-root", str(tmp_path / "data"),
                                  "--pose-labels", str(labels), "--no-cache", "--no-progress", "--out", str(out)])
    assert code == 0, err
    from faceval.runs.runfile import read_run

    run = read_run(out)
    stats = run.summary["helen"]
    i = list(run.sample_ids).index("helen/testset/einstein.jpg")
    assert stats["n"] == 2 and stats["n_failed_inputs"] == 1 and stats["n_pose"] == 1
    assert stats["mae_yaw"] == pytest.approx(abs(run.pose_pred[i, 0] - 5.0))
    code, text, _ = _call(capsys, ["show", str(out), "--format", "json"])
    failures = json.loads(text)["failures"]
    assert code == 0 and failures["count"] == 1 and failures["samples"][0]["nme"] is None
    assert failures["samples"][0]["sample_id"] == "helen/testset/broken.jpg"


def test_landmark_flags_on_a_pose_only_model_warn_and_leave_the_protocol_alone(pose_run, capsys, tmp_path) -> None:
    """``--protocol hrnet --points inner49`` once went silently into a pose-only run's protocol
    (preset and overrides), so gate called it another protocol than the same run without."""
    from faceval.runs.runfile import read_run

    out = tmp_path / "flags.h5"
    code, _, err = _call(capsys, ["run", "--model", str(pose_run["model"]), "--set", "pose_output=angles",
                                  "--set", "pose_signs=-1,1,1", "--pose-labels", str(pose_run["labels"]), "--no-cache",
                                  "--no-progress", "--out", str(out), "--protocol", "hrnet", "--points", "inner49",
                                  "--threshold", "0.05"])
    assert code == 0, err
    assert ("warning: angles.onnx is a pose-only model: --protocol, --threshold, --points set how landmarks "
            "are scored and are not used") in err
    assert read_run(out).protocol == read_run(pose_run["out"]).protocol
    code, _, err = _call(capsys, ["gate", str(out), "--baseline", str(pose_run["out"])])
    assert code == 0, err


def test_shards_with_the_same_labels_under_other_paths_merge(pose_run, capsys, tmp_path, monkeypatch) -> None:
    """Shard 1 given the labels by a relative path, shard 2 a copy elsewhere (another machine): merge
    once refused them ("shards differ in protocol 'pose_source'"); labels that differ still do not merge."""
    import shutil

    other = tmp_path / "machine2"
    other.mkdir()
    shutil.copy(pose_run["labels"], other / pose_run["labels"].name)
    monkeypatch.chdir(pose_run["labels"].parent)
    base = ["run", "--model", str(pose_run["model"]), "--set", "pose_output=angles", "--no-cache", "--no-progress"]
    for i, labels in ((1, pose_run["labels"].name), (2, str(other / pose_run["labels"].name))):
        code, _, err = _call(capsys, [*base, "--pose-labels", labels, "--shard", f"{i}/2",
                                      "--out", str(tmp_path / f"p{i}.h5")])
        assert code == 0, err
    code, _, err = _call(capsys, ["merge", str(tmp_path / "p1.h5"), str(tmp_path / "p2.h5"), "--out",
                                  str(tmp_path / "pm.h5")])
    assert code == 0, err
    changed = other / pose_run["labels"].name
    changed.write_text(changed.read_text().replace("35.0,", "36.0,"))
    code, _, err = _call(capsys, [*base, "--pose-labels", str(changed), "--shard", "2/2",
                                  "--out", str(tmp_path / "p2b.h5")])
    assert code == 0, err
    code, _, err = _call(capsys, ["merge", str(tmp_path / "p1.h5"), str(tmp_path / "p2b.h5"), "--out",
                                  str(tmp_path / "pm2.h5")])
    assert code == 2 and "Traceback" not in err and "ground_truth" in err, err
