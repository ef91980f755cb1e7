"""Benchmark: faceval's vectorised metrics against a per-image Python loop, in one run.

Workload: N faces x K points (default 1,000,000 x 98, the WFLW scheme), float64 predictions
and ground truth; inter-ocular normalisers and per-image NME, then the summary a report needs:
mean NME, p50/p90/p95/p99, FR and AUC (closed form) at 0.08 and 0.10.

Baseline: the style of peer evaluation scripts -- a Python loop over images computing the
normaliser and the NME with ``np.linalg.norm`` per image, then FR with a comparison, AUC by PIPNet's CED grid
(``count_nonzero`` per grid point, Simpson) and ``np.percentile``. It is timed on the first
``--loop-subset`` faces (default 20,000) and extrapolated linearly to N (every part of it is
linear in N); the report says so.

Memory: peak extra memory of the timed faceval computation, measured with ``tracemalloc``
(numpy reports its buffers to it) in a separate pass, relative to the size of the prediction
array. The input arrays themselves are not counted (they exist before the call).

Usage:
    python benchmarks/bench_metrics.py                 # writes benchmarks/results/metrics.md
    python benchmarks/bench_metrics.py --faces 100000 --no-write
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from faceval.metrics import compute_normalizers, per_image_nme, simpson_legacy, summarize
from faceval.schemes import Scheme

THRESHOLDS = (0.08, 0.10)
WFLW = Scheme("wflw", 98, {}, [], (60, 72), ([96], [97]))


def make_data(n: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Realistic-looking faces: GT in a 256 px box, predictions with ~2-5 % NME; chunked fill
    so generation never needs a third full-size array."""
    rng = np.random.default_rng(seed)
    gt = np.empty((n, k, 2), dtype=np.float64)
    pred = np.empty_like(gt)
    step = 50_000
    for s in range(0, n, step):
        e = min(n, s + step)
        c = e - s
        centre = rng.uniform(100, 150, size=(c, 1, 2))
        scale = rng.uniform(40, 90, size=(c, 1, 1))
        gt[s:e] = centre + scale * rng.uniform(-1, 1, size=(c, k, 2))
        noise = rng.gamma(2.0, 0.01, size=(c, 1, 1)) * scale
        pred[s:e] = gt[s:e] + noise * rng.normal(size=(c, k, 2))
    pred[::100_003, 3, 0] = np.nan  # a few failed images, as in real runs
    return pred, gt


def faceval_metrics(pred: np.ndarray, gt: np.ndarray, scheme: Scheme) -> dict[str, float]:
    d = compute_normalizers(gt, "inter-ocular", scheme)
    nme = per_image_nme(pred, gt, d)
    return summarize(nme, thresholds=THRESHOLDS)


def loop_metrics(pred: np.ndarray, gt: np.ndarray, scheme: Scheme) -> dict[str, float]:
    """What peer scripts do: per-image loop (normaliser + NME), then FR / PIPNet AUC / percentiles."""
    a, b = scheme.eye_corners
    nmes = []
    for i in range(pred.shape[0]):
        norm = np.linalg.norm(gt[i][a] - gt[i][b])
        nmes.append(np.mean(np.linalg.norm(pred[i] - gt[i], axis=1)) / norm)
    arr = np.array(nmes)
    arr = np.where(np.isnan(arr), np.inf, arr)
    out = {"nme": float(np.mean(arr[np.isfinite(arr)]))}
    for q in (50, 90, 95, 99):
        out[f"nme_p{q}"] = float(np.percentile(arr, q))
    for t in THRESHOLDS:
        out[f"fr@{t:.2f}"] = float(np.sum(arr > t) / len(arr))
        xs = np.arange(0, t + 0.0001, 0.0001)
        ys = np.array([np.count_nonzero(arr <= x) for x in xs]) / float(len(arr))
        out[f"auc@{t:.2f}"] = simpson_legacy(ys, xs) / t
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces", type=int, default=1_000_000)
    ap.add_argument("--points", type=int, default=98)
    ap.add_argument("--loop-subset", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3, help="timed repetitions of the faceval path (median reported)")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "metrics.md")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    n, k = args.faces, args.points

    t0 = time.perf_counter()
    pred, gt = make_data(n, k)
    gen_s = time.perf_counter() - t0
    pred_bytes = pred.nbytes
    scheme = WFLW if k == 98 else Scheme("x", k, {}, [], (0, k - 1), None)

    # faceval: warm-up, then timed repetitions
    faceval_metrics(pred[:10_000], gt[:10_000], scheme)
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        res = faceval_metrics(pred, gt, scheme)
        times.append(time.perf_counter() - t)
    fv_s = statistics.median(times)

    # peak extra memory (separate pass: tracemalloc slows allocation a little)
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    faceval_metrics(pred, gt, scheme)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak_extra = peak - base

    # baseline loop on a subset, extrapolated linearly to N
    m = min(args.loop_subset, n)
    t = time.perf_counter()
    loop_res = loop_metrics(pred[:m], gt[:m], scheme)
    loop_sub_s = time.perf_counter() - t
    loop_s = loop_sub_s * n / m

    # the two paths agree on the subset
    check = faceval_metrics(pred[:m], gt[:m], scheme)
    max_diff = max(abs(check[key] - loop_res[key]) for key in ("nme", "nme_p90", "fr@0.08", "fr@0.10"))
    auc_gap = abs(check["auc@0.10"] - loop_res["auc@0.10"])

    import resource

    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    ratio = loop_s / fv_s
    from faceval.metrics.nme import _threads

    threads = _threads()
    lines = [
        "# Metrics benchmark",
        "",
        f"Command: `python benchmarks/bench_metrics.py --faces {n} --points {k} --loop-subset {m}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"numpy {np.__version__}; load average at the end {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} "
        "(other jobs may share the machine).",
        "",
        f"Workload: {n:,} faces x {k} points, float64 (prediction array {pred_bytes / 1e9:.2f} GB), "
        f"inter-ocular normalisers and NME, then mean NME, p50/p90/p95/p99, FR and AUC (closed form) at "
        f"{', '.join(f'{t:.2f}' for t in THRESHOLDS)}; {res['n_nonfinite']} failed (NaN) images included.",
        "",
        "| path | wall time (s) | notes |",
        "|---|---|---|",
        f"| faceval (vectorised, chunked; threads: {threads}) | {fv_s:.3f} | median of {args.repeat}: "
        f"{', '.join(f'{x:.3f}' for x in times)} |",
        f"| per-image Python loop (peer style) | {loop_s:.1f} | measured {loop_sub_s:.2f} s on {m:,} faces, "
        f"extrapolated linearly x{n / m:g} |",
        "",
        f"- Speed ratio: **{ratio:.0f}x** (goal >= 50x).",
        f"- Wall time: **{fv_s:.2f} s** (goal < 2 s).",
        f"- Peak extra memory during the faceval computation (tracemalloc): **{peak_extra / 1e6:.1f} MB = "
        f"{peak_extra / pred_bytes:.3f}x** the prediction array (goal < 3x).",
        f"- Process max RSS (includes the {2 * pred_bytes / 1e9:.2f} GB of inputs): {maxrss / 1e9:.2f} GB.",
        f"- Agreement on the subset: max |difference| of nme, p90, fr = {max_diff:.2e}; "
        f"AUC@0.10 closed form vs the loop's Simpson-1e-4 grid: {auc_gap:.2e} (different schemes).",
        f"- Data generation (not timed above): {gen_s:.1f} s.",
        "",
        f"Summary (faceval, all {n:,} faces): "
        + ", ".join(f"{key} {value:.5g}" for key, value in res.items()),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        print(f"written: {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
