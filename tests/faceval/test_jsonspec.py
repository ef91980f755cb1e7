"""faceval.jsonspec: the one JSON-spec shape of ModelSpec and DetectorSpec (file reading, overrides, messages)."""

from __future__ import annotations

from pathlib import Path

import pytest

from faceval.errors import InputError
from faceval.models.spec import ModelSpec, load_spec_file


def test_bad_json_in_a_model_or_detector_spec_file_names_file_and_line(tmp_path: Path) -> None:
    """Both specs read their files the one way (faceval.jsonspec): ``path:line:`` as every faceval message."""
    from faceval.detection.spec import load_detector_spec_file

    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "mean": 0.5,\n  "std": ,\n}\n', encoding="utf-8")
    for load in (load_spec_file, load_detector_spec_file):
        with pytest.raises(InputError) as err:
            load(bad)
        assert str(err.value).startswith(f"{bad}:3: not valid JSON: Expecting value (column 10)"), str(err.value)
    with pytest.raises(InputError, match="^a model spec must be a JSON object, got list"):
        ModelSpec.from_dict([1])  # type: ignore[arg-type]


def test_overrides_keep_the_class_and_validate() -> None:
    from faceval.detection.spec import DetectorSpec

    det = DetectorSpec().with_overrides(nms_iou=0.4, score_threshold=None)
    assert type(det) is DetectorSpec and det.nms_iou == 0.4 and det.score_threshold == 0.7
    with pytest.raises(InputError, match="unknown detector spec field 'nms'"):
        DetectorSpec().with_overrides(nms=0.4)
    with pytest.raises(InputError, match="model spec field 'box_scale'"):
        ModelSpec().with_overrides(box_scale=-1)
