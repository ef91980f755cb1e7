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
