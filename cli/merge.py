"""``faceval merge``: join shard run files (``faceval run --shard I/N``) into one run."""

from __future__ import annotations

from pathlib import Path

import click

from faceval_cli.common import emit_json, format_option


@click.command("merge")
@click.argument("shards", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True, help="Merged run file.")
@format_option
def command(shards: tuple[Path, ...], out: Path, output_format: str) -> None:
    """Join shard run files of one evaluation; the summary is recomputed from per-image errors."""
    from faceval.evaluation.scoring import summary_json
    from faceval.runs.runfile import read_run, write_run
    from faceval.runs.shards import merge_runs

    from faceval.atomic import check_writable_target

    check_writable_target(out)  # before reading any shard
    merged = merge_runs([read_run(p) for p in shards], [str(p) for p in shards])
    write_run(out, merged)
    if output_format == "json":
        emit_json(summary_json(merged))
    else:
        from faceval_cli.summary_view import print_summary

        print_summary(merged, [f"merged {len(shards)} shards into {out}"])
