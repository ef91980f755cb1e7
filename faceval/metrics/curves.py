"""Failure rate, cumulative error distribution (CED), AUC and NME percentiles.

Inputs are per-image NMEs as fractions (``(N,)``). A non-finite NME (``inf`` for a failed
image; a stray NaN is treated the same way) counts as a failure and lies above every threshold:
it is in ``FR@t`` for every t, is never under the CED, contributes 0 to the AUC, and is
``+inf`` for the percentiles. Empty input gives NaN (no images, nothing to measure).

AUC modes (``AUC_MODES``):

``exact`` (default)
    ``AUC@t = mean_i max(0, t - NME_i) / t``: the area under the CED on ``[0, t]`` divided by t,
    in closed form (the CED is a step function, so the area is exactly this sum).
``simpson-1e-4``
    PIPNet / STAR / menpofit: ``xs = np.arange(0, t + 1e-4, 1e-4)``, ``ys = CED(xs)`` (``<=``),
    composite Simpson's rule with the semantics of the removed ``scipy.integrate.simps``
    (``even='avg'``), divided by t. The float grid overshoots t for some t (0.05, 0.07:
    ``xs[-1] = t + 1e-4``), which adds about 0.13 AUC points there; this is reproduced on purpose.
``spiga-hist``
    SPIGA: ``np.histogram(NME, bins=10000)`` over ``[min, max]`` of the (finite) NMEs, cumulative
    counts / N paired with the *left* bin edges, edges ``< t`` kept, Simpson (old ``simps``)
    over them, divided by t, plus ``(t - last_edge) / t`` when the curve already reached 1.
``none``
    No AUC (HRNet and mmpose compute none): ``auc@t`` is absent from summaries and "–" in
    report cells; :func:`auc` refuses the mode.

Failure-rate cuts (``FR_CUTS``; evaluation.md section 3):

``strict`` (default)
    ``FR@t = mean_i [NME_i > t]``.
``grid``
    PIPNet ``compute_fr_and_auc`` / STAR ``FR_AUC.test`` / menpofit
    ``area_under_curve_and_failure_rate``: ``FR = 1 - CED(xs[-1])`` on their float grid
    ``xs = np.arange(0, t + 1e-4, 1e-4)``, i.e. ``mean_i [NME_i > xs[-1]]``; ``xs[-1]`` is
    ``t + 1e-4`` for some t (0.05, 0.07), so an NME in ``(t, t + 1e-4]`` is no failure there.
``spiga-hist``
    SPIGA ``_auc_fr_metrics``: ``FR = 1 - cumulative[-1]`` of the same histogram curve as its AUC
    (edges ``< t`` kept), i.e. ``mean_i [NME_i >= e]`` with ``e`` the first bin edge ``>= t``
    (the right edge of the bin holding t; NMEs in ``(t, e)`` are no failures); 1 when no edge
    lies below t.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from faceval.errors import InputError, closest

AUC_MODES: tuple[str, ...] = ("exact", "simpson-1e-4", "spiga-hist")

#: The AUC modes a protocol may name: the computed ones and ``none`` (no AUC).
PROTOCOL_AUC_MODES: tuple[str, ...] = AUC_MODES + ("none",)

#: Failure-rate cuts (module docstring).
FR_CUTS: tuple[str, ...] = ("strict", "grid", "spiga-hist")

#: Step of the PIPNet / STAR / menpofit CED grid.
GRID_STEP = 1e-4

#: SPIGA's number of histogram bins for its cumulative curve.
SPIGA_BINS = 10000


def _clean(nme: np.ndarray) -> np.ndarray:
    """1-D float64 view of the NMEs with NaN replaced by +inf (copy only when needed)."""
    arr = np.asarray(nme, dtype=np.float64).reshape(-1)
    if np.isnan(arr).any():
        arr = np.where(np.isnan(arr), np.inf, arr)
    return arr


def _check_threshold(t: float) -> float:
    t = float(t)
    if not (np.isfinite(t) and t > 0):
        raise InputError(f"threshold must be finite and > 0; got {t!r}")
    return t


def grid_end(t: float) -> float:
    """Last point of the PIPNet / STAR / menpofit grid ``np.arange(0, t + 1e-4, 1e-4)[-1]``."""
    return float(np.arange(0, float(t) + GRID_STEP, GRID_STEP)[-1])


def _spiga_curve(arr: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
    """SPIGA's cumulative curve ``(cumulative, left edges)`` cut to the edges ``< t``.

    ``np.histogram`` over ``[min, max]`` of the finite NMEs in ``SPIGA_BINS`` bins; cumulative
    counts over ``N`` (all images, failures included), paired with the *left* bin edges.
    """
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        return np.empty(0), np.empty(0)
    try:
        counts, edges = np.histogram(finite, bins=SPIGA_BINS)
    except ValueError:  # range too narrow to split (values equal within float resolution): one bin
        counts, edges = np.array([finite.size]), np.array([finite.min(), finite.max()])
    cumulative = np.cumsum(counts) / float(arr.size)
    base = edges[: counts.size]
    m = int(np.count_nonzero(base < t))
    return cumulative[:m], base[:m]


def failure_rate(nme: np.ndarray, t: float, cut: str = "strict") -> float:
    """Failure rate at t, a fraction, with the given cut (``FR_CUTS``; module docstring).

    ``strict``: ``mean_i [NME_i > t]``; ``grid``: ``mean_i [NME_i > grid_end(t)]``;
    ``spiga-hist``: ``1 - cumulative[-1]`` of SPIGA's histogram curve. A non-finite NME is a
    failure in every cut.
    """
    if cut not in FR_CUTS:
        raise InputError(f"unknown FR cut '{cut}'{closest(cut, FR_CUTS)}; known: {', '.join(FR_CUTS)}")
    arr = _clean(nme)
    t = _check_threshold(t)
    if arr.size == 0:
        return float("nan")
    if cut == "strict":
        return float(np.count_nonzero(arr > t) / arr.size)
    if cut == "grid":
        return float(np.count_nonzero(arr > grid_end(t)) / arr.size)
    cumulative, _base = _spiga_curve(arr, t)
    if cumulative.size == 0:
        return 1.0
    return float(1.0 - cumulative[-1])


def ced(nme: np.ndarray, xs: np.ndarray | Sequence[float]) -> np.ndarray:
    """Cumulative error distribution: ``CED(x) = mean_i [NME_i <= x]`` for each x in ``xs``.

    Computed with one sort and a binary search (``O((N + M) log N)``).
    """
    arr = _clean(nme)
    xs_arr = np.asarray(xs, dtype=np.float64)
    if arr.size == 0:
        return np.full(xs_arr.shape, np.nan)
    srt = np.sort(arr)
    return np.searchsorted(srt, xs_arr, side="right") / arr.size


def simpson_legacy(y: np.ndarray, x: np.ndarray) -> float:
    """Composite Simpson's rule on samples ``y`` at (possibly uneven) ``x``, as the removed
    ``scipy.integrate.simps(y, x=x)`` computed it (default ``even='avg'``).

    With an odd number of samples (even number of intervals) it is plain composite Simpson:
    per pair of intervals ``h0, h1``:
    ``(h0+h1)/6 * (y0 (2 - h1/h0) + y1 (h0+h1)^2/(h0 h1) + y2 (2 - h0/h1))``.
    With an even number of samples it averages (a) Simpson on the first N-1 samples plus the
    trapezoid on the last interval and (b) the trapezoid on the first interval plus Simpson on
    the last N-1 samples. (Current ``scipy.integrate.simpson`` agrees for odd counts but uses
    Cartwright's correction for even counts, so it does not reproduce published numbers.)
    """
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if y.shape != x.shape or y.ndim != 1:
        raise InputError("simpson_legacy needs 1-D y and x of the same length")
    n = y.size
    if n < 2:
        return 0.0

    def basic(start: int, stop: int) -> float:
        # Simpson over pairs of intervals beginning at start, start+2, ... < stop (scipy's slices).
        h = np.diff(x)
        h0 = h[start:stop:2]
        h1 = h[start + 1 : stop + 1 : 2]
        y0 = y[start:stop:2]
        y1 = y[start + 1 : stop + 1 : 2]
        y2 = y[start + 2 : stop + 2 : 2]
        m = min(h0.size, h1.size, y0.size, y1.size, y2.size)
        h0, h1, y0, y1, y2 = h0[:m], h1[:m], y0[:m], y1[:m], y2[:m]
        hsum = h0 + h1
        hprod = h0 * h1
        h0divh1 = np.divide(h0, h1, out=np.zeros_like(h0), where=h1 != 0)
        inv = np.divide(1.0, h0divh1, out=np.zeros_like(h0divh1), where=h0divh1 != 0)
        mid = np.divide(hsum, hprod, out=np.zeros_like(hsum), where=hprod != 0)
        tmp = hsum / 6.0 * (y0 * (2.0 - inv) + y1 * (hsum * mid) + y2 * (2.0 - h0divh1))
        return float(np.sum(tmp))

    if n % 2 == 1:
        return basic(0, n - 2)
    # even='avg'
    val = 0.5 * (x[-1] - x[-2]) * (y[-1] + y[-2]) + 0.5 * (x[1] - x[0]) * (y[1] + y[0])
    result = basic(0, n - 3) + basic(1, n - 2)
    return float(result / 2.0 + val / 2.0)


def auc(nme: np.ndarray, t: float, mode: str = "exact") -> float:
    """Area under the CED on ``[0, t]`` divided by t, a fraction in [0, 1]; see ``AUC_MODES``.

    ``exact``: ``AUC@t = mean_i max(0, t - NME_i) / t`` (non-finite NME contributes 0).
    ``simpson-1e-4`` and ``spiga-hist``: the legacy numerical schemes described in the module
    docstring, kept to reproduce published tables.
    """
    if mode == "none":
        raise InputError("AUC mode 'none' computes no AUC (the protocol has none; --auc-mode exact gives one)")
    if mode not in AUC_MODES:
        raise InputError(f"unknown AUC mode '{mode}'{closest(mode, AUC_MODES)}; known: {', '.join(AUC_MODES)}")
    arr = _clean(nme)
    t = _check_threshold(t)
    n = arr.size
    if n == 0:
        return float("nan")
    if mode == "exact":
        below = arr[arr < t]
        return float((t * below.size - below.sum()) / (n * t))
    if mode == "simpson-1e-4":
        step = 1e-4
        xs = np.arange(0, t + step, step)
        ys = ced(arr, xs)
        return simpson_legacy(ys, xs) / t
    # spiga-hist
    cumulative, base = _spiga_curve(arr, t)
    if base.size == 0:
        return 0.0
    value = simpson_legacy(cumulative, base) / t
    if base[-1] < t and cumulative[-1] == 1:
        value += (t - base[-1]) / t
    return float(value)


def percentile_key(q: float) -> str:
    """Summary key of a percentile: ``50 -> 'nme_p50'``, ``99.9 -> 'nme_p99.9'``."""
    from faceval.metrics.registry import metric_name

    return metric_name("nme_p", q)


def percentiles(nme: np.ndarray, qs: Sequence[float] = (50, 90, 95, 99)) -> dict[str, float]:
    """NME percentiles ``{"nme_p50": ..., ...}`` (fractions), as ``np.percentile`` (linear).

    SPIGA's ``nme_p90/p95/p99`` are ``np.percentile(per_image_nme, q)`` with numpy's default
    ``linear`` method: with sorted values ``s`` and ``h = (N - 1) q / 100``,
    ``P_q = s[floor h] + (h - floor h) (s[ceil h] - s[floor h])``. Non-finite NMEs sort as
    ``+inf``; a percentile that touches one is ``inf`` (never NaN).
    """
    arr = _clean(nme)
    n = arr.size
    out: dict[str, float] = {}
    bad_q = [q for q in qs if not 0 <= float(q) <= 100]
    if bad_q:
        raise InputError(f"percentiles must be within [0, 100]; got {bad_q[0]!r}")
    if n == 0:
        return {percentile_key(q): float("nan") for q in qs}
    finite_mask = np.isfinite(arr)
    n_bad = n - int(finite_mask.sum())
    if n_bad == 0:
        vals = np.percentile(arr, list(qs))
        return {percentile_key(q): float(v) for q, v in zip(qs, vals)}
    finite = arr[finite_mask]
    n_fin = finite.size
    # Replace infinities by the finite maximum so np.percentile is exact where only finite
    # values are involved; positions that reach an infinity are set to inf below.
    fill = finite.max() if n_fin else 0.0
    vals = np.percentile(np.where(finite_mask, arr, fill), list(qs))
    for q, v in zip(qs, vals):
        h = (n - 1) * float(q) / 100.0
        lo, hi = int(np.floor(h)), int(np.ceil(h))
        if lo >= n_fin or (hi >= n_fin and h > lo):
            out[percentile_key(q)] = float("inf")
        else:
            out[percentile_key(q)] = float(v)
    return out
