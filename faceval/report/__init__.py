"""Reports from run files: tables, CED plots, the regression gate and its CI outputs.

Library only (no click, no rich); matplotlib and scipy are imported lazily.

* :mod:`faceval.report.tables` — :func:`build_table` (paper layout), :class:`Units`,
  :func:`default_metrics`; :mod:`faceval.report.records` — :func:`long_records` (tidy layout),
  :func:`runs_json`; :mod:`faceval.report.layout` — the default paper columns;
  :mod:`faceval.report.names` — display names, ``--rename``, :func:`unique_labels`.
* :mod:`faceval.report.formats` — :func:`render_latex`, :func:`render_markdown`,
  :func:`render_html`, :func:`render_csv_long`, :func:`render_csv_paper`, :func:`render_json`.
* :mod:`faceval.report.ced` — :func:`ced_figure`, :func:`render_ced`, :func:`save_ced`.
* :mod:`faceval.report.figures` — the HTML report's figures: error per landmark on the mean
  shape, NME per split, NME against |yaw|.
* :mod:`faceval.report.gate` — :func:`parse_rule`, :func:`default_rules`, :func:`evaluate_gate`.
* :mod:`faceval.report.ci_outputs` — :func:`junit_xml`, :func:`github_annotations`,
  :func:`step_summary_markdown`.
* :func:`render_report` — one call from runs to the text of a report in any format.
"""

from __future__ import annotations

import sys as _sys
import types as _types
from typing import Mapping, Sequence

from faceval.errors import InputError
from faceval.report.names import unique_labels
from faceval.runs.data import RunData

FORMATS = ("csv", "latex", "markdown", "html", "json")
LAYOUTS = ("paper", "long")

#: File extension -> report format (used when --format is not given).
EXTENSIONS = {".csv": "csv", ".tex": "latex", ".md": "markdown", ".markdown": "markdown",
              ".html": "html", ".htm": "html", ".json": "json"}


def render_report(
    runs: Sequence[RunData],
    fmt: str,
    *,
    layout: str | None = None,
    metrics: Sequence[str] | None = None,
    splits: Sequence[str] | None = None,
    units_mode: str | None = None,
    precision: int | None = None,
    ci: bool = False,
    model_columns: Sequence[str] | None = None,
    ci_style: str = "pm",
    renames: Mapping[str, str] | None = None,
    caption: str | None = None,
    label: str | None = None,
) -> tuple[str, list[str]]:
    """Render runs as a report; returns (text, warnings for stderr).

    Args:
        fmt: csv, latex, markdown, html or json.
        layout: paper or long (default: long for CSV, paper otherwise; JSON has its own form).
            The long layout is CSV only.
        metrics: canonical metric names (default :func:`faceval.report.tables.default_metrics`).
        splits: restrict/order the splits.
        units_mode: paper (default for LaTeX/Markdown/HTML), percent or fraction (default for
            CSV/JSON).
        precision: digits after the point (default per unit).
        ci: add bootstrap 95 % intervals.
        model_columns: ``params``, ``flops``, ``speed`` (any subset; default none): model-cost
            columns from the runs' ``model_info`` (paper layout: after the model name; long CSV:
            extra rows per run with an empty split; JSON: a ``model_info`` object per run). A run
            without a recorded cost gets it counted from its model file when that file still has
            the run's sha256 (:func:`faceval.models.cost.fill_model_costs`), else an empty cell
            and a warning.
        ci_style: ``pm`` (``2.59 ± 0.07``, default) or ``interval`` (``2.59 [2.45, 2.73]``): how
            the paper formats show an interval inside its cell.
        renames: ``{old: new}`` display names (``--rename``) of splits, datasets or models.
        caption: the caption's first sentence (default "Results on 300W."); the units,
            bold rule, protocol and footnotes always follow.
        label: the LaTeX ``\\label`` (default ``tab:faceval``; LaTeX only).
    """
    from . import formats, tables

    if fmt not in FORMATS:
        raise InputError(f"unknown report format '{fmt}' (one of {', '.join(FORMATS)})")
    if layout is not None and layout not in LAYOUTS:
        raise InputError(f"unknown layout '{layout}' (paper or long)")
    machine = fmt in ("csv", "json")
    units = tables.Units(units_mode or ("fraction" if machine else "paper"), precision)
    model_columns = tables.parse_model_columns(list(model_columns)) if model_columns else None
    if label is not None:
        formats.check_latex_label(label)
        if fmt != "latex":
            raise InputError(f"--label is for LaTeX tables, not {fmt}")
    if caption is not None and fmt in ("csv", "json"):
        raise InputError(f"--caption is for tables with a caption (latex, markdown, html), not {fmt}")
    if ci_style not in tables.CI_STYLES:
        raise InputError(f"unknown --ci-style '{ci_style}' (one of {', '.join(tables.CI_STYLES)})")
    if not runs:
        raise InputError("no runs given")
    names = tables.Names(dict(renames or {}))
    names.check(runs, unique_labels(runs).labels)
    cost_warnings: list[str] = []
    if model_columns and ("params" in model_columns or "flops" in model_columns):
        from faceval.models.cost import fill_model_costs

        filled = fill_model_costs(runs)
        runs, cost_warnings = filled.runs, filled.warnings
    from faceval.metrics.run_metrics import default_metrics, uses_pose

    shown = list(metrics) if metrics else default_metrics(runs)
    warnings = tables.protocol_warnings(runs, pose_labels=uses_pose(shown)) + cost_warnings
    if fmt == "json":
        return formats.render_json(runs, metrics=metrics, splits=splits, ci=ci, model_columns=model_columns,
                                   names=names), warnings
    layout = layout or ("long" if fmt == "csv" else "paper")
    if layout == "long":
        if fmt == "csv":
            return formats.render_csv_long(
                runs, metrics=metrics, splits=splits, ci=ci, units=units, model_columns=model_columns, names=names
            ), warnings
        raise InputError(f"the long layout is for CSV (and pandas); use --layout paper with --format {fmt}")
    table = tables.build_table(runs, metrics=metrics, splits=splits, units=units, ci=ci, model_columns=model_columns,
                               names=names, ci_style=ci_style, title=caption)
    warnings = table.warnings + cost_warnings
    if fmt == "csv":
        return formats.render_csv_paper(table), warnings
    if fmt == "latex":
        return formats.render_latex(table, label=label or "tab:faceval"), warnings
    if fmt == "markdown":
        return formats.render_markdown(table), warnings
    return formats.render_html(table, runs), warnings


__all__ = ["render_report", "FORMATS", "LAYOUTS", "EXTENSIONS"]


class _CallableReportModule(_types.ModuleType):
    """``faceval.report(runs, format=...)`` is :func:`faceval.api.report`; ``faceval.report.X`` the package."""

    def __call__(self, runs, format="markdown", **options):  # type: ignore[no-untyped-def]  # noqa: A002
        from faceval.api import report

        return report(runs, format, **options)


_sys.modules[__name__].__class__ = _CallableReportModule
