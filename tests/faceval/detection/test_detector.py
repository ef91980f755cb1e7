"""The face detector: its spec, the bundled UltraFace model, and real detection on the 330 HELEN photos."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from faceval.detection import (
    DetectorSpec,
    FaceDetector,
    decode_detections,
    default_detector_path,
    detect_face_boxes,
    load_detector_spec_file,
)
from faceval.errors import InputError
from faceval.io.pts import read_pts
from tests.conftest import shared_path

HELEN = ("300w_helen_test", "helen", "testset")


def test_default_spec_is_ultraface_contract():
    # The UltraFace contract of ../shared/data/README.md: 320x240 RGB, (pixel - 127)/128, scores > 0.7, NMS IoU 0.3
    spec = DetectorSpec()
    assert spec.input_size == (320, 240) and spec.color == "RGB" and spec.layout == "NCHW"
    assert spec.mean == (127.0,) * 3 and spec.std == (128.0,) * 3
    assert spec.score_threshold == 0.7 and spec.nms_iou == 0.3
    assert (spec.scores_output, spec.boxes_output, spec.face_column) == ("scores", "boxes", 1)
    assert DetectorSpec.from_dict(json.loads(spec.to_json())) == spec


@pytest.mark.parametrize(
    "data, message",
    [
        ({"input_size": [320]}, "input_size"),
        ({"score_treshold": 0.5}, "unknown detector spec field 'score_treshold' \\(did you mean 'score_threshold'"),
        ({"nms_iou": 1.5}, "'nms_iou' must lie in \\[0, 1\\)"),
        ({"std": [1, 0, 1]}, "'std' must be positive"),
        ({"color": "RGBA"}, "'color': unknown value"),
        ({"candidate_size": 0}, "candidate_size"),
        ({"draft": "yes"}, "'draft' must be true or false"),
    ],
)
def test_spec_rejects_bad_fields(data, message):
    with pytest.raises(InputError, match=message):
        DetectorSpec.from_dict(data)


def test_spec_file(tmp_path):
    path = tmp_path / "det.json"
    path.write_text('{"score_threshold": 0.5,\n "nms_iou": 0.4}')
    spec = load_detector_spec_file(path)
    assert spec.score_threshold == 0.5 and spec.nms_iou == 0.4 and spec.input_size == (320, 240)
    path.write_text('{"score_threshold": 0.5,\n "nms_iou": }')
    with pytest.raises(InputError, match=r"det.json:2: not valid JSON"):
        load_detector_spec_file(path)


def test_decode_thresholds_nms_and_maps_to_point_frame():
    spec = DetectorSpec()
    unit = np.array([[0.1, 0.2, 0.5, 0.6], [0.11, 0.2, 0.5, 0.6], [0.6, 0.1, 0.9, 0.4], [0.0, 0.0, 1.0, 1.0]])
    face = np.array([0.9, 0.95, 0.8, 0.7])  # the last one is not > 0.7; the first is suppressed by the second
    scores = np.stack([1 - face, face], axis=1)[None]
    d = decode_detections(scores, unit[None], spec, extent=(640.0, 480.0))
    np.testing.assert_allclose(d.scores, [0.95, 0.8])
    # unit u -> continuous u * W -> point frame (pixel centres at integers) u * W - 0.5
    np.testing.assert_allclose(d.boxes, [[0.11 * 640 - 0.5, 0.2 * 480 - 0.5, 0.5 * 640 - 0.5, 0.6 * 480 - 0.5],
                                         [0.6 * 640 - 0.5, 0.1 * 480 - 0.5, 0.9 * 640 - 0.5, 0.4 * 480 - 0.5]])


def test_bundled_model_is_ultraface_with_its_licence():
    path = default_detector_path()
    assert path.is_file() and (path.parent / "LICENSE").is_file()
    assert "MIT License" in (path.parent / "LICENSE").read_text()
    shared = shared_path("models", "ultraface", "version-RFB-320.onnx")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == hashlib.sha256(shared.read_bytes()).hexdigest()


def test_preprocessing_is_the_spec_formula():
    from PIL import Image

    det = FaceDetector(device="cpu")
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, size=(100, 130, 3), dtype=np.uint8), "RGB")
    x = det.to_input(img)
    resized = np.asarray(img.resize((320, 240), Image.Resampling.BILINEAR), dtype=np.float64)
    want = ((resized - 127.0) / 128.0).transpose(2, 0, 1)[None]
    assert x.shape == (1, 3, 240, 320) and x.dtype == np.float32
    np.testing.assert_allclose(x, want, atol=1e-6)


def test_a_model_that_does_not_fit_the_spec_is_refused_up_front():
    from importlib import resources

    landmark_model = Path(str(resources.files("faceval.data").joinpath("models", "PFLD_GhostOne_112_1_opt_sim.onnx")))
    with pytest.raises(InputError, match=r"detector input shape \[1, 3, 112, 112\] does not fit the detector spec"):
        FaceDetector(landmark_model, device="cpu")
    with pytest.raises(InputError, match="detector has no output 'conf'"):
        FaceDetector(spec=DetectorSpec(scores_output="conf"), device="cpu")


def test_image_without_a_face_is_a_miss(tmp_path):
    from PIL import Image

    # a smooth grey gradient: nothing face-like; the GT "face" sits in its middle
    yy, xx = np.mgrid[0:480, 0:640]
    grey = (60 + 0.2 * xx + 0.1 * yy).astype(np.uint8)
    path = tmp_path / "wall.png"
    Image.fromarray(np.repeat(grey[:, :, None], 3, axis=2), "RGB").save(path)
    det = FaceDetector(device="cpu")
    assert len(det.detect_file(path)) == 0
    gt = np.array([[[250.0, 150.0], [390.0, 150.0], [320.0, 330.0]]])
    boxes = detect_face_boxes([path, None], np.concatenate([gt, gt]), det)
    assert boxes.matched.tolist() == [False, False] and boxes.no_image.tolist() == [False, True]
    assert boxes.n_missed == 2 and boxes.detection_rate() == 0.0
    assert np.isnan(boxes.boxes).all()


@pytest.mark.slow
def test_every_helen_face_is_detected_and_matched():
    base = shared_path(*HELEN)
    images = sorted(base.glob("*.jpg"))
    assert len(images) == 330
    landmarks = np.stack([read_pts(p.with_suffix(".pts")) for p in images])
    det = FaceDetector(device="cpu")
    found = detect_face_boxes(images, landmarks, det)
    assert found.matched.all() and found.n_missed == 0 and found.detection_rate() == 1.0
    assert found.n_images == 330 and found.n_detected == 330
    # independently: each matched box overlaps its GT landmark box (min/max of the points) by IoU >= 0.3
    for box, pts, reported in zip(found.boxes, landmarks, found.iou):
        gx1, gy1 = pts.min(axis=0)
        gx2, gy2 = pts.max(axis=0)
        iw = min(box[2], gx2) - max(box[0], gx1)
        ih = min(box[3], gy2) - max(box[1], gy1)
        inter = max(iw, 0) * max(ih, 0)
        iou = inter / ((box[2] - box[0]) * (box[3] - box[1]) + (gx2 - gx1) * (gy2 - gy1) - inter)
        assert iou >= 0.3
        assert iou == pytest.approx(reported, rel=1e-9)
    assert np.isfinite(found.scores).all() and (found.scores > 0.7).all()


def test_boxes_equal_an_independent_ultraface_loop_on_real_photos():
    """Without JPEG drafting, FaceDetector gives exactly the boxes of the straightforward loop (tests/.../independent.py)."""
    import onnxruntime as ort
    from PIL import Image

    from tests.faceval.detection.independent import ultraface_boxes

    images = sorted(shared_path(*HELEN).glob("*.jpg"))[:12]
    det = FaceDetector(spec=DetectorSpec(draft=False), device="cpu")
    session = ort.InferenceSession(str(shared_path("models", "ultraface", "version-RFB-320.onnx")),
                                   providers=["CPUExecutionProvider"])
    for path in images:
        ours = det.detect_file(path)
        theirs = ultraface_boxes(session, Image.open(path).convert("RGB"))
        assert len(ours) == len(theirs) >= 1
        np.testing.assert_allclose(ours.boxes, [b for _, b in theirs], atol=1e-3)
        np.testing.assert_allclose(ours.scores, [s for s, _ in theirs], atol=1e-6)


def test_decoding_threads_do_not_change_the_boxes():
    from faceval.datasets import load

    sample = load("sample", None, strict=False)
    det = FaceDetector(device="cpu")
    paths = [*sample.image_paths, sample.image_paths[0]]  # a repeated image is detected once
    lms = np.concatenate([sample.landmarks, sample.landmarks[:1]])
    one = detect_face_boxes(paths, lms, det, workers=1)
    four = detect_face_boxes(paths, lms, det, workers=4)
    np.testing.assert_array_equal(one.boxes, four.boxes)
    assert one.matched.all() and one.n_images == 3 and one.n_detected == 3
