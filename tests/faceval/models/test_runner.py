"""ModelRunner: the checks at session open and on every batch, with small hostile ONNX graphs.

Expected outputs are computed in numpy from the graph's known weights (``tiny_expected``), never
by the code under test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceval.errors import InputError, RuntimeFailure
from faceval.models.resolve import resolve_spec
from faceval.models.runner import ModelRunner, check_batch_memory, parse_bytes
from faceval.models.session import create_session
from faceval.models.spec import ModelSpec
from tests.faceval.models.conftest import make_hostile_model, tiny_expected

pytest.importorskip("onnx", reason="building test models needs the onnx package")

SIZE = 16


def _open(path: Path, batch_size: int = 4, **kwargs: object) -> ModelRunner:
    info = create_session(path, "cpu")
    spec = resolve_spec(path, session_info=info).spec
    return ModelRunner.open(info, spec, batch_size=batch_size, **kwargs)  # type: ignore[arg-type]


def _images(n: int, hot: int | None = None) -> np.ndarray:
    x = np.random.default_rng(7).uniform(0.0, 0.4, size=(n, 3, SIZE, SIZE)).astype(np.float32)
    if hot is not None:
        x[hot, 0] = 0.9  # channel-0 mean 0.9: above the hostile model's threshold of 0.5
    return x


def _pixels(x: np.ndarray) -> np.ndarray:
    """Unit coordinates of tiny_expected -> input pixels (the spec's coords 'unit', 16x16 input)."""
    return tiny_expected(x).reshape(len(x), -1, 2) * SIZE


def test_plain_model_gives_one_row_per_image(tmp_path) -> None:
    runner = _open(make_hostile_model(tmp_path / "plain.onnx"))
    x = _images(4)
    pred = runner.run(x)
    assert runner.batch_size == 4 and runner.notes == [] and pred.failures == {}
    np.testing.assert_allclose(pred.landmarks, _pixels(x), rtol=1e-5, atol=1e-5)


def test_one_row_for_a_batch_falls_back_to_one_image_at_a_time(tmp_path) -> None:
    """[1,196] for a batch of N: each image gets its own prediction, never the first image's row."""
    runner = _open(make_hostile_model(tmp_path / "one.onnx", rows="one"))
    assert runner.batch_size == 1
    assert len(runner.notes) == 1 and "'landmarks' has shape [1,196] for a batch of 2" in runner.notes[0]
    assert "one image at a time" in runner.notes[0]
    x = _images(5)
    pred = runner.run(x)
    np.testing.assert_allclose(pred.landmarks, _pixels(x), rtol=1e-5, atol=1e-5)
    assert not np.allclose(pred.landmarks[0], pred.landmarks[1])


def test_twice_the_rows_is_a_runtime_failure_naming_output_shape_and_batch(tmp_path) -> None:
    with pytest.raises(RuntimeFailure) as err:
        _open(make_hostile_model(tmp_path / "double.onnx", rows="double"))
    msg = str(err.value)
    assert "double.onnx" in msg and "output 'landmarks' has shape [4,196] for a batch of 2" in msg
    assert err.value.exit_code == 3


def test_twice_the_rows_at_batch_one_too(tmp_path) -> None:
    with pytest.raises(RuntimeFailure, match=r"shape \[2,196\] for a batch of 1 images"):
        _open(make_hostile_model(tmp_path / "double.onnx", rows="double"), batch_size=1)


@pytest.mark.parametrize("dtype", ["int64", "uint8", "bool"])
def test_non_float_landmark_output_names_output_and_dtype(tmp_path, dtype) -> None:
    with pytest.raises(InputError) as err:
        _open(make_hostile_model(tmp_path / f"{dtype}.onnx", out_type=dtype))
    assert f"landmark output 'landmarks' is {dtype}" in str(err.value) and f"{dtype}.onnx" in str(err.value)


def test_uint8_input_is_refused_at_open_saying_what_is_supported(tmp_path) -> None:
    with pytest.raises(InputError) as err:
        _open(make_hostile_model(tmp_path / "u8.onnx", in_type="uint8"))
    msg = str(err.value)
    assert "input 'input' [N,3,16,16] is uint8" in msg and "float32, float16 or float64" in msg


def test_two_inputs_are_refused_at_open(tmp_path) -> None:
    with pytest.raises(InputError) as err:
        _open(make_hostile_model(tmp_path / "two.onnx", two_inputs=True))
    msg = str(err.value)
    assert "2 inputs (input [N,3,16,16] float32, scale [1] float32)" in msg and "one image input" in msg


def test_fp16_input_is_fed_fp16(tmp_path) -> None:
    runner = _open(make_hostile_model(tmp_path / "fp16.onnx", in_type="float16"))
    assert runner.dtype == np.float16
    x = _images(3)
    pred = runner.run(x)
    np.testing.assert_allclose(pred.landmarks, _pixels(x.astype(np.float16).astype(np.float32)), atol=1e-4)


def test_an_image_the_model_raises_on_is_a_failure_and_the_others_are_kept(tmp_path) -> None:
    runner = _open(make_hostile_model(tmp_path / "picky.onnx", fail_above=0.5))
    x = _images(4, hot=2)
    pred = runner.run(x)
    assert list(pred.failures) == [2]
    assert pred.failures[2].startswith("model inference failed: Non-zero status code returned while running Gather")
    assert np.isnan(pred.landmarks[2]).all()
    keep = [0, 1, 3]
    np.testing.assert_allclose(pred.landmarks[keep], _pixels(x[keep]), rtol=1e-5, atol=1e-5)


def test_strict_stops_at_the_first_image_the_model_raises_on(tmp_path) -> None:
    runner = _open(make_hostile_model(tmp_path / "picky.onnx", fail_above=0.5), strict=True)
    with pytest.raises(RuntimeFailure, match=r"picky.onnx: model inference failed: .*Gather.*\(--strict\)"):
        runner.run(_images(4, hot=1))


def test_a_model_that_fails_on_every_input_fails_at_open(tmp_path) -> None:
    # threshold below the probe's zeros: the probe itself raises, at batch 2 and at batch 1
    with pytest.raises(RuntimeFailure, match=r"the model fails on a \[1,3,16,16\] float32 input: .*Gather"):
        _open(make_hostile_model(tmp_path / "never.onnx", fail_above=-1.0))


def test_batch_memory_bound_before_any_work() -> None:
    spec = ModelSpec(input_size=(12000, 12000), points=68)
    # 32 x 3 x 12000 x 12000 x 4 bytes = 55296000000 bytes; one image 1728000000 bytes (< 2 GiB)
    with pytest.raises(InputError) as err:
        check_batch_memory(spec, 32, np.dtype(np.float32))
    msg = str(err.value)
    assert "a batch of 32 model inputs of 12000x12000 float32 needs 51.50 GiB, above the bound of 2.00 GiB" in msg
    assert "--batch-size 1 or less" in msg and "--max-batch-memory" in msg
    check_batch_memory(spec, 1, np.dtype(np.float32))  # 1.61 GiB fits
    check_batch_memory(spec, 32, np.dtype(np.float32), max_bytes=55296000000)  # exactly at a raised bound
    with pytest.raises(InputError, match="raise the bound"):
        check_batch_memory(ModelSpec(input_size=(40000, 40000), points=68), 1, np.dtype(np.float32))


def test_parse_bytes() -> None:
    assert parse_bytes("4GiB") == 4 * 2**30 and parse_bytes("500MB") == 500 * 10**6 and parse_bytes("2048") == 2048
    for bad in ("", "x", "1_000", "-5", "2 GB GB", "0", "1ZB"):
        with pytest.raises(InputError, match="expected a size"):
            parse_bytes(bad, "--max-batch-memory")


def _fsanet_input(image: Path, pts: Path) -> np.ndarray:
    """FSA-Net's own preprocessing, written here: the GT landmark box resized to 64x64, BGR, (p-127.5)/128."""
    from PIL import Image

    xy = np.loadtxt(pts)
    x0, y0 = xy.min(axis=0)
    x1, y1 = xy.max(axis=0)
    face = Image.open(image).convert("RGB").crop((int(x0), int(y0), int(x1), int(y1))).resize((64, 64), Image.BILINEAR)
    bgr = np.asarray(face, dtype=np.float32)[:, :, ::-1]
    return ((bgr - 127.5) / 128.0).transpose(2, 0, 1)[None].copy()


def test_fsanet_runs_as_a_pose_only_model_with_explicit_signs() -> None:
    from tests.conftest import shared_path

    model = shared_path("models", "fsanet", "fsanet-1x1-iter-688590.onnx")
    helen = shared_path("300w_helen_test", "helen", "testset")
    x = np.concatenate([_fsanet_input(helen / f"{n}.jpg", helen / f"{n}.pts") for n in ("296814969_3", "2968560214_1")])
    info = create_session(model, "cpu")
    overrides = {"pose_output": "output", "color": "BGR", "mean": 0.5, "std": 128 / 255, "pose_signs": [-1, 1, 1]}
    spec = resolve_spec(model, overrides=overrides, session_info=info, allow_pose_only=True).spec
    assert spec.pose_only and spec.input_size == (64, 64)
    runner = ModelRunner.open(info, spec, batch_size=8)
    assert runner.batch_size == 1  # FSA-Net's batch is fixed to 1
    pred = runner.run(x)
    assert pred.landmarks is None and pred.failures == {}
    raw = np.concatenate([info.session.run(None, {"input": x[i : i + 1]})[0] for i in range(2)])  # yaw, pitch, roll
    np.testing.assert_allclose(pred.pose, raw * np.array([-1.0, 1.0, 1.0]), rtol=1e-6, atol=1e-5)
    assert np.all(np.abs(pred.pose) < 90)


def test_real_ghostone_fixed_batch_one_runs_one_image_per_call() -> None:
    from tests.conftest import shared_path

    model = shared_path("models", "pfld_ghostone", "PFLD_GhostOne_112_1_opt_sim.onnx")
    info = create_session(model, "cpu")
    spec = resolve_spec(model, session_info=info).spec
    runner = ModelRunner.open(info, spec, batch_size=32)
    assert runner.fixed_batch == 1 and runner.batch_size == 1 and runner.notes == []
    x = np.random.default_rng(5).uniform(-1, 1, size=(3, 3, 112, 112)).astype(np.float32)
    pred = runner.run(x)
    raw = np.concatenate([info.session.run(None, {"input": x[i : i + 1]})[0] for i in range(3)])
    np.testing.assert_allclose(pred.landmarks, raw.reshape(3, 98, 2) * 112, rtol=1e-6, atol=1e-4)
    assert not np.allclose(pred.landmarks[0], pred.landmarks[1])
