"""Human-readable summary of a run: a rich table per run on stderr."""

from __future__ import annotations

import math

from faceval.runs.data import RunData
from faceval.runs.protocol import Protocol


def protocol_line(protocol: Protocol) -> str:
    """``protocol: <the protocol text>`` (plus the landmark conversion, when one was made)."""
    text = "protocol: " + protocol.describe()
    if protocol.conversion:
        text += f"; converted {protocol.conversion}"
    return text


def _num(value: object, scale: float = 1.0, digits: int = 4) -> str:
    """A number for the table; "–" for a missing or NaN value (an empty split), never "nan"."""
    if value is None or not isinstance(value, (int, float)) or math.isnan(value):
        return "–"
    return f"{scale * value:.{digits}f}"


def _stat(stats: dict, name: str) -> object:  # type: ignore[type-arg]
    """A summary value, None when the run has no such metric (a pose-only run's NME)."""
    return stats[name] if name in stats else None


def summary_notes(run: RunData) -> list[str]:
    """Warnings below the table: partial splits, pose scored on fewer images than n."""
    notes = []
    for count in run.incomplete_splits():
        notes.append(f"warning: split '{count.split}' is partial: {count.describe()} "
                     "(not comparable with the complete split)")
    from faceval.metrics.bins import bin_coverage

    coverage = bin_coverage(run.dataset, run.splits)
    if coverage.partial:
        notes.append(f"warning: nme_binmean (mean of the yaw-bin means) not shown: {coverage.describe_missing()}")
    for split, stats in run.summary.items():
        if "nme_binmean" in stats:
            notes.append(f"note: nme_binmean on '{split}' (mean of the {len(coverage.names)} bin means): "
                         f"{100 * stats['nme_binmean']:.4f} %")
        if "n_pose" in stats and int(stats["n_pose"]) < int(stats["n"]):
            notes.append(f"warning: pose MAE on '{split}' is over {int(stats['n_pose'])} of {int(stats['n'])} "
                         "images (the others have no usable pose label or prediction)")
    return notes


def summary_table(run: RunData, title: str):  # type: ignore[no-untyped-def]
    """The per-split summary of ``run`` as a rich Table (``run``/``score``/``merge`` and ``show``):
    n (``330 of 689†`` for a partial split), NME, p90, FR/AUC per threshold, pose MAE where known,
    failures; "–" for a value the summary lacks."""
    from rich.table import Table

    from faceval.metrics.registry import POSE_ANGLES, metric_name, threshold_key

    thresholds = list(run.protocol.thresholds)
    table = Table(title=title, title_justify="left")
    table.add_column("split")
    table.add_column("n", justify="right")
    table.add_column("NME %", justify="right")
    table.add_column("p90 %", justify="right")
    with_auc = run.protocol.auc_mode != "none"  # HRNet, mmpose, 3DDFA: no AUC column
    for t in thresholds:
        table.add_column(f"FR@{threshold_key(t)} %", justify="right")
        if with_auc:
            table.add_column(f"AUC@{threshold_key(t)}", justify="right")
    has_pose = any("mae_mean" in s for s in run.summary.values())
    if has_pose:
        table.add_column("pose MAE y/p/r (mean) °", justify="right")
        table.add_column("bias y/p/r °", justify="right")
        table.add_column("corr y/p/r", justify="right")
        table.add_column("n_pose", justify="right")
    table.add_column("failed", justify="right")
    for split, stats in run.summary.items():
        n_text = str(stats.get("n", "–"))
        if split in run.splits:
            count = run.split_count(split)
            if not count.complete:
                n_text = f"{count.n} of {count.n_expected}†" if count.n_expected is not None else f"{count.n}†"
        # a pose-only run has no landmark metric: "–" in those columns
        row = [split, n_text, _num(_stat(stats, "nme"), 100), _num(_stat(stats, "nme_p90"), 100)]
        for t in thresholds:
            row.append(_num(_stat(stats, metric_name("fr", t)), 100))
            if with_auc:
                row.append(_num(_stat(stats, metric_name("auc", t))))
        if has_pose:
            if "mae_mean" in stats:
                row.append(f"{_num(_stat(stats, 'mae_yaw'), digits=2)}/{_num(_stat(stats, 'mae_pitch'), digits=2)}/"
                           f"{_num(_stat(stats, 'mae_roll'), digits=2)} ({_num(stats['mae_mean'], digits=2)})")
                row.append("/".join(_num(_stat(stats, metric_name(f"bias_{a}")), digits=2) for a in POSE_ANGLES))
                row.append("/".join(_num(_stat(stats, metric_name(f"corr_{a}")), digits=2) for a in POSE_ANGLES))
                row.append(str(int(stats["n_pose"])) if "n_pose" in stats else "–")
            else:
                row += ["–", "–", "–", "–"]
        failed = int(stats.get("n_failed_inputs", 0)) + int(stats.get("n_nonfinite", 0))
        row.append(str(failed))
        table.add_row(*row)
    return table


def partial_note(run: RunData) -> list[str]:
    """The dagger's footnotes, one per partial split of ``run``."""
    return [f"† split '{c.split}' is partial: {c.describe()} (not comparable with the complete split)"
            for c in run.incomplete_splits()]


def print_summary(run: RunData, extra_lines: list[str] | None = None) -> None:
    """Print the per-split summary of ``run`` on stderr."""
    from faceval_cli.common import stderr_console

    console = stderr_console()
    console.print(summary_table(run, f"{run.label} on {run.selection}"))
    console.print(protocol_line(run.protocol))
    for line in partial_note(run) + summary_notes(run):
        console.print(line, markup=False)
    for line in extra_lines or []:
        console.print(line)
