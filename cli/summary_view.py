"""Human-readable summary of a run: a rich table per run on stderr."""

from __future__ import annotations

from typing import Any

from faceval.runs.data import RunData


def protocol_line(protocol: dict[str, Any]) -> str:
    """One line naming the protocol, printed beside every number."""
    parts = [f"NME normalised {protocol.get('normalizer')}"]
    if protocol.get("aggregation") == "pooled":
        parts.append("pooled")
    if protocol.get("visible_only"):
        parts.append("visible points only")
    thresholds = "/".join(f"{t:.2f}" for t in protocol.get("thresholds", []))
    parts.append(f"thresholds {thresholds}")
    parts.append(f"AUC {protocol.get('auc_mode')}")
    if protocol.get("box_source"):
        square = ", square" if protocol.get("box_square") else ""
        parts.append(f"box {protocol['box_source']} x{protocol.get('box_scale')}{square}")
    if protocol.get("conversion"):
        parts.append(f"converted {protocol['conversion']}")
    return "protocol: " + "; ".join(parts)


def print_summary(run: RunData, extra_lines: list[str] | None = None) -> None:
    """Print the per-split summary of ``run`` on stderr."""
    from rich.table import Table

    from faceval_cli.common import stderr_console

    console = stderr_console()
    thresholds = [f"{t:.2f}" for t in run.protocol.get("thresholds", [])]
    table = Table(title=f"{run.label} on {run.dataset}", title_justify="left")
    table.add_column("split")
    table.add_column("n", justify="right")
    table.add_column("NME %", justify="right")
    table.add_column("p90 %", justify="right")
    for t in thresholds:
        table.add_column(f"FR@{t} %", justify="right")
        table.add_column(f"AUC@{t}", justify="right")
    has_pose = any("mae_mean" in s for s in run.summary.values())
    if has_pose:
        table.add_column("pose MAE y/p/r (mean) °", justify="right")
    table.add_column("failed", justify="right")
    for split, stats in run.summary.items():
        row = [split, str(stats["n"]), f"{100 * stats['nme']:.4f}", f"{100 * stats['nme_p90']:.4f}"]
        for t in thresholds:
            row += [f"{100 * stats[f'fr@{t}']:.4f}", f"{stats[f'auc@{t}']:.4f}"]
        if has_pose:
            row.append(
                f"{stats['mae_yaw']:.2f}/{stats['mae_pitch']:.2f}/{stats['mae_roll']:.2f} ({stats['mae_mean']:.2f})"
                if "mae_mean" in stats
                else "-"
            )
        failed = int(stats.get("n_failed_inputs", 0)) + int(stats.get("n_nonfinite", 0))
        row.append(str(failed))
        table.add_row(*row)
    console.print(table)
    console.print(protocol_line(run.protocol))
    for line in extra_lines or []:
        console.print(line)
