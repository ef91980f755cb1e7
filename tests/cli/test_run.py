"""`faceval run` end to end on real photos with the bundled real model."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from faceval_cli.main import main
from tests.conftest import shared_path

GHOSTONE = Path(__file__).resolve().parents[2] / "faceval" / "data" / "models" / "PFLD_GhostOne_112_1_opt_sim.onnx"


def _helen_root(tmp_path: Path) -> Path:
    """A data root whose 300w/helen/testset links to the real HELEN test images."""
    helen = shared_path("300w_helen_test", "helen", "testset")
    root = tmp_path / "data"
    (root / "300w" / "helen").mkdir(parents=True)
    (root / "300w" / "helen" / "testset").symlink_to(helen)
    return root


def _run_json(capsys, args: list[str]) -> dict:
    capsys.readouterr()
    code = main(["run", *args, "--format", "json", "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_default_run_on_the_bundled_sample(tmp_path, capsys):
    out = tmp_path / "sample.h5"
    result = _run_json(capsys, ["--out", str(out), "--cache", str(tmp_path / "cache")])
    stats = result["splits"]["all"]
    assert stats["n"] == 3 and stats["n_failed_inputs"] == 0
    assert result["protocol"]["conversion"] == "wflw->300w"
    assert result["protocol"]["box_source"] == "landmarks" and result["protocol"]["box_scale"] == 1.2
    # A real trained model on real faces: a few percent inter-ocular NME, not garbage.
    assert 0.01 < stats["nme"] < 0.10
    from faceval.runs.runfile import read_run

    run = read_run(out)
    assert run.provenance["providers_used"] == ["CPUExecutionProvider"]
    assert run.provenance["model_sha256"] and run.provenance["spec_source"] == "ONNX metadata"
    assert run.model_info.get("params", 0) > 0 or "params" not in run.model_info
    # landmark boxes: the protocol says so; the provenance once added a contradicting box_source None
    assert run.protocol.box_source == "landmarks" and "box_source" not in run.provenance


def _independent_helen_nme(root: Path) -> float:
    """The straightforward loop a user would write: Pillow full decode, crop, resize, run, map back."""
    import onnxruntime as ort
    from PIL import Image

    sess = ort.InferenceSession(str(GHOSTONE), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    # The WFLW -> 300W conversion from evaluation.md section 1, written out here.
    conv = (list(range(0, 33, 2)) + list(range(33, 38)) + list(range(42, 47)) + list(range(51, 60))
            + [60, 61, 63, 64, 65, 67, 68, 69, 71, 72, 73, 75] + list(range(76, 96)))
    errors = []
    folder = root / "300w" / "helen" / "testset"
    for pts_file in sorted(folder.glob("*.pts")):
        gt = np.loadtxt(pts_file) - 1.0  # header-less 1-based .pts
        lo, hi = gt.min(axis=0), gt.max(axis=0)
        centre, side = (lo + hi) / 2, (hi - lo).max() * 1.2
        x0, y0 = centre - side / 2
        img = Image.open(pts_file.with_suffix(".jpg")).convert("RGB")
        pad = int(side) + 2  # zero padding so boxes that leave the photo can be cut
        padded = Image.new("RGB", (img.width + 2 * pad, img.height + 2 * pad))
        padded.paste(img, (pad, pad))
        # Pillow's continuous frame puts pixel i's centre at i + 0.5.
        bx, by = x0 + pad + 0.5, y0 + pad + 0.5
        crop = padded.resize((112, 112), Image.Resampling.BILINEAR, box=(bx, by, bx + side, by + side))
        x = (np.asarray(crop, dtype=np.float32) / 255.0 - 0.5) / 0.5
        out = sess.run(None, {name: x.transpose(2, 0, 1)[None]})[0].reshape(98, 2)
        pred = out[conv] * side + np.array([x0, y0])
        d = np.linalg.norm(gt[36] - gt[45])
        errors.append(np.linalg.norm(pred - gt, axis=1).mean() / d)
    return float(np.mean(errors))


@pytest.mark.slow
def test_helen_matches_an_independent_computation(tmp_path, capsys):
    root = _helen_root(tmp_path)
    result = _run_json(capsys, ["--dataset", "300w:helen", "--data-root", str(root), "--out", str(tmp_path / "h.h5"),
                                "--cache", str(tmp_path / "cache")])
    stats = result["splits"]["helen"]
    assert stats["n"] == 330 and stats["n_failed_inputs"] == 0
    expected = _independent_helen_nme(root)
    assert 100 * stats["nme"] == pytest.approx(100 * expected, abs=0.05)
    # The warm run (crop cache filled) gives the same number.
    warm = _run_json(capsys, ["--dataset", "300w:helen", "--data-root", str(root), "--out", str(tmp_path / "w.h5"),
                              "--cache", str(tmp_path / "cache")])
    assert warm["splits"]["helen"]["nme"] == stats["nme"]
    assert warm["timings"]["cache_hits"] == 330


def _arrays(path: Path) -> dict[str, bytes]:
    import h5py

    with h5py.File(path) as h5:
        out = {f"arrays/{k}": h5["arrays"][k][()].tobytes() for k in h5["arrays"]}
        out.update({f"splits/{k}": h5["splits"][k][()].tobytes() for k in h5["splits"]})
        out["summary"] = h5.attrs["summary"].encode()
    return out


def test_workers_1_and_4_give_identical_bytes(tmp_path, capsys):
    root = _helen_root(tmp_path)
    for workers in (1, 4):
        _run_json(capsys, ["--dataset", "300w:helen", "--data-root", str(root), "--limit", "24", "--no-cache",
                           "--workers", str(workers), "--out", str(tmp_path / f"w{workers}.h5")])
    assert _arrays(tmp_path / "w1.h5") == _arrays(tmp_path / "w4.h5")


@pytest.mark.slow
def test_interrupted_run_resumes_to_identical_result(tmp_path):
    root = _helen_root(tmp_path)
    base = [sys.executable, "-m", "faceval_cli.main", "run", "--dataset", "300w:helen", "--data-root", str(root),
            "--no-cache", "--no-progress", "--checkpoint-every", "16"]
    full = tmp_path / "full.h5"
    subprocess.run(base + ["--out", str(full)], check=True, capture_output=True)

    out = tmp_path / "resumed.h5"
    partial = out.with_name(out.name + ".partial")  # no *.h5 glob matches it
    proc = subprocess.Popen(base + ["--out", str(out)], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not partial.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert partial.exists(), "no partial progress appeared"
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 130, err
    assert not out.exists(), "an interrupted run left a file at --out"
    assert partial.exists() and "--resume" in err

    resumed = subprocess.run(base + ["--out", str(out), "--resume"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming:" in resumed.stderr
    assert not partial.exists()
    assert _arrays(out) == _arrays(full)


def test_sigterm_exits_143_without_output(tmp_path):
    root = _helen_root(tmp_path)
    out = tmp_path / "t.h5"
    proc = subprocess.Popen([sys.executable, "-m", "faceval_cli.main", "run", "--dataset", "300w:helen", "--data-root",
                             str(root), "--no-cache", "--no-progress", "--checkpoint-every", "16", "--out", str(out)],
                            stderr=subprocess.PIPE, text=True)
    partial = out.with_name(out.name + ".partial")  # no *.h5 glob matches it
    deadline = time.monotonic() + 60
    while not partial.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 143, err
    assert not out.exists()


def test_device_cuda_without_cuda_exits_3(tmp_path, capsys):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this machine has a CUDA provider")
    code = main(["run", "--device", "cuda", "--out", str(tmp_path / "x.h5"), "--no-cache"])
    err = capsys.readouterr().err
    assert code == 3
    assert len([l for l in err.splitlines() if l.startswith("faceval: error")]) == 1
    assert not (tmp_path / "x.h5").exists()


def test_corrupt_image_is_a_counted_failure_or_strict_error(tmp_path, capsys):
    from tests.fixtures import build_300w_tree, random_faces

    faces = random_faces(3, seed=5)
    ids = [f"helen/testset/f{i}.jpg" for i in range(3)]
    root = build_300w_tree(tmp_path / "data", dict(zip(ids, faces)), with_images=True)
    bad = root / "300w" / ids[1]
    bad.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    result = _run_json(capsys, ["--dataset", "300w:helen", "--data-root", str(root), "--no-cache",
                                "--out", str(tmp_path / "c.h5")])
    assert result["splits"]["helen"]["n_failed_inputs"] == 1
    from faceval.runs.runfile import read_run

    run = read_run(tmp_path / "c.h5")
    assert run.failed_inputs.tolist() == [False, True, False]
    assert run.failure_reasons[1]
    code = main(["run", "--dataset", "300w:helen", "--data-root", str(root), "--no-cache", "--strict",
                 "--out", str(tmp_path / "s.h5")])
    err = capsys.readouterr().err
    assert code == 2 and str(bad) in err
    assert not (tmp_path / "s.h5").exists()


def test_missing_model_file_exits_2(tmp_path, capsys):
    code = main(["run", "--model", str(tmp_path / "nope.onnx"), "--out", str(tmp_path / "x.h5")])
    err = capsys.readouterr().err
    assert code == 2 and "nope.onnx" in err


def test_box_dataset_on_a_dataset_without_rectangles_exits_2_before_inference(tmp_path, capsys):
    """The bundled sample (.pts only) has no face rectangles: `--box dataset` made every face a failure
    (NME inf, FR 100 %) with exit 0; it is refused up front (issue 12, item 7)."""
    out = tmp_path / "r.h5"
    assert main(["run", "--box", "dataset", "--no-cache", "--no-progress", "--out", str(out)]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("faceval: error:")]
    assert len(err) == 1 and "sample has no face rectangles" in err[0] and "--box landmarks" in err[0], err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_negative_workers_is_a_usage_error(capsys):
    assert main(["run", "--workers", "-1", "--no-cache", "--no-progress"]) == 2
    assert "Invalid value for '--workers': -1 is not in the range x>=0" in capsys.readouterr().err


def test_header_names_the_split_the_run_evaluated(tmp_path, capsys):
    """issue 13: the summary table's title says ``300w:helen``, not ``300w``; a full dataset stays ``300w``."""
    from tests.fixtures import build_300w_tree, random_faces

    faces = random_faces(2, seed=1)
    root = build_300w_tree(tmp_path / "data", {f"helen/testset/h{i}.jpg": faces[i] for i in range(2)})
    capsys.readouterr()
    code = main(["run", "--dataset", "300W:helen", "--data-root", str(root), "--no-cache", "--no-progress",
                 "--out", str(tmp_path / "h.h5")])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "PFLD_GhostOne_112_1_opt_sim on 300w:helen" in [line.strip() for line in err.splitlines()], err
    assert "on 300w\n" not in err


def test_selection_of_a_run_without_a_split_is_the_dataset():
    from tests.faceval.runs.helpers import make_run

    run = make_run(n=4)
    assert run.selection == "300w"  # nothing recorded
    run.provenance["dataset_spec"] = "300w"
    assert run.selection == "300w"
    run.provenance["dataset_spec"] = "300W: challenging "
    assert run.selection == "300w:challenging"


def test_pose_labels_with_a_model_without_pose_output_say_so(tmp_path, capsys):
    labels = tmp_path / "pose.csv"
    labels.write_text("sample_id,yaw,pitch,roll\nbreakingbad.jpg,1,2,3\neinstein.jpg,1,2,3\ntakeo.ppm,1,2,3\n")
    capsys.readouterr()
    assert main(["run", "--pose-labels", str(labels), "--no-cache", "--no-progress", "--format", "json",
                 "--out", str(tmp_path / "r.h5")]) == 0
    out, err = capsys.readouterr()
    assert "mae_yaw" not in json.loads(out)["splits"]["all"]
    assert ("faceval: note: PFLD_GhostOne_112_1_opt_sim.onnx: the model has no pose output (pose_output in the spec), "
            "so the pose labels score nothing") in err
