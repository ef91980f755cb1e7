"""Normalised mean error (NME), vectorised over all images and processed in chunks.

Notation: ``p_ik``, ``g_ik`` are the predicted and ground-truth point k of image i (pixels),
``e_ik = ||p_ik - g_ik||_2`` the point error, ``d_i`` the image's normaliser
(:func:`faceval.metrics.normalizers.compute_normalizers`), ``v_ik`` the visibility flag
(all True when ``visible`` is not given).

Conventions shared by every function here:

* **Failures.** An image whose prediction holds a NaN or an infinity *anywhere* (even at an
  occluded point) has ``NME_i = inf``: it is a failure, never a NaN. Summaries count it in
  the failure rate and as a zero contribution to the AUC (see ``faceval.metrics.summary``).
* **Bad normalisers.** A zero, negative or non-finite ``d_i`` raises ``InputError`` naming the
  sample (its id from ``sample_ids=`` when given, else its index).
* **Bad ground truth.** A non-finite GT coordinate at a counted point raises ``InputError``
  (occluded points are not counted with ``visible=``, so their GT may be NaN).
* Work is done in chunks of images, so the extra memory is a few MB whatever N is; inputs may
  be float32 or float64 (errors are always computed in float64).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import numpy as np

from faceval.errors import InputError

#: Number of (image, point) pairs processed per chunk (bounded temporary memory, cache friendly).
_CHUNK_POINTS = 1 << 15
#: Inputs with at least this many (image, point) pairs are processed on a thread pool.
_PARALLEL_MIN_POINTS = 1 << 21
#: Thread count override (None: the FACEVAL_THREADS environment variable, else 1). A pool
#: was not measurably faster on the shared 2-core development machine, so it is opt-in.
_MAX_THREADS: int | None = None

T = TypeVar("T")


def _name(i: int, sample_ids: Sequence[object] | None) -> str:
    if sample_ids is not None:
        return f"sample '{sample_ids[i]}' (index {i})"
    return f"sample index {i}"


def _validate(
    pred: np.ndarray,
    gt: np.ndarray,
    normalizers: np.ndarray | None,
    visible: np.ndarray | None,
    sample_ids: Sequence[object] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    pred = np.asarray(pred)
    gt = np.asarray(gt)
    if pred.ndim != 3 or pred.shape[-1] < 1:
        raise InputError(f"predictions must have shape (N, K, 2); got {pred.shape}")
    if pred.shape != gt.shape:
        raise InputError(f"predictions {pred.shape} and ground truth {gt.shape} differ in shape")
    n = pred.shape[0]
    if sample_ids is not None and len(sample_ids) != n:
        raise InputError(f"sample_ids has {len(sample_ids)} entries for {n} images")
    d = None
    if normalizers is not None:
        d = np.asarray(normalizers, dtype=np.float64).reshape(-1)
        if d.shape[0] != n:
            raise InputError(f"normalizers has {d.shape[0]} values for {n} images")
        bad = np.flatnonzero(~(np.isfinite(d) & (d > 0)))
        if bad.size:
            i = int(bad[0])
            more = f" (and {bad.size - 1} more)" if bad.size > 1 else ""
            raise InputError(f"normaliser of {_name(i, sample_ids)} is {d[i]!r}; it must be finite and > 0{more}")
    vis = None
    if visible is not None:
        vis = np.asarray(visible, dtype=bool)
        if vis.shape != pred.shape[:2]:
            raise InputError(f"visible must have shape {pred.shape[:2]}; got {vis.shape}")
        empty = np.flatnonzero(~vis.any(axis=1))
        if empty.size:
            raise InputError(f"{_name(int(empty[0]), sample_ids)} has no visible points; its NME is undefined")
    return pred, gt, d, vis


def _chunk_errors(
    pred: np.ndarray,
    gt: np.ndarray,
    vis: np.ndarray | None,
    sample_ids: Sequence[object] | None,
    start: int,
    stop: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Point errors of images ``start:stop``: ``(e, failed, row_all)``.

    ``e`` is the ``(c, K)`` float64 point-error array ``e_ik`` with non-counted (occluded) points
    set to 0 and rows of failed images left as they are; ``failed`` is ``(c,)`` bool, True where
    the prediction has a non-finite value anywhere; ``row_all`` is ``sum_k e_ik`` over *all* K
    points (the row sum of ``e`` when ``vis`` is None).
    """
    dim = pred.shape[2]
    diff = np.subtract(pred[start:stop], gt[start:stop], dtype=np.float64)
    if dim == 2:
        # |dx + i dy| = hypot(dx, dy): one pass, no overflow for large coordinates; any NaN or
        # inf component still gives a non-finite error (C99 hypot(inf, nan) = inf).
        e = np.abs(diff.view(np.complex128)[..., 0])
    else:
        np.multiply(diff, diff, out=diff)
        e = np.sqrt(diff.sum(axis=-1))
    # One cheap reduction detects any non-finite value in pred or gt (NaN and inf propagate).
    row_all = e.sum(axis=1)
    suspect = np.flatnonzero(~np.isfinite(row_all))
    failed = np.zeros(stop - start, dtype=bool)
    if suspect.size:
        rows = suspect + start
        p_bad = ~np.isfinite(pred[rows]).all(axis=(1, 2))
        failed[suspect[p_bad]] = True
        g_nonfinite = ~np.isfinite(gt[rows]).all(axis=2)  # (s, K)
        if vis is not None:
            g_nonfinite &= vis[rows]
        g_bad = g_nonfinite.any(axis=1) & ~p_bad
        if g_bad.any():
            i = int(rows[np.flatnonzero(g_bad)[0]])
            raise InputError(f"ground truth of {_name(i, sample_ids)} has a non-finite coordinate")
        # Remaining suspects overflowed (|coordinates| ~ 1e154): their error is inf, a failure.
    if vis is not None:
        # np.where, not multiplication: 0 * NaN would be NaN for an occluded NaN GT point.
        e = np.where(vis[start:stop], e, 0.0)
    return e, failed, row_all


def _threads() -> int:
    if _MAX_THREADS is not None:
        return max(1, _MAX_THREADS)
    env = os.environ.get("FACEVAL_THREADS", "").strip()
    if env.isdigit():
        return max(1, min(64, int(env)))
    return 1


def _map_chunks(fn: Callable[[int, int], T], n: int, k: int) -> Iterator[tuple[int, int, T]]:
    """``(start, stop, fn(start, stop))`` over chunks of images, in order.

    numpy releases the GIL in its array loops, so for large inputs the chunks may run on a
    thread pool (``FACEVAL_THREADS``; default 1 thread, sequential); every chunk is computed the same way, so the
    result is bit-for-bit identical to the sequential one. At most ``2 * threads`` chunks are
    in flight, so temporary memory stays bounded.
    """
    chunk = max(1, _CHUNK_POINTS // max(1, k))
    bounds = [(s, min(n, s + chunk)) for s in range(0, n, chunk)]
    threads = _threads()
    if threads == 1 or n * k < _PARALLEL_MIN_POINTS or len(bounds) < 2:
        for a, b in bounds:
            yield a, b, fn(a, b)
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=threads) as pool:
        pending: deque = deque()
        it = iter(bounds)
        for a, b in it:
            pending.append((a, b, pool.submit(fn, a, b)))
            if len(pending) >= 2 * threads:
                break
        while pending:
            a, b, fut = pending.popleft()
            try:
                result = fut.result()
            except BaseException:
                for _a, _b, f in pending:
                    f.cancel()
                raise
            nxt = next(it, None)
            if nxt is not None:
                pending.append((nxt[0], nxt[1], pool.submit(fn, *nxt)))
            yield a, b, result


def point_errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Point errors ``e_ik = ||p_ik - g_ik||_2`` as an ``(N, K)`` float64 array (NaN/inf propagate)."""
    pred = np.asarray(pred)
    gt = np.asarray(gt)
    if pred.shape != gt.shape or pred.ndim != 3:
        raise InputError(f"predictions {pred.shape} and ground truth {gt.shape} must both be (N, K, 2)")
    diff = np.subtract(pred, gt, dtype=np.float64)
    return np.sqrt(np.einsum("ikd,ikd->ik", diff, diff))


def per_image_nme(
    pred: np.ndarray,
    gt: np.ndarray,
    normalizers: np.ndarray,
    *,
    visible: np.ndarray | None = None,
    sample_ids: Sequence[object] | None = None,
) -> np.ndarray:
    """Per-image NME as a fraction, ``(N,)`` float64.

    ``NME_i = (sum_k v_ik e_ik) / (sum_k v_ik) / d_i`` -- the mean point error over the image's
    counted points (all K points when ``visible`` is None), divided by the normaliser.
    ``NME_i = inf`` where the prediction holds a non-finite value (a failure).

    Args:
        pred, gt: ``(N, K, 2)`` landmarks in the same pixel convention.
        normalizers: ``(N,)`` ``d_i``, finite and > 0.
        visible: optional ``(N, K)`` bool; only visible points are averaged.
        sample_ids: optional ids used to name a sample in error messages.

    Raises:
        InputError: shape mismatch, bad normaliser, an image without visible points, or
            non-finite GT at a counted point.
    """
    pred, gt, d, vis = _validate(pred, gt, normalizers, visible, sample_ids)
    assert d is not None
    n, k = pred.shape[:2]
    out = np.empty(n, dtype=np.float64)
    counts = vis.sum(axis=1) if vis is not None else None

    def chunk(start: int, stop: int) -> np.ndarray:
        e, failed, row_all = _chunk_errors(pred, gt, vis, sample_ids, start, stop)
        total = e.sum(axis=1) if vis is not None else row_all
        denom = counts[start:stop] if counts is not None else k
        res = total / denom
        res /= d[start:stop]
        res[failed] = np.inf
        return res

    for start, stop, res in _map_chunks(chunk, n, k):
        out[start:stop] = res
    return out


def pooled_nme(
    pred: np.ndarray,
    gt: np.ndarray,
    normalizers: np.ndarray,
    *,
    visible: np.ndarray | None = None,
    sample_ids: Sequence[object] | None = None,
) -> float:
    """Pooled NME over all counted (image, point) pairs, a fraction.

    ``pooled = (sum_i sum_k v_ik e_ik) / (sum_i sum_k v_ik d_i)`` -- the sum of point errors
    divided by the sum of the normaliser over the same (image, point) pairs (the spec's
    "pooled" aggregation; an option, never the default). Large faces weigh more than in the
    mean of per-image NMEs. ``inf`` when any prediction is non-finite.

    Note: mmpose's ``keypoint_nme`` is not this formula: it averages ``e_ik / d_i`` over the
    valid (image, point) pairs, which with every point visible equals the mean of per-image
    NMEs. faceval implements the spec's definition (evaluation.md section 2).
    """
    pred, gt, d, vis = _validate(pred, gt, normalizers, visible, sample_ids)
    assert d is not None
    n, k = pred.shape[:2]
    num = 0.0

    def chunk(start: int, stop: int) -> tuple[float, bool]:
        e, failed, _row = _chunk_errors(pred, gt, vis, sample_ids, start, stop)
        return float(e.sum()), bool(failed.any())

    for _start, _stop, (part, any_failed) in _map_chunks(chunk, n, k):
        if any_failed:
            return float("inf")
        num += part
    counts = vis.sum(axis=1) if vis is not None else np.full(n, k)
    den = float(np.dot(counts.astype(np.float64), d))
    if n == 0:
        return float("nan")
    return num / den


def per_landmark_nme(
    pred: np.ndarray,
    gt: np.ndarray,
    normalizers: np.ndarray,
    *,
    visible: np.ndarray | None = None,
    sample_ids: Sequence[object] | None = None,
) -> np.ndarray:
    """Per-landmark NME, ``(K,)`` float64 fractions.

    ``NME_k = mean over images i with v_ik and a finite prediction of e_ik / d_i``.
    Failed images (non-finite prediction) are left out, as in the dataset NME of
    ``summarize``; with all points visible and no failures, ``mean_k NME_k`` equals the mean
    of the per-image NMEs. A landmark counted in no image gives NaN (no data).
    """
    pred, gt, d, vis = _validate(pred, gt, normalizers, visible, sample_ids)
    assert d is not None
    n, k = pred.shape[:2]
    sums = np.zeros(k, dtype=np.float64)
    counts = np.zeros(k, dtype=np.int64)

    def chunk(start: int, stop: int) -> tuple[np.ndarray, np.ndarray | int]:
        e, failed, _row = _chunk_errors(pred, gt, vis, sample_ids, start, stop)
        ok = ~failed
        en = e[ok] / d[start:stop][ok, None]
        cnt = vis[start:stop][ok].sum(axis=0) if vis is not None else int(ok.sum())
        return en.sum(axis=0), cnt

    for _start, _stop, (part, cnt) in _map_chunks(chunk, n, k):
        sums += part
        counts += cnt
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def dataset_nme(nme: np.ndarray) -> float:
    """Dataset NME: ``mean_i NME_i`` over the images with a finite NME, a fraction.

    Failed images (``NME_i = inf``; a stray NaN is treated alike) are left out of the mean:
    they are counted in the failure rate, contribute 0 to the AUC, and are reported as
    ``n_nonfinite``, so the mean is never NaN and one failure does not turn it into inf.
    When every image failed the result is ``inf``; with no images it is NaN.
    """
    arr = np.asarray(nme, dtype=np.float64).reshape(-1)
    if arr.size == 0:
        return float("nan")
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        return float("inf")
    return float(np.mean(finite))


#: Dtypes of the normalised point distances of the ``point-mean`` aggregation.
DISTANCE_DTYPES: tuple[str, ...] = ("float64", "float32")


def normalised_point_errors(
    pred: np.ndarray,
    gt: np.ndarray,
    normalizers: np.ndarray,
    *,
    visible: np.ndarray | None = None,
    dtype: str = "float64",
) -> np.ndarray:
    """Normalised point distances ``q_ik = ||(p_ik - g_ik) / d_i||_2``, ``(N, K)``, in ``dtype``.

    As mmpose's ``_calc_distances`` computes them: the difference is divided by ``d_i`` first,
    the norm is ``sqrt(sum of squares)`` in float64, and the result is stored in ``dtype``
    (mmpose stores float32). NaN marks a point that is not counted: not visible (``visible``
    given) or in an image whose prediction is non-finite anywhere (a failure, left out as the
    dataset NME leaves it out).
    """
    if dtype not in DISTANCE_DTYPES:
        raise InputError(f"unknown distance dtype '{dtype}'; known: {', '.join(DISTANCE_DTYPES)}")
    p = np.asarray(pred, dtype=np.float64)
    g = np.asarray(gt, dtype=np.float64)
    d = np.asarray(normalizers, dtype=np.float64).reshape(-1)
    if p.shape != g.shape or p.ndim != 3 or d.shape[0] != p.shape[0]:
        raise InputError(f"predictions {p.shape}, ground truth {g.shape} and {d.shape[0]} normalisers do not match")
    with np.errstate(invalid="ignore", over="ignore"):
        q = (p - g) / d[:, None, None]
        dist = np.sqrt(np.add.reduce(q * q, axis=-1))
    counted = np.isfinite(p).all(axis=(1, 2))[:, None] & np.ones(dist.shape, dtype=bool)
    if visible is not None:
        counted &= np.asarray(visible, dtype=bool)
    out = np.where(counted, dist, np.nan)
    return out.astype(np.float32) if dtype == "float32" else out


def point_mean(errors: np.ndarray) -> float:
    """The ``point-mean`` NME: mean of ``q_ik`` over every counted (image, point) pair.

    ``point-mean = (sum_{i,k: v_ik} q_ik) / #{(i, k): v_ik}`` with ``q_ik = e_ik / d_i``
    (:func:`normalised_point_errors`; NaN = not counted). This is mmpose's ``keypoint_nme``:
    with a visibility mask an image weighs by its number of visible points; with every point
    counted it equals the mean of the per-image NMEs. Summed as mmpose sums: the counted
    values taken point-major (``distances.T[mask]``) and reduced by numpy in the array's dtype
    (float32 for mmpose), then divided by the count in that dtype. NaN when nothing is counted.
    """
    arr = np.asarray(errors)
    vals = arr.T[~np.isnan(arr.T)]
    if vals.size == 0:
        return float("nan")
    kind = vals.dtype.type
    return float(kind(vals.sum()) / kind(vals.size))


def point_mean_rows(rows: np.ndarray, dtype: str = "float64") -> np.ndarray:
    """:func:`point_mean` of each row of ``(B, n, K)`` distances (NaN: not counted) -> ``(B,)``.

    inf when a row has images but no counted pair (every image failed), NaN without images. The
    point estimate (one row) is :func:`point_mean` in ``dtype`` (mmpose's float32 sum, bit for
    bit); bootstrap rows (B > 1) are summed in float64.
    """
    rows = np.asarray(rows)
    if rows.ndim != 3:
        raise InputError("point-mean NME needs per-point distances (n, K) per image")
    if rows.shape[1] == 0:
        return np.full(rows.shape[0], np.nan)
    ok = ~np.isnan(rows)
    cnt = ok.sum(axis=(1, 2))
    if rows.shape[0] == 1:
        kind = np.float32 if dtype == "float32" else np.float64
        return np.array([point_mean(rows[0].astype(kind)) if cnt[0] else float("inf")])
    tot = np.where(ok, rows, 0.0).astype(np.float64).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.inf)
