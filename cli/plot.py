"""``faceval plot``: plots from run files (``faceval plot ced RUN... --out ced.pdf``)."""

from __future__ import annotations

from pathlib import Path

import click

from faceval_cli.common import info


@click.group("plot")
def command() -> None:
    """Plots from run files."""


@command.command("ced")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--out", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Output file; the format follows the extension: .pdf, .png or .svg.")
@click.option("--split", default=None, help="Split of every run (default: each run's first split).")
@click.option("--threshold", type=float, default=None,
              help="End of the x range (default: the first run's first protocol threshold).")
@click.option("--title", default=None, help="Plot title (default names dataset and split).")
def ced(runs: tuple[Path, ...], out: Path, split: str | None, threshold: float | None, title: str | None) -> None:
    """Cumulative error distribution: one curve per run, AUC and FR in the legend.

    Files are reproducible: the same runs give byte-identical PDF, PNG and SVG.
    """
    from faceval.report.ced import format_for, render_ced
    from faceval_cli.report import read_runs, write_output

    fmt = format_for(out)
    run_data = read_runs(runs)
    data = render_ced(run_data, fmt, split=split, threshold=threshold, title=title)
    write_output(out, data)
    info(f"faceval: wrote CED plot {out}")
