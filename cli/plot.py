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
@click.option("--size", default=None, metavar="WxH",
              help="Figure size in inches, e.g. 6x4 (default 5 wide; PNG at 150 dpi).")
@click.option("--legend", type=click.Choice(["below", "right", "none"]), default="below", show_default=True,
              help="Legend outside the axes, below or to the right of the curves, or none.")
@click.option("--xmax", type=float, default=None,
              help="End of the x axis in its unit (percent by default, e.g. 10 for 10 %); default the threshold.")
@click.option("--percent/--fraction", "percent", default=True,
              help="x axis (and the legend's FR) in percent, as the tables (default), or as fractions.")
def ced(runs: tuple[Path, ...], out: Path, split: str | None, threshold: float | None, title: str | None,
        size: str | None, legend: str, xmax: float | None, percent: bool) -> None:
    """Cumulative error distribution: one curve per run, AUC and FR in the legend.

    \b
    The x axis is NME in percent (as the tables); AUC@T and FR@T in the legend
    use --threshold T (a fraction, as in metric names). A label repeated on one
    dataset becomes LABEL#2, as in `faceval report`. Each run keeps its colour
    (Okabe-Ito, by its position among RUNS) in every format.
    Files are reproducible: the same runs give byte-identical PDF, PNG and SVG
    (SVG text stays text).
    """
    from faceval.report.ced import ced_split, format_for, parse_size, render_ced
    from faceval_cli.report import read_runs, refuse_pose_only_ced, write_output

    fmt = format_for(out)
    figsize = parse_size(size) if size is not None else None
    run_data = read_runs(runs)
    refuse_pose_only_ced(runs, run_data)
    for path, run in zip(runs, run_data):
        ced_split(run, split, path=path)  # a missing or empty split: one line naming the run file
    from faceval.report.tables import protocol_warnings

    for warning in protocol_warnings(run_data):  # curves of other protocols share the axes: say so, as report does
        info(f"faceval: warning: {warning}")
    data = render_ced(run_data, fmt, split=split, threshold=threshold, title=title, size=figsize, legend=legend,
                      xmax=xmax, percent=percent)
    write_output(out, data)
    info(f"faceval: wrote CED plot {out}")
