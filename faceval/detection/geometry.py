"""Box geometry of face detection: IoU, hard NMS, and matching detections to ground-truth faces.

Boxes are ``x1, y1, x2, y2`` arrays; an empty or inverted box has area 0 (its IoU with anything
is 0). NMS is the hard NMS of UltraFace's reference code: take the best-scoring box, drop every
remaining box whose IoU with it is ``> iou_threshold``, repeat. Ties in score keep the earlier box.

Matching (evaluation spec §6): each ground-truth face gets, among the detections on its image, the
one with the highest IoU against its GT landmark box, provided that IoU is ``>= min_iou`` (0.3);
otherwise the face is a detection failure. Faces are matched independently (a detection may serve
two faces only if it overlaps both by ``min_iou``, which distinct faces do not).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Least IoU between a detection and the GT landmark box for a match (evaluation spec §6).
DEFAULT_MIN_IOU = 0.3


def box_areas(boxes: np.ndarray) -> np.ndarray:
    """``(N,)`` areas of ``(N, 4)`` boxes; empty or inverted boxes have area 0."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.clip(b[:, 2] - b[:, 0], 0.0, None) * np.clip(b[:, 3] - b[:, 1], 0.0, None)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(N, M)`` intersection over union of boxes ``a`` ``(N, 4)`` and ``b`` ``(M, 4)``; 0 where the union is 0."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(hi - lo, 0.0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = box_areas(a)[:, None] + box_areas(b)[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    return out


def hard_nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float,
             candidate_size: int | None = None) -> np.ndarray:
    """Indices of the boxes kept by hard NMS, best score first.

    Args:
        boxes: ``(N, 4)``.
        scores: ``(N,)``.
        iou_threshold: a box is suppressed by a kept one when their IoU is ``> iou_threshold``.
        candidate_size: consider only the best ``candidate_size`` boxes (None = all).
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    order = np.argsort(-scores, kind="stable")
    if candidate_size is not None:
        order = order[:candidate_size]
    keep: list[int] = []
    while order.size:
        best = int(order[0])
        keep.append(best)
        rest = order[1:]
        if not rest.size:
            break
        overlap = iou_matrix(boxes[best], boxes[rest])[0]
        order = rest[overlap <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def landmark_boxes(landmarks: np.ndarray) -> np.ndarray:
    """``(N, 4)`` GT landmark boxes (min/max of the finite points) of ``(N, K, 2)`` landmarks; NaN rows where none."""
    pts = np.asarray(landmarks, dtype=np.float64)
    finite = np.isfinite(pts).all(axis=-1)
    lo = np.where(finite[..., None], pts, np.inf).min(axis=1)
    hi = np.where(finite[..., None], pts, -np.inf).max(axis=1)
    out = np.concatenate([lo, hi], axis=1)
    out[~finite.any(axis=1)] = np.nan
    return out


@dataclass(frozen=True)
class Match:
    """The detection matched to one ground-truth face.

    Attributes:
        box: ``(4,)`` the matched detection (NaN when unmatched).
        score: its detector score (NaN when unmatched).
        iou: its IoU with the GT landmark box; the best IoU of any detection when unmatched (0 when none).
        matched: True when ``iou >= min_iou``.
    """

    box: np.ndarray
    score: float
    iou: float
    matched: bool


def match_face(gt_box: np.ndarray, boxes: np.ndarray, scores: np.ndarray, min_iou: float = DEFAULT_MIN_IOU) -> Match:
    """The detection with the highest IoU against ``gt_box`` (first one on ties), if that IoU is ``>= min_iou``."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    gt = np.asarray(gt_box, dtype=np.float64).reshape(4)
    if not boxes.shape[0] or not np.isfinite(gt).all():
        return Match(np.full(4, np.nan), float("nan"), 0.0, False)
    ious = iou_matrix(gt, boxes)[0]
    k = int(np.argmax(ious))
    best = float(ious[k])
    if best >= min_iou:
        return Match(boxes[k].copy(), float(np.asarray(scores, dtype=np.float64).reshape(-1)[k]), best, True)
    return Match(np.full(4, np.nan), float("nan"), best, False)
