"""Predictions outside the requested selection: left out with a note, or an error for unknown ids;
SPIGA image paths matched by the longest unambiguous path suffix."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from faceval_cli.main import main
from tests.conftest import shared_path
from tests.fixtures import build_300w_tree, build_aflw2000_tree, build_wflw_tree, random_faces, wflw_records


def _csv(path: Path, ids: list[str], faces: np.ndarray) -> Path:
    k = faces.shape[1]
    header = "sample_id," + ",".join(f"x{i},y{i}" for i in range(k))
    rows = [sid + "," + ",".join(repr(float(v)) for v in face.reshape(-1)) for sid, face in zip(ids, faces)]
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _score(capsys, args: list[str]) -> tuple[int, dict, str]:
    capsys.readouterr()
    code = main(["score", *args, "--format", "json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else {}), err


def _nme(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Independent inter-ocular NME (outer eye corners 36 and 45 of the 68-point scheme)."""
    d = np.linalg.norm(gt[:, 36] - gt[:, 45], axis=1)
    return np.linalg.norm(pred - gt, axis=2).mean(axis=1) / d


def test_aflw2000_predictions_for_all_2000_style_images_score_the_test_split(tmp_path, capsys):
    """Faces outside +-99 degrees are AFLW2000 samples outside 'test': left out (old code: exit 2)."""
    faces = random_faces(4, seed=7)
    poses = [(10.0, 5.0, 0.0), (120.0, 0.0, 0.0), (0.0, -100.0, 3.0), (-20.0, 10.0, 5.0)]
    names = [f"image{n:05d}.jpg" for n in (0, 2, 4, 13)]
    root = build_aflw2000_tree(tmp_path / "data", {n: (f, p) for n, f, p in zip(names, faces, poses)},
                               with_images=False)
    pred = faces + 0.75
    code, result, err = _score(capsys, ["--predictions", str(_csv(tmp_path / "p.csv", names, pred)),
                                        "--dataset", "aflw2000", "--data-root", str(root)])
    assert code == 0, err
    assert "faceval: note: left out 2 predictions for samples of aflw2000 outside aflw2000" in err
    test = result["splits"]["test"]
    assert test["n"] == 2
    assert result["protocol"]["normalizer"] == "inter-ocular"
    keep = [0, 3]
    assert test["nme"] == pytest.approx(_nme(pred[keep], faces[keep]).mean(), rel=1e-6)


def test_wflw_train_faces_are_left_out_of_the_test_score(tmp_path, capsys):
    test_records = wflw_records(2, (1, 2), seed=1)
    train_records = wflw_records(2, (1,), seed=2, event="1--Handshaking")
    root = build_wflw_tree(tmp_path / "data", test_records, train_records, with_images=False)
    ids = [f"{r['image']}#0" for r in test_records[:1]] + [f"{test_records[1]['image']}#0",
                                                              f"{test_records[2]['image']}#1"]
    train_ids = [f"{r['image']}#0" for r in train_records]
    faces = np.stack([r["landmarks"] for r in test_records + train_records]) + 0.5
    code, result, err = _score(capsys, ["--predictions", str(_csv(tmp_path / "p.csv", ids + train_ids, faces)),
                                        "--dataset", "wflw:test", "--data-root", str(root)])
    assert code == 0, err
    assert "left out 2 predictions for samples of wflw outside wflw:test" in err
    assert result["splits"]["test"]["n"] == 3


def test_300w_train_images_are_left_out_and_unknown_ids_are_an_error(tmp_path, capsys):
    faces = random_faces(3, seed=4)
    samples = {"helen/testset/a.jpg": faces[0], "helen/testset/b.jpg": faces[1], "afw/c.jpg": faces[2]}
    root = build_300w_tree(tmp_path / "data", samples, with_images=False)
    preds = _csv(tmp_path / "p.csv", list(samples), faces + 1.0)
    code, result, err = _score(capsys, ["--predictions", str(preds), "--dataset", "300w:helen", "--data-root", str(root)])
    assert code == 0, err
    assert "left out 1 predictions for samples of 300w outside 300w:helen" in err
    assert result["splits"]["helen"]["n"] == 2
    bad = _csv(tmp_path / "bad.csv", [*samples, "nowhere/d.jpg"], np.concatenate([faces, faces[:1]]) + 1.0)
    code, _, err = _score(capsys, ["--predictions", str(bad), "--dataset", "300w:helen", "--data-root", str(root)])
    assert code == 2 and "1 sample ids are not in the dataset (first: 'nowhere/d.jpg'" in err


@pytest.fixture
def helen_root(tmp_path: Path) -> Path:
    """A data root whose 300w/ is the real HELEN test copy (complete: 330 of 330)."""
    os.symlink(shared_path("300w_helen_test"), tmp_path / "300w")
    return tmp_path


def test_samples_missing_from_this_copy_get_no_did_you_mean(helen_root, tmp_path, capsys):
    """LFPW/iBUG ids with only HELEN present: samples of 300W absent here, never 'did you mean'."""
    import faceval.datasets as datasets

    ann = datasets.load("300w:helen", helen_root)
    gt = ann.landmarks
    absent = ["lfpw/testset/image_0001.png", "ibug/image_003_1.jpg"]
    ids = list(ann.sample_ids) + absent
    pred = np.concatenate([gt + 0.5, gt[:2]])
    code, result, err = _score(capsys, ["--predictions", str(_csv(tmp_path / "p.csv", ids, pred)),
                                        "--dataset", "300w:helen", "--data-root", str(helen_root)])
    assert code == 0, err
    assert "2 ids are samples of 300w missing from this data root" in err
    assert result["splits"]["helen"]["nme"] == pytest.approx(_nme(gt + 0.5, gt).mean(), rel=1e-9)
    # A typo in the complete HELEN folder is not a sample: an error, and the absent ones are counted apart.
    typo = ids + ["helen/testset/296814969_9.jpg"]
    code, _, err = _score(capsys, ["--predictions", str(_csv(tmp_path / "q.csv", typo, np.concatenate([pred, gt[:1]]))),
                                   "--dataset", "300w:helen", "--data-root", str(helen_root)])
    assert code == 2
    line = next(l for l in err.splitlines() if l.startswith("faceval: error:"))
    assert "1 sample ids are not in the dataset (first: 'helen/testset/296814969_9.jpg'" in line
    assert "2 other ids are samples of 300w missing from this data root" in line
    assert "lfpw" not in line


def _spiga_file(path: Path, records: list[tuple[str, np.ndarray]]) -> Path:
    path.write_text(json.dumps([{"imgpath": p, "landmarks": lm.tolist(), "headpose": [1, 2, 3, 0, 0, 0]}
                                for p, lm in records]))
    return path


def test_spiga_train_path_is_not_scored_as_the_test_image(tmp_path, capsys):
    """imgpath helen/trainset/X.jpg shares only the file name with helen/testset/X.jpg (old code: scored)."""
    faces = random_faces(2, seed=5)
    root = build_300w_tree(tmp_path / "data", {"helen/testset/x.jpg": faces[0], "helen/testset/y.jpg": faces[1]},
                           with_images=False)
    spiga = _spiga_file(tmp_path / "s.json", [("data/helen/trainset/x.jpg", faces[0]), ("images/y.jpg", faces[1])])
    code, _, err = _score(capsys, ["--predictions", str(spiga), "--dataset", "300w:helen", "--data-root", str(root)])
    assert code == 2, err
    line = next(l for l in err.splitlines() if l.startswith("faceval: error:"))
    assert "'helen/trainset/x.jpg'" in line and "'helen/testset/x.jpg'" in line


def test_spiga_path_matching_two_samples_equally_is_an_error(tmp_path, capsys):
    faces = random_faces(3, seed=6)
    root = build_300w_tree(tmp_path / "data", {"helen/testset/x.jpg": faces[0], "helen/trainset/x.jpg": faces[1],
                                               "helen/testset/y.jpg": faces[2]}, with_images=False)
    spiga = _spiga_file(tmp_path / "s.json", [("images/x.jpg", faces[0]), ("images/y.jpg", faces[2])])
    code, _, err = _score(capsys, ["--predictions", str(spiga), "--dataset", "300w:helen", "--data-root", str(root)])
    assert code == 2
    line = next(l for l in err.splitlines() if l.startswith("faceval: error:"))
    assert "matches several samples equally well" in line
    assert "'helen/testset/x.jpg'" in line and "'helen/trainset/x.jpg'" in line


def test_spiga_longest_suffix_picks_the_test_image(tmp_path, capsys):
    faces = random_faces(3, seed=8)
    root = build_300w_tree(tmp_path / "data", {"helen/testset/x.jpg": faces[0], "helen/trainset/x.jpg": faces[1],
                                               "helen/testset/y.jpg": faces[2]}, with_images=False)
    spiga = _spiga_file(tmp_path / "s.json", [("/data/300w/helen/testset/x.jpg", faces[0] + 1.0),
                                              ("images/y.jpg", faces[2] + 1.0)])
    code, result, err = _score(capsys, ["--predictions", str(spiga), "--dataset", "300w:helen", "--data-root", str(root)])
    assert code == 0, err
    gt = faces[[0, 2]]
    assert result["splits"]["helen"]["nme"] == pytest.approx(_nme(gt + 1.0, gt).mean(), rel=1e-5)
