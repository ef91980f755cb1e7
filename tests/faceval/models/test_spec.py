"""Model spec: parsing, validation, overrides, metadata round trip, inference from shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faceval.errors import InputError
from faceval.models.resolve import resolve_spec
from faceval.models.spec import METADATA_KEY, ModelSpec, load_spec_file


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_defaults_and_to_dict_round_trip() -> None:
    spec = ModelSpec(input_size=112, mean=0.5, std=0.5, points=98, scheme="WFLW", layout="nchw")
    assert spec.input_size == (112, 112)
    assert spec.mean == (0.5, 0.5, 0.5)
    assert spec.layout == "NCHW" and spec.scheme == "wflw"
    assert spec.box == "landmarks" and spec.box_scale == 1.2 and spec.square is True
    assert spec.pose_order == ("yaw", "pitch", "roll")
    d = spec.to_dict()
    assert d["input_size"] == [112, 112] and isinstance(d["mean"], list)
    assert ModelSpec.from_dict(json.loads(json.dumps(d))) == spec


def test_unknown_field_is_named(tmp_path: Path) -> None:
    path = write_json(tmp_path / "s.json", {"input_size": [112, 112], "box_scal": 1.3})
    with pytest.raises(InputError) as err:
        load_spec_file(path)
    msg = str(err.value)
    assert "'box_scal'" in msg and "box_scale" in msg and str(path) in msg
    assert err.value.exit_code == 2


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("box_scale", "1.2", "a positive number"),
        ("input_size", [112], "[width, height]"),
        ("mean", [0.5, 0.5], "3 numbers"),
        ("square", "yes", "true or false"),
        ("points", 68.5, "positive integer"),
        ("pose_order", ["yaw", "yaw", "roll"], "permutation"),
    ],
)
def test_wrong_types_name_field_type_and_file(tmp_path: Path, field: str, value: object, expected: str) -> None:
    path = write_json(tmp_path / "spec.json", {field: value})
    with pytest.raises(InputError) as err:
        load_spec_file(path)
    msg = str(err.value)
    assert f"'{field}'" in msg and expected in msg and str(path) in msg


def test_bad_choice_and_bad_json(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="'coords'.*signed-unit"):
        ModelSpec.from_dict({"coords": "signed_unit"})
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        load_spec_file(bad)
    with pytest.raises(InputError, match="not found"):
        load_spec_file(tmp_path / "missing.json")
    with pytest.raises(InputError, match="std"):
        ModelSpec(std=(1.0, 0.0, 1.0))


def test_overrides() -> None:
    base = ModelSpec(input_size=(112, 112), points=98)
    new = base.with_overrides(box_scale=1.3, coords="pixels", points=None)
    assert new.box_scale == 1.3 and new.coords == "pixels" and new.points == 98
    assert base.box_scale == 1.2  # frozen original untouched
    with pytest.raises(InputError, match="'box_size'"):
        base.with_overrides(box_size=1.0)
    with pytest.raises(InputError, match="'box_scale'"):
        base.with_overrides(box_scale="big")


def test_metadata_round_trip(tiny_model, tmp_path: Path) -> None:
    from faceval.models.metadata import read_spec, write_spec

    src = tiny_model(outputs=(("lm", 196),), size=112)
    spec = ModelSpec(input_size=(112, 112), mean=0.5, std=0.5, points=98, scheme="wflw", landmark_output="lm")
    out = write_spec(src, spec, tmp_path / "annotated.onnx")
    assert read_spec(out) == spec
    assert read_spec(src) is None
    # rewriting replaces (no duplicate keys)
    write_spec(out, spec.with_overrides(box_scale=1.4))
    import onnx

    keys = [p.key for p in onnx.load(str(out)).metadata_props]
    assert keys.count(METADATA_KEY) == 1
    resolved, assumptions, source = resolve_spec(out)
    assert resolved.box_scale == 1.4 and source == "ONNX metadata" and assumptions == []


def test_resolve_infers_from_shapes_nchw(tiny_model) -> None:
    path = tiny_model(outputs=(("out0", 136),), size=64)
    spec, assumptions, source = resolve_spec(path)
    assert spec.input_size == (64, 64) and spec.layout == "NCHW"
    assert spec.points == 68 and spec.scheme == "300w" and spec.landmark_output == "out0"
    assert source == "inferred"
    text = " | ".join(assumptions)
    assert "64x64" in text and "68 points" in text and "300w" in text and "pixel/255" in text


def test_resolve_infers_nhwc_and_scheme_by_points(tiny_model) -> None:
    path = tiny_model(outputs=(("pts", 58),), size=32, layout="NHWC")
    spec, assumptions, _ = resolve_spec(path)
    assert spec.layout == "NHWC" and spec.input_size == (32, 32)
    assert spec.points == 29 and spec.scheme == "cofw"
    assert any("NHWC" in a for a in assumptions)


def test_resolve_spec_file_and_flags(tiny_model, tmp_path: Path) -> None:
    path = tiny_model(outputs=(("out0", 196), ("out1", 3)), size=112)
    spec_file = write_json(tmp_path / "s.json", {"mean": 0.5, "std": 0.5, "pose_output": "out1", "pose_scale": 65})
    spec, assumptions, source = resolve_spec(path, spec_file, {"box_scale": 1.3, "coords": None})
    assert spec.landmark_output == "out0" and spec.pose_output == "out1" and spec.pose_scale == 65.0
    assert spec.box_scale == 1.3 and spec.points == 98 and spec.scheme == "wflw"
    assert source.startswith(f"spec file {spec_file} + flags")
    assert not any("box scale" in a for a in assumptions)


def test_resolve_reports_output_shapes_when_points_mismatch(tiny_model) -> None:
    path = tiny_model(outputs=(("out0", 196), ("out1", 3)), batch=1, size=16)
    with pytest.raises(InputError) as err:
        resolve_spec(path, overrides={"points": 68})
    msg = str(err.value)
    assert "out0 [1,196], out1 [1,3]" in msg and "2x68" in msg and "landmark_output or points" in msg


def test_resolve_unknown_output_name(tiny_model) -> None:
    path = tiny_model(outputs=(("landmarks", 136),))
    with pytest.raises(InputError, match="did you mean 'landmarks'"):
        resolve_spec(path, overrides={"landmark_output": "landmark"})


def test_bundled_model_spec() -> None:
    from faceval.models import default_model_path

    spec, assumptions, source = resolve_spec(default_model_path())
    assert source == "ONNX metadata" and assumptions == []
    assert spec.input_size == (112, 112) and spec.mean == (0.5,) * 3 and spec.std == (0.5,) * 3
    assert spec.coords == "unit" and spec.points == 98 and spec.scheme == "wflw"
    assert spec.box == "landmarks" and spec.box_scale == 1.2 and spec.square and spec.color == "RGB"


def test_moved_names_still_import_from_spec() -> None:
    import faceval.models.resolve as resolve
    import faceval.models.spec as spec_module

    for name in ("IOInfo", "ResolvedSpec", "resolve_spec", "per_sample_size", "format_outputs"):
        assert getattr(spec_module, name) is getattr(resolve, name)
    with pytest.raises(AttributeError):
        spec_module.SCHEME_BY_POINTS  # noqa: B018 - the points -> scheme table is faceval.schemes' now


def test_scheme_inferred_from_every_scheme_of_the_schemes_module(tiny_model) -> None:
    from faceval.schemes import SCHEME_NAMES, load_scheme

    for name in SCHEME_NAMES:
        k = load_scheme(name).num_points
        path = tiny_model(f"k{k}.onnx", outputs=(("pts", 2 * k),), size=16)
        resolved = resolve_spec(path)
        assert resolved.spec.scheme == name and resolved.spec.points == k
        assert f"scheme {name} ({k} points)" in resolved.assumptions


def test_pose_signs_and_units_fields() -> None:
    spec = ModelSpec.from_dict({"pose_signs": [-1, 1, 1], "pose_units": "Radians"})
    assert spec.pose_signs == (-1.0, 1.0, 1.0) and spec.pose_units == "radians"
    assert spec.to_dict()["pose_signs"] == [-1.0, 1.0, 1.0]
    assert ModelSpec().with_overrides(pose_signs="-1,1,-1").pose_signs == (-1.0, 1.0, -1.0)  # --set pose_signs=-1,1,-1
    assert ModelSpec().with_overrides(pose_order="pitch,yaw,roll").pose_order == ("pitch", "yaw", "roll")
    assert ModelSpec().pose_signs == (1.0, 1.0, 1.0) and ModelSpec().pose_units == "degrees"
    for bad in ([2, 1, 1], [-1, 1], "x,1,1", [True, 1, 1]):
        with pytest.raises(InputError, match="pose_signs': expected three signs, 1 or -1"):
            ModelSpec.from_dict({"pose_signs": bad})
    with pytest.raises(InputError, match="'gradians' is not one of degrees, radians"):
        ModelSpec.from_dict({"pose_units": "gradians"})


def test_pose_only_model_resolves_without_landmarks(tiny_model) -> None:
    path = tiny_model(outputs=(("angles", 3),), size=64)
    spec, assumptions, _ = resolve_spec(path, overrides={"pose_output": "angles"}, allow_pose_only=True)
    assert spec.pose_only and spec.landmark_output is None and spec.points is None and spec.scheme is None
    assert "pose-only model: output 'angles' holds the pose, no landmark output" in assumptions
    assert not any("landmark coordinates" in a for a in assumptions)
    # without pose_output the same model is still read as (too few) landmarks: no silent pose-only
    with pytest.raises(InputError):
        resolve_spec(path)
    four = tiny_model("four.onnx", outputs=(("angles", 4),), size=64)
    with pytest.raises(InputError, match="pose_output 'angles' has 4 values per image, not 3"):
        resolve_spec(four, overrides={"pose_output": "angles"}, allow_pose_only=True)
    # a landmark output beside the pose output: not pose-only
    both = tiny_model("both.onnx", outputs=(("lm", 136), ("angles", 3)), size=64)
    spec, _, _ = resolve_spec(both, overrides={"pose_output": "angles"})
    assert not spec.pose_only and spec.landmark_output == "lm" and spec.points == 68


def test_pose_only_refused_where_not_allowed(tiny_model) -> None:
    path = tiny_model(outputs=(("angles", 3),), size=64)
    with pytest.raises(InputError, match="a pose-only model .*'angles'.*evaluates landmark models only"):
        resolve_spec(path, overrides={"pose_output": "angles"})


def test_box_scales_per_box_source() -> None:
    spec = ModelSpec.from_dict({"box_scale": 1.3, "box_scales": {"detector": 1.0, "landmarks": 1.2}})
    assert spec.box_scales == (("detector", 1.0), ("landmarks", 1.2))
    assert spec.scale_for("detector") == 1.0 and spec.scale_for("landmarks") == 1.2 and spec.scale_for("file") == 1.3
    assert spec.to_dict()["box_scales"] == {"detector": 1.0, "landmarks": 1.2}
    assert ModelSpec.from_dict(spec.to_dict()) == spec and ModelSpec().box_scales is None
    assert spec.with_overrides(box_scales={"file": 1.1}).scale_for("file") == 1.1
    with pytest.raises(InputError, match="unknown box source 'detecter'.*did you mean 'detector'"):
        ModelSpec.from_dict({"box_scales": {"detecter": 1.0}})
    for bad in ({"detector": 0}, {"detector": "big"}, [1.0], {}):
        with pytest.raises(InputError, match="model spec field 'box_scales': expected an object"):
            ModelSpec.from_dict({"box_scales": bad})
