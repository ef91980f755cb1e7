"""`faceval score` end to end on a peer's real predictions (SPIGA) and on synthetic edge cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from faceval_cli.main import main
from tests.conftest import shared_path
from tests.fixtures import build_300w_tree, random_faces

PUBLIC_FOLDERS = {"helen": "helen/testset", "lfpw": "lfpw/testset", "ibug": "ibug"}
PRIVATE_FOLDERS = {"indoor": "300W/01_Indoor", "outdoor": "300W/02_Outdoor"}


def _spiga_tree(tmp_path: Path, which: str, folders: dict[str, str]) -> tuple[Path, Path, Path]:
    """A 300W tree (.pts only) whose GT is SPIGA's test.json + 1 (the .pts convention), and a pose CSV."""
    base = shared_path("spiga_results", which)
    gt = json.loads((base / "test.json").read_text())
    subsets = json.loads((base / "db_info.json").read_text())["test_subsets"]
    samples = {}
    poses = []
    for subset, folder in folders.items():
        for i in subsets[subset]:
            name = gt[i]["imgpath"].rsplit("/", 1)[-1]
            sid = f"{folder}/{name}"
            samples[sid] = np.asarray(gt[i]["landmarks"], dtype=np.float64)
            poses.append((sid, gt[i]["headpose"][:3]))
    root = build_300w_tree(tmp_path / "data", samples, with_images=False)
    pose_csv = tmp_path / "pose.csv"
    pose_csv.write_text("sample_id,yaw,pitch,roll\n" + "".join(f"{s},{p[0]!r},{p[1]!r},{p[2]!r}\n" for s, p in poses))
    return root, base / "spiga_results_test.json", pose_csv


def _score_json(capsys, args: list[str]) -> dict:
    capsys.readouterr()
    code = main(["score", *args, "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_reproduces_spiga_300w_public(tmp_path, capsys):
    root, predictions, pose_csv = _spiga_tree(tmp_path, "300wpublic", PUBLIC_FOLDERS)
    out = tmp_path / "spiga.h5"
    result = _score_json(capsys, ["--predictions", str(predictions), "--dataset", "300w", "--data-root", str(root),
                                  "--auc-mode", "spiga-hist", "--pose-labels", str(pose_csv), "--out", str(out)])
    splits = result["splits"]
    # Targets: the peer's own metric file spiga_metrics_test.txt (percent).
    assert 100 * splits["full"]["nme"] == pytest.approx(2.9937, abs=1e-4)
    assert 100 * splits["helen"]["nme"] == pytest.approx(2.5195, abs=1e-4)
    assert 100 * splits["lfpw"]["nme"] == pytest.approx(2.6867, abs=1e-4)
    assert 100 * splits["common"]["nme"] == pytest.approx(2.5871, abs=1e-4)
    assert 100 * splits["challenging"]["nme"] == pytest.approx(4.6623, abs=1e-4)
    assert 100 * splits["full"]["nme_p90"] == pytest.approx(4.6660, abs=1e-4)
    assert 100 * splits["full"]["fr@0.08"] == pytest.approx(0.7257, abs=1e-4)
    assert 100 * splits["full"]["auc@0.08"] == pytest.approx(62.7275, abs=1e-4)
    assert splits["full"]["mae_yaw"] == pytest.approx(1.4117, abs=1e-4)
    assert splits["full"]["mae_pitch"] == pytest.approx(1.7012, abs=1e-4)
    assert splits["full"]["mae_roll"] == pytest.approx(0.7717, abs=1e-4)
    assert splits["full"]["n"] == 689 and splits["common"]["n"] == 554
    assert result["protocol"]["normalizer"] == "inter-ocular" and result["protocol"]["thresholds"] == [0.08, 0.1]
    assert out.exists()


def test_closed_form_auc_is_close_to_spiga_hist(tmp_path, capsys):
    root, predictions, _ = _spiga_tree(tmp_path, "300wpublic", PUBLIC_FOLDERS)
    result = _score_json(capsys, ["--predictions", str(predictions), "--dataset", "300w:full", "--data-root", str(root)])
    assert 100 * result["splits"]["full"]["auc@0.08"] == pytest.approx(62.720, abs=0.01)


def test_reproduces_spiga_300w_private_bbox(tmp_path, capsys):
    root, predictions, _ = _spiga_tree(tmp_path, "300wprivate", PRIVATE_FOLDERS)
    result = _score_json(capsys, ["--predictions", str(predictions), "--dataset", "300w:private", "--data-root", str(root),
                                  "--normalizer", "bbox"])
    assert 100 * result["splits"]["private"]["nme"] == pytest.approx(2.0306, abs=1e-4)
    assert result["splits"]["private"]["n"] == 600


def _tiny_tree(tmp_path: Path) -> tuple[Path, list[str], np.ndarray]:
    faces = random_faces(4, seed=3)
    ids = [f"helen/testset/f{i}.jpg" for i in range(4)]
    root = build_300w_tree(tmp_path / "data", dict(zip(ids, faces)), with_images=False)
    return root, ids, faces


def _write_csv(path: Path, ids: list[str], faces: np.ndarray) -> Path:
    k = faces.shape[1]
    header = "sample_id," + ",".join(f"x{i},y{i}" for i in range(k))
    rows = [sid + "," + ",".join(repr(float(v)) for v in face.reshape(-1)) for sid, face in zip(ids, faces)]
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_perfect_csv_predictions_score_zero(tmp_path, capsys):
    root, ids, faces = _tiny_tree(tmp_path)
    csv = _write_csv(tmp_path / "p.csv", ids, faces)
    result = _score_json(capsys, ["--predictions", str(csv), "--dataset", "300w:helen", "--data-root", str(root)])
    stats = result["splits"]["helen"]
    # GT is read back from .pts files written with 6 decimals: zero up to that rounding.
    assert stats["nme"] == pytest.approx(0.0, abs=1e-7)
    assert stats["fr@0.10"] == 0.0 and stats["auc@0.10"] == pytest.approx(1.0, abs=1e-6)


def test_nan_predictions_are_failures_not_nan_means(tmp_path, capsys):
    root, ids, faces = _tiny_tree(tmp_path)
    faces = faces.copy()
    faces[1, 5, 0] = np.nan
    csv = _write_csv(tmp_path / "p.csv", ids, faces)
    stats = _score_json(capsys, ["--predictions", str(csv), "--dataset", "300w:helen", "--data-root", str(root)])["splits"]["helen"]
    assert stats["n_nonfinite"] == 1
    assert stats["fr@0.10"] == pytest.approx(0.25)
    assert np.isfinite(stats["nme"])


def test_wflw_98_point_predictions_are_converted(tmp_path, capsys):
    from faceval.schemes import load_scheme

    root, ids, faces = _tiny_tree(tmp_path)
    conv = load_scheme("wflw").conversions["300w"]
    wflw = np.zeros((4, 98, 2))
    wflw[:, conv] = faces
    npy = tmp_path / "p.npy"
    np.save(npy, wflw)
    result = _score_json(capsys, ["--predictions", str(npy), "--dataset", "300w:helen", "--data-root", str(root)])
    assert result["protocol"]["conversion"] == "wflw->300w"
    assert result["splits"]["helen"]["nme"] == pytest.approx(0.0, abs=1e-7)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda ids, f: (ids[:3], f[:3]), "missing"),
        (lambda ids, f: (ids + ids[:1], np.concatenate([f, f[:1]])), "appears twice"),
        (lambda ids, f: (ids[:3] + ["helen/elsewhere/nope.jpg"], f), "not in the dataset"),
        (lambda ids, f: (ids, f[:, :60]), "60 points"),
    ],
)
def test_bad_prediction_files_exit_2_with_one_line(tmp_path, capsys, mutate, message):
    root, ids, faces = _tiny_tree(tmp_path)
    bad_ids, bad_faces = mutate(list(ids), faces)
    csv = _write_csv(tmp_path / "p.csv", bad_ids, bad_faces)
    code = main(["score", "--predictions", str(csv), "--dataset", "300w:helen", "--data-root", str(root)])
    err = capsys.readouterr().err
    assert code == 2
    errors = [line for line in err.splitlines() if line.startswith("faceval: error:")]
    assert len(errors) == 1 and message in errors[0]
    assert "Traceback" not in err


def test_allow_missing_counts_failures(tmp_path, capsys):
    root, ids, faces = _tiny_tree(tmp_path)
    csv = _write_csv(tmp_path / "p.csv", ids[:3], faces[:3])
    result = _score_json(capsys, ["--predictions", str(csv), "--dataset", "300w:helen", "--data-root", str(root), "--allow-missing"])
    assert result["splits"]["helen"]["n_failed_inputs"] == 1
    assert result["splits"]["helen"]["fr@0.10"] == pytest.approx(0.25)


def test_malformed_csv_line_names_file_and_line(tmp_path, capsys):
    root, ids, faces = _tiny_tree(tmp_path)
    csv = _write_csv(tmp_path / "p.csv", ids, faces)
    lines = csv.read_text().splitlines()
    lines[2] = lines[2].replace(",", ",abc,", 1).rsplit(",", 1)[0]
    csv.write_text("\n".join(lines) + "\n")
    code = main(["score", "--predictions", str(csv), "--dataset", "300w:helen", "--data-root", str(root)])
    err = capsys.readouterr().err
    assert code == 2 and f"{csv}:3:" in err


def test_zero_normaliser_names_the_sample(tmp_path, capsys):
    faces = random_faces(2, seed=1)
    faces[1, 45] = faces[1, 36]
    ids = ["helen/testset/a.jpg", "helen/testset/b.jpg"]
    root = build_300w_tree(tmp_path / "data", dict(zip(ids, faces)), with_images=False)
    csv = _write_csv(tmp_path / "p.csv", ids, faces)
    code = main(["score", "--predictions", str(csv), "--dataset", "300w:helen", "--data-root", str(root)])
    err = capsys.readouterr().err
    assert code == 2 and "helen/testset/b.jpg" in err


def test_unknown_normaliser_suggests(tmp_path, capsys):
    root, ids, faces = _tiny_tree(tmp_path)
    csv = _write_csv(tmp_path / "p.csv", ids, faces)
    code = main(["score", "--predictions", str(csv), "--dataset", "300w:helen", "--data-root", str(root), "--normalizer", "inter-ocluar"])
    assert code == 2 and "did you mean 'inter-ocular'" in capsys.readouterr().err


def test_pooled_aggregation_leaves_failures_to_fr(tmp_path, capsys):
    root, ids, faces = _tiny_tree(tmp_path)
    preds = faces + 1.0
    preds[2] = np.nan
    csv = _write_csv(tmp_path / "p.csv", ids, preds)
    stats = _score_json(capsys, ["--predictions", str(csv), "--dataset", "300w:helen", "--data-root", str(root),
                                 "--aggregation", "pooled"])["splits"]["helen"]
    # Independent: sum of point errors over the finite images / sum of their normalisers x K.
    keep = [0, 1, 3]
    gt = np.stack([faces[i] for i in keep])
    d = np.linalg.norm(gt[:, 36] - gt[:, 45], axis=1)
    expected = np.linalg.norm(preds[keep] - gt, axis=2).sum() / (68 * d.sum())
    assert stats["nme"] == pytest.approx(expected, rel=1e-5)
    assert stats["n_nonfinite"] == 1 and stats["fr@0.10"] == pytest.approx(0.25)


def test_full_set_file_scored_on_one_split_leaves_the_other_splits_out(tmp_path, capsys):
    """SPIGA's 689 public predictions on 300w:helen: the 359 lfpw/ibug rows are samples of 300W in other
    splits, left out with a note (the old code exited 2 asking for --ignore-extra)."""
    root, predictions, _ = _spiga_tree(tmp_path, "300wpublic", PUBLIC_FOLDERS)
    capsys.readouterr()
    code = main(["score", "--predictions", str(predictions), "--dataset", "300w:helen", "--data-root", str(root),
                 "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "faceval: note: left out 359 predictions for samples of 300w outside 300w:helen" in err
    assert 100 * json.loads(out)["splits"]["helen"]["nme"] == pytest.approx(2.5195, abs=1e-4)  # SPIGA's helen figure


def test_score_does_not_warn_about_images_it_never_opens(tmp_path, capsys):
    root, ids, faces = _tiny_tree(tmp_path)  # .pts files only, no images
    csv = _write_csv(tmp_path / "p.csv", ids, faces)
    capsys.readouterr()
    assert main(["score", "--predictions", str(csv), "--dataset", "300w:helen", "--data-root", str(root)]) == 0
    err = capsys.readouterr().err
    assert "have no image" not in err
    assert "4 of 330 samples present" in err  # data warnings that matter are still given


def test_score_never_stats_or_opens_an_image_file(tmp_path, capsys, monkeypatch):
    """WFLW with images present and predictions with a failed (NaN) row: no image path is looked at."""
    import builtins
    import os

    from faceval.io.wflw import read_wflw_list
    from tests.fixtures import build_wflw_tree, wflw_records

    root = build_wflw_tree(tmp_path / "data", wflw_records(3), with_images=True)
    lst = root / "wflw" / "WFLW_annotations" / "list_98pt_rect_attr_train_test" / "list_98pt_rect_attr_test.txt"
    truth = read_wflw_list(lst)
    preds = truth.landmarks + 1.0
    preds[1] = np.nan
    csv = tmp_path / "p.csv"
    header = "sample_id," + ",".join(f"{a}{k}" for k in range(98) for a in "xy")
    csv.write_text(header + "\n" + "".join(sid + "," + ",".join(repr(float(v)) for v in row.ravel()) + "\n"
                                            for sid, row in zip(truth.face_ids(), preds)))
    touched: list[str] = []
    real = {"stat": os.stat, "lstat": os.lstat, "open": builtins.open}

    def watch(name):
        def call(path, *args, **kwargs):
            if "WFLW_images" in str(path):
                touched.append(f"{name} {path}")
            return real[name](path, *args, **kwargs)
        return call

    monkeypatch.setattr(os, "stat", watch("stat"))
    monkeypatch.setattr(os, "lstat", watch("lstat"))
    monkeypatch.setattr(builtins, "open", watch("open"))
    result = _score_json(capsys, ["--predictions", str(csv), "--dataset", "wflw:test", "--data-root", str(root)])
    monkeypatch.undo()
    assert touched == []
    n = len(truth)
    d = np.linalg.norm(truth.landmarks[:, 60] - truth.landmarks[:, 72], axis=1)  # WFLW inter-ocular: outer corners
    nme = np.sqrt(2.0) / d
    nme[1] = np.inf
    split = result["splits"]["test"]
    assert split["n"] == n and split["n_nonfinite"] == 1
    assert np.isfinite(split["nme"])  # the failed row is a failure, not a NaN mean
    assert split["fr@0.10"] == pytest.approx(np.mean(nme > 0.10))
