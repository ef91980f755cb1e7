"""``faceval export RUN --out per_image.csv|.json|.parquet``: one row per sample."""

from __future__ import annotations

from pathlib import Path

import click

from faceval_cli.common import info


@click.command("export")
@click.argument("run_path", metavar="RUN", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Output file; the format follows the suffix: .csv, .json or .parquet (needs pyarrow).")
@click.option("--per-landmark", is_flag=True,
              help="Add one column per scored point: e_k = ||p_k - g_k|| / d (normalised point error; "
                   "under --points inner51/inner49 only those points).")
def command(run_path: Path, out: Path, per_landmark: bool) -> None:
    """Per-sample table: sample id, splits, NME, normaliser, failure reason, pose errors, face box."""
    from faceval.runs.runfile import read_run
    from faceval.views.export import export_format, export_samples

    export_format(out)  # an unknown suffix fails before the run file is read
    run = read_run(run_path)
    if per_landmark and run.pose_only:
        from faceval.errors import InputError

        raise InputError(f"run '{run.label}' is pose-only: it has no per-landmark errors (--per-landmark)",
                         path=run_path)
    export_samples(run, out, per_landmark=per_landmark)
    info(f"wrote {len(run.sample_ids)} rows to {out}")
