"""Crop transform: exact inverse, crop construction, resampling agrees with the point map."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faceval.pipeline.transform import (
    RESAMPLE_FILTERS,
    CropBox,
    crop_and_resize,
    face_crop,
    face_crops,
    to_image,
    to_input,
)


def test_face_crop_from_landmarks_square_and_scale():
    pts = np.array([[10.0, 20.0], [30.0, 60.0], [20.0, 40.0]])
    c = face_crop(pts, scale=1.2, square=True)
    # box 10..30 x 20..60, centre (20, 40), side max(20, 40) * 1.2 = 48
    assert c == CropBox(20 - 24, 40 - 24, 20 + 24, 40 + 24)
    c2 = face_crop(pts, scale=1.0, square=False)
    assert c2 == CropBox(10, 20, 30, 60)


def test_face_crop_from_box_and_vectorised():
    boxes = np.array([[0.0, 0.0, 10.0, 20.0], [5.0, 5.0, 7.0, 6.0]])
    out = face_crops(boxes=boxes, scale=1.5, square=False)
    np.testing.assert_allclose(out[0], [5 - 7.5, 10 - 15, 5 + 7.5, 10 + 15])
    np.testing.assert_allclose(face_crop(box=boxes[1], scale=1.5, square=False).as_array(), out[1])


def test_face_crops_ignores_nan_points_and_flags_degenerate():
    lm = np.array([[[0.0, 0.0], [np.nan, 5.0], [10.0, 10.0]], [[np.nan, np.nan]] * 3, [[1.0, 1.0]] * 3])
    out = face_crops(lm, scale=1.0)
    np.testing.assert_allclose(out[0], [0, 0, 10, 10])
    assert np.isnan(out[1]).all() and np.isnan(out[2]).all()
    with pytest.raises(ValueError):
        face_crop(lm[2])


def test_roundtrip_batch_1e6():
    rng = np.random.default_rng(0)
    gt = rng.uniform(0, 2000, size=(64, 68, 2))
    crops = face_crops(gt, scale=1.2, square=True)
    for size in [(112, 112), (256, 192)]:
        u = to_input(gt, crops, size)
        back = to_image(u, crops, size)
        assert np.abs(back - gt).max() < 1e-6
    # crop corners map to the input corners; the landmarks lie inside the input
    u = to_input(gt, crops, (112, 112))
    assert (u >= 0).all() and (u <= 112).all()
    corners = np.stack([crops[:, :2], crops[:, 2:]], axis=1)
    np.testing.assert_allclose(to_input(corners, crops, (112, 112)), np.tile([[0, 0], [112, 112]], (64, 1, 1)),
                               atol=1e-9)


def test_single_crop_broadcasts_over_batch():
    pts = np.random.default_rng(1).uniform(0, 100, (3, 5, 2))
    crop = CropBox(10, 20, 90, 120)
    a = to_input(pts, crop, (64, 80))
    b = to_input(pts, np.tile(crop.as_array(), (3, 1)), (64, 80))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a[0, 0], (pts[0, 0] - [10, 20]) * [64 / 80, 80 / 100])


finite = st.floats(-5000, 5000, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(
    pts=st.lists(st.tuples(finite, finite), min_size=1, max_size=20),
    x0=finite, y0=finite,
    w=st.floats(1.0, 4000), h=st.floats(1.0, 4000),
    size=st.tuples(st.integers(16, 512), st.integers(16, 512)),
)
def test_roundtrip_property(pts, x0, y0, w, h, size):
    p = np.array(pts, dtype=np.float64)
    crop = np.array([x0, y0, x0 + w, y0 + h])
    back = to_image(to_input(p, crop, size), crop, size)
    assert np.abs(back - p).max() < 1e-6


def _dot_location(out: np.ndarray) -> np.ndarray:
    g = out.astype(np.float64).sum(axis=2)
    yy, xx = np.mgrid[: g.shape[0], : g.shape[1]]
    # continuous input frame: pixel j has centre j + 0.5
    return np.array([(g * xx).sum() / g.sum() + 0.5, (g * yy).sum() / g.sum() + 0.5])


@pytest.mark.parametrize("resample", [r for r in RESAMPLE_FILTERS if r != "nearest"])
def test_dot_lands_where_the_point_map_says(resample):
    rng = np.random.default_rng(3)
    for _ in range(25):
        img = np.zeros((300, 400, 3), np.uint8)
        px, py = int(rng.integers(0, 400)), int(rng.integers(0, 300))
        img[py, px] = 255
        side = rng.uniform(20, 300)  # both up- and down-scaling to 64 px
        x0, y0 = px - rng.uniform(0.1, 0.9) * side, py - rng.uniform(0.1, 0.9) * side
        crop = (x0, y0, x0 + side, y0 + side * rng.uniform(0.8, 1.2))
        out = crop_and_resize(img, crop, (64, 64), resample=resample)
        expected = to_input(np.array([px, py], float), crop, (64, 64))
        assert np.abs(_dot_location(out) - expected).max() < 0.5


def test_nearest_upscale_dot_block_centre():
    img = np.zeros((50, 50, 3), np.uint8)
    img[20, 30] = 255
    crop = (25.0, 15.0, 35.0, 25.0)  # 10 px -> 80 px: the dot becomes an 8x8 block
    out = crop_and_resize(img, crop, (80, 80), resample="nearest")
    np.testing.assert_allclose(_dot_location(out), to_input(np.array([30.0, 20.0]), crop, (80, 80)), atol=0.5)


def test_pixel_centre_identity_crop():
    """A crop of exactly the image at 1:1 reproduces it (pixel i -> input pixel i)."""
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    crop = (-0.5, -0.5, 52.5, 36.5)  # pixel edges in the point frame
    for r in ("nearest", "bilinear", "bicubic"):
        np.testing.assert_array_equal(crop_and_resize(img, crop, (53, 37), resample=r), img)


def test_crop_outside_image_is_zero_padded():
    img = np.full((100, 100, 3), 200, np.uint8)
    # left half of the crop lies outside the image
    out = crop_and_resize(img, (-100.5, -0.5, 99.5, 99.5), (64, 32))
    assert out.shape == (32, 64, 3)
    # output column j samples Pillow x = -100 + (j + 0.5) * 3.125: outside for j < 32;
    # pixels inside are not darkened by the padding
    assert (out[:, :32] == 0).all()
    assert (out[:, 32:] == 200).all()
    # entirely outside: all black, no crash
    out = crop_and_resize(img, (1000, 1000, 1100, 1100), (16, 16))
    assert (out == 0).all()


def test_crop_leaving_image_matches_inside_part():
    """Pixels sampled inside the image equal those of a crop that stays inside."""
    rng = np.random.default_rng(5)
    img = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    from PIL import Image

    img = np.asarray(Image.fromarray(img).resize((320, 240), Image.Resampling.BILINEAR))  # smooth-ish
    a = crop_and_resize(img, (-40.5, 20.0, 119.5, 180.0), (80, 80), resample="bilinear")
    assert (a[:, :20] == 0).all()
    b = crop_and_resize(img, (-40.5 + 80, 20.0, 119.5 + 80, 180.0), (80, 80), resample="bilinear")
    # same geometry shifted by exactly 40 output pixels
    np.testing.assert_array_equal(a[:, 45:], b[:, 5:40])


def test_antialiased_when_shrinking():
    # fine checkerboard: a non-antialiased sampler aliases it to 0/255, a proper one to grey
    img = ((np.indices((400, 400)).sum(axis=0) % 2) * 255).astype(np.uint8)[:, :, None].repeat(3, 2)
    out = crop_and_resize(img, (0, 0, 399, 399), (40, 40), resample="bilinear")
    assert abs(float(out[5:-5, 5:-5].mean()) - 127.5) < 3
    assert out[5:-5, 5:-5].std() < 3


def test_image_scale_matches_reduced_image():
    """Cropping a 1/4-size image with image_scale=0.25 equals cropping the full one."""
    from PIL import Image

    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (50, 60, 3), dtype=np.uint8)
    big = np.asarray(Image.fromarray(small).resize((240, 200), Image.Resampling.NEAREST))
    crop = (39.5, 27.5, 199.5, 187.5)  # big frame; Pillow box (40, 28, 200, 188) = 4 x (10, 7, 50, 47)
    a = crop_and_resize(big, crop, (20, 20), resample="box")
    b = crop_and_resize(small, crop, (20, 20), resample="box", image_scale=0.25)
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_bad_inputs():
    img = np.zeros((10, 10, 3), np.uint8)
    with pytest.raises(ValueError):
        crop_and_resize(img, (5, 5, 5, 8), (4, 4))
    with pytest.raises(ValueError):
        crop_and_resize(img, (0, 0, 5, 5), (4, 4), resample="cubic-ish")
