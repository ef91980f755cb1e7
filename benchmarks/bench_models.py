"""CPU latency and throughput of the reference ASMNet and MobileNetV2 graphs (68 points).

Usage::

    python benchmarks/bench_models.py [--batch-sizes 1,8,32] [--rounds 5] [--repeat 30] [--threads default,1]
                                      [--out benchmarks/results/models.md] [--json out.json]

Builds both graphs (random weights; speed does not depend on the values) with the function behind
``faceval models build`` into a temporary folder, then measures them with ``faceval.models.bench``
(the code of ``faceval bench``) on the CPU provider with ONNX Runtime's default (full) graph
optimisation. Rounds are interleaved: each round measures every model once (warmup, then ``repeat``
timed runs per batch size), in an order alternated from round to round, so slow phases of a shared
machine hit both models. Reported per model and batch size: the median over rounds of each round's
throughput (batch / median latency of that round) and its min–max, with the machine's load average
before and after. ``--out`` replaces the "## CPU speed" section of that Markdown file (everything
from that heading to the end) with the result; without it the section is only printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ARCHS = ("asmnet", "mobilenetv2")
NAMES = {"asmnet": "ASMNet", "mobilenetv2": "MobileNetV2"}
HEADING = "## CPU speed"


def load_text() -> str:
    try:
        return "%.2f %.2f %.2f" % os.getloadavg()
    except OSError:  # pragma: no cover
        return "unknown"


def section(args: argparse.Namespace, per: dict, before: str, after: str, ort_version: str) -> str:
    lines = [
        HEADING,
        "",
        f"Written by `python benchmarks/bench_models.py --rounds {args.rounds} --repeat {args.repeat}` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: graphs from `faceval models build` "
        "(random weights, 224×224, 68 points), measured with the code of `faceval bench` (CPU provider, "
        f"default full graph optimisation, random input, warmup {args.warmup}, {args.repeat} timed runs per "
        f"batch size and round). {args.rounds} rounds, interleaved "
        "(each round measures every model and thread setting once, order alternated; 'default' = ORT's "
        "default intra-op threads, = cores, with spinning). Throughput of a round = batch / median latency "
        "of that round; the table gives the median over rounds and the min–max over rounds.",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores, "
        f"Python {platform.python_version()}, onnxruntime {ort_version}. Load average (1, 5, 15 min) before: "
        f"{before}; after: {after}. **The machine is a 2-core VM shared with other work (other test runs "
        "during the measurement); a load above 2 slows every row, so these figures are lower bounds of "
        "what an idle machine gives, and the spread shows how much the load moved them.**",
        "",
        "| model | threads | batch | median latency ms (median over rounds) | images/s median | images/s min–max |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for (arch, t), by_batch in per.items():
        for b, rounds in by_batch.items():
            ips = [r["throughput_ips"] for r in rounds]
            lat = [r["latency_ms_median"] for r in rounds]
            lines.append(
                f"| {NAMES[arch]} | {t or 'default'} | {b} | {statistics.median(lat):.2f} | {statistics.median(ips):.0f} "
                f"| {min(ips):.0f}–{max(ips):.0f} |"
            )
    lines += [
        "",
        "Earlier figures in this file (227 / 223 / 187 ASMNet images/s at batch 1 / 8 / 32, one round of 30 "
        "runs, load 1.5–1.9) were single measurements without spread and were not reproduced by a re-run "
        "(a reviewer measured 323 / 415 / 372 with `faceval bench`); they are replaced by the table above.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", default="1,8,32")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--threads", default="default",
                        help="intra-op threads: a number, 'default' (ORT's, = cores), or a comma list measured side by side, e.g. default,1")
    parser.add_argument("--out", type=Path, default=None, help="replace the '## CPU speed' section of this file")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be >= 1")

    import onnxruntime

    from faceval.models.bench import benchmark, parse_batch_sizes
    from faceval.models.build import build_to_file

    sizes = parse_batch_sizes(args.batch_sizes)
    threads = [None if t.strip() == "default" else int(t) for t in args.threads.split(",")]
    configs = [(a, t) for a in ARCHS for t in threads]
    per: dict[tuple, dict[int, list[dict]]] = {c: {} for c in configs}
    raw: dict[str, list] = {f"{a} threads {t or 'default'}": [] for a, t in configs}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {a: build_to_file(a, 68, Path(tmp) / f"{a}.onnx", seed=0) for a in ARCHS}
        before = load_text()
        for r in range(args.rounds):
            order = configs if r % 2 == 0 else configs[::-1]
            for arch, t in order:
                res = benchmark(paths[arch], "cpu", sizes, warmup=args.warmup, repeat=args.repeat,
                                intra_op_threads=t)
                raw[f"{arch} threads {t or 'default'}"].append(res)
                for row in res["results"]:
                    per[(arch, t)].setdefault(row["batch_size"], []).append(row)
                print(f"round {r + 1}/{args.rounds} {arch} threads {t or 'default'}: " + ", ".join(
                    f"b{row['batch_size']} {row['throughput_ips']:.0f}/s" for row in res["results"]), file=sys.stderr)
        after = load_text()
    text = section(args, per, before, after, onnxruntime.__version__)
    print(text)
    if args.out is not None:
        old = args.out.read_text() if args.out.is_file() else ""
        head = old.split(HEADING, 1)[0] if HEADING in old else old
        args.out.write_text(head + text)
    if args.json:
        args.json.write_text(json.dumps({"load_before": before, "load_after": after, "rounds": raw}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
