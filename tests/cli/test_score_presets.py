"""`faceval score --protocol PRESET` on SPIGA's real 300W predictions: printed, recorded, reproduced."""

from __future__ import annotations

import json

import numpy as np
import pytest

from faceval.runs.runfile import read_run
from faceval_cli.main import main
from tests.cli.test_score import PUBLIC_FOLDERS, _spiga_tree
from tests.faceval.metrics.test_presets import pipnet_fr_auc


@pytest.fixture(scope="module")
def spiga_300w(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("spiga")
    root, predictions, _pose = _spiga_tree(tmp, "300wpublic", PUBLIC_FOLDERS)
    return tmp, root, predictions


def _score(capsys, args: list[str]) -> tuple[int, dict | None, str]:
    capsys.readouterr()
    code = main(["score", *args, "--format", "json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else None), err


def _pipnet_expected(root, t: float) -> tuple[float, float]:
    """PIPNet's compute_fr_and_auc on the per-image inter-ocular NMEs of SPIGA's predictions."""
    from tests.faceval.metrics.test_presets import pipnet_nme
    from tests.faceval.metrics.test_spiga_reference import load_db

    data = load_db("300wpublic")
    return pipnet_fr_auc(pipnet_nme(data["pred"], data["gt"]), thres=t)


def test_pipnet_preset_is_printed_recorded_and_reproduced(spiga_300w, capsys) -> None:
    tmp, root, predictions = spiga_300w
    out = tmp / "pipnet.h5"
    code, result, err = _score(capsys, ["--predictions", str(predictions), "--dataset", "300w", "--data-root",
                                        str(root), "--protocol", "pipnet", "--out", str(out)])
    assert code == 0, err
    assert "protocol preset pipnet" in err
    proto = result["protocol"]
    assert (proto["preset"], proto["auc_mode"], proto["fr_cut"], proto["thresholds"]) == (
        "pipnet", "simpson-1e-4", "grid", [0.1])
    assert "overrides" not in proto
    fr, auc = _pipnet_expected(root, 0.10)
    assert result["splits"]["full"]["fr@0.10"] == pytest.approx(fr, abs=1e-12)
    assert result["splits"]["full"]["auc@0.10"] == pytest.approx(auc, abs=1e-12)
    assert read_run(out).protocol.preset == "pipnet"


def test_explicit_flags_win_and_are_recorded(spiga_300w, capsys) -> None:
    tmp, root, predictions = spiga_300w
    code, result, err = _score(capsys, ["--predictions", str(predictions), "--dataset", "300w", "--data-root",
                                        str(root), "--protocol", "pipnet", "--threshold", "0.08"])
    assert code == 0, err
    assert result["protocol"]["overrides"] == ["thresholds"] and result["protocol"]["thresholds"] == [0.08]
    assert "overridden: thresholds" in err
    fr, auc = _pipnet_expected(root, 0.08)
    assert result["splits"]["full"]["auc@0.08"] == pytest.approx(auc, abs=1e-12)


def test_spiga_preset_matches_the_published_metric_file(spiga_300w, capsys) -> None:
    tmp, root, predictions = spiga_300w
    code, result, err = _score(capsys, ["--predictions", str(predictions), "--dataset", "300w", "--data-root",
                                        str(root), "--protocol", "spiga"])
    assert code == 0, err
    full = result["splits"]["full"]  # spiga_metrics_test.txt: auc 62.72750851023099, fr 0.7256894049346929
    assert 100 * full["auc@0.08"] == pytest.approx(62.72750851023099, abs=1e-9)
    assert 100 * full["fr@0.08"] == pytest.approx(0.7256894049346929, abs=1e-9)
    assert 100 * result["splits"]["challenging"]["fr@0.08"] == pytest.approx(3.703703703703709, abs=1e-9)


def test_points_and_box_edge_through_the_cli(spiga_300w, capsys) -> None:
    tmp, root, predictions = spiga_300w
    code, result, err = _score(capsys, ["--predictions", str(predictions), "--dataset", "300w:helen", "--data-root",
                                        str(root), "--normalizer", "box-edge", "--points", "inner49"])
    assert code == 0, err
    assert result["protocol"]["points"] == "inner49" and result["protocol"]["normalizer"] == "box-edge"
    from tests.faceval.metrics.test_spiga_reference import load_db

    data = load_db("300wpublic")
    idx = np.asarray(data["subsets"]["helen"])
    keep = np.delete(np.arange(68), [60, 64])[17:]
    gt, pred = data["gt"][idx], data["pred"][idx]
    wh = gt.max(axis=1) - gt.min(axis=1)
    nme = np.linalg.norm(pred[:, keep] - gt[:, keep], axis=2).mean(axis=1) / (0.5 * wh.sum(axis=1))
    assert result["splits"]["helen"]["nme"] == pytest.approx(nme.mean(), rel=1e-9)


@pytest.mark.parametrize("args, message", [
    (["--protocol", "pipnett"], "unknown protocol preset 'pipnett'"),
    (["--fr-cut", "gird"], "unknown FR cut 'gird'"),
    (["--points", "inner50"], "unknown point subset 'inner50'"),
    (["--protocol", "3ddfa"], "preset '3ddfa'"),
])
def test_bad_protocol_flags_are_one_line_errors(spiga_300w, capsys, args, message) -> None:
    tmp, root, predictions = spiga_300w
    code, _result, err = _score(capsys, ["--predictions", str(predictions), "--dataset", "300w:helen",
                                         "--data-root", str(root), *args])
    assert code == 2, err
    assert message in err and "Traceback" not in err


def test_run_records_the_preset_on_the_bundled_sample(tmp_path, capsys) -> None:
    out = tmp_path / "run.h5"
    capsys.readouterr()
    code = main(["run", "--protocol", "mmpose", "--out", str(out), "--no-cache", "--format", "json", "--no-progress"])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    proto = json.loads(stdout)["protocol"]
    assert (proto["preset"], proto["aggregation"], proto["distance_dtype"], proto["visible_only"]) == (
        "mmpose", "point-mean", "float32", True)
    run = read_run(out)
    assert run.protocol.box_source == "landmarks" and run.protocol.preset == "mmpose"
    # point-mean with every point visible: the mean of per-image NMEs (to float32 rounding)
    assert run.summary["all"]["nme"] == pytest.approx(float(np.mean(run.nme)), rel=1e-6)


def test_presets_without_an_auc_show_none(tmp_path, capsys) -> None:
    """HRNet and mmpose compute no AUC: absent from JSON, not a default report column, '–' when asked."""
    out = tmp_path / "hrnet.h5"
    capsys.readouterr()
    code = main(["run", "--protocol", "hrnet", "--out", str(out), "--no-cache", "--format", "json", "--no-progress"])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(stdout)
    assert result["protocol"]["auc_mode"] == "none"
    stats = result["splits"]["all"]
    assert "fr@0.10" in stats and not any(k.startswith("auc@") for k in stats)
    capsys.readouterr()
    assert main(["report", str(out), "--format", "markdown"]) == 0
    md = capsys.readouterr().out
    assert "FR" in md and "AUC" not in md.split("\n\n")[0]
    assert "no AUC" in md  # the protocol line says so
    assert main(["report", str(out), "--format", "markdown", "--metrics", "nme,auc@0.10"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| hrnet") or
               line.startswith("| PFLD"))
    assert row.rstrip(" |").endswith("–")
    # the default gate rules have no AUC rule for it
    capsys.readouterr()
    assert main(["gate", str(out), "--baseline", str(out)]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("preset", ["star", "menpofit", "spiga", "hrnet"])
def test_a_per_dataset_preset_on_a_json_file_needs_normaliser_and_threshold(preset, capsys) -> None:
    """A json: annotation file names no benchmark: STAR/menpofit (300W 0.05/0.08, else 0.10) once took
    their 'else' row silently on SPIGA's own 300W test.json (FR@0.10 instead of STAR's 0.05)."""
    from tests.conftest import shared_path

    base = shared_path("spiga_results", "300wpublic")
    args = ["--predictions", str(base / "spiga_results_test.json"), "--dataset", f"json:{base / 'test.json'}",
            "--protocol", preset]
    code, _, err = _score(capsys, args)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"preset '{preset}' sets the normaliser and thresholds per dataset" in err
    assert "give --normalizer and --threshold" in err


def test_spiga_preset_on_its_own_json_file_with_normaliser_and_threshold(capsys) -> None:
    """With both given, the preset's AUC/FR modes apply: SPIGA's published 300W full AUC@8 % 62.7275."""
    from tests.conftest import shared_path

    base = shared_path("spiga_results", "300wpublic")
    code, result, err = _score(capsys, ["--predictions", str(base / "spiga_results_test.json"), "--dataset",
                                        f"json:{base / 'test.json'}", "--protocol", "spiga",
                                        "--normalizer", "inter-ocular", "--threshold", "0.08"])
    assert code == 0, err
    assert (result["protocol"]["preset"], result["protocol"]["auc_mode"], result["protocol"]["fr_cut"]) == (
        "spiga", "spiga-hist", "spiga-hist")
    assert 100 * result["splits"]["all"]["auc@0.08"] == pytest.approx(62.7275, abs=1e-4)
    assert 100 * result["splits"]["all"]["nme"] == pytest.approx(2.9937, abs=1e-4)


def test_a_single_row_preset_on_a_json_file_applies(capsys) -> None:
    from tests.conftest import shared_path

    base = shared_path("spiga_results", "300wpublic")
    code, result, err = _score(capsys, ["--predictions", str(base / "spiga_results_test.json"), "--dataset",
                                        f"json:{base / 'test.json'}", "--protocol", "pipnet"])
    assert code == 0, err
    assert (result["protocol"]["preset"], result["protocol"]["thresholds"]) == ("pipnet", [0.1])
