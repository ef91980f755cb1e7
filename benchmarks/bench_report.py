"""Cost growth of ``faceval report`` over 1 / 10 / 100 run files, before and after lazy reading.

    python benchmarks/bench_report.py [--before REV] [--repeat 5] [--faces 2500] [--points 98]
    python benchmarks/bench_report.py --gate-only --gate-faces 100000

Writes WFLW-sized synthetic runs (``--faces`` faces of ``--points`` points, 7 splits, poses)
once with the code at git revision ``--before`` (default ``main``) and once with this working
tree, then times whole ``faceval report RUN... --format markdown`` processes, before and after
interleaved, ``--repeat`` rounds. Writes ``results/report.md`` (``--out``; ``--no-write`` to print
only): median and min–max wall seconds, peak RSS, the growth t(N)/t(1) paired within each round,
and the machine load per round.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: makes N run files with the tree on sys.path[0] (its own RunData and write_run)
_WRITE = r"""
import sys
import numpy as np
from faceval.runs.data import RunData
from faceval.runs.provenance import sample_set_sha256
from faceval.runs.runfile import write_run
out, count, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for r in range(count):
    rng = np.random.default_rng(r)
    gt = rng.uniform(50, 150, size=(n, k, 2))
    pred = gt + rng.normal(0, 2, size=gt.shape)
    norm = np.linalg.norm(gt[:, 0] - gt[:, 1], axis=1)
    nme = np.linalg.norm(pred - gt, axis=2).mean(axis=1) / norm
    ids = np.asarray([f"img{i:05d}.jpg#0" for i in range(n)], dtype=object)
    splits = {"test": np.arange(n)}
    for j, name in enumerate(("largepose", "expression", "illumination", "makeup", "occlusion", "blur")):
        splits[name] = np.flatnonzero(rng.random(n) < 0.1 + 0.03 * j)
    from faceval.evaluation.scoring import recompute_summary
    run = RunData(label=f"model{r:03d}", dataset="wflw", scheme="wflw", sample_ids=ids, splits=splits,
                  predictions=pred, ground_truth=gt, visible=np.ones((n, k), dtype=bool), normalizers=norm, nme=nme,
                  failed_inputs=np.zeros(n, dtype=bool), failure_reasons=np.asarray([""] * n, dtype=object),
                  pose_pred=rng.normal(0, 10, (n, 3)), pose_gt=rng.normal(0, 10, (n, 3)),
                  protocol={"normalizer": "inter-ocular", "thresholds": [0.1], "auc_mode": "exact",
                            "aggregation": "mean", "visible_only": False, "pose_wrap": False, "box_source": "landmarks",
                            "box_scale": 1.2, "box_square": True, "manifest_sha256": None,
                            "sample_set_sha256": sample_set_sha256(ids)},
                  provenance={"faceval_version": "bench", "model_sha256": f"{r:064d}"}, model_info={})
    run.summary = recompute_summary(run)
    write_run(f"{out}/run{r:03d}.h5", run)
"""

#: runs the CLI of the tree on sys.path[0] (argv[1] is the command line); prints the peak RSS (KiB) last on stderr
_CLI = r"""
import resource, shlex, sys
from faceval_cli.main import entry
sys.argv = ["faceval"] + shlex.split(sys.argv[1])
try:
    entry()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(f"maxrss_kib={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", file=sys.stderr)
sys.exit(code)
"""


def tree(source: Path, dest: Path) -> Path:
    """A folder whose ``faceval`` and ``faceval_cli`` are ``source``'s faceval/ and cli/."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "faceval").symlink_to(source / "faceval")
    (dest / "faceval_cli").symlink_to(source / "cli")
    return dest


def checkout(rev: str, dest: Path) -> Path:
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "faceval", "cli", "data_manifests"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def python(path: Path, script: str, *args: str) -> subprocess.CompletedProcess:
    # -P and cwd=path: the current folder (this checkout) must not shadow the tree under test
    env = dict(os.environ, PYTHONPATH=str(path), PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, "-P", "-c", script, *args], env=env, cwd=path, capture_output=True,
                          text=True)


#: CPU seconds (user + system) of the last child, beside its wall time: on a loaded shared machine
#: wall time mostly measures waiting for a core, CPU time what the process itself did
LAST_CPU: list[float] = [0.0]


def time_cli(path: Path, args: list[str], ok: tuple[int, ...] = (0,)) -> tuple[float, int]:
    import resource
    import shlex

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = python(path, _CLI, shlex.join(args))
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_CPU[0] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in ok:
        raise SystemExit(f"report failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    rss = int(done.stderr.strip().splitlines()[-1].split("=")[1])
    return wall, rss


def time_report(path: Path, files: list[Path]) -> tuple[float, int]:
    return time_cli(path, ["report", "--format", "markdown", *map(str, files)])


def bench_gate(variants: dict[str, Path], top: Path, faces: int, points: int, repeat: int) -> list[str]:
    """``faceval gate RUN --baseline BASE`` (default rules) on two runs of ``faces`` faces."""
    files: dict[str, list[Path]] = {}
    for name, path in variants.items():
        folder = top / f"gate-{name}"
        folder.mkdir()
        made = python(path, _WRITE, str(folder), "2", str(faces), str(points))
        if made.returncode != 0:
            raise SystemExit(f"writing {name} gate runs failed: {made.stderr.strip()[-500:]}")
        files[name] = sorted(folder.glob("*.h5"))
    size_mb = files["after"][0].stat().st_size / 1e6
    results: dict[str, list[tuple[float, int]]] = {name: [] for name in variants}
    gate_cpu: dict[str, list[float]] = {name: [] for name in variants}
    load_before = os.getloadavg()
    for r in range(repeat):
        for name, path in (variants.items() if r % 2 == 0 else reversed(variants.items())):
            results[name].append(time_cli(path, ["gate", str(files[name][1]), "--baseline", str(files[name][0]),
                                                 "--format", "json"], ok=(0, 1)))
            gate_cpu[name].append(LAST_CPU[0])
    load_after = os.getloadavg()
    out = ["## Gate at {:,} faces".format(faces), "",
           f"`faceval gate RUN --baseline BASE` (default rules) on two runs of {faces:,} faces x {points} points "
           f"({size_mb:.0f} MB per file after); {repeat} runs each, interleaved; load average before "
           f"{load_before[0]:.2f}, after {load_after[0]:.2f}.", "",
           "| variant | wall s median (min–max) | CPU s median (min–max) | peak RSS MB median (min–max) |",
           "|---|---:|---:|---:|"]
    for name in variants:
        walls = [w for w, _ in results[name]]
        cpus = gate_cpu[name]
        rss = [m / 1024 for _, m in results[name]]
        out.append(f"| {name} | {statistics.median(walls):.3f} ({min(walls):.3f}–{max(walls):.3f}) "
                   f"| {statistics.median(cpus):.3f} ({min(cpus):.3f}–{max(cpus):.3f}) "
                   f"| {statistics.median(rss):.0f} ({min(rss):.0f}–{max(rss):.0f}) |")
    return out + [""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="main", help="git revision of the 'before' reader (default main)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--faces", type=int, default=2500)
    ap.add_argument("--points", type=int, default=98)
    ap.add_argument("--sizes", default="1,10,100")
    ap.add_argument("--gate-faces", type=int, default=0, help="also time gate on two runs of this many faces")
    ap.add_argument("--gate-only", action="store_true", help="only the gate measurement")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "report.md")
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as top_name:
        top = Path(top_name)
        variants = {"before": tree(checkout(args.before, top / "src-before"), top / "py-before"),
                    "after": tree(ROOT, top / "py-after")}
        if args.gate_faces:
            lines += bench_gate(variants, top, args.gate_faces, 68, args.repeat)
        if not args.gate_only:
            lines = report_growth(args, variants, top, sizes) + lines
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        args.out.write_text(text, encoding="utf-8")


def report_growth(args: argparse.Namespace, variants: dict[str, Path], top: Path, sizes: list[int]) -> list[str]:
    """``faceval report`` over 1 / 10 / 100 run files, before and after, interleaved; paired growth per round."""
    runs: dict[str, list[Path]] = {}
    for name, path in variants.items():
        folder = top / f"runs-{name}"
        folder.mkdir()
        made = python(path, _WRITE, str(folder), str(max(sizes)), str(args.faces), str(args.points))
        if made.returncode != 0:
            raise SystemExit(f"writing {name} runs failed: {made.stderr.strip()[-500:]}")
        runs[name] = sorted(folder.glob("*.h5"))
    size_mb = sum(p.stat().st_size for p in runs["after"]) / len(runs["after"]) / 1e6
    for name, path in variants.items():
        time_report(path, runs[name][:1])  # warm the page cache and imports
    load_before = os.getloadavg()
    loads = []
    results: dict[tuple[str, int], list[tuple[float, int]]] = {}
    cpu: dict[tuple[str, int], list[float]] = {}
    for r in range(args.repeat):
        order = list(variants.items()) if r % 2 == 0 else list(reversed(variants.items()))
        for n in sizes:
            for name, path in order:
                results.setdefault((name, n), []).append(time_report(path, runs[name][:n]))
                cpu.setdefault((name, n), []).append(LAST_CPU[0])
        loads.append(os.getloadavg()[0])
    load_after = os.getloadavg()

    def med(values: list[float]) -> str:
        return f"{statistics.median(values):.3f} ({min(values):.3f}–{max(values):.3f})"

    out = [
        "# `faceval report` and `faceval gate`: reading run files",
        "",
        f"Written by `python benchmarks/bench_report.py --repeat {args.repeat}"
        + (f" --gate-faces {args.gate_faces}" if args.gate_faces else "") + "`: whole processes "
        f"(`faceval report RUN... --format markdown`), wall seconds, median and min–max of {args.repeat} rounds; "
        f"each round runs every N for both trees, the order of the trees alternating. **before**: git `{args.before}`; "
        "**after**: this working tree. Runs: synthetic WFLW-sized runs written by each tree's own `write_run`, "
        f"{args.faces} faces x {args.points} points, 7 splits, poses ({size_mb:.1f} MB per file).",
        "",
        f"Machine: {os.cpu_count()} CPUs, shared with other jobs. Load average (1/5/15 min) before "
        f"{load_before[0]:.2f}/{load_before[1]:.2f}/{load_before[2]:.2f}, after "
        f"{load_after[0]:.2f}/{load_after[1]:.2f}/{load_after[2]:.2f}; per round (1 min): "
        + ", ".join(f"{x:.2f}" for x in loads) + ". A load above 2 slows every process; the paired ratios are "
        "the figures to compare.",
        "",
        "## Report over 1 / 10 / 100 run files",
        "",
        "| N runs | before: wall s | after: wall s | after/before (paired, per round) | before peak RSS MB | after peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for n in sizes:
        walls = {name: [w for w, _ in results[(name, n)]] for name in variants}
        paired = [a / b for a, b in zip(walls["after"], walls["before"])]
        rss = {name: statistics.median(m for _, m in results[(name, n)]) / 1024 for name in variants}
        out.append(f"| {n} | {med(walls['before'])} | {med(walls['after'])} | {med(paired)} "
                   f"| {rss['before']:.0f} | {rss['after']:.0f} |")
    out += ["", "CPU seconds (user + system) of the same processes, which the load disturbs far less than "
            "wall time:", "", "| N runs | before: CPU s | after: CPU s | after/before (paired) |", "|---:|---:|---:|---:|"]
    for n in sizes:
        out.append(f"| {n} | {med(cpu[('before', n)])} | {med(cpu[('after', n)])} "
                   f"| {med([a / b for a, b in zip(cpu[('after', n)], cpu[('before', n)])])} |")
    out += ["", "Cost growth t(N)/t(1), paired within each round (median (min–max) over rounds):", "",
            "| N runs | before, wall | after, wall | before, CPU | after, CPU |", "|---:|---:|---:|---:|---:|"]
    first = sizes[0]
    for n in sizes[1:]:
        cells = []
        for name in variants:
            walls = [w for w, _ in results[(name, n)]]
            base = [w for w, _ in results[(name, first)]]
            cells.append(med([a / b for a, b in zip(walls, base)]))
        for name in variants:
            cells.append(med([a / b for a, b in zip(cpu[(name, n)], cpu[(name, first)])]))
        out.append(f"| {n} | {' | '.join(cells)} |")
    raw = {f"{name} {n}": [round(w, 3) for w, _ in results[(name, n)]] for name in variants for n in sizes}
    raw_cpu = {f"{name} {n}": [round(c, 3) for c in cpu[(name, n)]] for name in variants for n in sizes}
    out += ["", f"Raw wall seconds per round: {raw}", "", f"Raw CPU seconds per round: {raw_cpu}", ""]
    return out


if __name__ == "__main__":
    main()
