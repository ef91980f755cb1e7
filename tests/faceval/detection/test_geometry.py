"""IoU, hard NMS and GT-face matching, checked against straightforward independent computations."""

from __future__ import annotations

import numpy as np
import pytest

from faceval.detection.geometry import hard_nms, iou_matrix, landmark_boxes, match_face


def iou_by_hand(a, b) -> float:
    """Plain-Python IoU of two x1y1x2y2 boxes (empty or inverted boxes have no area)."""
    ax1, ay1, ax2, ay2 = map(float, a)
    bx1, by1, bx2, by2 = map(float, b)
    iw = min(ax2, bx2) - max(ax1, bx1)
    ih = min(ay2, by2) - max(ay1, by1)
    inter = iw * ih if iw > 0 and ih > 0 else 0.0
    area_a = max(ax2 - ax1, 0.0) * max(ay2 - ay1, 0.0)
    area_b = max(bx2 - bx1, 0.0) * max(by2 - by1, 0.0)
    union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0


def nms_by_hand(boxes, scores, threshold, top=None):
    """Greedy hard NMS written out: best first, drop any later box overlapping a kept one by > threshold."""
    order = sorted(range(len(scores)), key=lambda k: (-scores[k], k))
    if top is not None:
        order = order[:top]
    kept = []
    for k in order:
        if all(iou_by_hand(boxes[k], boxes[j]) <= threshold for j in kept):
            kept.append(k)
    return kept


def random_boxes(rng, n):
    xy = rng.uniform(0, 100, size=(n, 2))
    wh = rng.uniform(1, 40, size=(n, 2))
    return np.concatenate([xy, xy + wh], axis=1)


def test_iou_matrix_matches_hand_computation():
    rng = np.random.default_rng(1)
    a, b = random_boxes(rng, 30), random_boxes(rng, 25)
    b[0] = a[0]  # identical -> 1
    b[1] = [a[1, 0] + 1, a[1, 1] + 1, a[1, 2] - 0.5, a[1, 3] - 0.5]  # contained
    b[2] = [500, 500, 510, 510]  # disjoint -> 0
    b[3] = [10, 10, 10, 20]  # zero width
    got = iou_matrix(a, b)
    want = np.array([[iou_by_hand(x, y) for y in b] for x in a])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert got[0, 0] == pytest.approx(1.0)
    assert (got[:, 2] == 0).all() and (got[:, 3] == 0).all()
    # two unit squares overlapping by half: 0.5 / 1.5
    assert iou_matrix([0, 0, 1, 1], [0.5, 0, 1.5, 1])[0, 0] == pytest.approx(1 / 3)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5])
def test_hard_nms_matches_greedy_by_hand(seed, threshold):
    rng = np.random.default_rng(seed)
    boxes = random_boxes(rng, 60)
    scores = rng.uniform(0, 1, size=60)
    scores[5] = scores[7]  # a tie keeps the earlier box first
    assert hard_nms(boxes, scores, threshold).tolist() == nms_by_hand(boxes, scores, threshold)
    assert hard_nms(boxes, scores, threshold, candidate_size=10).tolist() == nms_by_hand(boxes, scores, threshold, 10)


def test_hard_nms_suppresses_only_above_the_threshold():
    # IoU of these two is exactly 1/3: kept at threshold 1/3 (suppression is IoU > threshold), dropped below it
    boxes = np.array([[0, 0, 1, 1], [0.5, 0, 1.5, 1]], dtype=np.float64)
    scores = np.array([0.9, 0.8])
    assert hard_nms(boxes, scores, 0.34).tolist() == [0, 1]
    assert hard_nms(boxes, scores, 0.33).tolist() == [0]
    assert hard_nms(np.zeros((0, 4)), np.zeros(0), 0.3).tolist() == []


def test_landmark_boxes_ignore_missing_points():
    pts = np.array([[[1, 2], [5, 9], [np.nan, 100]], [[np.nan, np.nan]] * 3], dtype=np.float64)
    out = landmark_boxes(pts)
    np.testing.assert_array_equal(out[0], [1, 2, 5, 9])
    assert np.isnan(out[1]).all()


def test_match_takes_highest_iou_and_refuses_below_min_iou():
    gt = np.array([10.0, 10.0, 50.0, 50.0])
    dets = np.array([[12, 12, 52, 52], [10, 10, 50, 50], [200, 200, 240, 240]], dtype=np.float64)
    scores = np.array([0.99, 0.8, 0.95])
    m = match_face(gt, dets, scores)
    assert m.matched and m.iou == pytest.approx(1.0) and m.score == 0.8  # highest IoU, not highest score
    np.testing.assert_array_equal(m.box, dets[1])
    far = match_face(gt, dets[2:], scores[2:])
    assert not far.matched and np.isnan(far.box).all() and far.iou == 0.0
    # a detection overlapping by IoU q matches at min_iou = q but not just above it
    half = np.array([[30.0, 10.0, 70.0, 50.0]])
    q = iou_by_hand(gt, half[0])
    assert match_face(gt, half, [0.9], min_iou=q).matched
    assert not match_face(gt, half, [0.9], min_iou=q + 1e-9).matched
    assert not match_face(gt, np.zeros((0, 4)), np.zeros(0)).matched
