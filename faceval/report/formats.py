"""Renderers of report tables: LaTeX (booktabs), Markdown, HTML, CSV and JSON.

Every renderer is deterministic (no timestamps, fixed float formatting), so the same runs give
byte-identical output.  The LaTeX renderer lives in :mod:`faceval.report.latex` (re-exported
here); it needs ``\\usepackage{booktabs}``.

The paper formats (LaTeX, Markdown, HTML) show display names ("300W", "Full"; ``--rename``),
NME and FR in percent, AUC as a fraction (unless ``--percent``/``--fraction``), a ``--ci``
interval inside the value's cell (``2.59 ± 0.07`` or ``2.59 [2.45, 2.73]``), an en dash for an
empty cell and a footnote mark on a partial split's cell.  CSV and JSON keep machine ids
(``full``, ``300w``) and stored fractions; the long CSV adds ``dataset_name``/``split_name``.

Model-cost columns (``table.model_columns``, from ``--model-columns``) come right after the model
name: "Params (M)", "FLOPs (B)", "img/s"; a missing value is ``--`` in LaTeX (an en dash), "–" in
Markdown and HTML and empty in CSV; they are never bold.  The wide CSV gives them unscaled as
``params``, ``flops``, ``images_per_s``.
"""

from __future__ import annotations

import csv
import html
import io
import json
from typing import Any, Sequence

from faceval.jsonable import to_jsonable
from faceval.runs.data import RunData

from .latex import check_latex_label, latex_escape, render_latex  # noqa: F401  (re-exported)
from .names import Names, unique_labels

from .tables import LONG_COLUMNS, MODEL_COLUMNS, ReportTable, long_records, runs_json
from .units import Units, csv_number, header_label

# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------

_MD_SPECIALS = set("\\`*_[]<>|#")


def markdown_escape(text: str) -> str:
    """Escape characters that Markdown or a pipe table would interpret."""
    return "".join("\\" + ch if ch in _MD_SPECIALS else ch for ch in str(text))


def _column_title(table: ReportTable, col: Any) -> str:
    return f"{table.group_title(col.dataset, col.split)} {header_label(col.metric, table.units)}"


def render_markdown(table: ReportTable) -> str:
    """A GitHub pipe table (bold best per column) followed by a caption/protocol line."""
    header = ["Model"] + [markdown_escape(MODEL_COLUMNS[c].title) for c in table.model_columns]
    for col in table.columns:
        header.append(markdown_escape(_column_title(table, col)))
    align = [":---"] + ["---:"] * (len(header) - 1)
    best = {col: table.best_rows(col) for col in table.columns}
    body: list[list[str]] = []
    for i, row in enumerate(table.rows):
        name = markdown_escape(row.display)
        if row.protocol_marks:
            name += " (" + ",".join(row.protocol_marks) + ")"
        cells = [name] + [table.model_text(i, c) or "–" for c in table.model_columns]
        for col in table.columns:
            text = table.value_text(i, col)
            if text is None:
                cells.append("–")
                continue
            text = f"**{text}**" if i in best[col] else text
            interval = table.ci_text(i, col)
            cells.append(text if interval is None else f"{text} {markdown_escape(interval)}")
        body.append(cells)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    lines.append("")
    lines.append(markdown_escape(table.caption()))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------


def _csv_text(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def render_csv_long(
    runs: Sequence[RunData],
    *,
    metrics: Sequence[str] | None = None,
    splits: Sequence[str] | None = None,
    ci: bool = False,
    units: Units | None = None,
    model_columns: Sequence[str] | None = None,
    names: Names | None = None,
) -> str:
    """Long CSV (one row per run, split, metric); values in stored units unless ``units`` says.

    Floats are written as Python ``repr`` (exact round trip) unless a precision is set.  With
    ``model_columns`` each run gets extra rows ``metric`` = params / flops / images_per_s with an
    empty ``split`` and ``n`` and the unscaled value (see
    :func:`faceval.report.tables.long_records`); the columns are unchanged.
    """
    records = long_records(runs, metrics=metrics, splits=splits, ci=ci, model_columns=model_columns, names=names)
    model_keys = {c.key for c in MODEL_COLUMNS.values()} if model_columns else set()
    columns = list(LONG_COLUMNS)
    if ci:
        columns[5:5] = ["ci_low", "ci_high"]
    precision = units.precision if units else None
    rows = []
    for rec in records:
        if rec["split"] == "" and rec["metric"] in model_keys:
            rows.append([
                _csv_model_number(rec[c], precision) if c in ("value", "ci_low", "ci_high") else str(rec[c])
                for c in columns
            ])
            continue
        factor, unit = _csv_scale(rec["metric"], rec["unit"], units)
        rec = dict(rec, unit=unit)
        row = []
        for c in columns:
            if c in ("value", "ci_low", "ci_high"):
                row.append(csv_number(rec[c], precision, factor))
            else:
                row.append(str(rec[c]))
        rows.append(row)
    return _csv_text(columns, rows)


def _csv_scale(metric: str, unit: str, units: Units | None) -> tuple[float, str]:
    """CSV keeps stored fractions unless the user asked for percent explicitly."""
    if units is None or units.mode != "percent":
        return 1.0, unit
    return units.scale(metric)


def _csv_model_number(value: float | None, precision: int | None) -> str:
    """Model-cost value for CSV: integral counts as integers, else as :func:`csv_number`."""
    if value is not None and float(value).is_integer():
        return str(int(value))
    return csv_number(value, precision)


def render_csv_paper(table: ReportTable, *, stored_units: bool = True) -> str:
    """Wide CSV: one row per model, one column per (split, metric) (plus ci_low/ci_high).

    Headers are machine ids: ``full/nme`` (``300w full/nme`` when the table spans datasets);
    ``model`` is the run label (``#2`` for a repeat), ``name`` its display name (``--rename``).
    Model-cost columns (``params``, ``flops``, ``images_per_s``, unscaled) follow ``name``.
    """
    header = ["model", "name"] + [MODEL_COLUMNS[c].key for c in table.model_columns]
    several = len(table.datasets) > 1
    for col in table.columns:
        base = f"{col.dataset} {col.split}/{col.metric}" if several else f"{col.split}/{col.metric}"
        header.append(base)
        if table.ci:
            header += [f"{base}/ci_low", f"{base}/ci_high"]
    header.append("protocol")
    rows = []
    precision = table.units.precision
    for i, row in enumerate(table.rows):
        out = [row.label, row.display] + [_csv_model_number(table.model_values.get((i, c)), precision) for c in table.model_columns]
        for col in table.columns:
            cell = table.cells.get((i, col))
            factor, _ = _csv_scale(col.metric, "fraction", table.units) if stored_units else (1.0, "")
            out.append(csv_number(cell.value if cell else None, precision, factor))
            if table.ci:
                ci = cell.ci if cell else None
                out.append(csv_number(ci[0] if ci else None, precision, factor))
                out.append(csv_number(ci[1] if ci else None, precision, factor))
        out.append(" | ".join(dict.fromkeys(r.protocol.describe() for r in row.runs)))
        rows.append(out)
    return _csv_text(header, rows)


# --------------------------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------------------------


def render_json(
    runs: Sequence[RunData],
    *,
    metrics: Sequence[str] | None = None,
    splits: Sequence[str] | None = None,
    ci: bool = False,
    model_columns: Sequence[str] | None = None,
    names: Names | None = None,
) -> str:
    """A JSON list, one object per run (see :func:`faceval.report.records.runs_json`)."""
    data = runs_json(runs, metrics=metrics, splits=splits, ci=ci, model_columns=model_columns, names=names)
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em; color: #222; background: #fff; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.5em; }
table.results { border-collapse: collapse; margin: 1em 0; }
div.table-wrap { overflow-x: auto; }
table.results th, table.results td { padding: 0.3em 0.7em; text-align: right; white-space: nowrap; }
table.results th:first-child, table.results td:first-child { text-align: left; }
table.results thead tr:first-child th { border-top: 2px solid #222; }
table.results thead tr:last-child th { border-bottom: 1px solid #222; }
table.results tbody tr:last-child td { border-bottom: 2px solid #222; }
table.results th.group { border-bottom: 1px solid #888; text-align: center; }
p.caption { max-width: 60em; color: #444; font-size: 0.9em; }
div.plots { display: flex; flex-wrap: wrap; gap: 1em; }
div.plot { width: 480px; } div.plot svg { width: 100%; height: auto; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; font-size: 0.85em; }
dl.meta dt { font-weight: bold; } dl.meta dd { margin: 0; font-family: monospace; white-space: pre-wrap; }
""".strip()


def _html_table(table: ReportTable) -> str:
    esc = html.escape
    per_value = 1
    model_cols = list(table.model_columns)
    out = ['<table class="results">', "<thead>", "<tr><th></th>" + "<th></th>" * len(model_cols)]
    for ds, s, cols in table.groups():
        out.append(f'<th class="group" colspan="{len(cols) * per_value}">{esc(table.group_title(ds, s))}</th>')
    out.append("</tr>")
    out.append("<tr><th>Model</th>" + "".join(f"<th>{esc(MODEL_COLUMNS[c].title)}</th>" for c in model_cols))
    for col in table.columns:
        out.append(f"<th>{esc(header_label(col.metric, table.units))}</th>")
    out.append("</tr>")
    out.append("</thead>")
    out.append("<tbody>")
    best = {col: table.best_rows(col) for col in table.columns}
    for i, row in enumerate(table.rows):
        name = esc(row.display)
        if row.protocol_marks:
            name += "<sup>" + esc(",".join(row.protocol_marks)) + "</sup>"
        out.append(f"<tr><td>{name}</td>" + "".join(
            f"<td>{esc(table.model_text(i, c) or '–')}</td>" for c in model_cols))
        for col in table.columns:
            value = table.value_text(i, col)
            if value is None:
                out.append("<td>–</td>")
                continue
            text = f"<strong>{esc(value)}</strong>" if i in best[col] else esc(value)
            interval = table.ci_text(i, col)
            out.append(f"<td>{text}</td>" if interval is None else f"<td>{text} {esc(interval)}</td>")
        out.append("</tr>")
    out.append("</tbody>")
    out.append("</table>")
    return "\n".join(out)


def _meta_value(value: Any) -> str:
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(to_jsonable(value, finite=False), indent=1, sort_keys=True, allow_nan=True)
    return str(to_jsonable(value, finite=False))


def _split_size(run: RunData, split: str) -> str:
    """``330`` or, for a partial split, ``330 of 689`` (``412, within split 'test' (1500 of 1969 images)``)."""
    count = run.split_count(split)
    if count.complete:
        return str(count.n)
    return count.describe().removesuffix(" images").replace(" images, within", ", within", 1)


def _html_meta(title: str, mapping: dict[str, Any]) -> str:
    esc = html.escape
    if not mapping:
        return f"<p><em>{esc(title)}: none recorded.</em></p>"
    items = "".join(f"<dt>{esc(str(k))}</dt><dd>{esc(_meta_value(v))}</dd>" for k, v in sorted(mapping.items()))
    return f"<h4>{esc(title)}</h4><dl class=\"meta\">{items}</dl>"


def render_html(
    table: ReportTable,
    runs: Sequence[RunData],
    *,
    plots: bool = True,
    title: str = "faceval report",
) -> str:
    """One self-contained HTML page: the table, inline SVG CED plots and figures, protocol and provenance.

    The figures (:mod:`faceval.report.figures`): error per landmark on the mean shape, NME per
    split, NME against |yaw| when poses are known; ``plots=False`` leaves out every plot.

    One CED plot per (dataset, split) of the table; no external resources (styles inline, plots
    inline SVG), so the file opens anywhere.
    """
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{esc(title)}</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
        f"<h1>{esc(title)}</h1>",
        "<h2>Results</h2>",
        '<div class="table-wrap">',
        _html_table(table),
        "</div>",
        f'<p class="caption">{esc(table.caption())}</p>',
    ]
    if table.warnings:
        parts.append("<ul class=\"warnings\">" + "".join(f"<li>{esc(w)}</li>" for w in table.warnings) + "</ul>")
    if plots:
        from .ced import ced_svg_inline

        parts.append("<h2>Cumulative error distributions</h2>")
        parts.append('<div class="plots">')
        k = 0
        labels = unique_labels(runs).labels  # the table's rule; colours by the run's position
        for ds, s, _ in table.groups():
            members = [p for p, r in enumerate(runs) if r.dataset == ds and s in r.splits
                       and not r.pose_only]  # no NME: no CED
            if not members:
                continue
            svg = ced_svg_inline([runs[p] for p in members], split=s, salt=f"faceval-ced-{k}",
                                 labels=[table.names.label(labels[p]) for p in members], positions=members)
            k += 1
            parts.append(f'<div class="plot" id="ced-{k}">\n{svg}\n</div>')
        parts.append("</div>")
        from .figures import figures_html

        parts.append(figures_html(table))  # error per landmark, NME per split, NME against |yaw|
    parts.append("<h2>Runs</h2>")
    for run in runs:
        parts.append(f"<h3>{esc(run.label)} on {esc(run.dataset)}</h3>")
        parts.append(f"<p>Protocol: {esc(run.protocol.describe())}. Splits: " + esc(
            ", ".join(f"{s} ({_split_size(run, s)})" for s in run.splits)) + ".</p>")
        parts.append("<details open>" if len(runs) <= 2 else "<details>")
        parts.append("<summary>protocol, provenance and model</summary>")
        parts.append(_html_meta("protocol", run.protocol.to_dict()))
        parts.append(_html_meta("provenance", dict(run.provenance)))
        parts.append(_html_meta("model", dict(run.model_info)))
        parts.append("</details>")
    parts.append("<p class=\"caption\">Made by faceval from run files alone.</p>")
    parts.append("</body>")
    parts.append("</html>")
    return "\n".join(parts) + "\n"
