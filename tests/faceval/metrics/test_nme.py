"""NME and normalisers: vectorised code against per-image Python loops, and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faceval.errors import InputError
from faceval.metrics import nme as nme_mod
from faceval.metrics import (
    NORMALIZERS,
    compute_normalizers,
    dataset_nme,
    per_image_nme,
    per_landmark_nme,
    point_errors,
    pooled_nme,
)
from faceval.schemes import Scheme

SCHEME = Scheme("300w", 68, {}, [], (36, 45), (list(range(36, 42)), list(range(42, 48))))
SCHEME_NO_EYES = Scheme("aflw", 19, {}, [], None, None)


def random_faces(rng: np.random.Generator, n: int, k: int = 68, noise: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    gt = rng.uniform(50, 250, size=(n, k, 2))
    pred = gt + rng.normal(0, noise, size=gt.shape)
    return pred, gt


# ---- independent re-computation with plain Python loops -------------------------------------


def loop_normalizer(g: list[list[float]], kind: str) -> float:
    if kind == "inter-ocular":
        a, b = g[36], g[45]
        return math.hypot(a[0] - b[0], a[1] - b[1])
    if kind == "inter-pupil":
        lx = sum(g[i][0] for i in range(36, 42)) / 6
        ly = sum(g[i][1] for i in range(36, 42)) / 6
        rx = sum(g[i][0] for i in range(42, 48)) / 6
        ry = sum(g[i][1] for i in range(42, 48)) / 6
        return math.hypot(lx - rx, ly - ry)
    xs = [p[0] for p in g]
    ys = [p[1] for p in g]
    w, h = max(xs) - min(xs), max(ys) - min(ys)
    if kind == "bbox":
        return math.sqrt(w * h)
    if kind == "diagonal":
        return math.sqrt(w * w + h * h)
    raise AssertionError(kind)


def loop_nme(p: list, g: list, d: float, vis: list[bool] | None = None) -> float:
    errs = []
    for k in range(len(g)):
        if vis is not None and not vis[k]:
            continue
        errs.append(math.hypot(p[k][0] - g[k][0], p[k][1] - g[k][1]))
    return sum(errs) / len(errs) / d


@pytest.mark.parametrize("kind", ["inter-ocular", "inter-pupil", "bbox", "diagonal"])
def test_normalizers_match_loop(kind: str) -> None:
    rng = np.random.default_rng(1)
    _, gt = random_faces(rng, 40)
    got = compute_normalizers(gt, kind, SCHEME)
    want = [loop_normalizer(g.tolist(), kind) for g in gt]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_box_size_normalizer() -> None:
    gt = np.zeros((3, 19, 2))
    sizes = np.array([10.0, 20.0, 30.0])
    np.testing.assert_array_equal(compute_normalizers(gt, "box-size", box_sizes=sizes), sizes)
    with pytest.raises(InputError, match="box_sizes"):
        compute_normalizers(gt, "box-size")
    with pytest.raises(InputError, match="2 values for 3 images"):
        compute_normalizers(gt, "box-size", box_sizes=sizes[:2])


def test_normalizer_errors() -> None:
    gt = np.zeros((2, 68, 2))
    with pytest.raises(InputError, match="did you mean 'inter-ocular'"):
        compute_normalizers(gt, "interocular", SCHEME)
    with pytest.raises(InputError, match="eye corners"):
        compute_normalizers(np.zeros((2, 19, 2)), "inter-ocular", SCHEME_NO_EYES)
    with pytest.raises(InputError, match="pupil"):
        compute_normalizers(np.zeros((2, 19, 2)), "inter-pupil", SCHEME_NO_EYES)
    with pytest.raises(InputError, match="eye corners"):
        compute_normalizers(gt, "inter-ocular", None)
    with pytest.raises(InputError, match="out of range"):
        compute_normalizers(np.zeros((2, 19, 2)), "inter-ocular", SCHEME)


def test_every_normalizer_matches_its_definition() -> None:
    """Each name in NORMALIZERS gives the documented d_i, computed here independently."""
    rng = np.random.default_rng(5)
    gt = rng.uniform(20, 180, size=(4, 68, 2))
    sizes = np.array([50.0, 60.0, 70.0, 80.0])
    w = gt[..., 0].max(axis=1) - gt[..., 0].min(axis=1)
    h = gt[..., 1].max(axis=1) - gt[..., 1].min(axis=1)
    expected = {
        "inter-ocular": np.linalg.norm(gt[:, 36] - gt[:, 45], axis=1),
        "inter-pupil": np.linalg.norm(gt[:, 36:42].mean(axis=1) - gt[:, 42:48].mean(axis=1), axis=1),
        "bbox": np.sqrt(w * h),
        "diagonal": np.sqrt(w ** 2 + h ** 2),
        "box-size": sizes,
        "box-edge": 0.5 * (w + h),  # menpofit bb_avg_edge_length
        "box-height": h,  # SPIGA 'height'
    }
    assert set(NORMALIZERS) == set(expected)  # every name has a definition checked here
    for name in NORMALIZERS:
        got = compute_normalizers(gt, name, SCHEME, box_sizes=sizes)
        np.testing.assert_allclose(got, expected[name], rtol=1e-12, err_msg=name)


def test_wflw_single_point_pupils() -> None:
    scheme = Scheme("wflw", 98, {}, [], (60, 72), ([96], [97]))
    rng = np.random.default_rng(2)
    gt = rng.uniform(0, 100, size=(5, 98, 2))
    want = np.linalg.norm(gt[:, 96] - gt[:, 97], axis=1)
    np.testing.assert_allclose(compute_normalizers(gt, "inter-pupil", scheme), want, rtol=1e-12)


@pytest.mark.parametrize("with_visible", [False, True])
def test_per_image_nme_matches_loop(with_visible: bool) -> None:
    rng = np.random.default_rng(3)
    pred, gt = random_faces(rng, 57)
    d = compute_normalizers(gt, "inter-ocular", SCHEME)
    vis = rng.random((57, 68)) > 0.3 if with_visible else None
    if vis is not None:
        vis[:, 0] = True  # at least one visible point per image
    got = per_image_nme(pred, gt, d, visible=vis)
    want = [
        loop_nme(pred[i].tolist(), gt[i].tolist(), float(d[i]), None if vis is None else vis[i].tolist())
        for i in range(57)
    ]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_chunking_does_not_change_results(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(4)
    pred, gt = random_faces(rng, 300)
    d = compute_normalizers(gt, "bbox")
    pred[17, 5, 0] = np.nan
    whole = per_image_nme(pred, gt, d)
    monkeypatch.setattr(nme_mod, "_CHUNK_POINTS", 68 * 7)  # 7 images per chunk, ragged end
    np.testing.assert_array_equal(per_image_nme(pred, gt, d), whole)


def test_pooled_and_per_landmark_match_loop() -> None:
    rng = np.random.default_rng(5)
    pred, gt = random_faces(rng, 33)
    d = compute_normalizers(gt, "bbox")
    vis = rng.random((33, 68)) > 0.2
    vis[:, 3] = True
    num = den = 0.0
    sums = [0.0] * 68
    cnts = [0] * 68
    for i in range(33):
        for k in range(68):
            if vis[i, k]:
                e = math.hypot(*(pred[i, k] - gt[i, k]))
                num += e
                den += d[i]
                sums[k] += e / d[i]
                cnts[k] += 1
    assert pooled_nme(pred, gt, d, visible=vis) == pytest.approx(num / den, rel=1e-12)
    np.testing.assert_allclose(per_landmark_nme(pred, gt, d, visible=vis), [s / c for s, c in zip(sums, cnts)], rtol=1e-12)


def test_per_landmark_mean_equals_dataset_nme_when_all_visible() -> None:
    rng = np.random.default_rng(6)
    pred, gt = random_faces(rng, 20)
    d = compute_normalizers(gt, "inter-ocular", SCHEME)
    pred[4, 10] = np.inf  # a failure is left out of both
    per_img = per_image_nme(pred, gt, d)
    assert np.mean(per_landmark_nme(pred, gt, d)) == pytest.approx(dataset_nme(per_img), rel=1e-12)


def test_point_errors() -> None:
    pred = np.array([[[3.0, 4.0], [0.0, 0.0]]])
    gt = np.zeros((1, 2, 2))
    np.testing.assert_array_equal(point_errors(pred, gt), [[5.0, 0.0]])


# ---- failures and bad input -----------------------------------------------------------------


def test_nonfinite_prediction_is_inf_never_nan() -> None:
    rng = np.random.default_rng(7)
    pred, gt = random_faces(rng, 6, k=5)
    d = np.ones(6) * 50
    pred[1, 2, 0] = np.nan
    pred[2, 0, 1] = np.inf
    pred[3, 4, 0] = -np.inf
    vis = np.ones((6, 5), dtype=bool)
    vis[4, 1] = False
    pred[4, 1, 1] = np.nan  # non-finite at an occluded point: still a failure
    for v in (None, vis):
        out = per_image_nme(pred, gt, d, visible=v)
        assert not np.isnan(out).any()
        assert np.isinf(out[[1, 2, 3]]).all()
        assert np.isfinite(out[[0, 5]]).all()
    assert np.isinf(per_image_nme(pred, gt, d, visible=vis)[4])
    assert pooled_nme(pred, gt, d) == np.inf


def test_occluded_nan_ground_truth_is_allowed_with_visible() -> None:
    pred = np.array([[[1.0, 1.0], [5.0, 5.0]]])
    gt = np.array([[[0.0, 1.0], [np.nan, np.nan]]])
    vis = np.array([[True, False]])
    assert per_image_nme(pred, gt, np.array([2.0]), visible=vis)[0] == pytest.approx(0.5)
    with pytest.raises(InputError, match="ground truth of sample index 0"):
        per_image_nme(pred, gt, np.array([2.0]))


@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan, np.inf])
def test_bad_normalizer_names_sample(bad: float) -> None:
    pred = np.zeros((3, 2, 2))
    d = np.array([1.0, bad, 1.0])
    with pytest.raises(InputError, match="sample index 1"):
        per_image_nme(pred, pred, d)
    with pytest.raises(InputError, match="sample 'img_b.jpg' \\(index 1\\)"):
        per_image_nme(pred, pred, d, sample_ids=["img_a.jpg", "img_b.jpg", "img_c.jpg"])
    with pytest.raises(InputError, match="sample index 1"):
        pooled_nme(pred, pred, d)


def test_shape_errors_and_no_visible_points() -> None:
    with pytest.raises(InputError, match="differ in shape"):
        per_image_nme(np.zeros((2, 3, 2)), np.zeros((2, 4, 2)), np.ones(2))
    with pytest.raises(InputError, match="3 values for 2 images"):
        per_image_nme(np.zeros((2, 3, 2)), np.zeros((2, 3, 2)), np.ones(3))
    vis = np.array([[True, True, True], [False, False, False]])
    with pytest.raises(InputError, match="sample index 1 has no visible points"):
        per_image_nme(np.zeros((2, 3, 2)), np.zeros((2, 3, 2)), np.ones(2), visible=vis)


def test_float32_inputs() -> None:
    rng = np.random.default_rng(8)
    pred, gt = random_faces(rng, 10)
    d = compute_normalizers(gt, "bbox")
    got = per_image_nme(pred.astype(np.float32), gt.astype(np.float32), d)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, per_image_nme(pred, gt, d), rtol=1e-5)


def test_dataset_nme_excludes_failures() -> None:
    assert dataset_nme(np.array([0.1, 0.3, np.inf])) == pytest.approx(0.2)
    assert dataset_nme(np.array([np.inf, np.inf])) == np.inf
    assert math.isnan(dataset_nme(np.array([])))


# ---- properties -----------------------------------------------------------------------------

seeds = st.integers(min_value=0, max_value=2**32 - 1)


@settings(max_examples=40, deadline=None)
@given(seed=seeds, n=st.integers(1, 30), k=st.integers(2, 12))
def test_perfect_predictions_give_zero(seed: int, n: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    gt = rng.uniform(-500, 500, size=(n, k, 2))
    d = compute_normalizers(gt, "diagonal")
    d = np.where(d > 0, d, 1.0)
    assert np.all(per_image_nme(gt.copy(), gt, d) == 0)
    assert pooled_nme(gt.copy(), gt, d) == 0


@settings(max_examples=40, deadline=None)
@given(seed=seeds, n=st.integers(1, 30), scale=st.floats(1e-3, 1e3))
def test_nme_invariant_to_joint_scaling(seed: int, n: int, scale: float) -> None:
    rng = np.random.default_rng(seed)
    pred, gt = random_faces(rng, n)
    for kind in ("inter-ocular", "inter-pupil", "bbox", "diagonal"):
        base = per_image_nme(pred, gt, compute_normalizers(gt, kind, SCHEME))
        scaled = per_image_nme(pred * scale, gt * scale, compute_normalizers(gt * scale, kind, SCHEME))
        np.testing.assert_allclose(scaled, base, rtol=1e-9)


@settings(max_examples=40, deadline=None)
@given(seed=seeds, n=st.integers(2, 30))
def test_nme_does_not_depend_on_sample_order(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    pred, gt = random_faces(rng, n)
    d = compute_normalizers(gt, "bbox")
    perm = rng.permutation(n)
    base = per_image_nme(pred, gt, d)
    np.testing.assert_array_equal(per_image_nme(pred[perm], gt[perm], d[perm]), base[perm])
    assert pooled_nme(pred[perm], gt[perm], d[perm]) == pytest.approx(pooled_nme(pred, gt, d), rel=1e-12)
    np.testing.assert_allclose(per_landmark_nme(pred[perm], gt[perm], d[perm]), per_landmark_nme(pred, gt, d), rtol=1e-12)


def test_threaded_chunks_are_bit_identical_and_raise_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(9)
    pred, gt = random_faces(rng, 500, k=20)
    d = compute_normalizers(gt, "bbox")
    vis = rng.random((500, 20)) > 0.2
    vis[:, 0] = True
    pred[123, 4, 1] = np.nan
    monkeypatch.setattr(nme_mod, "_CHUNK_POINTS", 20 * 9)
    monkeypatch.setattr(nme_mod, "_MAX_THREADS", 1)
    seq = [per_image_nme(pred, gt, d, visible=v) for v in (None, vis)]
    seq_lm = per_landmark_nme(pred, gt, d, visible=vis)
    seq_pooled = pooled_nme(pred, gt, d, visible=vis)
    monkeypatch.setattr(nme_mod, "_MAX_THREADS", 3)
    monkeypatch.setattr(nme_mod, "_PARALLEL_MIN_POINTS", 0)
    for v, want in zip((None, vis), seq):
        np.testing.assert_array_equal(per_image_nme(pred, gt, d, visible=v), want)
    np.testing.assert_array_equal(per_landmark_nme(pred, gt, d, visible=vis), seq_lm)
    assert pooled_nme(pred, gt, d, visible=vis) == seq_pooled == np.inf
    gt_bad = gt.copy()
    gt_bad[400, 2, 0] = np.nan
    gt_bad[450, 2, 0] = np.nan
    with pytest.raises(InputError, match="sample index 400"):
        per_image_nme(pred, gt_bad, d)
