"""Decoding conventions: every convention round-trips known points; pose order and scale."""

from __future__ import annotations

import numpy as np
import pytest

from faceval.errors import InputError
from faceval.models.decode import decode_landmarks, decode_pose, encode_landmarks, select_outputs
from faceval.models.spec import COORDS, ModelSpec


@pytest.mark.parametrize("coords", COORDS)
def test_round_trip_each_convention(coords: str) -> None:
    spec = ModelSpec(input_size=(120, 100), coords=coords, points=3)
    pts = np.array([[[0.0, 0.0], [30.0, 40.0], [120.0, 100.0]]])
    raw = encode_landmarks(pts, spec)
    assert raw.shape == (1, 6)
    np.testing.assert_allclose(decode_landmarks(raw.astype(np.float32), spec), pts, atol=1e-4)


@pytest.mark.parametrize(
    ("coords", "raw", "expected"),
    [
        ("unit", [0.25, 0.5], [56.0, 112.0]),  # p * size
        ("signed-unit", [-1.0, 0.0], [0.0, 112.0]),  # (p + 1) / 2 * size
        ("pixels", [10.5, 20.0], [10.5, 20.0]),
        ("asmnet", [0.0, 0.5], [112.0, 0.0]),  # 112 - 224 p
        ("asmnet", [-0.25, 0.25], [168.0, 56.0]),
    ],
)
def test_known_values(coords: str, raw: list[float], expected: list[float]) -> None:
    spec = ModelSpec(input_size=(224, 224), coords=coords, points=1)
    np.testing.assert_allclose(decode_landmarks(np.array([raw]), spec), [[expected]])


def test_shapes_accepted_and_rejected() -> None:
    spec = ModelSpec(input_size=(10, 10), points=2)
    assert decode_landmarks(np.zeros((5, 2, 2)), spec).shape == (5, 2, 2)
    assert decode_landmarks(np.zeros((5, 4)), spec).shape == (5, 2, 2)
    with pytest.raises(InputError, match="not 2x2"):
        decode_landmarks(np.zeros((5, 6)), spec)


def test_pose_order_and_scale() -> None:
    spec = ModelSpec(input_size=(224, 224), pose_order=("pitch", "yaw", "roll"), pose_scale=65)
    out = decode_pose(np.array([[0.1, -0.2, 0.5]]), spec)
    np.testing.assert_allclose(out, [[-13.0, 6.5, 32.5]])
    with pytest.raises(InputError, match="3 values"):
        decode_pose(np.zeros((2, 4)), spec)


def test_select_outputs_messages() -> None:
    spec = ModelSpec(input_size=(112, 112), points=68)
    names, outs = ["out0", "out1"], [np.zeros((1, 196)), np.zeros((1, 3))]
    with pytest.raises(InputError) as err:
        select_outputs(names, outs, spec)
    assert "out0 [1,196], out1 [1,3]" in str(err.value) and "68" in str(err.value)
    lm, pose = select_outputs(names, outs, spec.with_overrides(points=98, pose_output="out1"))
    assert lm.shape == (1, 196) and pose is not None and pose.shape == (1, 3)


def _coords_spec(coords: str):
    from faceval.models.spec import ModelSpec

    return ModelSpec(input_size=(112, 112), coords=coords, points=68)


def test_coords_warning_names_the_likely_convention() -> None:
    from faceval.models.decode import coords_warning

    rng = np.random.default_rng(3)
    unit = rng.uniform(0.2, 0.8, size=(4, 136))
    msg = coords_warning(unit, _coords_spec("pixels"))
    assert msg is not None and msg.startswith("coords=pixels, but the landmark values of the first batch lie in [0.2")
    assert "for a 112x112 input: the model likely outputs 'unit' coordinates (--set coords=unit)" in msg
    signed = unit * 2 - 1
    assert "likely outputs 'signed-unit'" in coords_warning(signed, _coords_spec("pixels"))
    assert "likely outputs 'signed-unit'" in coords_warning(signed, _coords_spec("unit"))
    assert "likely outputs 'unit'" in coords_warning(unit, _coords_spec("signed-unit"))
    assert "likely outputs 'pixels'" in coords_warning(unit * 112, _coords_spec("unit"))
    assert "likely outputs 'pixels'" in coords_warning(unit * 112, _coords_spec("asmnet"))
    # values that fit the declared convention (points a little outside the crop included): no warning
    assert coords_warning(unit * 1.3 - 0.15, _coords_spec("unit")) is None
    assert coords_warning(signed, _coords_spec("signed-unit")) is None
    assert coords_warning(unit * 112, _coords_spec("pixels")) is None
    assert coords_warning(np.full((2, 136), np.nan), _coords_spec("pixels")) is None


def test_decode_pose_order_scale_units_and_signs() -> None:
    from faceval.models.decode import decode_pose
    from faceval.models.spec import ModelSpec

    raw = np.array([[0.1, -0.2, 0.3]])  # in pose_order: pitch, yaw, roll
    spec = ModelSpec(pose_output="p", pose_order=("pitch", "yaw", "roll"), pose_scale=2.0, pose_units="radians",
                     pose_signs=(-1, 1, 1))
    # v = raw * 2 rad = (0.2, -0.4, 0.6) rad; degrees; reorder to yaw, pitch, roll; yaw sign flipped
    deg = 180.0 / np.pi
    expected = np.array([[0.4 * deg, 0.2 * deg, 0.6 * deg]])
    np.testing.assert_allclose(decode_pose(raw, spec), expected, rtol=1e-12)
    plain = ModelSpec(pose_output="p")
    np.testing.assert_array_equal(decode_pose(raw, plain), raw)
