"""The LaTeX renderer of report tables: a booktabs ``table`` that compiles unedited.

Needs ``\\usepackage{booktabs}`` and nothing else.  Text (labels, caption, names) is escaped in
one pass (:func:`latex_escape`, which also maps ``± × σ ° – † ‡`` to LaTeX); ``--label`` is
checked (:func:`check_latex_label`).
"""

from __future__ import annotations

import re
from typing import Any

from faceval.errors import InputError

from .tables import MODEL_COLUMNS, ReportTable
from .units import header_label


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
    "σ": r"$\sigma$",
    "–": "--",
    "—": "---",
    "†": r"$^\dagger$",
    "‡": r"$^\ddagger$",
    "§": r"\S{}",
    "¶": r"\P{}",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX specials (``\\ & % $ # _ { } ~ ^``) in one pass."""
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in str(text))


def _latex_number(table: ReportTable, row: int, col: Any, bold: bool) -> str:
    text = table.value_text(row, col)
    if text is None:
        return "--"
    mark = table.partial_mark(row, col)
    number = text[: len(text) - len(mark)]
    number = {"inf": r"$\infty$", "-inf": r"$-\infty$"}.get(number, number)
    text = number + latex_escape(mark)
    if bold:
        text = rf"\textbf{{{text}}}"
    interval = table.ci_text(row, col)
    if interval is None:
        return text
    # the interval in the value's cell, set smaller (as papers do) so that the table fits a page
    return text + r"\,{\scriptsize " + latex_escape(interval).replace("$\\pm$ ", "$\\pm$\\,") + "}"


def _latex_header(metric: str, units: Any) -> str:
    """A metric's column title with the threshold as a subscript: ``FR$_{0.08}$ (\\%)``."""
    title = header_label(metric, units)
    match = re.fullmatch(r"(.*?)@([0-9.]+)(.*)", title)
    if match is None:
        return latex_escape(title)
    return latex_escape(match.group(1)) + "$_{" + match.group(2) + "}$" + latex_escape(match.group(3))


#: What ``--label`` may hold: letters, digits and ``: _ - . /`` (no spaces, braces or specials).
_LABEL = re.compile(r"[A-Za-z0-9:_./-]+")


def check_latex_label(label: str) -> str:
    """The ``\\label`` key, or InputError when it holds characters a label cannot."""
    if not _LABEL.fullmatch(label):
        raise InputError(f"--label '{label}': a LaTeX label may hold letters, digits and ': _ - . /' only")
    return label


def render_latex(table: ReportTable, *, label: str = "tab:faceval") -> str:
    """A ``table`` environment with a booktabs ``tabular``.

    One column group per split (``\\multicolumn`` + ``\\cmidrule``), one row per model, the best
    value per column in bold, a caption naming units and protocol(s) (its first sentence is
    ``table.title``, ``--caption``; plain text, escaped) and ``\\label{label}``.  When every
    split has one column of one metric the group header is the only header row (as in the
    ASMNet paper's Table 2).  Compiles with ``\\usepackage{booktabs}`` and nothing else.

    To fit a page: thresholds are subscripts (``FR$_{0.08}$``), ``\\tabcolsep`` is 4pt (inside
    the float only; 3pt with ``--ci``), and with ``--ci`` the table is ``\\small`` and the
    interval part of a cell ``\\scriptsize`` (``2.59\\,{\\scriptsize $\\pm$\\,0.07}``).  The
    default 300W table of two models fits an article page (345pt) with or without ``--ci``;
    ``--ci-style interval`` is wider (use ``table*`` or fewer columns).
    """
    label = check_latex_label(label)
    groups = table.groups()
    per_value = 1
    single = all(len(cols) == 1 for _, _, cols in groups) and len({c.metric for c in table.columns}) == 1
    model_cols = list(table.model_columns)
    n_model = len(model_cols)
    model_titles = [latex_escape(MODEL_COLUMNS[c].title) for c in model_cols]
    lines: list[str] = ["% faceval report; requires \\usepackage{booktabs}"]
    lines.append(r"\begin{table}[t]")
    lines.append(r"\centering")
    if table.ci:
        lines.append(r"\small")
    lines.append(r"\setlength{\tabcolsep}{" + ("3pt" if table.ci else "4pt") + "}")
    caption = table.caption()
    lines.append(r"\caption{" + latex_escape(caption) + "}")
    lines.append(r"\label{" + label + "}")
    spec = "l" + (" " + "c" * n_model if n_model else "") + "".join(
        " " + "c" * (len(cols) * per_value) for _, _, cols in groups
    )
    lines.append(r"\begin{tabular}{" + spec + "}")
    lines.append(r"\toprule")

    if single:
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
                sub.append(_latex_header(col.metric, table.units))
        lines.append(" & ".join(sub) + r" \\")
    lines.append(r"\midrule")

    best = {col: table.best_rows(col) for col in table.columns}
    for i, row in enumerate(table.rows):
        name = latex_escape(row.display)
        if row.protocol_marks:
            name += r"$^{" + ",".join(row.protocol_marks) + "}$"
        cells = [name] + [table.model_text(i, c) or "--" for c in model_cols]
        for col in table.columns:
            cells.append(_latex_number(table, i, col, i in best[col]))
        lines.append(" & ".join(cells) + r" \\")
    lines.append(r"\bottomrule")
    lines.append(r"\end{tabular}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


__all__ = ["check_latex_label", "latex_escape", "render_latex"]
