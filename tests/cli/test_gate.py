"""``faceval gate`` exit codes and CI outputs through the real entry point and run files."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from faceval.evaluation.scoring import recompute_summary
from faceval.runs.runfile import write_run
from faceval_cli.main import main
from tests.faceval.report.helpers import base_protocol, make_run, three_splits_run


@pytest.fixture(autouse=True)
def _no_github_env(monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    base = three_splits_run("base", 1.0, 0)
    bad = three_splits_run("cand", 1.0, 0)
    bad.nme = bad.nme.copy()
    bad.nme[60:80] *= 1.3  # every challenging image 30 % worse
    bad.summary = recompute_summary(bad)
    pupil = three_splits_run("pupil", 1.0, 0)
    pupil.protocol = base_protocol("300w", normalizer="inter-pupil")
    out = {}
    for name, run in (("base", base), ("bad", bad), ("pupil", pupil)):
        out[name] = tmp_path / f"{name}.h5"
        write_run(out[name], run)
    wflw = make_run("w", [0.05, 0.06], dataset="wflw")
    out["wflw"] = tmp_path / "wflw.h5"
    write_run(out["wflw"], wflw)
    return out


def test_run_vs_itself_exit_0(files, capsys):
    assert main(["gate", str(files["base"]), "--baseline", str(files["base"])]) == 0
    err = capsys.readouterr().err
    assert "gate: PASS" in err and "nme" in err


def test_one_check_is_one_check_not_1_checks(files, tmp_path, capsys, monkeypatch):
    assert main(["gate", str(files["base"]), "--baseline", str(files["base"]), "--rule", "nme@full:+1%"]) == 0
    assert "gate: PASS (1 check)" in capsys.readouterr().err
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert main(["gate", str(files["bad"]), "--baseline", str(files["base"]), "--rule", "nme@challenging:+1%"]) == 1
    assert "gate: FAIL: 1 of 1 check regressed" in capsys.readouterr().err
    assert "1 of 1 check regressed" in summary.read_text()


def test_regression_exit_1_and_junit_names_rule(files, tmp_path, capsys):
    junit = tmp_path / "gate.xml"
    code = main(["gate", str(files["bad"]), "--baseline", str(files["base"]), "--rule", "nme@challenging:+1%",
                 "--rule", "nme@common:+1%", "--junit-xml", str(junit)])
    assert code == 1
    assert "gate: FAIL: 1 of 2" in capsys.readouterr().err
    suite = ET.parse(junit).getroot().find("testsuite")
    failed = [c.get("name") for c in suite.findall("testcase") if c.find("failure") is not None]
    assert failed == ["nme@challenging:+1% [challenging]"]


def test_json_output(files, capsys):
    code = main(["gate", str(files["bad"]), "--baseline", str(files["base"]), "--format", "json"])
    assert code == 1
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] is False
    failing = {(c["metric"], c["split"]) for c in data["checks"] if not c["passed"]}
    assert ("nme", "challenging") in failing and ("nme", "common") not in failing


def test_github_annotations_and_step_summary(files, tmp_path, monkeypatch, capsys):
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code = main(["gate", str(files["bad"]), "--baseline", str(files["base"]), "--rule", "nme@challenging:+1%"])
    assert code == 1
    out = capsys.readouterr().out
    assert out.startswith("::error title=faceval gate::nme on challenging rose")
    text = summary.read_text()
    assert text.startswith("# earlier step\n") and "| nme | challenging |" in text and "**FAIL**" in text


def test_summary_file_option(files, tmp_path, capsys):
    summary = tmp_path / "s.md"
    assert main(["gate", str(files["base"]), "--baseline", str(files["base"]), "--summary", str(summary), "--no-github"]) == 0
    assert "passed" in summary.read_text()
    assert capsys.readouterr().out == ""


def test_different_normalizer_exit_2(files, capsys):
    assert main(["gate", str(files["pupil"]), "--baseline", str(files["base"])]) == 2
    err = capsys.readouterr().err
    assert err.startswith("faceval: error:") and "normalizer" in err and "inter-pupil" in err
    assert main(["gate", str(files["pupil"]), "--baseline", str(files["base"]), "--allow-protocol-change"]) == 0


def test_unset_box_keys_named_in_error_and_warning(files, tmp_path, capsys):
    boxed = three_splits_run("boxed", 1.0, 0)
    boxed.protocol = base_protocol("300w", box_source="landmarks", box_scale=1.2, box_square=True)
    path = tmp_path / "boxed.h5"
    write_run(path, boxed)
    assert main(["gate", str(path), "--baseline", str(files["base"])]) == 2
    err = capsys.readouterr().err
    assert "box_source: run 'landmarks', baseline not set (scored predictions)" in err and "''" not in err
    assert main(["gate", str(path), "--baseline", str(files["base"]), "--allow-protocol-change"]) == 0
    err = capsys.readouterr().err
    assert "faceval: warning: protocol differs (box_source: run 'landmarks', baseline not set (scored predictions))" in err


def test_human_table_not_cut_at_80_columns(files, capsys):
    assert main(["gate", str(files["bad"]), "--baseline", str(files["base"])]) == 1  # stderr is not a terminal
    err = capsys.readouterr().err
    assert "…" not in err and "auc@0.08" in err
    rows = [line for line in err.splitlines() if line.startswith("│")]
    assert rows and max(len(line) for line in rows) > 80  # the table is wider than 80 and kept whole


def test_different_dataset_exit_2(files, capsys):
    assert main(["gate", str(files["wflw"]), "--baseline", str(files["base"]), "--allow-protocol-change"]) == 2
    assert "different datasets" in capsys.readouterr().err


@pytest.mark.parametrize(
    "rule,message",
    [
        ("nmee:+1%", "did you mean 'nme'"),
        ("nme:-1%", "lower-is-better"),
        ("auc@0.08:+1%", "higher-is-better"),
        ("nme@nope:+1%", "split 'nope'"),
        ("nme+1", "expected METRIC"),
    ],
)
def test_bad_rules_exit_2(files, capsys, rule, message):
    assert main(["gate", str(files["base"]), "--baseline", str(files["base"]), "--rule", rule]) == 2
    assert message in capsys.readouterr().err


def test_bad_significance_exit_2(files, capsys):
    assert main(["gate", str(files["base"]), "--baseline", str(files["base"]), "--significance", "2"]) == 2


def test_significance_option(tmp_path, capsys):
    rng = np.random.default_rng(0)
    nme = rng.gamma(9.0, 0.004, size=400)
    paths = {}
    for name, values in (("base", nme), ("tiny", nme * 1.02), ("small_base", nme[:3]), ("small", nme[:3] * 2)):
        paths[name] = tmp_path / f"{name}.h5"
        write_run(paths[name], make_run(name, values, dataset="wflw"))
    assert main(["gate", str(paths["tiny"]), "--baseline", str(paths["base"]), "--rule", "nme:+1%",
                 "--significance", "0.05", "--format", "json"]) == 1
    check = json.loads(capsys.readouterr().out)["checks"][0]
    assert check["p_value"] < 0.05
    assert main(["gate", str(paths["small"]), "--baseline", str(paths["small_base"]), "--rule", "nme:+1%",
                 "--significance", "0.05"]) == 0
    assert "1 exceeded the bound but not significantly (p >= 0.05)" in capsys.readouterr().err


def test_pose_labels_that_differ_are_a_protocol_difference(tmp_path, capsys):
    """SPIGA's COFW-68 predictions scored against the file's own head poses, then against a sidecar
    CSV with every yaw shifted by 3°: the pose MAE of the two runs measures against other labels, so
    the gate refuses them (the label source alone is informative) and the report warns."""
    from tests.conftest import shared_path

    base = shared_path("spiga_results", "cofw68")
    gt = json.loads((base / "test.json").read_text())
    csv = tmp_path / "poses.csv"
    csv.write_text("sample_id,yaw,pitch,roll\n" + "".join(
        f"{r['imgpath']},{r['headpose'][0] + 3.0!r},{r['headpose'][1]!r},{r['headpose'][2]!r}\n" for r in gt))
    same = tmp_path / "same.csv"  # the file's own labels under another name: no difference
    same.write_text("sample_id,yaw,pitch,roll\n" + "".join(
        f"{r['imgpath']},{float(r['headpose'][0])!r},{float(r['headpose'][1])!r},{float(r['headpose'][2])!r}\n"
        for r in gt))
    runs = {}
    for name, extra in (("own", []), ("shifted", ["--pose-labels", str(csv)]), ("same", ["--pose-labels", str(same)])):
        runs[name] = tmp_path / f"{name}.h5"
        assert main(["score", "--predictions", str(base / "spiga_results_test.json"),
                     "--dataset", f"json:{base / 'test.json'}", "--out", str(runs[name]), *extra]) == 0
    capsys.readouterr()
    assert main(["gate", str(runs["shifted"]), "--baseline", str(runs["own"]), "--rule", "mae_yaw:+0.1"]) == 2
    err = capsys.readouterr().err
    assert "poses.csv (507 of 507 common samples differ)', baseline 'headpose of test.json'" in err
    assert "different protocols (pose labels: run '" in err
    assert main(["gate", str(runs["same"]), "--baseline", str(runs["own"]), "--rule", "mae_yaw:+0"]) == 0
    # a landmark rule does not depend on the pose labels: compared without reading them
    assert main(["gate", str(runs["shifted"]), "--baseline", str(runs["own"]), "--rule", "nme:+0"]) == 0
    capsys.readouterr()
    assert main(["report", str(runs["own"]), str(runs["shifted"]), "--format", "csv",
                 "--metrics", "nme,mae_yaw"]) == 0
    assert "differ in pose labels" in capsys.readouterr().err
    assert main(["report", str(runs["own"]), str(runs["shifted"]), "--format", "csv"]) == 0  # NME/FR/AUC only
    assert "differ in pose labels" not in capsys.readouterr().err
