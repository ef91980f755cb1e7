"""Real pose-only models: FSA-Net (1x1 and var) on the 330 HELEN photos with UltraFace boxes,
scored against SPIGA's head poses (../shared/data/spiga_results/300wpublic/test.json) as sidecar labels.

Every number is checked here with numpy from the run file's predictions and labels read from
SPIGA's JSON by this test; one model is also run by a straightforward loop written here
(UltraFace + crop + FSA-Net from the model cards) on a third of the photos.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from faceval_cli.main import main
from tests.conftest import shared_path

MODELS = ("1x1", "var")
#: FSA-Net's contract (../shared/data/README.md): BGR, (pixel - 127.5)/128, the detector box resized to 64x64
SPEC = {"pose_output": "output", "color": "BGR", "mean": 0.5, "std": 128 / 255, "square": False,
        "box_scales": {"detector": 1.0}}


def _labels(spiga_json: Path) -> dict[str, np.ndarray]:
    """Image file name -> SPIGA's (yaw, pitch, roll) in degrees: its ``headpose``'s first three values."""
    return {Path(r["imgpath"]).name: np.asarray(r["headpose"][:3], dtype=np.float64)
            for r in json.loads(spiga_json.read_text())}


def _run(args: list[str]) -> tuple[dict, str]:
    """``faceval run ... --format json``: the JSON summary and stderr (a module fixture has no capsys)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["run", *args, "--format", "json", "--no-progress", "--device", "cpu"])
    assert code == 0, err.getvalue()
    return json.loads(out.getvalue()), err.getvalue()


@pytest.fixture(scope="module")
def fsanet(tmp_path_factory):  # type: ignore[no-untyped-def]
    """Per model: the run without a sign fix and the run with ``--set pose_signs=-1,1,1`` (shared detector cache)."""
    from faceval.runs.runfile import read_run

    helen = shared_path("300w_helen_test", "helen", "testset")
    labels = _labels(shared_path("spiga_results", "300wpublic", "test.json"))
    tmp = tmp_path_factory.mktemp("fsanet")
    (tmp / "data" / "300w" / "helen").mkdir(parents=True)
    (tmp / "data" / "300w" / "helen" / "testset").symlink_to(helen)
    names = sorted(p.name for p in helen.glob("*.jpg"))
    assert len(names) == 330 and all(n in labels for n in names)
    csv = tmp / "spiga_poses.csv"
    csv.write_text("sample_id,yaw,pitch,roll\n" + "".join(
        f"helen/testset/{n}," + ",".join(repr(float(v)) for v in labels[n]) + "\n" for n in names))
    spec = tmp / "fsanet.json"
    spec.write_text(json.dumps(SPEC))
    common = ["--dataset", "300w:helen", "--data-root", str(tmp / "data"), "--box", "detector", "--spec", str(spec),
              "--pose-labels", str(csv), "--cache", str(tmp / "cache")]
    out: dict[str, dict] = {}
    for model in MODELS:
        onnx = shared_path("models", "fsanet", f"fsanet-{model}-iter-688590.onnx")
        for fix, extra in (("plain", []), ("fixed", ["--set", "pose_signs=-1,1,1"])):
            path = tmp / f"{model}-{fix}.h5"
            summary, err = _run([*common, "--model", str(onnx), "--out", str(path), *extra])
            out[f"{model}-{fix}"] = {"json": summary, "err": err, "run": read_run(path), "onnx": onnx}
    return {"runs": out, "labels": labels, "helen": helen}


def _gt(run, labels) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.stack([labels[Path(str(s)).name] for s in run.sample_ids])


def _stats(pred: np.ndarray, gt: np.ndarray) -> dict[str, np.ndarray]:
    err = pred - gt
    return {"mae": np.abs(err).mean(axis=0), "bias": err.mean(axis=0),
            "corr": np.array([np.corrcoef(pred[:, a], gt[:, a])[0, 1] for a in range(3)])}


@pytest.mark.slow
def test_fsanet_on_helen_against_spiga_poses(fsanet) -> None:
    report = []
    for model in MODELS:
        for fix in ("plain", "fixed"):
            entry = fsanet["runs"][f"{model}-{fix}"]
            run, split = entry["run"], entry["json"]["splits"]["helen"]
            assert run.pose_only and run.predictions is None and run.nme is None
            assert split["n"] == 330 and split["n_pose"] == 330 and split["detection_rate"] == 1.0
            assert "nme" not in split and split["n_failed_inputs"] == 0
            gt = _gt(run, fsanet["labels"])
            np.testing.assert_array_equal(run.pose_gt, gt)  # the sidecar labels are SPIGA's, unchanged
            expected = _stats(run.pose_pred, gt)
            for a, angle in enumerate(("yaw", "pitch", "roll")):
                assert split[f"mae_{angle}"] == pytest.approx(expected["mae"][a], rel=1e-9)
                assert split[f"bias_{angle}"] == pytest.approx(expected["bias"][a], rel=1e-9, abs=1e-9)
                assert split[f"corr_{angle}"] == pytest.approx(expected["corr"][a], rel=1e-9)
            assert split["mae_mean"] == pytest.approx(expected["mae"].mean(), rel=1e-9)
            proto = entry["json"]["protocol"]
            assert proto["box_source"] == "detector" and proto["box_scale"] == 1.0 and proto["box_square"] is False
            assert proto["pose_signs"] == ([1.0, 1.0, 1.0] if fix == "plain" else [-1.0, 1.0, 1.0])
            assert proto["pose_order"] == ["yaw", "pitch", "roll"] and proto["pose_units"] == "degrees"
            report.append(f"{model} {fix}: MAE {np.round(expected['mae'], 2)} (mean {expected['mae'].mean():.2f}) "
                          f"bias {np.round(expected['bias'], 2)} corr {np.round(expected['corr'], 3)}")
        plain, fixed = fsanet["runs"][f"{model}-plain"], fsanet["runs"][f"{model}-fixed"]
        # the fix is exactly the sign of yaw, applied explicitly and nothing else
        np.testing.assert_allclose(fixed["run"].pose_pred, plain["run"].pose_pred * [-1.0, 1.0, 1.0], atol=1e-9)
        # FSA-Net's yaw runs against SPIGA's: strongly negative correlation, one warning naming it and the fix
        assert plain["json"]["splits"]["helen"]["corr_yaw"] < -0.5
        warnings = [line for line in plain["err"].splitlines() if "pose convention" in line]
        assert len(warnings) == 1 and warnings[0].startswith("faceval: warning: pose convention of yaw")
        assert "likely fix: --set pose_signs=-1,1,1" in warnings[0]
        assert plain["json"]["pose_warning"]["fix"] == "--set pose_signs=-1,1,1"
        assert [f["kind"] for f in plain["json"]["pose_warning"]["findings"]] == ["sign", "offset"]
        # with the fix, yaw correlates positively and its MAE falls; the pitch offset is still reported
        assert fixed["json"]["splits"]["helen"]["corr_yaw"] > 0.5
        assert fixed["json"]["splits"]["helen"]["mae_yaw"] < 0.6 * plain["json"]["splits"]["helen"]["mae_yaw"]
        assert fixed["json"]["pose_warning"]["angles"] == ["pitch"] and fixed["json"]["pose_warning"]["fix"] is None
        assert fixed["json"]["splits"]["helen"]["bias_pitch"] < -5.0
    print("\n" + "\n".join(report))


@pytest.mark.slow
def test_fsanet_predictions_match_a_straightforward_loop(fsanet) -> None:
    """UltraFace boxes (tests/faceval/detection/independent.py), the box resized to 64x64 with Pillow, FSA-Net."""
    import onnxruntime as ort
    from PIL import Image

    from tests.faceval.detection.independent import _iou, ultraface_boxes

    run = fsanet["runs"]["1x1-plain"]["run"]
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    det = ort.InferenceSession(str(shared_path("models", "ultraface", "version-RFB-320.onnx")), opts,
                               providers=["CPUExecutionProvider"])
    pose = ort.InferenceSession(str(fsanet["runs"]["1x1-plain"]["onnx"]), opts, providers=["CPUExecutionProvider"])
    rows = list(range(0, 330, 3))
    mine = []
    for i in rows:
        path = fsanet["helen"] / Path(str(run.sample_ids[i])).name
        gt = np.loadtxt(path.with_suffix(".pts")) - 1.0
        img = Image.open(path).convert("RGB")
        _, b = max(ultraface_boxes(det, img), key=lambda t: _iou(t[1], [*gt.min(axis=0), *gt.max(axis=0)]))
        pad = int(max(b[2] - b[0], b[3] - b[1])) + 2
        padded = Image.new("RGB", (img.width + 2 * pad, img.height + 2 * pad))
        padded.paste(img, (pad, pad))
        box = (b[0] + pad + 0.5, b[1] + pad + 0.5, b[2] + pad + 0.5, b[3] + pad + 0.5)
        face = padded.resize((64, 64), Image.Resampling.BILINEAR, box=box)
        x = (np.asarray(face, dtype=np.float32)[:, :, ::-1] - 127.5) / 128.0
        mine.append(pose.run(None, {"input": x.transpose(2, 0, 1)[None].copy()})[0][0])
    mine = np.asarray(mine, dtype=np.float64)
    theirs = run.pose_pred[rows]
    assert np.median(np.abs(mine - theirs)) < 1.0  # degrees: resampling details differ, the models' inputs agree
    gt = run.pose_gt[rows]
    np.testing.assert_allclose(np.abs(theirs - gt).mean(axis=0), np.abs(mine - gt).mean(axis=0), atol=0.5)
