"""A model spec's own box scale per box source (``box_scales``): used unless the user sets ``box_scale``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from faceval_cli.main import main


def _run(capsys, tmp_path: Path, name: str, *args: str) -> tuple[dict, str]:
    capsys.readouterr()
    out = tmp_path / f"{name}.h5"
    code = main(["run", "--no-cache", "--no-progress", "--format", "json", "--out", str(out), *args])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    from faceval.runs.runfile import read_run

    return {"json": json.loads(stdout), "run": read_run(out)}, err


def test_the_spec_scale_of_the_box_source_is_used_unless_box_scale_is_given(tmp_path, capsys) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"box_scales": {"landmarks": 1.4, "detector": 1.0}}))
    default, _ = _run(capsys, tmp_path, "default")
    scaled, err = _run(capsys, tmp_path, "scaled", "--spec", str(spec))
    explicit, _ = _run(capsys, tmp_path, "explicit", "--box-scale", "1.4")
    flag_wins, _ = _run(capsys, tmp_path, "flag", "--spec", str(spec), "--set", "box_scale=1.1")
    assert default["run"].protocol.box_scale == 1.2
    assert scaled["run"].protocol.box_scale == 1.4 and scaled["json"]["protocol"]["box_scale"] == 1.4
    assert "assumed: box scale 1.4 for landmarks boxes (the spec's box_scales)" in err
    assert "box scale 1.2" not in err
    # the crop used 1.4: the same predictions as --box-scale 1.4, not those of 1.2
    np.testing.assert_array_equal(scaled["run"].predictions, explicit["run"].predictions)
    assert not np.allclose(scaled["run"].predictions, default["run"].predictions)
    assert flag_wins["run"].protocol.box_scale == 1.1
    assert scaled["run"].provenance["spec"]["box_scales"] == {"detector": 1.0, "landmarks": 1.4}


def test_a_box_source_the_spec_does_not_list_keeps_box_scale(tmp_path, capsys) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"box_scale": 1.3, "box_scales": {"detector": 1.0}}))
    run, err = _run(capsys, tmp_path, "other", "--spec", str(spec))
    assert run["run"].protocol.box_scale == 1.3 and "box_scales" not in err


def test_detector_boxes_take_the_detector_scale(tmp_path, capsys) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"box_scales": {"landmarks": 1.4, "detector": 1.05}}))
    run, err = _run(capsys, tmp_path, "det", "--spec", str(spec), "--box", "detector", "--cache", str(tmp_path / "c"))
    assert run["run"].protocol.box_source == "detector" and run["run"].protocol.box_scale == 1.05
    assert "box scale 1.05 for detector boxes" in err and "face box from the" not in err
