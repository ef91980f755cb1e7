"""``faceval report``: tables (CSV, LaTeX, Markdown, HTML, JSON) and CED plots from run files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from faceval.runs.data import RunData

from faceval_cli.common import info


def write_output(out: Path | None, data: str | bytes) -> None:
    """Write ``data`` to ``out`` atomically (temporary file, then rename), or to stdout."""
    if out is None:
        if isinstance(data, bytes):
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(data)
            sys.stdout.flush()
        return
    from faceval.atomic import write_bytes_atomic

    write_bytes_atomic(out, data.encode("utf-8") if isinstance(data, str) else data)


def read_runs(paths: tuple[Path, ...]) -> "list[RunData]":
    """Read run files (InputError for a missing or malformed one)."""
    from faceval.runs.runfile import METRIC_FIELDS, read_run

    return [read_run(p, prefetch=METRIC_FIELDS) for p in paths]


def refuse_pose_only_ced(paths: tuple[Path, ...], runs: "list[RunData]") -> None:
    """InputError naming the file of the first pose-only run: it has no NME, so no CED curve."""
    from faceval.errors import InputError

    for path, run in zip(paths, runs):
        if run.pose_only:
            raise InputError(f"run '{run.label}' is pose-only: it has no NME, so no CED curve "
                             "(leave it out of the CED plot)", path=path)


def _split_list(text: str | None) -> list[str] | None:
    if text is None:
        return None
    items = [s.strip() for s in text.split(",") if s.strip()]
    return items or None


@click.command("report")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["csv", "latex", "markdown", "html", "json"]), default=None,
              help="Output format (default: from --out's extension .csv/.tex/.md/.html/.json, else markdown).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write here (atomically) instead of stdout.")
@click.option("--layout", type=click.Choice(["paper", "long"]), default=None,
              help="paper: one row per model, one column group per split (default except CSV); "
                   "long: one row per (run, split, metric), the tidy form for pandas (CSV default).")
@click.option("--metrics", default=None,
              help="Comma-separated metrics, e.g. nme,fr@0.10,auc@0.10,nme_p90,mae_mean "
                   "(default: nme, fr@T, auc@T with T the first run's first threshold; the paper layout puts "
                   "fr@T and auc@T on the main split only; listed metrics go on every split).")
@click.option("--splits", default=None,
              help="Comma-separated split ids to show, in this order (default: all, in run order; the paper "
                   "layout shows 300W's common, challenging and full only).")
@click.option("--percent/--fraction", "percent", default=None,
              help="All fraction metrics (AUC too) in percent, or all as stored fractions. Default: LaTeX, "
                   "Markdown and HTML show NME and FR in percent and AUC as a fraction (4 decimals); CSV keeps "
                   "stored fractions. JSON always holds stored fractions.")
@click.option("--precision", type=click.IntRange(0, 12), default=None,
              help="Digits after the point (default: 2 for percent and degrees, 4 for fractions; CSV: exact).")
@click.option("--ci", is_flag=True,
              help="Add bootstrap 95 % intervals (2000 resamples over images in sorted sample-id order, seed 0): "
                   "in the value's cell in "
                   "LaTeX/Markdown/HTML ('2.59 ± 0.07'), ci_low/ci_high columns in CSV, a ci object in JSON.")
@click.option("--ci-style", "ci_style", type=click.Choice(["pm", "interval"]), default="pm", show_default=True,
              help="How --ci shows in a cell: pm '2.59 ± 0.07' (half the interval's width) or interval "
                   "'2.59 [2.45, 2.73]'.")
@click.option("--caption", default=None, metavar="TEXT",
              help="The caption's first sentence (plain text, escaped for LaTeX; default 'Results on 300W.'). "
                   "The units, the bold rule, the protocol and the partial-split notes always follow it.")
@click.option("--label", "tex_label", default=None, metavar="KEY",
              help="LaTeX \\label key (default tab:faceval); letters, digits and ': _ - . /'.")
@click.option("--rename", "renames", multiple=True, metavar="OLD=NEW",
              help="Display name of a split, dataset or model (repeatable), e.g. --rename full=Fullset "
                   "--rename 'SPIGA_noisy=SPIGA (noisy)'. Paper formats only; CSV/JSON keep the ids and give "
                   "the new name in their name columns.")
@click.option("--model-columns", "model_columns", default=None, metavar="LIST",
              help="Comma-separated model-cost columns from the runs' model_info: params, flops, speed "
                   "(any subset; default none). Paper layout: 'Params (M)', 'FLOPs (B)', 'img/s' after the "
                   "model name, never bold, '–' when a run lacks the value (empty in CSV). Long CSV: extra rows "
                   "per run with metric params/flops/images_per_s and an empty split. JSON: a model_info object.")
@click.option("--ced", "ced_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write a CED plot of each run's first split (.pdf, .png or .svg).")
def command(runs: tuple[Path, ...], fmt: str | None, out: Path | None, layout: str | None, metrics: str | None,
            splits: str | None, percent: bool | None, precision: int | None, ci: bool, ci_style: str,
            caption: str | None, tex_label: str | None, renames: tuple[str, ...], model_columns: str | None,
            ced_path: Path | None) -> None:
    """Tables over one or more run files.

    \b
    Paper layout (LaTeX, Markdown, HTML): one row per model (run label; runs of
    one model on several datasets share a row), one column group per split,
    best value per column in bold (never in a column mixing protocols), a caption naming units and protocol(s).
    LaTeX uses booktabs (\\usepackage{booktabs}). HTML is one self-contained
    page with inline SVG CED plots and each run's protocol and provenance.
    Long layout (CSV default): run, dataset, split, metric, value, unit, n,
    dataset_name, split_name and the protocol columns. JSON: a list with one object per run (as score --format json).

    \b
    Default columns (a table a page can hold, as in the ASMNet paper): NME on
    every split, FR@T and AUC@T on the main split only (300W: Full; WFLW, COFW,
    AFLW2000-3D: Test), T = the first threshold of the first run's protocol
    (0.08 for 300W, 0.10 for WFLW); 300W shows Common, Challenging and Full.
    --metrics puts every metric listed on every split; --splits picks splits.
    Names as papers print them (300W, Common, Make-up; --rename for others).
    Output is byte-identical for the same runs.

    \b
    --model-columns params,flops,speed adds the model's cost as in the ASMNet
    paper's Table 1: Params (M), FLOPs (B) and img/s (the run's measured
    throughput), from the first of a row's runs that records the value.
    """
    from faceval import report
    from faceval.report import tables
    from faceval.report.names import parse_renames

    from faceval.atomic import check_writable_target

    for output in (out, ced_path):
        if output is not None:
            check_writable_target(output)  # fail before either output is written
    if fmt is None:
        fmt = report.EXTENSIONS.get(out.suffix.lower(), "markdown") if out is not None else "markdown"
    model_names = tables.parse_model_columns(model_columns)
    rename_map = parse_renames(renames)
    run_data = read_runs(runs)
    metric_names = tables.parse_metric_list(metrics)
    units_mode = None if percent is None else ("percent" if percent else "fraction")
    text, warnings = report.render_report(
        run_data,
        fmt,
        layout=layout,
        metrics=metric_names,
        splits=_split_list(splits),
        units_mode=units_mode,
        precision=precision,
        ci=ci,
        model_columns=model_names,
        ci_style=ci_style,
        renames=rename_map,
        caption=caption,
        label=tex_label,
    )
    for warning in warnings:
        info(f"faceval: warning: {warning}")
    if ced_path is not None:
        from faceval.report.ced import save_ced

        refuse_pose_only_ced(runs, run_data)
        data = save_ced(run_data, ced_path)
        write_output(ced_path, data)
        info(f"faceval: wrote CED plot {ced_path}")
    write_output(out, text)
    if out is not None:
        info(f"faceval: wrote {fmt} report {out}")
