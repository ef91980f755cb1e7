"""resolve_spec: settings that cannot fit the model's declared input are refused before any work."""

from __future__ import annotations

import pytest

from faceval.errors import InputError
from faceval.models.resolve import check_input_fits, resolve_spec


def test_input_size_that_does_not_fit_the_input_shape(tiny_model) -> None:
    path = tiny_model(outputs=(("out0", 196),), size=112)
    with pytest.raises(InputError) as err:
        resolve_spec(path, overrides={"input_size": 128})
    msg = str(err.value)
    assert msg.startswith(f"{path}: input_size 128x128 does not fit input 'input' [batch,3,112,112]")
    assert "use --set input_size=[112,112]" in msg
    assert resolve_spec(path, overrides={"input_size": 112}).spec.input_size == (112, 112)


def test_layout_that_does_not_fit_the_input_shape(tiny_model) -> None:
    nchw = tiny_model("nchw.onnx", outputs=(("out0", 196),), size=112)
    with pytest.raises(InputError, match=r"layout NHWC does not fit input 'input' \[batch,3,112,112\]: axis 3 has 112 "
                                         r"channels, not 3; the shape fits layout NCHW \(--set layout=NCHW\)"):
        resolve_spec(nchw, overrides={"layout": "NHWC"})
    nhwc = tiny_model("nhwc.onnx", outputs=(("out0", 196),), size=112, layout="NHWC")
    with pytest.raises(InputError, match=r"layout NCHW does not fit .*axis 1 has 112 channels.*--set layout=NHWC"):
        resolve_spec(nhwc, overrides={"layout": "NCHW", "input_size": 112})


def test_check_input_fits_rules() -> None:
    check_input_fits("x", ["N", 3, "H", "W"], "NCHW", (640, 480))  # symbolic dims fit anything
    check_input_fits("x", [1, 64, 48, 3], "NHWC", (48, 64))  # NHWC: [batch, H, W, 3]
    with pytest.raises(InputError, match=r"input_size 64x48 does not fit input 'x' \[1,64,48,3\] \(layout NHWC: 48x64"):
        check_input_fits("x", [1, 64, 48, 3], "NHWC", (64, 48))
    with pytest.raises(InputError, match="axis 1 has 1 channels, not 3; faceval feeds 3 channels"):
        check_input_fits("x", [1, 1, 112, 112], "NCHW", (112, 112))
    with pytest.raises(InputError, match=r"input 'x' has shape \[1,37632\]: faceval feeds a 4-D image batch"):
        check_input_fits("x", [1, 37632], "NCHW", (112, 112))


def test_spec_written_by_annotate_with_unset_fields_is_resolved_from_the_shapes(tiny_model, tmp_path) -> None:
    """`faceval models annotate` stores every field, the unset ones as null (input_size, points, scheme...).

    A null is "not given": the shapes still decide it (this used to be an internal TypeError)."""
    from faceval.models.metadata import write_spec
    from faceval.models.spec import ModelSpec

    src = tiny_model(outputs=(("out0", 196),), size=112)
    annotated = write_spec(src, ModelSpec(mean=0.5, std=0.5), tmp_path / "annotated.onnx")
    resolved = resolve_spec(annotated)
    assert resolved.spec.input_size == (112, 112)
    assert resolved.spec.points == 98 and resolved.spec.scheme == "wflw"
    assert resolved.spec.mean == (0.5, 0.5, 0.5) and resolved.spec.std == (0.5, 0.5, 0.5)
    assert "input size 112x112 from the input shape" in resolved.assumptions


def test_null_input_size_in_a_spec_file_is_taken_from_the_shapes(tiny_model, tmp_path) -> None:
    path = tiny_model(outputs=(("out0", 196),), size=112)
    spec_file = tmp_path / "s.json"
    spec_file.write_text('{"input_size": null, "mean": 0.5}', encoding="utf-8")
    assert resolve_spec(path, spec_file=spec_file).spec.input_size == (112, 112)


def test_null_in_a_spec_file_clears_the_metadata_value(tiny_model, tmp_path) -> None:
    import json

    path = tiny_model(outputs=(("out0", 196),), size=112,
                      metadata={"faceval.spec": json.dumps({"input_size": [112, 112], "points": 98})})
    spec_file = tmp_path / "s.json"
    spec_file.write_text('{"input_size": null}', encoding="utf-8")
    resolved = resolve_spec(path, spec_file=spec_file)
    assert resolved.spec.input_size == (112, 112)
    assert "input size 112x112 from the input shape" in resolved.assumptions
