"""``faceval show RUN``: protocol, provenance, per-split summary, failures and the worst images."""

from __future__ import annotations

import json
from pathlib import Path

import click

from faceval_cli.common import emit_json, format_option, print_table, stdout_console

#: failures listed one per line in the human view (JSON lists them all)
MAX_FAILURE_LINES = 50


@click.command("show")
@click.argument("run_path", metavar="RUN", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--worst", "worst", type=click.IntRange(min=0), default=10, show_default=True,
              help="List the N images with the highest NME.")
@click.option("--split", default=None, help="Rank the worst images within this split (default: all samples).")
@format_option
def command(run_path: Path, worst: int, split: str | None, output_format: str) -> None:
    """Show what a run file holds: protocol, provenance, summary, failures and the worst images."""
    from faceval.runs.runfile import read_run
    from faceval.views.show import describe_run

    overview = describe_run(read_run(run_path), worst=worst, split=split)
    if output_format == "json":
        emit_json(overview.to_json())
        return
    _print_human(overview)


def _value(value: object) -> str:
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _print_human(overview) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table

    from faceval.metrics.registry import metric_name, threshold_key
    from faceval.runs.protocol import Protocol
    from faceval.views.show import ordered_provenance
    from faceval_cli.summary_view import protocol_line

    console = stdout_console()
    click.echo(f"{overview.label} on {overview.dataset} ({overview.n_samples} samples, scheme {overview.scheme})")
    protocol = Protocol.from_dict(overview.protocol)
    click.echo(protocol_line(protocol))
    click.echo("")
    click.echo("provenance:")
    for key, value in ordered_provenance(overview.provenance):
        click.echo(f"  {key}: {_value(value)}")
    click.echo("")

    thresholds = [threshold_key(t) for t in protocol.thresholds]
    table = Table(title="summary per split", title_justify="left")
    with_auc = protocol.auc_mode != "none"  # HRNet, mmpose: no AUC column
    rate_columns = [c for t in thresholds for c in ((f"FR@{t} %", f"AUC@{t}") if with_auc else (f"FR@{t} %",))]
    for name in ["split", "n", "NME %", "p90 %"] + rate_columns + ["failed"]:
        table.add_column(name, justify="left" if name == "split" else "right")
    partial = {c.split: c for c in overview.partial}
    for split, stats in overview.summary.items():
        n_text = str(stats.get("n", ""))
        if split in partial:
            count = partial[split]
            n_text = f"{count.n} of {count.n_expected}†" if count.n_expected is not None else f"{count.n}†"
        row = [split, n_text, _pct(stats.get("nme")), _pct(stats.get("nme_p90"))]
        for t in thresholds:
            row.append(_pct(stats.get(metric_name("fr", float(t)))))
            if with_auc:
                row.append(_num(stats.get(metric_name("auc", float(t)))))
        row.append(str(int(stats.get("n_failed_inputs", 0)) + int(stats.get("n_nonfinite", 0))))
        table.add_row(*_cells(row))
    print_table(table, console)
    for count in partial.values():
        click.echo(f"† split '{count.split}' is partial: {count.describe()} (not comparable with the complete split)")

    if any("mae_mean" in stats for stats in overview.summary.values()):
        ptable = Table(title="head pose per split (degrees; correlation of prediction with label)", title_justify="left")
        angles = ("yaw", "pitch", "roll")
        for name in ["split", "n_pose", *[f"MAE {a}" for a in angles], "MAE mean", *[f"bias {a}" for a in angles],
                     *[f"corr {a}" for a in angles]]:
            ptable.add_column(name, justify="left" if name == "split" else "right")
        for split, stats in overview.summary.items():
            keys = [metric_name(f"mae_{a}") for a in (*angles, "mean")] + [
                metric_name(f"{k}_{a}") for k in ("bias", "corr") for a in angles]
            ptable.add_row(*_cells([split, str(stats.get("n_pose", "–")),
                                    *[_num(stats.get(k), 2 if not k.startswith("corr") else 3) for k in keys]]))
        print_table(ptable, console)

    if overview.landmark_groups:
        groups = list(next(iter(overview.landmark_groups.values())))
        gtable = Table(title="NME % per landmark group", title_justify="left")
        gtable.add_column("split")
        for g in groups:
            gtable.add_column(g, justify="right")
        for split, values in overview.landmark_groups.items():
            gtable.add_row(*_cells([split, *[_pct(values.get(g)) for g in groups]]))
        print_table(gtable, console)

    click.echo("")
    if not overview.failures:
        click.echo("failures: none")
    else:
        click.echo(f"failures: {len(overview.failures)}")
        for count in overview.failure_counts:
            click.echo(f"  {count.count} x {count.reason}")
        for ref in overview.failures[:MAX_FAILURE_LINES]:
            click.echo(f"  {ref.sample_id} [{', '.join(ref.splits)}]: {ref.failure_reason}")
        if len(overview.failures) > MAX_FAILURE_LINES:
            click.echo(f"  ... and {len(overview.failures) - MAX_FAILURE_LINES} more (--format json lists all)")

    if overview.worst:
        where = f" of split {overview.worst_split}" if overview.worst_split else ""
        wtable = Table(title=f"{len(overview.worst)} worst images{where}", title_justify="left")
        for name, justify in (("#", "right"), ("sample id", "left"), ("splits", "left"), ("NME %", "right")):
            wtable.add_column(name, justify=justify)
        for rank, ref in enumerate(overview.worst, 1):
            wtable.add_row(*_cells([str(rank), ref.sample_id, ", ".join(ref.splits), _pct(ref.nme)]))
        click.echo("")
        print_table(wtable, console)


def _cells(values: list[str]) -> list:  # type: ignore[type-arg]
    """Plain-text cells: sample ids such as 'a[1].jpg' are not rich markup."""
    from rich.text import Text

    return [Text(str(v)) for v in values]


def _pct(value: object) -> str:
    import math

    if not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        return "–" if value is None else str(value)
    return f"{100 * float(value):.4f}"


def _num(value: object, digits: int = 4) -> str:
    import math

    if not isinstance(value, (int, float)) or math.isnan(float(value)):
        return "–"
    return f"{float(value):.{digits}f}"
