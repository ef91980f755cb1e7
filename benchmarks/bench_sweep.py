"""Sweeps: one `faceval run --model 'DIR/*.onnx'` process against N separate `faceval run` processes.

    python benchmarks/bench_sweep.py [--rounds 5] [--sizes 1,4,16] [--out benchmarks/results/sweep.md]

N models (the three PFLD models of ../shared/data/models/pfld_ghostone, cycled, as N
differently named copies in a folder; they share one crop spec) on the 330 HELEN photos:

- sweep: one process, ``--model 'DIR/*.onnx' --out OUTDIR/``: each image decoded once for all N
- separate: N processes one after the other, as a shell loop would run them, sharing one crop
  cache (so the first is cold and the others find its crops)

Each round starts from a first run ever for both (fresh HOME / XDG_CACHE_HOME and crop cache),
rounds interleaved (the order alternates), ratios paired per round. Whole processes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_run import HELEN, SHARED, SPEC, clean_env, faceval_command, timed, uptime  # noqa: E402

MODELS = sorted((SHARED / "models" / "pfld_ghostone").glob("*.onnx"))


def stats(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="1,4,16")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "sweep.md")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if not HELEN.is_dir() or not MODELS:
        sys.exit("skipped: ../shared/data (HELEN photos and PFLD models) is absent")
    sizes = [int(s) for s in args.sizes.split(",")]
    fv = faceval_command()
    sweep_t: dict[int, list[float]] = {n: [] for n in sizes}
    sep_t: dict[int, list[float]] = {n: [] for n in sizes}
    nmes: dict[int, list[float]] = {}
    sep_nmes: dict[int, list[float]] = {}
    loads: list[float] = []
    before = uptime()
    with tempfile.TemporaryDirectory(prefix="faceval-bench-sweep-") as tmp_name:
        tmp = Path(tmp_name)
        root = tmp / "data"
        (root / "300w" / "helen").mkdir(parents=True)
        (root / "300w" / "helen" / "testset").symlink_to(HELEN)
        for f in HELEN.iterdir():
            f.read_bytes()
        base = ["--dataset", "300w:helen", "--data-root", str(root), "--no-progress", "--format", "json"] + SPEC
        folders: dict[int, list[Path]] = {}
        for n in sizes:
            ckpts = tmp / f"ckpts{n}"
            ckpts.mkdir()
            for i in range(n):  # copies, not links: each model is its own file, as checkpoints are
                shutil.copyfile(MODELS[i % len(MODELS)], ckpts / f"m{i:02d}_{MODELS[i % len(MODELS)].name}")
            folders[n] = sorted(ckpts.glob("*.onnx"))
        for r in range(args.rounds):  # rounds outer: every N sees the same drift of the machine's load
            for n in sizes:
                ckpts, models = folders[n][0].parent, folders[n]

                def sweep() -> None:
                    fresh = tmp / f"s{n}-{r}"
                    (fresh / "home").mkdir(parents=True)
                    wall, _, out = timed(fv + ["run", "--model", str(ckpts / "*.onnx"), "--cache", str(fresh / "c" / "crops"),
                                               "--out", str(fresh / "runs") + "/"] + base, clean_env(fresh / "home"))
                    sweep_t[n].append(wall)
                    nmes[n] = [entry["splits"]["helen"]["nme"] for entry in json.loads(out)["runs"]]
                    shutil.rmtree(fresh)

                def separate() -> None:
                    fresh = tmp / f"p{n}-{r}"
                    (fresh / "home").mkdir(parents=True)
                    start = time.perf_counter()
                    got = []
                    for i, m in enumerate(models):
                        _, _, out = timed(fv + ["run", "--model", str(m), "--cache", str(fresh / "c" / "crops"),
                                                "--out", str(fresh / f"run{i}.h5")] + base, clean_env(fresh / "home"))
                        got.append(json.loads(out)["splits"]["helen"]["nme"])
                    sep_t[n].append(time.perf_counter() - start)
                    sep_nmes[n] = got
                    shutil.rmtree(fresh)

                for job in ((sweep, separate) if (r + n) % 2 == 0 else (separate, sweep)):
                    job()
                if nmes[n] != sep_nmes[n]:
                    sys.exit(f"N={n}: the sweep's NMEs {nmes[n]} differ from the separate runs' {sep_nmes[n]}")
                loads.append(os.getloadavg()[0])
                print(f"N={n} round {r + 1}/{args.rounds} done ({loads[-1]:.2f})", file=sys.stderr, flush=True)
    after = uptime()
    lines = [
        "# Sweeps: N models in one `faceval run` against N separate runs",
        "",
        f"Written by `python benchmarks/bench_sweep.py --rounds {args.rounds} --sizes {args.sizes}` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; 330 HELEN photos, the PFLD models (GhostOne, GhostNet, "
        "GhostNet-Slim, cycled; one crop spec), CPU, whole processes, every round from a first run ever. "
        f"Load: before `{before}`, after `{after}`; 1-min load after each (round, N): "
        + ", ".join(f"{x:.1f}" for x in loads) + " (2 cores shared with other jobs: all figures are slowed by that "
        "load, the paired ratios less). Rounds outer, N inner, sweep/separate order alternating. Each model is a "
        "copy of a PFLD file under its own name. The sweep's NME of every model equals its separate run's "
        "(checked in every round).",
        "",
        "| N models | one sweep process, s | N separate processes, s | separate / sweep (paired, per round) |",
        "|---:|---:|---:|---:|",
    ]
    for n in sizes:
        ratio = [sep_t[n][i] / sweep_t[n][i] for i in range(args.rounds)]
        lines.append(f"| {n} | {stats(sweep_t[n])} | {stats(sep_t[n])} | {stats(ratio)} |")
    lines += ["", "NME per model of the largest sweep (%): " + ", ".join(f"{100 * x:.4f}" for x in nmes[sizes[-1]]),
              "", "Raw seconds: " + json.dumps({"sweep": sweep_t, "separate": sep_t})]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
