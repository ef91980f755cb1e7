"""``faceval run`` with several ``--model`` (or a glob): the sweep's CLI side.

Called by ``faceval_cli.run`` once the options are validated; it expands the models, checks
every run file can be written before any work, calls one library function and prints one
summary table (or one JSON document).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from faceval_cli.common import emit_json, info

if TYPE_CHECKING:
    from faceval.evaluation.evaluate import EvaluationRequest


def out_folder(out: Path | None) -> Path:
    """The folder a sweep writes into: ``--out DIR`` (created when missing, its parent must exist), else ``runs/``."""
    from faceval.errors import InputError

    if out is None:
        out = Path("runs")
        out.mkdir(parents=True, exist_ok=True)
        return out
    if out.suffix == ".h5" and not out.is_dir():
        raise InputError(f"--out {out}: a sweep writes one run file per model; give a folder (e.g. --out runs/)")
    if not out.exists():
        if not out.parent.is_dir():
            raise InputError(f"cannot write into {out}: folder {out.parent} does not exist")
        out.mkdir()
    if not out.is_dir():
        raise InputError(f"--out {out}: a sweep writes one run file per model into a folder; this is not a folder")
    return out


def run_sweep(template: "EvaluationRequest", patterns: tuple[Path, ...], out: Path | None, output_format: str, show: bool) -> None:
    from contextlib import ExitStack

    from faceval.atomic import check_writable_target
    from faceval.evaluation.output import lock_output, reserve_default_output
    from faceval.evaluation.sweep import evaluate_sweep, expand_models, sweep_targets

    models = expand_models(patterns)
    folder = out_folder(out)
    names = sweep_targets(models, folder, template.dataset)
    if out is None:  # default names: stamped, then reserved exclusively as a single run's are (-2, -3, ...)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        names = [t.with_name(f"{t.stem}-{stamp}.h5") for t in names]
    for target in names:
        check_writable_target(target)
    with ExitStack() as locks:  # every run file is taken before any work, held until the sweep ends
        if out is None:
            targets = [locks.enter_context(reserve_default_output(name)).out for name in names]
        else:
            targets = [locks.enter_context(lock_output(name)).out for name in names]
        # No progress bar in a sweep (one line per model instead): `show` is kept for a later bar.
        result = evaluate_sweep(template, models, targets, on_message=lambda text: info(f"faceval: {text}"))
    for entry in result.entries:
        if entry.result.pose_warning is not None:
            info(f"faceval: warning: {entry.model_path.name}: {entry.result.pose_warning.message()}")
    if output_format == "json":
        from faceval.evaluation.scoring import summary_json

        runs = []
        for entry in result.entries:
            data = summary_json(entry.result.run)
            data.update({"model": str(entry.model_path), "run_file": str(entry.out), "timings": entry.result.timings})
            runs.append(data)
        emit_json({"runs": runs, "total_s": result.total_s})
        return
    first = result.entries[0].result.run
    splits = list(first.summary)
    with_pose = any("mae_mean" in v for e in result.entries for v in e.result.run.summary.values())
    header = (["model"] + [f"NME % {s}" for s in splits] + ([f"MAE mean ° {s}" for s in splits] if with_pose else [])
              + ["images/s", "run file"])
    rows = []
    for entry in result.entries:
        summary = entry.result.run.summary

        def cell(split: str, key: str, scale: float, digits: int) -> str:
            # "–" for a split the run lacks, and for a metric it has not (a pose-only model's NME)
            return f"{scale * summary[split][key]:.{digits}f}" if split in summary and key in summary[split] else "–"

        rows.append([entry.model_path.name] + [cell(s, "nme", 100, 4) for s in splits]
                    + ([cell(s, "mae_mean", 1, 2) for s in splits] if with_pose else [])
                    + [f"{entry.result.timings.get('images_per_s', 0.0):.1f}", str(entry.out)])
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    for row in [header] + rows:
        click.echo("  ".join(cell.ljust(w) if i in (0, len(row) - 1) else cell.rjust(w)
                             for i, (cell, w) in enumerate(zip(row, widths))).rstrip())
    click.echo(f"{len(result.entries)} models on {first.dataset} in {result.total_s:.2f} s")
