"""``faceval bench``: latency and throughput of an ONNX model per batch size."""

from __future__ import annotations

from pathlib import Path

import click

from faceval_cli.common import device_option, emit_json, format_option, info


@click.command("bench")
@click.option("--model", "model", type=click.Path(path_type=Path, dir_okay=False), required=True, help="ONNX model.")
@device_option
@click.option("--batch-sizes", default="1,8,32,64", show_default=True, help="Comma-separated batch sizes.")
@click.option("--warmup", type=click.IntRange(min=0), default=5, show_default=True, help="Untimed runs per batch size.")
@click.option("--repeat", type=click.IntRange(min=1), default=20, show_default=True, help="Timed runs per batch size.")
@click.option("--threads", type=click.IntRange(min=0), default=None, help="ONNX Runtime intra-op threads (default: ORT's).")
@click.option("--max-batch-memory", default=None, metavar="SIZE",
              help="Refuse batch sizes whose input is larger than this (e.g. 4GiB; default 2GiB).")
@format_option
def command(
    model: Path, device: str, batch_sizes: str, warmup: int, repeat: int, threads: int | None,
    max_batch_memory: str | None, output_format: str
) -> None:
    """Latency (median, p90) and throughput per batch size, on the provider actually used.

    On CUDA, inputs and outputs are bound on the device (I/O binding) and each run is
    synchronised. Models with a fixed batch dimension are measured at that size only.
    """
    from faceval.models.bench import benchmark, parse_batch_sizes
    from faceval.models.runner import parse_bytes

    sizes = parse_batch_sizes(batch_sizes)
    limit = parse_bytes(max_batch_memory, "--max-batch-memory") if max_batch_memory else None
    result = benchmark(model, device, sizes, warmup=warmup, repeat=repeat, intra_op_threads=threads,
                       max_batch_bytes=limit)
    if result["message"]:
        info(f"faceval: {result['message']}")
    for note in result["notes"]:
        info(f"faceval: note: {note}")
    if output_format == "json":
        emit_json(result)
        return
    from rich.table import Table

    from faceval_cli.common import stderr_console

    table = Table(title=f"{model.name} on {result['provider']}")
    for col in ("batch", "median ms", "p90 ms", "ms/image", "images/s"):
        table.add_column(col, justify="right")
    for r in result["results"]:
        table.add_row(
            str(r["batch_size"]),
            f"{r['latency_ms_median']:.2f}",
            f"{r['latency_ms_p90']:.2f}",
            f"{r['latency_ms_per_image']:.3f}",
            f"{r['throughput_ips']:.1f}",
        )
    console = stderr_console()
    console.print(table)
    console.print(f"warmup {result['warmup']}, repeat {result['repeat']}, onnxruntime {result['onnxruntime_version']}")
