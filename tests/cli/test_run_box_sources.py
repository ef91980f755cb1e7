"""`faceval run --box file|detector`: boxes from a user's file or from a real face detector, end to end."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from faceval_cli.main import main
from tests.conftest import shared_path

SAMPLE = Path(__file__).resolve().parents[2] / "faceval" / "data" / "sample"


def _run(capsys, args: list[str]) -> tuple[int, dict | None, str]:
    capsys.readouterr()
    code = main(["run", *args, "--format", "json", "--no-progress"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else None), err


def _gt_boxes() -> dict[str, list[float]]:
    """GT landmark boxes of the bundled sample, from its .pts files (1-based on disk -> 0-based)."""
    out = {}
    for pts in sorted(SAMPLE.glob("*.pts")):
        lines = pts.read_text().splitlines()
        body = lines[lines.index("{") + 1: lines.index("}")]
        xy = np.array([[float(v) for v in line.split()] for line in body]) - 1.0
        image = next(p.name for p in SAMPLE.iterdir() if p.stem == pts.stem and p.suffix != ".pts")
        out[image] = [float(v) for v in (*xy.min(axis=0), *xy.max(axis=0))]
    return out


def test_file_boxes_equal_to_the_landmark_boxes_give_the_landmark_run(tmp_path, capsys):
    boxes = _gt_boxes()
    csv = tmp_path / "boxes.csv"
    csv.write_text("sample_id,x1,y1,x2,y2\n" + "".join(f"{k},{','.join(repr(float(v)) for v in b)}\n" for k, b in boxes.items()))
    # the same boxes as 300W's official .mat (1-based [x1 y1 x2 y2], struct per image)
    mat = tmp_path / "bounding_boxes_sample.mat"
    cells = np.empty((1, len(boxes)), dtype=object)
    for k, (name, b) in enumerate(boxes.items()):
        one = np.array([b], dtype=np.float64) + 1.0
        cells[0, k] = {"imgName": name, "bb_detector": one, "bb_ground_truth": one + 50.0}
    scipy.io.savemat(str(mat), {"bounding_boxes": cells})
    common = ["--cache", str(tmp_path / "cache")]
    code, ref, err = _run(capsys, [*common, "--out", str(tmp_path / "lm.h5")])
    assert code == 0, err
    code, from_csv, err = _run(capsys, [*common, "--box", "file", "--boxes", str(csv), "--out", str(tmp_path / "f.h5")])
    assert code == 0, err
    code, from_mat, err = _run(capsys, [*common, "--box", "file", "--boxes", str(mat), "--boxes-field", "bb_detector",
                                        "--out", str(tmp_path / "m.h5")])
    assert code == 0, err
    for result in (from_csv, from_mat):
        stats = result["splits"]["all"]
        assert stats["nme"] == pytest.approx(ref["splits"]["all"]["nme"], rel=1e-9)
        assert stats["n_missing_boxes"] == 0 and stats["n_failed_inputs"] == 0
        assert result["protocol"]["box_source"] == "file"
    proto = from_mat["protocol"]
    assert proto["box_file_sha256"] == hashlib.sha256(mat.read_bytes()).hexdigest()
    assert proto["box_file_field"] == "bb_detector" and proto["box_file_format"] == "300w-mat"
    # the other field of the same file is another protocol (and another crop: here 50 px off, a worse NME)
    code, shifted, err = _run(capsys, [*common, "--box", "file", "--boxes", str(mat), "--boxes-field", "bb_ground_truth",
                                       "--out", str(tmp_path / "g.h5")])
    assert code == 0, err
    assert shifted["splits"]["all"]["nme"] > 2 * ref["splits"]["all"]["nme"]


def test_a_sample_without_a_box_is_a_counted_failure_or_a_strict_error(tmp_path, capsys):
    boxes = _gt_boxes()
    first = sorted(boxes)[0]
    csv = tmp_path / "two.csv"
    csv.write_text("sample_id,x1,y1,x2,y2\n" + "".join(f"{k},{','.join(map(str, b))}\n" for k, b in boxes.items()
                                                       if k != first))
    code, result, err = _run(capsys, ["--box", "file", "--boxes", str(csv), "--no-cache", "--out", str(tmp_path / "r.h5")])
    assert code == 0, err
    stats = result["splits"]["all"]
    assert stats["n_missing_boxes"] == 1 and stats["n_failed_inputs"] == 1 and stats["n"] == 3
    assert stats["fr@0.10"] >= 1 / 3  # the failure counts in FR
    from faceval.runs.runfile import read_run

    run = read_run(tmp_path / "r.h5")
    i = list(run.sample_ids).index(first)
    assert np.isinf(run.nme[i]) and "no face box" in str(run.failure_reasons[i])
    out = tmp_path / "strict.h5"
    code, _, err = _run(capsys, ["--box", "file", "--boxes", str(csv), "--no-cache", "--strict", "--out", str(out)])
    assert code == 2 and f"sample '{first}' has no box in the box file" in err and not out.exists()


@pytest.mark.slow
def test_detector_boxes_on_helen_match_an_independent_loop(tmp_path, capsys):
    from tests.faceval.detection.independent import detector_nme

    helen = shared_path("300w_helen_test", "helen", "testset")
    root = tmp_path / "data"
    (root / "300w" / "helen").mkdir(parents=True)
    (root / "300w" / "helen" / "testset").symlink_to(helen)
    args = ["--dataset", "300w:helen", "--data-root", str(root), "--box", "detector", "--box-scale", "1.0",
            "--cache", str(tmp_path / "cache"), "--device", "cpu"]
    code, result, err = _run(capsys, [*args, "--out", str(tmp_path / "d.h5")])
    assert code == 0, err
    stats = result["splits"]["helen"]
    assert stats["n"] == 330 and stats["n_missed_detections"] == 0 and stats["detection_rate"] == 1.0
    assert stats["n_failed_inputs"] == 0 and "fr@0.08" in stats
    proto = result["protocol"]
    assert proto["detector_min_iou"] == 0.3 and json.loads(proto["detector_spec"])["nms_iou"] == 0.3
    assert len(proto["detector_model_sha256"]) == 64
    assert result["protocol"]["box_source"] == "detector" and result["protocol"]["box_scale"] == 1.0
    assert result["timings"]["detector_s"] > 0
    expected, misses = detector_nme(sorted(helen.glob("*.jpg")), scale=1.0)
    assert misses == 0
    assert 100 * stats["nme"] == pytest.approx(100 * expected, abs=0.1)
    assert 4.5 < 100 * stats["nme"] < 5.2  # evaluation.md section 6: about 4.8 % with detector boxes x1.0
    # the warm run takes the detector boxes from the cache and gives the same number
    code, warm, err = _run(capsys, [*args, "--out", str(tmp_path / "w.h5")])
    assert code == 0, err
    assert warm["splits"]["helen"]["nme"] == stats["nme"]


def test_a_missed_detection_is_a_counted_failure_or_a_strict_error(tmp_path, capsys):
    from PIL import Image

    folder = tmp_path / "data" / "300w" / "helen" / "testset"
    folder.mkdir(parents=True)
    (folder / "einstein.jpg").symlink_to(SAMPLE / "einstein.jpg")
    (folder / "einstein.pts").symlink_to(SAMPLE / "einstein.pts")
    yy, xx = np.mgrid[0:1024, 0:817]  # a faceless wall of einstein.jpg's size, with einstein's landmarks
    Image.fromarray(np.repeat((70 + 0.1 * xx + 0.05 * yy).astype(np.uint8)[:, :, None], 3, axis=2)).save(
        folder / "wall.jpg")
    (folder / "wall.pts").write_text((SAMPLE / "einstein.pts").read_text())
    args = ["--dataset", "300w:helen", "--data-root", str(tmp_path / "data"), "--box", "detector",
            "--cache", str(tmp_path / "cache"), "--device", "cpu"]
    code, result, err = _run(capsys, [*args, "--out", str(tmp_path / "r.h5")])
    assert code == 0, err
    stats = result["splits"]["helen"]
    assert stats["n"] == 2 and stats["n_missed_detections"] == 1 and stats["detection_rate"] == 0.5
    assert stats["n_failed_inputs"] == 1 and stats["fr@0.08"] >= 0.5
    from faceval.runs.runfile import read_run

    run = read_run(tmp_path / "r.h5")
    i = list(run.sample_ids).index("helen/testset/wall.jpg")
    assert np.isinf(run.nme[i]) and str(run.failure_reasons[i]).startswith("face not detected")
    out = tmp_path / "strict.h5"
    code, _, err = _run(capsys, [*args, "--strict", "--out", str(out)])
    assert code == 2 and "wall.jpg: face not detected" in err and not out.exists()


def test_the_same_box_file_under_another_path_is_the_same_protocol(tmp_path, capsys):
    """A CI copy of the baseline's box file elsewhere: gate once refused it ("box_file: run
    '/ci/boxes.csv', baseline 'boxes.csv'"); the recorded name and sha256 are the file's identity."""
    boxes = _gt_boxes()
    text = "sample_id,x1,y1,x2,y2\n" + "".join(f"{k},{','.join(repr(float(v)) for v in b)}\n" for k, b in boxes.items())
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "boxes.csv").write_text(text)
    (tmp_path / "b" / "boxes.csv").write_text(text)
    runs = []
    for folder in ("a", "b"):
        runs.append(tmp_path / f"{folder}.h5")
        code, result, err = _run(capsys, ["--cache", str(tmp_path / "cache"), "--box", "file", "--boxes",
                                          str(tmp_path / folder / "boxes.csv"), "--out", str(runs[-1])])
        assert code == 0, err
        assert result["protocol"]["box_file"] == "boxes.csv"
    capsys.readouterr()
    assert main(["gate", str(runs[1]), "--baseline", str(runs[0])]) == 0, capsys.readouterr().err
