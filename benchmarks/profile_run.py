"""Where a cold first-run-ever and a warm `faceval run` spend their CPU: py-spy profiles, summarised.

    python benchmarks/profile_run.py [--rate 250] [--out benchmarks/results/run_profile.md]

Runs the cold command of bench_run.py (330 HELEN photos, GhostOne, fresh HOME and
XDG_CACHE_HOME, a crop-cache folder in a parent that does not exist), then the same command
again (warm: every crop cached), each under
``py-spy record --threads`` (on-CPU samples of the Python threads; ONNX Runtime's own threads
are native and not sampled, their work shows as ``session.run`` on the calling thread) and
writes a table of on-CPU seconds per activity, per thread (main thread / crop workers), and
the top functions by own time. Needs ``pip install py-spy``; falls back to cProfile (main
thread only) when py-spy is not installed or cannot attach.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_run import HELEN, MODEL, SPEC, clean_env, faceval_command, uptime  # noqa: E402

#: Leaf frames of threads that wait (for a job, a lock, a future): py-spy's idle detection does
#: not always drop them, so they are counted apart and left out of the on-CPU totals.
WAITING = re.compile(r"^(_worker \(.*concurrent/futures/thread\.py|wait \(.*threading\.py|result \(.*concurrent/futures/_base\.py|_wait_for_tstate_lock|get \(.*queue\.py)")

#: (activity, regular expression on one frame); the first activity whose pattern matches any
#: frame of a sample (outermost frame first) takes the sample.
ACTIVITIES = [
    ("import onnx (model cost)", r"<module> \((.*/)?onnx/__init__\.py"),
    # Before the activities: a module's import (numpy under faceval.runs.data, h5py under the crop
    # cache, Pillow under the decode) is start-up work, not the activity that happens to trigger it.
    ("importing modules", r"_find_and_load"),
    ("model cost (params/FLOPs)", r"model_cost|inspect_model"),
    ("create ORT session", r"InferenceSession\.__init__|_create_inference_session"),
    ("session.run", r"\brun \(.*onnxruntime_inference_collection\.py"),
    ("crop cache (HDF5)", r"faceval/pipeline/cache\.py"),
    ("decode + crop", r"load_crop|crop_and_resize|open_image"),
    ("normalise (to_model_input)", r"to_model_input"),
    ("map back / decode outputs", r"to_image|decode_landmarks|select_outputs"),
    ("load annotations", r"faceval/datasets/"),
    ("sample identities (stat + hash)", r"faceval/pipeline/identity\.py"),
    ("provenance (versions, git)", r"faceval/runs/provenance\.py"),
    ("score + write run file", r"build_run|write_run|faceval/runs/|faceval/evaluation/scoring\.py"),
    ("checkpoint", r"faceval/evaluation/checkpoint\.py"),
]


def parse_raw(path: Path) -> list[tuple[list[str], int]]:
    out = []
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            out.append((stack.split(";"), int(count)))
    return out


def thread_of(frames: list[str]) -> str:
    head = " ".join(frames[:2])
    if "faceval-crop" in head or any("crop" in f and "_worker" in f for f in frames[:4]):
        return "crop workers"
    if "MainThread" in head or '"main"' in head:
        return "main"
    for f in frames:
        if "_worker (concurrent/futures/thread.py" in f:
            return "crop workers"
    return "main"


def summarise(samples: list[tuple[list[str], int]], rate: int) -> tuple[dict, collections.Counter, int, int]:
    table: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    own: collections.Counter = collections.Counter()
    patterns = [(name, re.compile(p)) for name, p in ACTIVITIES]
    total = 0
    waiting = 0
    for frames, count in samples:
        body = [f for f in frames if not f.startswith(("process ", "thread "))]
        if body and WAITING.search(body[-1]):
            waiting += count
            continue
        total += count
        activity = "other"
        for name, rx in patterns:
            if any(rx.search(f) for f in body):
                activity = name
                break
        table[activity][thread_of(frames)] += count
        if body:
            own[re.sub(r":\d+\)$", ")", body[-1])] += count
    return table, own, total, waiting


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "run_profile.md")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if not HELEN.is_dir():
        sys.exit(f"skipped: {HELEN} is absent (real HELEN data lives in ../shared/data)")
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    with tempfile.TemporaryDirectory(prefix="faceval-profile-") as tmp_name:
        tmp = Path(tmp_name)
        root = tmp / "data"
        (root / "300w" / "helen").mkdir(parents=True)
        (root / "300w" / "helen" / "testset").symlink_to(HELEN)
        for f in HELEN.iterdir():
            f.read_bytes()
        fresh = tmp / "first-run"
        home = fresh / "home"
        home.mkdir(parents=True)
        cmd = faceval_command() + ["run", "--model", str(args.model), "--dataset", "300w:helen", "--data-root", str(root),
                                   "--cache", str(fresh / "cache" / "crops"), "--no-progress", "--format", "json",
                                   "--out", str(fresh / "run.h5")] + SPEC
        profiles = {}
        for kind in ("cold", "warm"):  # warm: the same command again, every crop cached by the cold run
            (fresh / "run.h5").unlink(missing_ok=True)
            profiles[kind] = profile(pyspy, cmd, clean_env(home), tmp / f"{kind}.txt", args.rate)
    lines = [
        "# Profile of `faceval run` cold (first run ever) and warm (330 HELEN photos, GhostOne, CPU)",
        "",
        f"Written by `python benchmarks/profile_run.py --rate {args.rate}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
        "Cold: fresh HOME and XDG_CACHE_HOME, a crop-cache folder in a parent that does not exist (no cache of any kind). "
        "Warm: the same command again (every crop cached). On-CPU samples of the Python threads "
        "(py-spy `--threads --nonblocking`: the process is not paused to sample; ONNX Runtime's work shows as "
        "session.run on the thread that calls it). The machine is shared (2 cores, other work running): the load is "
        "given with each profile.",
    ]
    for kind, prof in profiles.items():
        lines += ["", f"## {kind}", ""] + report(prof, args.rate)
    lines += ["", f"An activity takes a sample when any frame of its stack matches (first match in the order: "
              + ", ".join(n for n, _ in ACTIVITIES) + "), so a module imported from inside an activity counts as importing modules. "
              "Seconds are sampled thread-seconds: a thread that is runnable but waiting for a core (2 cores, 2 crop "
              "workers, the main thread and ORT's thread) is sampled as active, so the total can exceed the "
              "process's CPU time; the shares are the figures to compare."]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


def profile(pyspy: str, cmd: list[str], env: dict[str, str], raw: Path, rate: int) -> dict:
    """Run ``cmd`` under py-spy (cProfile of the main thread when py-spy cannot attach)."""
    before = uptime()
    t = time.perf_counter()
    tool = "py-spy"
    proc = None
    if Path(pyspy).is_file():
        proc = subprocess.run([pyspy, "record", "--threads", "--nonblocking", "--rate", str(rate), "--format", "raw",
                               "--output", str(raw), "--"] + cmd, capture_output=True, text=True, env=env)
    if proc is None or proc.returncode != 0 or not raw.is_file():
        tool = "cProfile (py-spy unavailable: main thread only)"
        prof = raw.with_suffix(".prof")
        script = Path(cmd[0])
        runner = [sys.executable, "-m", "cProfile", "-o", str(prof)]
        runner += [str(script)] if script.name == "faceval" else ["-m", "faceval_cli.main"]
        subprocess.run(runner + cmd[1 if script.name == "faceval" else 3:], check=True, capture_output=True, env=env)
        import pstats

        stats = pstats.Stats(str(prof))
        samples = []
        for (file, line, func), (_, _, tt, _, _) in stats.stats.items():  # type: ignore[attr-defined]
            samples.append(([f"{func} ({file}:{line})"], int(tt * rate)))
    else:
        samples = parse_raw(raw)
    return {"samples": samples, "wall": time.perf_counter() - t, "before": before, "after": uptime(), "tool": tool}


def report(prof: dict, rate: int) -> list[str]:
    """The activity table and the top functions of one profile."""
    table, own, total, waiting = summarise(prof["samples"], rate)
    lines = [
        f"{prof['tool']}; wall time under the profiler {prof['wall']:.2f} s; load before `{prof['before']}`, "
        f"after `{prof['after']}`.",
        "",
        "| activity | main thread s | crop workers s | total s | share |",
        "|---|---:|---:|---:|---:|",
    ]
    order = [name for name, _ in ACTIVITIES] + ["other"]
    for name in sorted(order, key=lambda n: -sum(table[n].values())):
        c = table[name]
        if not sum(c.values()):
            continue
        lines.append(f"| {name} | {c['main'] / rate:.2f} | {c['crop workers'] / rate:.2f} | "
                     f"{sum(c.values()) / rate:.2f} | {100 * sum(c.values()) / max(total, 1):.0f} % |")
    lines.append(f"| **all** | {sum(table[n]['main'] for n in order) / rate:.2f} | "
                 f"{sum(table[n]['crop workers'] for n in order) / rate:.2f} | {total / rate:.2f} | 100 % |")
    lines += ["", f"Left out as waiting (threads blocked on a job queue, lock or future that py-spy did not mark idle): "
              f"{waiting / rate:.2f} s of samples."]
    lines += ["", "Top functions by own on-CPU time (all threads):", "", "| function | s |", "|---|---:|"]
    for func, count in own.most_common(12):
        lines.append(f"| `{func.replace('|', '/')}` | {count / rate:.2f} |")
    return lines


if __name__ == "__main__":
    main()
