"""Cost growth of ``faceval report`` over 1 / 10 / 100 run files, before and after lazy reading.

    python benchmarks/bench_report.py [--before REV] [--repeat 5] [--faces 2500] [--points 98]
    python benchmarks/bench_report.py --gate-only --gate-faces 100000

Writes WFLW-sized synthetic runs (``--faces`` faces of ``--points`` points, 7 splits, poses)
once with the code at git revision ``--before`` (default ``main``: the reader that loads every
array) and once with this working tree (checksummed, lazy reader), then times whole
``faceval report RUN... --format markdown`` processes, before and after interleaved, ``--repeat``
times per size. Prints median and min–max wall seconds, peak RSS, the growth t(N)/t(1) and
the machine load.
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


def time_cli(path: Path, args: list[str], ok: tuple[int, ...] = (0,)) -> tuple[float, int]:
    import shlex

    start = time.perf_counter()
    done = python(path, _CLI, shlex.join(args))
    wall = time.perf_counter() - start
    if done.returncode not in ok:
        raise SystemExit(f"report failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    rss = int(done.stderr.strip().splitlines()[-1].split("=")[1])
    return wall, rss


def time_report(path: Path, files: list[Path]) -> tuple[float, int]:
    return time_cli(path, ["report", "--format", "markdown", *map(str, files)])


def bench_gate(variants: dict[str, Path], top: Path, faces: int, points: int, repeat: int) -> None:
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
    load_before = os.getloadavg()
    for _ in range(repeat):
        for name, path in variants.items():
            results[name].append(time_cli(path, ["gate", str(files[name][1]), "--baseline", str(files[name][0]),
                                                 "--format", "json"], ok=(0, 1)))
    load_after = os.getloadavg()
    print()
    print(f"faceval gate (default rules) on two runs of {faces} faces x {points} points ({size_mb:.0f} MB per file "
          f"after); {repeat} runs each, interleaved; load before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    print()
    print("| variant | wall s median (min–max) | peak RSS MB median (min–max) |")
    print("|---|---|---|")
    for name in variants:
        walls = [w for w, _ in results[name]]
        rss = [r / 1024 for _, r in results[name]]
        print(f"| {name} | {statistics.median(walls):.3f} ({min(walls):.3f}–{max(walls):.3f}) "
              f"| {statistics.median(rss):.0f} ({min(rss):.0f}–{max(rss):.0f}) |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="main", help="git revision of the 'before' reader (default main)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--faces", type=int, default=2500)
    ap.add_argument("--points", type=int, default=98)
    ap.add_argument("--sizes", default="1,10,100")
    ap.add_argument("--gate-faces", type=int, default=0, help="also time gate on two runs of this many faces")
    ap.add_argument("--gate-only", action="store_true", help="only the gate measurement")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as top_name:
        top = Path(top_name)
        variants = {"before": tree(checkout(args.before, top / "src-before"), top / "py-before"),
                    "after": tree(ROOT, top / "py-after")}
        if args.gate_faces:
            bench_gate(variants, top, args.gate_faces, 68, args.repeat)
        if args.gate_only:
            return
        runs: dict[str, list[Path]] = {}
        for name, path in variants.items():
            folder = top / f"runs-{name}"
            folder.mkdir()
            made = python(path, _WRITE, str(folder), str(max(sizes)), str(args.faces), str(args.points))
            if made.returncode != 0:
                raise SystemExit(f"writing {name} runs failed: {made.stderr.strip()[-500:]}")
            runs[name] = sorted(folder.glob("*.h5"))
        import h5py

        versions = {}
        for name in variants:
            with h5py.File(runs[name][0], "r") as h5:
                versions[name] = int(h5.attrs["schema_version"])
        if versions["before"] == versions["after"]:
            raise SystemExit(f"both trees wrote run files of schema {versions['after']}: is --before the old reader?")
        size_mb = sum(p.stat().st_size for p in runs["after"]) / len(runs["after"]) / 1e6
        for name, path in variants.items():
            time_report(path, runs[name][:1])  # warm the page cache and imports
        load_before = os.getloadavg()
        results: dict[tuple[str, int], list[tuple[float, int]]] = {}
        for _ in range(args.repeat):
            for n in sizes:
                for name, path in variants.items():
                    results.setdefault((name, n), []).append(time_report(path, runs[name][:n]))
        load_after = os.getloadavg()
    print(f"faceval report --format markdown over N run files of {args.faces} faces x {args.points} points "
          f"(7 splits, poses; {size_mb:.1f} MB per file after); {args.repeat} runs each, before/after interleaved")
    print(f"load average (1/5/15 min) before: {load_before[0]:.2f}/{load_before[1]:.2f}/{load_before[2]:.2f}, "
          f"after: {load_after[0]:.2f}/{load_after[1]:.2f}/{load_after[2]:.2f}; {os.cpu_count()} CPUs")
    print()
    print("| N runs | before: wall s median (min–max) | after: wall s median (min–max) | after/before "
          "| before peak RSS MB | after peak RSS MB |")
    print("|---|---|---|---|---|---|")
    medians: dict[tuple[str, int], float] = {}
    for n in sizes:
        cells = []
        for name in variants:
            walls = [w for w, _ in results[(name, n)]]
            medians[(name, n)] = statistics.median(walls)
            cells.append(f"{medians[(name, n)]:.3f} ({min(walls):.3f}–{max(walls):.3f})")
        rss = [statistics.median(r for _, r in results[(name, n)]) / 1024 for name in variants]
        print(f"| {n} | {cells[0]} | {cells[1]} | {medians[('after', n)] / medians[('before', n)]:.2f} "
              f"| {rss[0]:.0f} | {rss[1]:.0f} |")
    print()
    first = sizes[0]
    for name in variants:
        growth = ", ".join(f"t({n})/t({first}) = {medians[(name, n)] / medians[(name, first)]:.2f}" for n in sizes[1:])
        print(f"growth {name}: {growth}")


if __name__ == "__main__":
    main()
