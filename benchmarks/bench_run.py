"""End-to-end benchmark of `faceval run` on the real HELEN test set (330 photos, ~2-3 MP).

Every figure is a whole process (Python start-up, imports and session creation
count), all measured in one invocation so ratios compare like with like:

- naive: the loop a user would write (Pillow full decode, crop, resize, session.run per image)
- inference only: session.run on ready inputs (the ceiling for a warm run)
- faceval cold: `faceval run --dataset 300w:helen` with an empty crop cache
- faceval warm: the same with the crop cache filled

Usage: python benchmarks/bench_run.py [--repeat 3] [--out benchmarks/results/run.md]
Needs ../shared/data/300w_helen_test (research-only data, not shipped).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
HELEN = Path(os.environ.get("FACEVAL_SHARED_DATA", REPO.parent / "shared" / "data")) / "300w_helen_test" / "helen" / "testset"
MODEL = REPO / "faceval" / "data" / "models" / "PFLD_GhostOne_112_1_opt_sim.onnx"


def timed(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "run.md")
    args = parser.parse_args()
    if not HELEN.is_dir():
        sys.exit(f"skipped: {HELEN} is absent (real HELEN data lives in ../shared/data)")
    faceval = [sys.executable, "-m", "faceval_cli.main"]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        root = tmp / "data"
        (root / "300w" / "helen").mkdir(parents=True)
        (root / "300w" / "helen" / "testset").symlink_to(HELEN)
        inputs = tmp / "inputs.npy"
        base = [sys.executable, str(HERE / "e2e_baselines.py")]
        times: dict[str, list[float]] = {"naive": [], "inference only": [], "faceval cold": [], "faceval warm": []}
        nme: dict[str, float] = {}
        for r in range(args.repeat):
            t, out = timed(base + ["naive", str(root), str(MODEL), str(inputs)])
            times["naive"].append(t)
            nme["naive"] = json.loads(out)["nme"]
            times["inference only"].append(timed(base + ["infer", str(inputs), str(MODEL)])[0])
            cache = tmp / f"cache{r}"
            run = faceval + ["run", "--dataset", "300w:helen", "--data-root", str(root), "--cache", str(cache),
                             "--no-progress", "--format", "json", "--out", str(tmp / "run.h5")]
            t, out = timed(run)
            times["faceval cold"].append(t)
            nme["faceval"] = json.loads(out)["splits"]["helen"]["nme"]
            t, out = timed(run)
            times["faceval warm"].append(t)
            assert json.loads(out)["timings"]["cache_hits"] == 330
            shutil.rmtree(cache)
    n = 330
    rate = {k: n / statistics.median(v) for k, v in times.items()}
    lines = [
        "# End-to-end benchmark: `faceval run` on 300W HELEN test (330 real photos)",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"model PFLD-GhostOne 112x112 (fixed batch 1), CPU execution provider; median of {args.repeat} runs; "
        "every figure is a whole process (start-up, imports, session creation included).",
        "",
        "| pipeline | median s | images/s | ratio |",
        "|---|---:|---:|---:|",
        f"| naive loop (full decode, crop, resize, run) | {statistics.median(times['naive']):.2f} | {rate['naive']:.0f} | 1.00x naive |",
        f"| inference only, ready inputs | {statistics.median(times['inference only']):.2f} | {rate['inference only']:.0f} | 1.00x inference |",
        f"| faceval run, cold (empty crop cache) | {statistics.median(times['faceval cold']):.2f} | {rate['faceval cold']:.0f} | "
        f"{rate['faceval cold'] / rate['naive']:.2f}x naive (goal >= 4) |",
        f"| faceval run, warm (crop cache filled) | {statistics.median(times['faceval warm']):.2f} | {rate['faceval warm']:.0f} | "
        f"{rate['faceval warm'] / rate['inference only']:.2f}x inference (goal >= 0.7) |",
        "",
        f"NME (inter-ocular, 98->68): naive {100 * nme['naive']:.4f} %, faceval {100 * nme['faceval']:.4f} % "
        f"(difference {100 * abs(nme['naive'] - nme['faceval']):.4f} points; goal <= 0.05).",
        f"Load average at the end: {os.getloadavg()[0]:.2f} (other work on the machine slows every row alike).",
        "",
        "Raw seconds: " + json.dumps({k: [round(x, 3) for x in v] for k, v in times.items()}),
    ]
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
