"""The detector box cache: keyed by image identity and detector identity; a changed image is re-detected."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from faceval.detection import DetectionCache, Detections, FaceDetector, detect_face_boxes
from faceval.pipeline.identity import file_identity


class CountingDetector:
    """Stands in for FaceDetector: one box per image, derived from its pixels, and a call count."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def prepare_file(self, path):
        self.calls.append(str(path))
        return np.asarray(Image.open(path), dtype=np.float64), None

    def run_input(self, a, _extent):
        v = float(a.mean()) / 10.0  # the box moves with the image contents
        return Detections(np.array([[10.0 + v, 10.0, 50.0 + v, 50.0], [0.1, 0.2, 0.30000000000000004, 0.4]]),
                          np.array([0.9, 0.75]))


def write_image(path, value: int) -> None:
    Image.fromarray(np.full((60, 80, 3), value, dtype=np.uint8), "RGB").save(path)


@pytest.fixture
def images(tmp_path):
    paths = []
    for k in range(3):
        p = tmp_path / f"img{k}.png"
        write_image(p, 20 * k)
        paths.append(p)
    return paths


GT = np.array([[[12.0, 12.0], [48.0, 48.0]]] * 3)
KEY = {"model_sha256": "abc", "spec": {"score_threshold": 0.7}}


def test_second_run_comes_from_the_cache_exactly(tmp_path, images):
    det = CountingDetector()
    first = detect_face_boxes(images, GT, det, cache=DetectionCache(tmp_path / "c", KEY))
    assert len(det.calls) == 3 and first.n_detected == 3 and first.n_cached == 0
    again = detect_face_boxes(images, GT, det, cache=DetectionCache(tmp_path / "c", KEY))
    assert len(det.calls) == 3 and again.n_cached == 3 and again.n_detected == 0
    np.testing.assert_array_equal(again.boxes, first.boxes)  # floats round-trip exactly
    cache = DetectionCache(tmp_path / "c", KEY)
    stored = cache.get(file_identity(images[0]))
    assert stored is not None and stored.boxes[1, 2] == 0.30000000000000004


def test_a_changed_image_is_detected_again(tmp_path, images):
    det = CountingDetector()
    detect_face_boxes(images, GT, det, cache=DetectionCache(tmp_path / "c", KEY))
    write_image(images[1], 100)  # new contents, same path
    st = images[1].stat()
    os.utime(images[1], ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    det.calls.clear()
    out = detect_face_boxes(images, GT, det, cache=DetectionCache(tmp_path / "c", KEY))
    assert det.calls == [str(images[1])] and out.n_cached == 2
    assert out.boxes[1, 0] == pytest.approx(10.0 + 10.0)  # the new pixels' box, not the stale one
    assert len(DetectionCache(tmp_path / "c", KEY)) == 3  # the stale entry of that path was replaced
    # only the mtime changing (same bytes) is also a new identity
    os.utime(images[2], ns=(images[2].stat().st_atime_ns, images[2].stat().st_mtime_ns + 5))
    det.calls.clear()
    detect_face_boxes(images, GT, det, cache=DetectionCache(tmp_path / "c", KEY))
    assert det.calls == [str(images[2])]


def test_another_detector_identity_does_not_share_entries(tmp_path, images):
    det = CountingDetector()
    detect_face_boxes(images, GT, det, cache=DetectionCache(tmp_path / "c", KEY))
    det.calls.clear()
    other = {**KEY, "spec": {"score_threshold": 0.5}}
    detect_face_boxes(images, GT, det, cache=DetectionCache(tmp_path / "c", other))
    assert len(det.calls) == 3


def test_real_detector_identity_holds_model_hash_and_spec():
    det = FaceDetector(device="cpu")
    ident = det.identity()
    assert len(ident["model_sha256"]) == 64 and ident["spec"]["nms_iou"] == 0.3
    a = DetectionCache("/nonexistent-dir-not-created", ident)
    b = DetectionCache("/nonexistent-dir-not-created", {**ident, "model_sha256": "0" * 64})
    assert a.path != b.path


def test_corrupt_cache_file_is_ignored_and_replaced(tmp_path, images):
    det = CountingDetector()
    cache = DetectionCache(tmp_path / "c", KEY)
    detect_face_boxes(images, GT, det, cache=cache)
    cache.path.write_text('{"format": 2, "key": ')
    det.calls.clear()
    fresh = DetectionCache(tmp_path / "c", KEY)
    assert len(fresh) == 0 and any("ignored" in w for w in fresh.warnings)
    out = detect_face_boxes(images, GT, det, cache=fresh)
    assert len(det.calls) == 3 and out.warnings
    assert len(DetectionCache(tmp_path / "c", KEY)) == 3


def test_entries_saved_by_another_run_are_kept(tmp_path, images):
    det = CountingDetector()
    a = DetectionCache(tmp_path / "c", KEY)
    b = DetectionCache(tmp_path / "c", KEY)
    detect_face_boxes(images[:1], GT[:1], det, cache=a)
    detect_face_boxes(images[1:], GT[1:], det, cache=b)  # b saves after a: a's entry must survive
    assert len(DetectionCache(tmp_path / "c", KEY)) == 3


def test_an_image_rewritten_with_its_old_size_and_mtime_is_detected_again(tmp_path, images):
    """Same bytes count, mtime set back (``touch -d``, a restore tool): the crop cache's file identity
    (device, inode, ctime too) still tells the new file apart, and the detection cache uses the same one."""
    det = CountingDetector()
    detect_face_boxes(images, GT, det, cache=DetectionCache(tmp_path / "c", KEY))
    before = images[1].stat()  # value 20
    replacement = tmp_path / "new.png"
    write_image(replacement, 100)
    assert replacement.stat().st_size == before.st_size  # constant PNGs of non-zero value: 154 bytes
    os.replace(replacement, images[1])  # another file (inode) under the old name
    os.utime(images[1], ns=(before.st_atime_ns, before.st_mtime_ns))
    det.calls.clear()
    out = detect_face_boxes(images, GT, det, cache=DetectionCache(tmp_path / "c", KEY))
    assert det.calls == [str(images[1])] and out.n_cached == 2
    assert out.boxes[1, 0] == pytest.approx(10.0 + 10.0)  # the new pixels' box (mean 100 / 10), not the stale one
