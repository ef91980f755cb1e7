"""`faceval run` with models that give the wrong batch, the wrong dtype or raise on one image.

Each runs on the bundled sample photos (3 real faces) and compares with the same graph without
the hostile part; the expected values come from that plain model, never from the hostile run.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from faceval_cli.main import main
from tests.faceval.models.conftest import make_hostile_model

pytest.importorskip("onnx", reason="building test models needs the onnx package")


def _run(capfd, tmp_path: Path, model: Path, *args: str, out: str = "out.h5") -> tuple[int, str, str]:
    capfd.readouterr()
    code = main(["run", "--no-cache", "--no-progress", "--model", str(model), "--out", str(tmp_path / out), *args])
    captured = capfd.readouterr()
    return code, captured.out, captured.err


def _predictions(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    from faceval.runs.runfile import read_run

    run = read_run(path)
    return run.predictions, run.failed_inputs, [str(r) for r in run.failure_reasons]


def _error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("faceval: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def plain(tmp_path, capfd) -> np.ndarray:
    code, _, err = _run(capfd, tmp_path, make_hostile_model(tmp_path / "plain.onnx"), out="plain.h5")
    assert code == 0, err
    preds, failed, _ = _predictions(tmp_path / "plain.h5")
    assert not failed.any() and np.isfinite(preds).all()
    return preds


def test_one_output_row_for_the_batch_is_not_copied_to_every_image(tmp_path, capfd, plain) -> None:
    code, _, err = _run(capfd, tmp_path, make_hostile_model(tmp_path / "one.onnx", rows="one"))
    assert code == 0, err
    assert "shape [1,196] for a batch of 2: the model is fixed-batch; running one image at a time" in err
    preds, _, _ = _predictions(tmp_path / "out.h5")
    np.testing.assert_allclose(preds, plain, rtol=1e-5, atol=1e-4)


def test_twice_the_rows_exits_3_naming_output_shape_and_batch(tmp_path, capfd) -> None:
    code, _, err = _run(capfd, tmp_path, make_hostile_model(tmp_path / "double.onnx", rows="double"))
    line = _error_line(err)
    assert code == 3 and "output 'landmarks' has shape [4,196] for a batch of 2 images" in line
    assert not (tmp_path / "out.h5").exists()


def test_int_landmark_output_exits_2_naming_output_and_dtype(tmp_path, capfd) -> None:
    code, _, err = _run(capfd, tmp_path, make_hostile_model(tmp_path / "int.onnx", out_type="int64"))
    line = _error_line(err)
    assert code == 2 and "int.onnx: landmark output 'landmarks' is int64" in line


def test_uint8_or_two_inputs_exit_2_at_open(tmp_path, capfd) -> None:
    code, _, err = _run(capfd, tmp_path, make_hostile_model(tmp_path / "u8.onnx", in_type="uint8"))
    assert code == 2 and "is uint8; faceval feeds float32, float16 or float64 images" in _error_line(err)
    code, _, err = _run(capfd, tmp_path, make_hostile_model(tmp_path / "two.onnx", two_inputs=True))
    assert code == 2 and "the model has 2 inputs" in _error_line(err)


def test_fp16_input_model_runs_fed_fp16(tmp_path, capfd, plain) -> None:
    code, _, err = _run(capfd, tmp_path, make_hostile_model(tmp_path / "fp16.onnx", in_type="float16"))
    assert code == 0, err
    preds, failed, _ = _predictions(tmp_path / "out.h5")
    assert not failed.any()
    np.testing.assert_allclose(preds, plain, atol=0.05)  # fp16 rounding of the input, in image pixels


def _channel0_means() -> np.ndarray:
    """Channel-0 means of the three sample crops as the model sees them (16x16, pixel/255)."""
    from faceval.datasets import load
    from faceval.pipeline.loader import CropJob, iter_batches, to_model_input

    ann = load("sample", None)
    jobs = [CropJob(i, sid, ann.image_paths[i], landmarks=ann.landmarks[i], scale=1.2, square=True)
            for i, sid in enumerate(ann.sample_ids)]
    prepare = partial(to_model_input, layout="NCHW", color="RGB", mean=(0.0,) * 3, std=(1.0,) * 3)
    (batch,) = list(iter_batches(jobs, input_size=(16, 16), batch_size=8, workers=0, prepare=prepare))
    means = np.empty(len(jobs))
    means[batch.indices] = batch.inputs[:, 0].mean(axis=(1, 2))
    return means


def test_an_image_the_model_raises_on_is_a_counted_failure(tmp_path, capfd, plain) -> None:
    means = _channel0_means()
    order = np.argsort(means)
    hot = int(order[-1])
    threshold = float((means[order[-1]] + means[order[-2]]) / 2)  # only the brightest crop is above it
    model = make_hostile_model(tmp_path / "picky.onnx", fail_above=threshold)
    code, out, err = _run(capfd, tmp_path, model, "--format", "json")
    assert code == 0, err
    assert "[E:onnxruntime" not in err and "\x1b[" not in err  # ORT's own coloured log lines stay off
    assert "1 of 3 images could not be used" in err
    preds, failed, reasons = _predictions(tmp_path / "out.h5")
    assert failed.tolist() == [i == hot for i in range(3)]
    assert reasons[hot].startswith("model inference failed: Non-zero status code returned while running Gather")
    keep = [i for i in range(3) if i != hot]
    np.testing.assert_allclose(preds[keep], plain[keep], rtol=1e-5, atol=1e-4)
    assert json.loads(out)["splits"]["all"]["n"] == 3

    code, _, err = _run(capfd, tmp_path, model, "--strict", out="strict.h5")
    line = _error_line(err)
    assert code == 3 and "model inference failed" in line and "--strict" in line and "\x1b[" not in err
    assert not (tmp_path / "strict.h5").exists()


def test_huge_input_refused_before_any_work(tmp_path, capfd) -> None:
    spec = {"points": 98, "scheme": "wflw", "coords": "unit", "landmark_output": "landmarks"}
    model = make_hostile_model(tmp_path / "anysize.onnx", size="S", spec=spec)
    code, _, err = _run(capfd, tmp_path, model, "--set", "input_size=12000")
    line = _error_line(err)
    assert code == 2 and "a batch of 32 model inputs of 12000x12000 float32 needs 51.50 GiB" in line
    assert "--batch-size 1 or less" in line
    code, _, err = _run(capfd, tmp_path, model, "--set", "input_size=12000", "--batch-size", "2",
                        "--max-batch-memory", "1GiB")
    assert code == 2 and "above the bound of 1.00 GiB" in _error_line(err)
    code, _, err = _run(capfd, tmp_path, model, "--max-batch-memory", "lots")
    assert code == 2 and "--max-batch-memory 'lots': expected a size" in _error_line(err)


def test_input_size_or_layout_that_does_not_fit_exits_2_before_any_work(tmp_path, capfd) -> None:
    model = make_hostile_model(tmp_path / "m16.onnx")
    code, _, err = _run(capfd, tmp_path, model, "--set", "input_size=128")
    line = _error_line(err)
    assert code == 2 and "m16.onnx: input_size 128x128 does not fit input 'input' [N,3,16,16]" in line
    assert "--set input_size=[16,16]" in line
    code, _, err = _run(capfd, tmp_path, model, "--set", "layout=NHWC")
    assert code == 2 and "layout NHWC does not fit input 'input' [N,3,16,16]: axis 3 has 16 channels" in _error_line(err)
    assert not (tmp_path / "out.h5").exists()


def test_coords_outside_the_declared_convention_warn_on_the_first_batch(tmp_path, capfd) -> None:
    model = make_hostile_model(tmp_path / "unit.onnx")  # sigmoid outputs: every value in (0, 1)
    code, _, err = _run(capfd, tmp_path, model, "--set", "coords=pixels")
    assert code == 0, err
    warnings = [line for line in err.splitlines() if "coords=pixels" in line]
    assert len(warnings) == 1 and warnings[0].startswith("faceval: warning: coords=pixels, but the landmark values")
    assert "the model likely outputs 'unit' coordinates (--set coords=unit)" in warnings[0]
    code, _, err = _run(capfd, tmp_path, model, out="unit.h5")
    assert code == 0 and "likely outputs" not in err


def test_pose_only_model_without_pose_labels_is_refused_by_run_with_a_clear_message(tmp_path, capfd) -> None:
    from tests.conftest import shared_path

    model = shared_path("models", "fsanet", "fsanet-1x1-iter-688590.onnx")
    code, _, err = _run(capfd, tmp_path, model, "--set", "pose_output=output")
    line = _error_line(err)
    assert code == 2 and "is a pose-only model (no landmark output)" in line and "nothing to score" in line
    assert "--pose-labels FILE" in line
    assert not (tmp_path / "out.h5").exists()
