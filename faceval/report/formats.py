"""Renderers of report tables: LaTeX (booktabs), Markdown, HTML, CSV and JSON.

Every renderer is deterministic (no timestamps, fixed float formatting), so the same runs give
byte-identical output.  LaTeX needs ``\\usepackage{booktabs}``.

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

from .tables import LONG_COLUMNS, MODEL_COLUMNS, ReportTable, long_records, runs_json
from .units import Units, csv_number, header_label

# --------------------------------------------------------------------------------------------
# LaTeX
# --------------------------------------------------------------------------------------------

_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "±": r"$\pm$",
    "°": r"$^\circ$",
    "×": r"$\times$",
    "†": r"$^\dagger$",
    "‡": r"$^\ddagger$",
    "§": r"\S{}",
    "¶": r"\P{}",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX specials (``\\ & % $ # _ { } ~ ^``) in one pass."""
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in str(text))


def _latex_number(table: ReportTable, row: int, col: Any, bold: bool) -> str:
    cell = table.cells.get((row, col))
    if cell is None or cell.value is None:
        return "--"
    text = table.units.format(col.metric, cell.value)
    if text in ("inf", "-inf"):
        text = r"$\infty$" if text == "inf" else r"$-\infty$"
    text += latex_escape(table.partial_mark(row, col))
    return rf"\textbf{{{text}}}" if bold else text


def render_latex(table: ReportTable, *, label: str = "tab:faceval") -> str:
    """A ``table`` environment with a booktabs ``tabular``.

    One column group per split (``\\multicolumn`` + ``\\cmidrule``), one row per model, the best
    value per column in bold, a caption naming units and protocol(s).  With a single metric the
    group header is the only header row (as in the ASMNet paper's Table 2).
    """
    groups = table.groups()
    per_value = 2 if table.ci else 1
    single = len(table.metrics) == 1
    model_cols = list(table.model_columns)
    n_model = len(model_cols)
    model_titles = [latex_escape(MODEL_COLUMNS[c].title) for c in model_cols]
    lines: list[str] = ["% faceval report; requires \\usepackage{booktabs}"]
    lines.append(r"\begin{table}[t]")
    lines.append(r"\centering")
    caption = table.caption()
    lines.append(r"\caption{" + latex_escape(caption) + "}")
    lines.append(r"\label{" + label + "}")
    spec = "l" + (" " + "c" * n_model if n_model else "") + "".join(
        " " + "c" * (len(cols) * per_value) for _, _, cols in groups
    )
    lines.append(r"\begin{tabular}{" + spec + "}")
    lines.append(r"\toprule")

    if single and not table.ci:
        head = ["Model"] + model_titles + [latex_escape(table.group_title(ds, s)) for ds, s, _ in groups]
        lines.append(" & ".join(head) + r" \\")
    else:
        top = [""] * (1 + n_model)
        rules = []
        start = 2 + n_model
        for ds, s, cols in groups:
            width = len(cols) * per_value
            top.append(rf"\multicolumn{{{width}}}{{c}}{{{latex_escape(table.group_title(ds, s))}}}")
            rules.append(rf"\cmidrule(lr){{{start}-{start + width - 1}}}")
            start += width
        lines.append(" & ".join(top) + r" \\")
        lines.append(" ".join(rules))
        sub = ["Model"] + model_titles
        for _, _, cols in groups:
            for col in cols:
                sub.append(latex_escape(header_label(col.metric, table.units)))
                if table.ci:
                    sub.append(r"$\pm$")
        lines.append(" & ".join(sub) + r" \\")
    lines.append(r"\midrule")

    best = {col: table.best_rows(col) for col in table.columns}
    for i, row in enumerate(table.rows):
        name = latex_escape(row.label)
        if row.protocol_marks:
            name += r"$^{" + ",".join(row.protocol_marks) + "}$"
        cells = [name] + [table.model_text(i, c) or "--" for c in model_cols]
        for col in table.columns:
            cells.append(_latex_number(table, i, col, i in best[col]))
            if table.ci:
                half = table.ci_halfwidth(i, col)
                cells.append("--" if half is None else table.units.format(col.metric, half))
        lines.append(" & ".join(cells) + r" \\")
    lines.append(r"\bottomrule")
    lines.append(r"\end{tabular}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


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
        if table.ci:
            header.append("±")
    align = [":---"] + ["---:"] * (len(header) - 1)
    best = {col: table.best_rows(col) for col in table.columns}
    body: list[list[str]] = []
    for i, row in enumerate(table.rows):
        name = markdown_escape(row.label)
        if row.protocol_marks:
            name += " (" + ",".join(row.protocol_marks) + ")"
        cells = [name] + [table.model_text(i, c) or "–" for c in table.model_columns]
        for col in table.columns:
            cell = table.cells.get((i, col))
            if cell is None or cell.value is None:
                cells.append("–")
            else:
                text = table.units.format(col.metric, cell.value) + table.partial_mark(i, col)
                cells.append(f"**{text}**" if i in best[col] else text)
            if table.ci:
                half = table.ci_halfwidth(i, col)
                cells.append("–" if half is None else table.units.format(col.metric, half))
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
) -> str:
    """Long CSV (one row per run, split, metric); values in stored units unless ``units`` says.

    Floats are written as Python ``repr`` (exact round trip) unless a precision is set.  With
    ``model_columns`` each run gets extra rows ``metric`` = params / flops / images_per_s with an
    empty ``split`` and ``n`` and the unscaled value (see
    :func:`faceval.report.tables.long_records`); the columns are unchanged.
    """
    records = long_records(runs, metrics=metrics, splits=splits, ci=ci, model_columns=model_columns)
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

    Model-cost columns (``params``, ``flops``, ``images_per_s``, unscaled) follow ``model``.
    """
    header = ["model"] + [MODEL_COLUMNS[c].key for c in table.model_columns]
    for col in table.columns:
        base = f"{table.group_title(col.dataset, col.split)}/{col.metric}"
        header.append(base)
        if table.ci:
            header += [f"{base}/ci_low", f"{base}/ci_high"]
    header.append("protocol")
    rows = []
    precision = table.units.precision
    for i, row in enumerate(table.rows):
        out = [row.label] + [_csv_model_number(table.model_values.get((i, c)), precision) for c in table.model_columns]
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
) -> str:
    """A JSON list, one object per run (see :func:`faceval.report.tables.runs_json`)."""
    data = runs_json(runs, metrics=metrics, splits=splits, ci=ci, model_columns=model_columns)
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
    per_value = 2 if table.ci else 1
    model_cols = list(table.model_columns)
    out = ['<table class="results">', "<thead>", "<tr><th></th>" + "<th></th>" * len(model_cols)]
    for ds, s, cols in table.groups():
        out.append(f'<th class="group" colspan="{len(cols) * per_value}">{esc(table.group_title(ds, s))}</th>')
    out.append("</tr>")
    out.append("<tr><th>Model</th>" + "".join(f"<th>{esc(MODEL_COLUMNS[c].title)}</th>" for c in model_cols))
    for col in table.columns:
        out.append(f"<th>{esc(header_label(col.metric, table.units))}</th>")
        if table.ci:
            out.append("<th>±</th>")
    out.append("</tr>")
    out.append("</thead>")
    out.append("<tbody>")
    best = {col: table.best_rows(col) for col in table.columns}
    for i, row in enumerate(table.rows):
        name = esc(row.label)
        if row.protocol_marks:
            name += "<sup>" + esc(",".join(row.protocol_marks)) + "</sup>"
        out.append(f"<tr><td>{name}</td>" + "".join(
            f"<td>{esc(table.model_text(i, c) or '–')}</td>" for c in model_cols))
        for col in table.columns:
            cell = table.cells.get((i, col))
            if cell is None or cell.value is None:
                out.append("<td>–</td>")
            else:
                text = esc(table.units.format(col.metric, cell.value) + table.partial_mark(i, col))
                out.append(f"<td><strong>{text}</strong></td>" if i in best[col] else f"<td>{text}</td>")
            if table.ci:
                half = table.ci_halfwidth(i, col)
                out.append("<td>–</td>" if half is None else f"<td>{esc(table.units.format(col.metric, half))}</td>")
        out.append("</tr>")
    out.append("</tbody>")
    out.append("</table>")
    return "\n".join(out)


def _meta_value(value: Any) -> str:
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(to_jsonable(value, finite=False), indent=1, sort_keys=True, allow_nan=True)
    return str(to_jsonable(value, finite=False))


def _split_size(run: RunData, split: str) -> str:
    """``330`` or, for a partial split, ``330 of 689``."""
    count = run.split_count(split)
    if count.complete:
        return str(count.n)
    return count.describe().removesuffix(" images")


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
    """One self-contained HTML page: the table, inline SVG CED plots, protocol and provenance.

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
        for ds, s, _ in table.groups():
            members = [r for r in runs if r.dataset == ds and s in r.splits and not r.pose_only]  # no NME: no CED
            if not members:
                continue
            svg = ced_svg_inline(members, split=s, salt=f"faceval-ced-{k}")
            k += 1
            parts.append(f'<div class="plot" id="ced-{k}">\n{svg}\n</div>')
        parts.append("</div>")
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
