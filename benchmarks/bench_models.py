"""CPU latency and throughput of the reference ASMNet and MobileNetV2 graphs (68 points).

Usage::

    python benchmarks/bench_models.py [--batch-sizes 1,8,32] [--repeat 30] [--threads N] [--json out.json]

Builds both graphs (random weights; speed does not depend on the values) into a temporary folder,
then measures them with ``faceval.models.bench`` on the CPU provider with ONNX Runtime's default
(full) graph optimisation. Prints a Markdown table (paste into benchmarks/results/models.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", default="1,8,32")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads (default: ORT's, = cores)")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    args = parser.parse_args(argv)

    from faceval.models.bench import benchmark, parse_batch_sizes
    from faceval.models.build import build_to_file
    from faceval.models.inspect import inspect_model

    sizes = parse_batch_sizes(args.batch_sizes)
    rows, raw = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for arch in ("asmnet", "mobilenetv2"):
            path = build_to_file(arch, 68, Path(tmp) / f"{arch}.onnx", seed=0)
            info = inspect_model(path)
            res = benchmark(path, "cpu", sizes, warmup=args.warmup, repeat=args.repeat, intra_op_threads=args.threads)
            raw[arch] = {"inspect": {k: info[k] for k in ("params", "macs", "flops")}, "bench": res}
            for r in res["results"]:
                rows.append(
                    f"| {arch} | {r['batch_size']} | {r['latency_ms_median']:.2f} | {r['latency_ms_p90']:.2f} "
                    f"| {r['throughput_ips']:.0f} |"
                )
    import onnxruntime

    print(
        f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores; "
        f"onnxruntime {onnxruntime.__version__}; threads {args.threads or 'default'}; "
        f"warmup {args.warmup}, repeat {args.repeat}\n"
    )
    print("| model | batch | median ms | p90 ms | images/s |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    if args.json:
        args.json.write_text(json.dumps(raw, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
