"""Benchmark of `faceval score` against a floor process, and of the prediction-CSV reader.

Every figure is a whole process (start-up and imports count), measured in one invocation with the
variants interleaved, so ratios compare like with like. Peak memory is the child's ru_maxrss.

1. Cost growth of `faceval score --dataset wflw:test` at 2,500 / 20,000 / 100,000 faces, on
   synthetic WFLW test lists written in the real format (207 tokens per line: 196 coordinates, the
   rectangle, six flags, the image path), with NPY and CSV predictions, against the floor: a
   process that imports numpy and pandas, reads the list with pandas' C parser, loads the NPY and
   computes the inter-ocular NME vectorised (for CSV predictions, a second floor reads the CSV with
   pandas' C parser instead of the NPY). The arrays `score` must hold are GT + predictions
   (2 x N x 98 x 2 float64); memory is reported as a multiple of that.
2. The prediction-CSV reader on a large 68-point CSV (default about 500 MB): the vectorised path
   (pandas' C parser + strict guards) against the field-by-field strict checker that the reader
   falls back to (the csv-module approach the old reader used for every file).

Usage: python benchmarks/bench_score.py [--repeat 5] [--sizes 2500,20000,100000] [--csv-mb 500]
       [--out benchmarks/results/score.md]
No research data is needed: every input is synthetic, in the real formats.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

#: prepended to every child: report the process's own peak RSS (VmHWM) at exit. ru_maxrss from
#: wait4 would include the parent's RSS at fork time (Linux keeps it across exec).
PEAK = r"""
import atexit, sys
def _peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            sys.stderr.write("PEAK_KB=" + line.split()[1] + "\n")
atexit.register(_peak)
"""

FACEVAL = PEAK + r"""
import sys
from faceval_cli.main import main
code = main(sys.argv[1:])
sys.exit(code)
"""

FLOOR = PEAK + r"""
import sys
import numpy as np
import pandas as pd
lst, preds = sys.argv[1], sys.argv[2]
frame = pd.read_csv(lst, sep=r"\s+", header=None, engine="c")
gt = frame.iloc[:, :196].to_numpy(np.float64).reshape(-1, 98, 2)
if preds.endswith(".npy"):
    pred = np.load(preds)
else:  # the CSV floor: the predictions read with pandas' C parser too (ids in file order = list order)
    pred = pd.read_csv(preds, engine="c").iloc[:, 1:].to_numpy(np.float64).reshape(-1, 98, 2)
d = np.linalg.norm(gt[:, 60] - gt[:, 72], axis=1)
nme = np.linalg.norm(pred - gt, axis=2).mean(axis=1) / d
print(float(nme.mean()))
"""

READER = PEAK + r"""
import sys
from pathlib import Path
from faceval.io.predictions import csv_format as p
source = Path(sys.argv[2])
if sys.argv[1] == "fast":
    raw = p.read_csv(source)
    n = len(raw.ids)
else:
    header = p.csv_header(source.open(encoding="utf-8").readline().rstrip("\n"), source)
    ids, values = p.read_csv_strict(source, header)
    n = len(ids)
print(n)
"""


def run_child(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} ... failed ({proc.returncode}):\n{proc.stderr}")
    peaks = [int(line.split("=", 1)[1]) for line in proc.stderr.splitlines() if line.startswith("PEAK_KB=")]
    return elapsed, peaks[-1] / 1024


def write_wflw_tree(root: Path, n: int, seed: int = 0) -> tuple[Path, np.ndarray]:
    """A WFLW test list of ``n`` faces in the real format; returns the list path and the GT."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, 98, endpoint=False)
    base = np.stack([np.cos(t), np.sin(t)], axis=1) * 60
    centres = rng.uniform(150, 450, size=(n, 1, 2))
    gt = np.round(base[None] * rng.uniform(0.7, 1.3, size=(n, 1, 1)) + centres + rng.normal(0, 2, (n, 98, 2)), 3)
    lo, hi = gt.min(axis=1) - 5, gt.max(axis=1) + 5
    frame = pd.DataFrame(gt.reshape(n, -1))
    for j, v in enumerate(np.concatenate([lo, hi], axis=1).T.round().astype(int)):
        frame[196 + j] = v
    flags = rng.integers(0, 2, size=(n, 6))
    for j in range(6):
        frame[200 + j] = flags[:, j]
    frame[206] = [f"{k % 61}--Event/{k % 61}_Event_img_{k // 3}.jpg" for k in range(n)]
    path = root / "wflw" / "WFLW_annotations" / "list_98pt_rect_attr_train_test" / "list_98pt_rect_attr_test.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, sep=" ", header=False, index=False, float_format="%.3f")
    return path, gt


def write_prediction_csv(path: Path, ids: list[str], pred: np.ndarray) -> Path:
    import pandas as pd

    k = pred.shape[1]
    frame = pd.DataFrame(pred.reshape(len(ids), -1), columns=[f"{a}{i}" for i in range(k) for a in "xy"])
    frame.insert(0, "sample_id", ids)
    frame.to_csv(path, index=False, float_format="%.4f", na_rep="nan")
    return path


def stats(values: list[float], digits: int = 2) -> str:
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", default="2500,20000,100000")
    parser.add_argument("--csv-mb", type=float, default=500.0)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "score.md")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    py = sys.executable
    faceval = [py, "-c", FACEVAL]
    load_before = os.getloadavg()
    loads: list[float] = []
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for n in sizes:
            root = tmp / f"data{n}"
            lst, gt = write_wflw_tree(root, n)
            from faceval.io.wflw import read_wflw_list

            ids = read_wflw_list(lst).face_ids()
            pred = gt + np.random.default_rng(1).normal(0, 1.5, gt.shape)
            npy = tmp / f"p{n}.npy"
            np.save(npy, pred)
            csv = write_prediction_csv(tmp / f"p{n}.csv", ids, pred)
            held_mib = 2 * pred.nbytes / 2**20
            score = [*faceval, "score", "--dataset", "wflw:test", "--data-root", str(root), "--format", "json"]
            variants = {
                "floor (numpy + pandas, NPY)": [py, "-c", FLOOR, str(lst), str(npy)],
                "faceval score, NPY": [*score, "--predictions", str(npy)],
                "floor, CSV predictions (pandas)": [py, "-c", FLOOR, str(lst), str(csv)],
                "faceval score, CSV": [*score, "--predictions", str(csv)],
            }
            floor_of = {"faceval score, NPY": "floor (numpy + pandas, NPY)",
                        "floor, CSV predictions (pandas)": "floor (numpy + pandas, NPY)",
                        "faceval score, CSV": "floor, CSV predictions (pandas)"}
            times: dict[str, list[float]] = {k: [] for k in variants}
            rss: dict[str, list[float]] = {k: [] for k in variants}
            names = list(variants)
            for r in range(args.repeat):
                for name in names[r % len(names):] + names[: r % len(names)]:  # order rotates per round
                    t, m = run_child(variants[name])
                    times[name].append(t)
                    rss[name].append(m)
                loads.append(os.getloadavg()[0])
            for name in variants:
                floor_times = times[floor_of.get(name, name)]
                paired = [a / b for a, b in zip(times[name], floor_times)]
                rows.append((n, name, stats(times[name]), stats(paired), stats(rss[name], 0),
                             statistics.median(rss[name]) / held_mib))
            print(rows[-4:], flush=True)

        # 2. the prediction-CSV reader on a large file
        n_big = max(1, int(args.csv_mb * 2**20 / (136 * 9.3)))
        faces = np.random.default_rng(2).uniform(0, 4000, size=(n_big, 68, 2))
        faces[::100] = np.nan  # 1 % failed predictions: before issue 14 these sent the file to the strict reader
        big = write_prediction_csv(tmp / "big.csv", [f"img/{i:07d}.jpg" for i in range(n_big)], faces)
        size_mb = big.stat().st_size / 2**20
        reader: dict[str, tuple[list[float], list[float]]] = {"vectorised (pandas C parser in pieces + guards)": ([], []),
                                                              "strict field-by-field checker": ([], [])}
        for r in range(args.repeat):
            for name, mode in list(zip(reader, ("fast", "strict")))[:: 1 if r % 2 == 0 else -1]:
                t, m = run_child([py, "-c", READER, mode, str(big)])
                reader[name][0].append(t)
                reader[name][1].append(m)
        print(reader, flush=True)
    load_after = os.getloadavg()

    lines = [
        "# `faceval score`: cost growth against a floor process, and the prediction-CSV reader",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}, after each round: "
        + ", ".join(f"{x:.1f}" for x in loads) + " (2 cores shared with other jobs: every figure is slowed by that "
        "load; the paired ratios move less). "
        f"{args.repeat} rounds, every variant once per round in a rotating order; whole processes. "
        f"Command: `python benchmarks/bench_score.py --repeat {args.repeat} --csv-mb {args.csv_mb:g}`.",
        "",
        "## Cost growth (`--dataset wflw:test`, synthetic lists in the real 207-token format)",
        "",
        "Time: median (min–max) seconds. × floor: this process / its floor process of the same round, "
        "median (min–max) over rounds (faceval with NPY predictions against the NPY floor; faceval with CSV "
        "predictions against the floor that reads the same CSV with pandas' C parser; that floor against the "
        "NPY floor). Memory: peak RSS (VmHWM) median (min–max); × held = median RSS / "
        "(GT + predictions as float64, 2 × N × 98 × 2 × 8 bytes).",
        "",
        "| faces | process | time s | × floor (paired) | peak RSS MiB | × held arrays |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for n, name, t, ratio, m, held in rows:
        lines.append(f"| {n:,} | {name} | {t} | {ratio} | {m} | {held:.2f} |")
    lines += [
        "",
        f"## Prediction-CSV reader ({size_mb:.0f} MB, {n_big:,} rows × 137 fields, 1 % of the rows `nan`)",
        "",
        "| reader | time s | peak RSS MiB (median, min–max) |",
        "|---|---:|---:|",
    ]
    for name, (t, m) in reader.items():
        lines.append(f"| {name} | {stats(t)} | {statistics.median(m):.0f} ({min(m):.0f}–{max(m):.0f}) |")
    lines.append("")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print(args.out.read_text())


if __name__ == "__main__":
    main()
