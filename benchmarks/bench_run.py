"""End-to-end benchmark of `faceval run` on the real HELEN test set (330 photos, ~2-3 MP).

One command, one results file:

    python benchmarks/bench_run.py [--rounds 5] [--out benchmarks/results/run.md]

Every figure is a whole process (Python start-up, imports and session creation count). All
pipelines are measured in the same invocation, interleaved: each round runs every pipeline
once, in an order rotated from round to round, so that load from other work on the machine
falls on all of them alike. Ratios are computed per round (paired) and given as median and
min-max over the rounds, next to the ratio of the medians.

- naive: the loop a user would write (Pillow full decode, crop, resize, session.run per image)
- overlapped (the limit): Pillow draft decode + crop in 2 threads overlapped with batch-1
  inference on one ORT thread that does not spin; the same crops as faceval's protocol
  (checked pixel for pixel before timing)
- inference only: a process that opens the session and runs 330 inferences on ready arrays,
  with ORT's default threads and with one non-spinning thread
- faceval cold, first run ever: fresh HOME and XDG_CACHE_HOME (no per-user cache of any
  kind), a crop-cache folder that does not exist in a parent that does not exist
- faceval warm: the same command again with the same HOME and cache (every crop cached)

The model is ../shared/data/models/pfld_ghostone/PFLD_GhostOne_112_1_opt_sim.onnx (no spec in
its metadata: faceval gets the spec with --set). Needs ../shared/data/300w_helen_test
(research-only data, not shipped). The images are read once before timing, so every pipeline
finds them in the OS page cache.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = Path(os.environ.get("FACEVAL_SHARED_DATA", REPO.parent / "shared" / "data"))
HELEN = SHARED / "300w_helen_test" / "helen" / "testset"
MODEL = SHARED / "models" / "pfld_ghostone" / "PFLD_GhostOne_112_1_opt_sim.onnx"
SPEC = ["--set", "color=RGB", "--set", "mean=0.5", "--set", "std=0.5", "--set", "scheme=wflw",
        "--set", "box=landmarks", "--set", "box_scale=1.2"]
N = 330
#: everything from this line on in the results file is kept when the benchmark is re-run
NOTES_MARKER = "<!-- notes: kept by bench_run.py -->"

PIPELINES = ("naive", "overlapped", "infer default", "infer 1 thread", "faceval cold", "faceval warm")


def load_text() -> str:
    try:
        return "load average %.2f %.2f %.2f" % os.getloadavg()
    except OSError:  # pragma: no cover
        return "load average unknown"


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:  # pragma: no cover
        return load_text()


def faceval_command() -> list[str]:
    script = Path(sys.executable).parent / "faceval"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "faceval_cli.main"]


def clean_env(home: Path | None = None) -> dict[str, str]:
    # PYTHONDONTWRITEBYTECODE (set in the development container) would make every process
    # compile faceval from source; an installed faceval has its bytecode, so the benchmark does too.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEVAL_") and k != "PYTHONDONTWRITEBYTECODE"}
    if home is not None:
        env["HOME"] = str(home)
        env["XDG_CACHE_HOME"] = str(home / ".cache")
    return env


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the child (user + system, all threads), stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout


def check_crops(root: Path) -> int:
    """Pixels of the reference crops equal faceval's loader's; returns the number checked."""
    sys.path.insert(0, str(HERE))
    import numpy as np

    import e2e_baselines as ref
    from faceval.pipeline.loader import CropJob, load_crop
    from faceval.pipeline.transform import face_crop

    n = 0
    for pts_file in ref.helen_files(root):
        gt = ref.read_gt(pts_file)
        rect = ref.crop_rect(gt)
        job = CropJob(n, pts_file.stem, pts_file.with_suffix(".jpg"), crop=face_crop(gt, scale=1.2, square=True).as_array())
        theirs, their_rect = load_crop(job, (ref.SIZE, ref.SIZE))
        if not (np.array_equal(their_rect, rect) and np.array_equal(theirs, ref.protocol_crop(job.source, rect))):
            sys.exit(f"reference crop of {pts_file.stem} differs from faceval's: the limit would not be fair")
        n += 1
    return n


def ready_inputs(root: Path, path: Path) -> None:
    sys.path.insert(0, str(HERE))
    import numpy as np

    import e2e_baselines as ref

    xs = [ref.normalise(ref.protocol_crop(f.with_suffix(".jpg"), ref.crop_rect(ref.read_gt(f))))[0]
          for f in ref.helen_files(root)]
    np.save(path, np.stack(xs))


def stats(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "run.md")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if not HELEN.is_dir():
        sys.exit(f"skipped: {HELEN} is absent (real HELEN data lives in ../shared/data)")
    if not args.model.is_file():
        sys.exit(f"skipped: {args.model} is absent")
    model = str(args.model)
    faceval = faceval_command()
    with tempfile.TemporaryDirectory(prefix="faceval-bench-run-") as tmp_name:
        tmp = Path(tmp_name)
        root = tmp / "data"
        (root / "300w" / "helen").mkdir(parents=True)
        (root / "300w" / "helen" / "testset").symlink_to(HELEN)
        for f in HELEN.iterdir():  # into the page cache, for every pipeline alike
            f.read_bytes()
        checked = check_crops(root)
        inputs = tmp / "inputs.npy"
        ready_inputs(root, inputs)
        base = [sys.executable, str(HERE / "e2e_baselines.py")]
        env = clean_env()
        wall: dict[str, list[float]] = {k: [] for k in PIPELINES}
        cpu: dict[str, list[float]] = {k: [] for k in PIPELINES}
        inner: dict[str, list[dict]] = {"faceval cold": [], "faceval warm": []}
        nme: dict[str, float] = {}
        loads: list[str] = []
        started = uptime()

        def record(name: str, result: tuple[float, float, str]) -> str:
            wall[name].append(result[0])
            cpu[name].append(result[1])
            return result[2]

        def run_faceval(r: int) -> None:
            fresh = tmp / f"first-run-{r}"  # does not exist yet: a fresh parent
            home = fresh / "home"
            home.mkdir(parents=True)
            cmd = faceval + ["run", "--model", model, "--dataset", "300w:helen", "--data-root", str(root),
                             "--cache", str(fresh / "cache" / "crops"), "--no-progress", "--format", "json",
                             "--out", str(fresh / "run.h5")] + SPEC
            for name, hits in (("faceval cold", 0), ("faceval warm", N)):
                if name == "faceval warm":
                    (fresh / "run.h5").unlink()
                out = json.loads(record(name, timed(cmd, clean_env(home))))
                if out["timings"]["cache_hits"] != hits:
                    sys.exit(f"{name}: {out['timings']['cache_hits']} crop-cache hits, expected {hits}")
                inner[name].append(out["timings"])
                nme["faceval"] = out["splits"]["helen"]["nme"]
            shutil.rmtree(fresh)

        blocks = [
            lambda r: nme.__setitem__("naive", json.loads(record("naive", timed(base + ["naive", str(root), model], env)))["nme"]),
            lambda r: nme.__setitem__("overlapped", json.loads(record(
                "overlapped", timed(base + ["overlapped", str(root), model, "2"], env)))["nme"]),
            lambda r: record("infer default", timed(base + ["infer", str(inputs), model, "0"], env)),
            lambda r: record("infer 1 thread", timed(base + ["infer", str(inputs), model, "1"], env)),
            run_faceval,
        ]
        # Untimed warm-up: bytecode written, shared libraries in the page cache. Its HOME and cache
        # are thrown away, so no timed faceval run finds anything it left.
        warm_home = tmp / "warm-up"
        warm_home.mkdir()
        timed(base + ["infer", str(inputs), model, "1"], env)
        timed(faceval + ["run", "--model", model, "--dataset", "300w:helen", "--data-root", str(root), "--limit", "8",
                         "--cache", str(warm_home / "cache"), "--no-progress", "--format", "json",
                         "--out", str(warm_home / "run.h5")] + SPEC, clean_env(warm_home))
        shutil.rmtree(warm_home)
        for r in range(args.rounds):
            loads.append(load_text())
            k = r % len(blocks)
            for block in blocks[k:] + blocks[:k]:
                block(r)
            print(f"round {r + 1}/{args.rounds} done ({loads[-1]})", file=sys.stderr)
        finished = uptime()

    med = {k: statistics.median(v) for k, v in wall.items()}
    infer_ref = min(("infer default", "infer 1 thread"), key=lambda k: med[k])

    def paired(num: str, den: str) -> list[float]:
        """Per-round speed ratio num/den (= time den / time num)."""
        return [wall[den][i] / wall[num][i] for i in range(args.rounds)]

    ratios = {
        "cold / overlapped limit": (paired("faceval cold", "overlapped"), ">= 0.8"),
        "cold / naive": (paired("faceval cold", "naive"), ">= 5"),
        f"warm / inference only ({infer_ref})": (paired("faceval warm", infer_ref), ">= 0.9"),
        "overlapped / naive": (paired("overlapped", "naive"), ""),
    }
    labels = {
        "naive": "naive loop (full decode, crop, resize, run)",
        "overlapped": "overlapped limit (draft decode + crop in 2 threads, 1 ORT thread, no spin)",
        "infer default": "inference only, ready inputs, ORT default threads",
        "infer 1 thread": "inference only, ready inputs, 1 ORT thread, no spin",
        "faceval cold": "faceval run, cold, first run ever (no cache of any kind)",
        "faceval warm": "faceval run, warm (crop cache filled)",
    }
    lines = [
        "# End-to-end benchmark: `faceval run` on 300W HELEN test (330 real photos)",
        "",
        f"Written by `python benchmarks/bench_run.py --rounds {args.rounds}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; model "
        f"PFLD-GhostOne 112x112 (fixed batch 1, `{args.model.name}`), CPU execution provider. Every figure is a "
        "whole process (start-up, imports, session creation included), measured in one invocation, "
        f"{args.rounds} interleaved rounds (the order of the pipelines rotates from round to round).",
        "",
        f"Machine load: the machine is shared with other work while this runs; `uptime` before: `{started}`; "
        f"after: `{finished}`. Per round: {'; '.join(loads)}. A load above the core count slows every "
        "pipeline, and the wall times below are slower than on an idle machine; the paired ratios are "
        "the figures to compare.",
        "",
        f"The limit's crops were checked equal, pixel for pixel, to faceval's loader's on all {checked} images before timing.",
        "",
        "| pipeline | wall s, median (min–max) | images/s (median) | CPU s, median (min–max) |",
        "|---|---:|---:|---:|",
    ]
    for k in PIPELINES:
        lines.append(f"| {labels[k]} | {stats(wall[k])} | {N / med[k]:.0f} | {stats(cpu[k])} |")
    lines += [
        "",
        "| ratio (speed; > 1 = faster) | per round, median (min–max) | ratio of medians | goal (issue 14) |",
        "|---|---:|---:|---|",
    ]
    for name, (values, goal) in ratios.items():
        num, den = name.split(" (")[0].split(" / ")
        keys = {"cold": "faceval cold", "warm": "faceval warm", "overlapped limit": "overlapped",
                "overlapped": "overlapped", "naive": "naive", "inference only": infer_ref}
        of_medians = med[keys[den]] / med[keys[num]]
        lines.append(f"| {name} | {stats(values)} | {of_medians:.2f} | {goal} |")
    lines += [
        "",
        "The same ratios in CPU seconds (user + system of the whole process, all threads; CPU time depends far "
        "less on the load than wall time, so these show the work each pipeline does):",
        "",
        "| CPU-work ratio (> 1 = less CPU) | per round, median (min–max) |",
        "|---|---:|",
    ]
    for name, (num, den) in {"cold / overlapped limit": ("faceval cold", "overlapped"),
                             "cold / naive": ("faceval cold", "naive"),
                             f"warm / inference only ({infer_ref})": ("faceval warm", infer_ref)}.items():
        lines.append(f"| {name} | {stats([cpu[den][i] / cpu[num][i] for i in range(args.rounds)])} |")
    fields = ("pipeline_s", "inference_s", "waiting_for_crops_s")
    inside = {k: {f: statistics.median(t[f] for t in v) for f in fields if f in v[0]} for k, v in inner.items()}
    lines += [
        "",
        "faceval's own timings (median over rounds, seconds): "
        + "; ".join(f"{k}: " + ", ".join(f"{f} {x:.2f}" for f, x in v.items()) for k, v in inside.items()) + ".",
        f"NME (inter-ocular, 98->68): naive {100 * nme['naive']:.4f} %, overlapped limit {100 * nme['overlapped']:.4f} %, "
        f"faceval {100 * nme['faceval']:.4f} %.",
        "",
        "Raw wall seconds per round: " + json.dumps({k: [round(x, 3) for x in v] for k, v in wall.items()}),
        "",
        "Raw CPU seconds per round: " + json.dumps({k: [round(x, 3) for x in v] for k, v in cpu.items()}),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        kept = ""
        if args.out.is_file():  # the hand-written notes below the marker survive a re-run
            old = args.out.read_text()
            if NOTES_MARKER in old:
                kept = old[old.index(NOTES_MARKER):]
        args.out.write_text(text + ("\n" + kept if kept else ""))

if __name__ == "__main__":
    main()
