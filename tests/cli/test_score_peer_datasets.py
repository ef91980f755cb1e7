"""`faceval score` on datasets given as a peer's annotation JSON: `json:PATH` and `cofw68` (SPIGA's real files).

Targets are the peer's own published metric files (spiga_metrics_test.txt), and the same numbers
computed here with plain numpy from SPIGA's ground truth and predictions.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from faceval_cli.main import main
from tests.conftest import shared_path
from tests.cli.calls import score_json as _score


def _numpy_nme(gt_path: Path, pred_path: Path, normalizer: str) -> np.ndarray:
    """Per-image NME from SPIGA's files, written out from the peer's formula (records in file order)."""
    gt = json.loads(gt_path.read_text())
    pred = {r["imgpath"]: r for r in json.loads(pred_path.read_text())}
    out = []
    for record in gt:
        g = np.asarray(record["landmarks"], dtype=np.float64)
        p = np.asarray(pred[record["imgpath"]]["landmarks"], dtype=np.float64)
        if normalizer == "inter-ocular":
            d = np.linalg.norm(g[36] - g[45])
        else:  # SPIGA's lnd_bbox: sqrt(w * h) of the GT landmark box
            w, h = g.max(axis=0) - g.min(axis=0)
            d = np.sqrt(w * h)
        out.append(np.mean(np.linalg.norm(p - g, axis=1)) / d)
    return np.asarray(out)


def test_spiga_300w_gt_json_reproduces_spiga(capsys):
    base = shared_path("spiga_results", "300wpublic")
    gt, predictions = base / "test.json", base / "spiga_results_test.json"
    result, _ = _score(capsys, ["--predictions", str(predictions), "--dataset", f"json:{gt}",
                                "--auc-mode", "spiga-hist", "--threshold", "0.08"])
    splits = result["splits"]
    assert result["dataset"] == "json" and splits["all"]["n"] == 689
    # the peer's metric file (percent)
    assert 100 * splits["all"]["nme"] == pytest.approx(2.9937, abs=1e-4)
    assert 100 * splits["helen"]["nme"] == pytest.approx(2.5195, abs=1e-4)
    assert 100 * splits["lfpw"]["nme"] == pytest.approx(2.6867, abs=1e-4)
    assert 100 * splits["common"]["nme"] == pytest.approx(2.5871, abs=1e-4)
    assert 100 * splits["ibug"]["nme"] == pytest.approx(4.6623, abs=1e-4)
    assert 100 * splits["all"]["auc@0.08"] == pytest.approx(62.7275, abs=1e-4)
    assert 100 * splits["all"]["fr@0.08"] == pytest.approx(0.7257, abs=1e-4)
    # pose MAE against the GT file's own head poses
    assert splits["all"]["mae_yaw"] == pytest.approx(1.4117, abs=1e-4)
    # and the plain numpy loop over the same files
    assert splits["all"]["nme"] == pytest.approx(_numpy_nme(gt, predictions, "inter-ocular").mean(), rel=1e-12)
    assert result["protocol"]["manifest_sha256"] != ""  # the file's sha256 identifies the dataset


def test_json_dataset_one_split_leaves_the_rest_out(capsys):
    base = shared_path("spiga_results", "300wpublic")
    result, err = _score(capsys, ["--predictions", str(base / "spiga_results_test.json"),
                                  "--dataset", f"json:{base / 'test.json'}:helen"])
    assert list(result["splits"]) == ["helen"] and result["splits"]["helen"]["n"] == 330
    assert 100 * result["splits"]["helen"]["nme"] == pytest.approx(2.5195, abs=1e-4)
    assert "left out 359 predictions" in err


def test_spiga_private_gt_json_bbox(capsys):
    base = shared_path("spiga_results", "300wprivate")
    result, _ = _score(capsys, ["--predictions", str(base / "spiga_results_test.json"),
                                "--dataset", f"json:{base / 'test.json'}", "--normalizer", "bbox"])
    assert 100 * result["splits"]["all"]["nme"] == pytest.approx(2.0306, abs=1e-4)


@pytest.fixture
def cofw68_root(tmp_path) -> Path:
    """A data root holding cofw68/test.json (SPIGA's real COFW-68 ground truth; no images)."""
    base = shared_path("spiga_results", "cofw68")
    (tmp_path / "data" / "cofw68").mkdir(parents=True)
    shutil.copy(base / "test.json", tmp_path / "data" / "cofw68" / "test.json")
    return tmp_path / "data"


def test_cofw68_reproduces_spiga_bbox_nme(cofw68_root, capsys):
    base = shared_path("spiga_results", "cofw68")
    predictions = base / "spiga_results_test.json"
    result, err = _score(capsys, ["--predictions", str(predictions), "--dataset", "cofw68",
                                  "--data-root", str(cofw68_root), "--normalizer", "bbox", "--threshold", "0.07"])
    test = result["splits"]["test"]
    assert result["dataset"] == "cofw68" and test["n"] == 507 and test["complete"] is True
    assert 100 * test["nme"] == pytest.approx(2.5170, abs=1e-4)  # spiga_metrics_test.txt: 2.517048299761656
    assert test["nme"] == pytest.approx(_numpy_nme(base / "test.json", predictions, "bbox").mean(), rel=1e-12)
    assert 100 * test["fr@0.07"] == 0.0  # the peer's file: fr 0.0
    assert "no image" not in err  # score never needs images


def test_cofw68_visibility_mask(cofw68_root, capsys):
    """--visible-only: the per-image mean over the file's visible points, against a numpy loop."""
    base = shared_path("spiga_results", "cofw68")
    predictions = base / "spiga_results_test.json"
    result, _ = _score(capsys, ["--predictions", str(predictions), "--dataset", "cofw68",
                                "--data-root", str(cofw68_root), "--visible-only"])
    gt = json.loads((base / "test.json").read_text())
    pred = {r["imgpath"]: r for r in json.loads(predictions.read_text())}
    per_image = []
    for record in gt:
        g = np.asarray(record["landmarks"])
        p = np.asarray(pred[record["imgpath"]]["landmarks"])
        v = np.asarray(record["visible"]) > 0.5
        per_image.append(np.linalg.norm(p - g, axis=1)[v].mean() / np.linalg.norm(g[36] - g[45]))
    assert result["splits"]["test"]["nme"] == pytest.approx(np.mean(per_image), rel=1e-12)
    assert 100 * np.mean(per_image) == pytest.approx(3.2924, abs=1e-4)  # the spec's figure for this mask


def test_cofw68_verify_and_samples(cofw68_root, capsys):
    capsys.readouterr()
    assert main(["datasets", "samples", "cofw68", "--data-root", str(cofw68_root), "--format", "json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["count"] == 507 and listing["sample_ids"][0] == "images/01345.jpg"
    code = main(["datasets", "verify", "cofw68", "--data-root", str(cofw68_root), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    # the manifest's sha256 matches the real file; the images are not here, so the copy is incomplete
    assert report["files_checked"] == 1 and not any("sha256 differs" in p for p in report["problems"])
    assert report["counts"]["test"]["found"] == 507 and report["counts"]["test"]["images_found"] == 0
    assert code != 0


def test_cofw68_missing_file(tmp_path, capsys):
    (tmp_path / "cofw68").mkdir()
    capsys.readouterr()
    code = main(["score", "--predictions", str(tmp_path / "p.csv"), "--dataset", "cofw68", "--data-root", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "cofw68 annotation file not found" in err and "test.json" in err


def test_json_dataset_samples_and_verify(capsys):
    gt = shared_path("spiga_results", "300wpublic", "test.json")
    capsys.readouterr()
    assert main(["datasets", "samples", f"json:{gt}:ibug", "--format", "json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    subsets = json.loads((gt.parent / "db_info.json").read_text())["test_subsets"]
    records = json.loads(gt.read_text())
    assert listing["sample_ids"] == [records[i]["imgpath"] for i in sorted(subsets["ibug"])]
    code = main(["datasets", "verify", f"json:{gt}"])
    err = capsys.readouterr().err
    assert code == 2 and "has no manifest to verify against" in err


def test_json_dataset_records_the_file_digest(tmp_path, capsys):
    """Two files holding the same records differently written: same numbers, different protocols for gate."""
    base = shared_path("spiga_results", "300wprivate")
    copy = tmp_path / "test.json"
    copy.write_text(json.dumps(json.loads((base / "test.json").read_text()), indent=1))
    predictions = str(base / "spiga_results_test.json")
    a, _ = _score(capsys, ["--predictions", predictions, "--dataset", f"json:{base / 'test.json'}",
                           "--out", str(tmp_path / "a.h5")])
    b, _ = _score(capsys, ["--predictions", predictions, "--dataset", f"json:{copy}", "--out", str(tmp_path / "b.h5")])
    assert a["splits"]["all"]["nme"] == b["splits"]["all"]["nme"]
    assert a["protocol"]["manifest_sha256"] != b["protocol"]["manifest_sha256"]
    assert a["protocol"]["pose_source"] == "headpose of test.json"
    capsys.readouterr()
    assert main(["gate", str(tmp_path / "b.h5"), "--baseline", str(tmp_path / "a.h5")]) == 2
    assert "manifest_sha256" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["run", "score"])
def test_dataset_help_names_every_dataset(command, capsys):
    """``--dataset``'s help once listed neither cofw68 nor json:PATH (both added with the peer datasets)."""
    from faceval.datasets import DATASET_NAMES

    assert main([command, "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    start = text.index("--dataset")
    dataset_help = text[start:text.index(" --", start + 10)]
    for name in DATASET_NAMES:
        assert (f"{name}:PATH" if name == "json" else name) in dataset_help, (name, dataset_help)
