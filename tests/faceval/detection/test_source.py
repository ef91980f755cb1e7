"""Box sources file and detector: one box per sample or a counted, explained failure; identity recorded."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from PIL import Image

from faceval.datasets import load
from faceval.detection.source import (
    MISSED_DETECTION,
    MISSING_BOX,
    BoxSourceRequest,
    box_source_stats,
    resolve_boxes,
)
from faceval.errors import InputError


@pytest.fixture
def sample():
    return load("sample", None, strict=False)  # 3 real photos with official .pts (bundled)


@pytest.mark.parametrize(
    "request_, message",
    [
        (BoxSourceRequest("file"), "--box file needs --boxes FILE"),
        (BoxSourceRequest("detector", boxes_file="b.csv"), "--boxes/--boxes-field apply to --box file only"),
        (BoxSourceRequest("landmarks", detector="d.onnx"), "--detector applies to --box detector only"),
        (BoxSourceRequest("file", boxes_file="b.csv", min_iou=0.5), "--detector-iou applies to --box detector only"),
        (BoxSourceRequest("detector", min_iou=0.0), "--detector-iou must lie in \\(0, 1\\]"),
        (BoxSourceRequest("detectr"), "unknown box source 'detectr'"),
    ],
)
def test_inconsistent_settings_are_refused(request_, message):
    with pytest.raises(InputError, match=message):
        request_.check()


def test_file_source_boxes_reasons_and_identity(tmp_path, sample):
    path = tmp_path / "boxes.csv"
    path.write_text("sample_id,x,y,w,h\nbreakingbad.jpg,10,20,100,120\ntakeo.ppm,5,6,50,60\n")
    req = BoxSourceRequest("file", boxes_file=path)
    out = resolve_boxes(req, sample.sample_ids, sample.image_paths, sample.landmarks)
    np.testing.assert_array_equal(out.boxes[0], [10, 20, 110, 140])
    np.testing.assert_array_equal(out.boxes[2], [5, 6, 55, 66])
    assert np.isnan(out.boxes[1]).all()
    assert out.reasons == {1: f"{MISSING_BOX} for this sample in boxes.csv"}
    proto = out.protocol()
    assert proto == {"box_file": path.name, "box_file_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                     "box_file_format": "csv", "box_file_field": None}
    with pytest.raises(InputError, match="sample 'einstein.jpg' has no box in the box file \\(--strict\\)"):
        resolve_boxes(req, sample.sample_ids, sample.image_paths, sample.landmarks, strict=True)
    # another file (other boxes) is another identity for the crop cache
    before = out.cache_identity()
    path.write_text("sample_id,x,y,w,h\nbreakingbad.jpg,11,20,100,120\ntakeo.ppm,5,6,50,60\n")
    assert resolve_boxes(req, sample.sample_ids, sample.image_paths, sample.landmarks).cache_identity() != before


def test_detector_source_on_real_photos_and_a_faceless_one(tmp_path, sample):
    wall = tmp_path / "wall.png"
    yy, xx = np.mgrid[0:300, 0:400]
    Image.fromarray(np.repeat((80 + 0.2 * xx + 0.1 * yy).astype(np.uint8)[:, :, None], 3, axis=2)).save(wall)
    ids = [*sample.sample_ids, "wall.png", "gone.jpg"]
    paths = [*sample.image_paths, wall, None]
    lms = np.concatenate([sample.landmarks, sample.landmarks[:1] * 0.3 + 50, sample.landmarks[:1]])
    req = BoxSourceRequest("detector")
    out = resolve_boxes(req, ids, paths, lms, device="cpu", cache_dir=tmp_path / "cache")
    assert np.isfinite(out.boxes[:3]).all()  # the three real faces are found
    assert np.isnan(out.boxes[3:]).all()
    assert list(out.reasons) == [3] and out.reasons[3].startswith(MISSED_DETECTION)  # gone.jpg: the engine's case
    proto = out.protocol()
    assert proto["detector_min_iou"] == 0.3 and len(proto["detector_model_sha256"]) == 64
    assert json.loads(proto["detector_spec"])["score_threshold"] == 0.7
    assert all(isinstance(v, (str, int, float)) for v in proto.values())  # flat JSON scalars
    assert out.detector_seconds is not None and out.provenance["detector_images_detected"] == 4
    again = resolve_boxes(req, ids, paths, lms, device="cpu", cache_dir=tmp_path / "cache")
    assert again.provenance["detector_images_cached"] == 4
    np.testing.assert_array_equal(again.boxes, out.boxes)
    with pytest.raises(InputError, match=f"wall.png: {MISSED_DETECTION}.*--strict"):
        resolve_boxes(req, ids, paths, lms, device="cpu", cache_dir=tmp_path / "cache", strict=True)


def test_stats_recount_from_failure_reasons():
    reasons = np.array(["", f"{MISSED_DETECTION} (x)", "image file missing", "", f"{MISSED_DETECTION} (y)"],
                       dtype=object)
    failed = np.array([False, True, True, False, True])
    stats = box_source_stats("detector", reasons, failed)
    # 2 missed of the 4 faces whose image could be searched (the missing image is not a detector miss)
    assert stats == {"n_missed_detections": 2, "detection_rate": 0.5}
    file_reasons = np.array(["", f"{MISSING_BOX} for this sample in b.csv", ""], dtype=object)
    assert box_source_stats("file", file_reasons, np.array([False, True, False])) == {"n_missing_boxes": 1}
    assert box_source_stats("landmarks", file_reasons, np.zeros(3, bool)) == {}
