"""Start-up time of the commands that print static text, as whole processes.

    python benchmarks/bench_startup.py [--rounds 15] [--out benchmarks/results/startup.md]

Measures, interleaved (each round runs every command once, in an order rotated from round
to round): bare ``python -c pass``, ``python -c "import faceval"``, ``faceval --help``,
``faceval datasets list`` and ``faceval datasets list --format json`` (the installed
console script of this environment). Goal (issue 14): the two faceval commands under
0.15 s. Each command runs once before timing (bytecode compiled, files in the page cache).
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

HERE = Path(__file__).resolve().parent


def faceval_command() -> list[str]:
    script = Path(sys.executable).parent / "faceval"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "faceval_cli.main"]


def load_text() -> str:
    try:
        return "%.2f %.2f %.2f" % os.getloadavg()
    except OSError:  # pragma: no cover
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "startup.md")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--before", type=Path, default=None, metavar="TREE",
                        help="also time `datasets list` from an older source tree (e.g. `git archive` of a commit, "
                             "with a faceval_cli link to its cli/), interleaved with the rest, for a before/after pair")
    args = parser.parse_args()
    fv = faceval_command()
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        'python -c "import faceval"': [sys.executable, "-c", "import faceval"],
        "faceval --help": fv + ["--help"],
        "faceval datasets list": fv + ["datasets", "list"],
        "faceval datasets list --format json": fv + ["datasets", "list", "--format", "json"],
    }
    # PYTHONDONTWRITEBYTECODE (set in the development container) would make every process
    # compile faceval from source; an installed faceval has its bytecode, so the benchmark does too.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEVAL_") and k != "PYTHONDONTWRITEBYTECODE"}
    neutral = tempfile.gettempdir()  # `python -m` puts the working directory first on sys.path
    envs = {name: env for name in commands}
    if args.before is not None:
        old = dict(env, PYTHONPATH=str(args.before.resolve()))
        for name, argv in (("faceval --help", ["--help"]), ("faceval datasets list", ["datasets", "list"])):
            key = f"{name} before ({args.before.name})"
            commands[key] = [sys.executable, "-m", "faceval_cli.main"] + argv
            envs[key] = old
        commands["faceval datasets list (this tree, python -m)"] = [sys.executable, "-m", "faceval_cli.main", "datasets", "list"]
        envs["faceval datasets list (this tree, python -m)"] = env
    for name, cmd in commands.items():
        subprocess.run(cmd, capture_output=True, check=True, env=envs[name], cwd=neutral)
    times: dict[str, list[float]] = {k: [] for k in commands}
    names = list(commands)
    before = load_text()
    for r in range(args.rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            t = time.perf_counter()
            subprocess.run(commands[name], capture_output=True, check=True, env=envs[name], cwd=neutral)
            times[name].append(time.perf_counter() - t)
    after = load_text()
    lines = [
        "# Start-up: commands that print static text",
        "",
        f"Written by `python benchmarks/bench_startup.py --rounds {args.rounds}` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; faceval run as `{' '.join(Path(c).name for c in fv)}` "
        f"(the console script). Whole processes, {args.rounds} interleaved rounds.",
        f"Machine load average (1, 5, 15 min) before: {before}; after: {after} (the machine is shared with other "
        "work; a load above the core count makes every row slower).",
        "",
        "| command | median s | min–max s | goal |",
        "|---|---:|---:|---|",
    ]
    for name, values in times.items():
        goal = "< 0.15" if name in ("faceval --help", "faceval datasets list") else ""
        lines.append(f"| `{name}` | {statistics.median(values):.3f} | {min(values):.3f}–{max(values):.3f} | {goal} |")
    bare = statistics.median(times["python -c pass"])
    lines += ["", "Above bare Python (median): " + ", ".join(
        f"`{n}` +{statistics.median(v) - bare:.3f} s" for n, v in times.items() if n != "python -c pass") + "."]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
