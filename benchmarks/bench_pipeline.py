"""Decode + crop micro-benchmark on the 330 HELEN test JPEGs (about 2 MP each).

    python benchmarks/bench_pipeline.py [--data ../shared/data] [--size 112] [--workers 2]

Compares, in images per second (files in the OS page cache, one warm-up pass):

* naive:        Pillow full decode, convert, crop+resize of the PIL image (single thread)
* decode-only:  the full decode alone (to see where the naive loop spends its time)
* draft:        DCT-reduced JPEG decode + crop (single thread)
* loader:       ``iter_batches`` with draft and ``--workers`` threads (+ ``to_model_input``)
* cached:       ``iter_batches`` served from a warm crop cache
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from faceval.pipeline.cache import CropCache, crop_key_fields  # noqa: E402
from faceval.pipeline.loader import CropJob, iter_batches, load_crop, to_model_input  # noqa: E402
from faceval.pipeline.transform import crop_and_resize, face_crop  # noqa: E402


def jobs_for(folder: Path) -> list[CropJob]:
    jobs = []
    for i, img in enumerate(sorted(folder.glob("*.jpg"))):
        pts = np.loadtxt(img.with_suffix(".pts")) - 1.0  # header-less .pts, 1-based
        jobs.append(CropJob(i, img.stem, img, crop=face_crop(pts, scale=1.2).as_array(), cache_key=img.stem))
    return jobs


def timed(fn, n: int) -> tuple[float, float]:
    """(images per second of wall time, CPU milliseconds per image over all threads)."""
    t, c = time.perf_counter(), time.process_time()
    fn()
    return n / (time.perf_counter() - t), 1000 * (time.process_time() - c) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--size", type=int, default=112)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=2, help="best of N")
    args = ap.parse_args()
    folder = args.data / "300w_helen_test" / "helen" / "testset"
    if not folder.is_dir():
        sys.exit(f"HELEN test images not found in {folder}")
    jobs = jobs_for(folder)
    n = len(jobs)
    size = (args.size, args.size)
    for j in jobs:  # warm the page cache
        Path(j.source).read_bytes()

    from PIL import Image

    def naive() -> None:
        for j in jobs:
            im = Image.open(j.source).convert("RGB")
            crop_and_resize(im, j.crop, size)

    def decode_only() -> None:
        for j in jobs:
            Image.open(j.source).convert("RGB").load()

    def draft() -> None:
        for j in jobs:
            load_crop(j, size, use_draft=True)

    prep = functools.partial(to_model_input, layout="NCHW", color="RGB", mean=0.5, std=0.5)

    def loader(cache=None) -> None:
        for _ in iter_batches(jobs, input_size=size, batch_size=args.batch_size, workers=args.workers,
                              prepare=prep, cache=cache):
            pass

    results: dict[str, tuple[float, float]] = {}
    for name, fn in [("naive", naive), ("decode-only", decode_only), ("draft", draft), ("loader", loader)]:
        results[name] = max(timed(fn, n) for _ in range(args.repeat))

    with tempfile.TemporaryDirectory() as tmp:
        key = crop_key_fields("300w-helen", input_size=size, box_source="landmarks", scale=1.2, square=True,
                              resample="bilinear")
        with CropCache(tmp, key) as cache:
            loader(cache)
        with CropCache(tmp, key) as cache:
            results["cached"] = max(timed(lambda: loader(cache), n) for _ in range(args.repeat))

    try:
        load = " (load average %.1f)" % os.getloadavg()[0]
    except OSError:  # pragma: no cover
        load = ""
    print(f"{n} HELEN images, input {args.size}px, {os.cpu_count()} CPUs{load}, workers={args.workers}")
    base, base_cpu = results["naive"]
    for name, (ips, cpu) in results.items():
        print(f"  {name:12s} {ips:8.1f} images/s  {ips / base:5.2f}x naive   "
              f"{cpu:6.2f} CPU ms/image  {base_cpu / cpu:5.2f}x less CPU")
    print(f"  naive loop spends {100 * results['decode-only'][1] / base_cpu:.0f} % of its CPU time in the full decode")


if __name__ == "__main__":
    main()
