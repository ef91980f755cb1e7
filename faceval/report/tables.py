"""The paper-layout report table built from runs.

A :class:`ReportTable` is the format-neutral form of ``faceval report``: rows are models
(``RunData.label``; runs of one model on several datasets share a row, as in the ASMNet
paper's Table 2), columns are ``(dataset, split, metric)`` grouped by split, chosen by
:mod:`faceval.report.layout` (NME on every split, FR/AUC on the main split, unless
``--metrics``).  Splits and datasets are shown by their display names
(:mod:`faceval.report.names`: "Full", "300W").  The renderers in :mod:`faceval.report.formats`
turn it into LaTeX, Markdown, HTML or CSV; :mod:`faceval.report.records` gives the tidy
one-row-per-(run, split, metric) form and the JSON form (re-exported here).

Values and intervals come from :mod:`faceval.metrics.run_metrics` (the metric registry on the
runs' per-image arrays), display units from :mod:`faceval.report.units`, model-cost columns from
:mod:`faceval.report.model_columns`, protocol text from ``Protocol.describe()``.  A cell of a
partial split (missing files, a shard, ``--limit``) carries its count: renderers mark it with a
footnote mark and it is never bold against complete cells.

Default metrics (:func:`default_metrics`): ``nme``, ``fr@T`` and ``auc@T`` with ``T`` the first
threshold of the first run's protocol; only ``nme`` when a run lists no thresholds.

Everything here is deterministic: the same runs give the same table (bootstrap intervals use a
fixed seed).  This module never imports click or rich.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

from faceval.errors import InputError
from faceval.metrics.registry import parse_metric
from faceval.metrics.run_metrics import (
    CI_LEVEL,
    CI_N_BOOT,
    CI_SEED,
    default_metrics,
    metric_ci,
    metric_value,
    parse_metric_list,
    uses_pose,
)
from faceval.report.layout import Column, paper_columns, paper_splits
from faceval.report.model_columns import MODEL_COLUMNS, ModelColumn, model_info_value, parse_model_columns
from faceval.report.names import Names, annotation_file_name, caption_datasets, unique_labels
from faceval.report.records import LONG_COLUMNS, long_records, runs_json, split_order
from faceval.report.units import Units, header_label
from faceval.runs.data import RunData, SplitCount, run_differences

__all__ = [
    "CI_LEVEL", "CI_N_BOOT", "CI_SEED", "Cell", "Column", "LONG_COLUMNS", "MODEL_COLUMNS", "ModelColumn",
    "Names", "ReportTable", "Row", "CI_STYLES", "model_info_value",
    "Units", "build_table", "default_metrics", "long_records", "metric_ci", "metric_value", "parse_metric_list",
    "parse_model_columns", "protocol_warnings", "runs_json",
]

#: Footnote marks of partial cells (repeated, ``††``, once used up).
_MARKS = ("†", "‡", "§", "¶")

#: How ``--ci`` shows an interval in its cell: ``2.59 ± 0.07`` or ``2.59 [2.45, 2.73]``.
CI_STYLES = ("pm", "interval")

# --------------------------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------------------------


@dataclass
class Cell:
    """A value (stored fraction/degrees), its optional bootstrap interval and completeness.

    ``partial`` is the split's count when the run lacks samples of the complete split (missing
    files, a shard, ``--limit``): the cell is marked and never bold against complete cells.
    """

    value: float | None
    ci: tuple[float, float] | None = None
    partial: SplitCount | None = None
    protocol: str = ""


@dataclass
class Row:
    """One model: its label (unique, ``#2`` for a repeat), display name and runs (one per dataset)."""

    label: str
    runs: list[RunData]
    protocol_marks: list[str] = field(default_factory=list)
    display: str = ""

    def __post_init__(self) -> None:
        if not self.display:
            self.display = self.label


@dataclass
class ReportTable:
    """The paper-layout table (format-neutral).

    Attributes:
        rows: one per model label, in first-seen order.
        columns: ``(dataset, split, metric)`` in dataset order, then the run's split order, then
            the metric order.
        cells: ``(row index, column) -> Cell``.
        metrics: canonical metric names.
        units: display units.
        ci: whether intervals were computed.
        protocols: distinct protocol lines; ``marks[i]`` labels ``protocols[i]`` when several.
        warnings: messages for stderr (differing protocols, duplicate labels).
        model_columns: ``--model-columns`` names shown after the model name (empty: none).
        model_values: ``(row index, name) -> value`` (unscaled; None when no run has it).
        names: display names (with ``--rename``).
        ci_style: ``pm`` (``2.59 ± 0.07``) or ``interval`` (``2.59 [2.45, 2.73]``).
        title: the caption's first sentence (``--caption``; default "Results on 300W.").
    """

    rows: list[Row]
    columns: list[Column]
    cells: dict[tuple[int, Column], Cell]
    metrics: list[str]
    units: Units
    ci: bool
    protocols: list[str]
    marks: list[str]
    warnings: list[str]
    model_columns: list[str] = field(default_factory=list)
    model_values: dict[tuple[int, str], float | None] = field(default_factory=dict)
    names: Names = field(default_factory=Names)
    ci_style: str = "pm"
    title: str | None = None

    @property
    def datasets(self) -> list[str]:
        out: list[str] = []
        for col in self.columns:
            if col.dataset not in out:
                out.append(col.dataset)
        return out

    def groups(self) -> list[tuple[str, str, list[Column]]]:
        """``(dataset, split, columns)`` groups in column order."""
        out: list[tuple[str, str, list[Column]]] = []
        for col in self.columns:
            if out and out[-1][0] == col.dataset and out[-1][1] == col.split:
                out[-1][2].append(col)
            else:
                out.append((col.dataset, col.split, [col]))
        return out

    def group_title(self, dataset: str, split: str) -> str:
        """Split display name ("Full"), prefixed by the dataset's ("300W Full") when the table spans several."""
        name = self.names.split(split)
        return f"{self.names.dataset(dataset)} {name}" if len(self.datasets) > 1 else name

    def value_text(self, row: int, column: Column) -> str | None:
        """A cell's value as displayed plus its partial mark (``2.99``, ``2.59†``); None for an empty cell."""
        cell = self.cells.get((row, column))
        if cell is None or cell.value is None:
            return None
        return self.units.format(column.metric, cell.value) + self.partial_mark(row, column)

    def ci_text(self, row: int, column: Column) -> str | None:
        """The interval part of a ``--ci`` cell: ``± 0.07`` or ``[2.45, 2.73]`` (None without one)."""
        cell = self.cells.get((row, column))
        if cell is None or cell.ci is None or cell.value is None:
            return None
        if self.ci_style == "interval":
            low, high = (self.units.format(column.metric, v) for v in cell.ci)
            return f"[{low}, {high}]"
        return "± " + self.units.format(column.metric, (cell.ci[1] - cell.ci[0]) / 2.0)

    def best_rows(self, column: Column) -> set[int]:
        """Rows holding the best displayed value of a column (direction from the registry).

        Values are compared as displayed (rounded), so ties on the page are all bold.
        Columns with fewer than two values have no best, nor columns whose values come from runs
        of different protocols (a 49-point NME is not better than a 68-point one).
        """
        direction = parse_metric(column.metric).direction
        present = [(i, self.cells[(i, column)]) for i in range(len(self.rows)) if (i, column) in self.cells]
        present = [(i, c) for i, c in present if c.value is not None and not math.isnan(c.value)]
        complete = [(i, c) for i, c in present if c.partial is None]
        if complete:
            # A partial cell never competes with complete ones.
            present = complete
        elif len({(c.partial.n, c.partial.n_expected, c.partial.shard, c.partial.within) for _, c in present if c.partial}) > 1:
            return set()  # partial cells of different sample sets are not comparable either
        if len({c.protocol for _, c in present}) > 1:
            return set()
        shown: dict[int, float] = {}
        for i, cell in present:
            assert cell.value is not None
            shown[i] = float(self.units.format(column.metric, cell.value))
        if len(shown) < 2:
            return set()
        if direction == "zero":  # pose bias: the smallest magnitude is best
            shown = {i: abs(v) for i, v in shown.items()}
        target = max(shown.values()) if direction == "higher" else min(shown.values())
        return {i for i, v in shown.items() if v == target}

    def partial_mark(self, row: int, column: Column) -> str:
        """The footnote mark of a partial cell (``†``, ``‡``, ...), ``""`` for a complete or empty one."""
        cell = self.cells.get((row, column))
        if cell is None or cell.partial is None or cell.value is None:
            return ""
        return self.footnote_marks[cell.partial.describe()]

    @property
    def footnote_marks(self) -> dict[str, str]:
        """Partial-split text (``330 of 689 images``) -> its mark, in first-seen cell order."""
        marks: dict[str, str] = {}
        for i in range(len(self.rows)):
            for col in self.columns:
                cell = self.cells.get((i, col))
                if cell is not None and cell.partial is not None and cell.value is not None:
                    text = cell.partial.describe()
                    if text not in marks:
                        k = len(marks)
                        marks[text] = _MARKS[k % len(_MARKS)] * (k // len(_MARKS) + 1)
        return marks

    def footnotes(self) -> list[str]:
        """``† partial split: 330 of 689 images, not comparable with complete splits.`` per mark."""
        return [f"{mark} partial split: {text}, not comparable with complete splits (never bold against them)."
                for text, mark in self.footnote_marks.items()]

    def model_text(self, row: int, name: str) -> str | None:
        """Display text of a model-cost cell (e.g. ``1.43``), None when the value is missing."""
        return MODEL_COLUMNS[name].format(self.model_values.get((row, name)))

    def caption(self) -> str:
        """Plain-text caption: what the numbers are, units, bold rule and protocol(s)."""
        unit_bits = []
        percent = [m for m in self.metrics if self.units.scale(m)[1] == "percent"]
        fraction = [m for m in self.metrics if self.units.scale(m)[1] == "fraction"]
        if percent:
            unit_bits.append(", ".join(header_label(m, self.units, with_unit=False) for m in percent) + " in %")
        if fraction:
            unit_bits.append(", ".join(header_label(m, self.units, with_unit=False) for m in fraction) + " as fractions")
        text = self.title.strip() if self.title is not None else (
            "Results on " + ", ".join(caption_datasets(self.datasets, [r for row in self.rows for r in row.runs], self.names)) + ".")
        if text and text[-1] not in ".!?:;":
            text += "."
        if unit_bits:
            text += " " + "; ".join(unit_bits) + "."
        text += (" Best per column in bold." if len(self.protocols) == 1 else
                 " Best per column in bold (none in a column mixing protocols).")
        if self.model_columns:
            bits = {
                "params": "Params in millions",
                "flops": "FLOPs in billions (2 × MACs, batch 1)",
                "speed": "img/s the throughput measured by the run (machine dependent)",
            }
            named = "; ".join(bits[c] for c in self.model_columns)
            text += f" Model columns from the run files, not bold: {named}."
        if self.ci:
            what = ("± is half the width of the" if self.ci_style == "pm" else "[low, high] is the")
            text += (
                f" {what} bootstrap {int(CI_LEVEL * 100)} % interval"
                f" ({CI_N_BOOT} resamples over images, seed {CI_SEED})."
            )
        if len(self.protocols) == 1:
            text += f" Protocol: {self.protocols[0]}."
        else:
            text += " Protocols: " + "; ".join(f"({m}) {p}" for m, p in zip(self.marks, self.protocols)) + "."
        for note in self.footnotes():
            text += " " + note
        return text


def protocol_text(run: RunData, runs: Sequence[RunData]) -> str:
    """The run's protocol line, naming its annotation file when ``runs`` hold ``json:`` runs of
    several files: those are other test sets under one dataset name ("json"), never one column's
    rivals (``, annotations test.json (sha256 87325157)``)."""
    text = run.protocol.describe()
    if run.dataset == "json" and len({r.protocol.manifest_sha256 for r in runs if r.dataset == "json"}) > 1:
        text += f", annotations {annotation_file_name(run)} (sha256 {str(run.protocol.manifest_sha256)[:8]})"
    return text


def protocol_warnings(runs: Sequence[RunData], *, pose_labels: bool = True) -> list[str]:
    """Messages naming protocol differences between runs of one table (empty when they agree)."""
    out: list[str] = []
    by_dataset: dict[str, list[RunData]] = {}
    for run in runs:
        by_dataset.setdefault(run.dataset, []).append(run)
    texts = {protocol_text(r, runs) for r in runs}
    if len(texts) > 1:
        out.append("runs use different protocols; each is named in the caption: " + " | ".join(sorted(texts)))
    for dataset, group in by_dataset.items():
        ref = group[0]
        for other in group[1:]:
            diffs = [d.key for d in run_differences(ref, other, pose_labels=pose_labels)]
            if diffs:
                out.append(
                    f"{dataset}: '{other.label}' and '{ref.label}' differ in " + ", ".join(diffs)
                )
    return out


def build_table(
    runs: Sequence[RunData],
    *,
    metrics: Sequence[str] | None = None,
    splits: Sequence[str] | None = None,
    units: Units | None = None,
    ci: bool = False,
    model_columns: Sequence[str] | None = None,
    names: Names | None = None,
    ci_style: str = "pm",
    title: str | None = None,
) -> ReportTable:
    """Build the paper-layout table of ``runs``.

    Args:
        runs: the runs, in row order.  Runs sharing a label but on different datasets share a
            row; a repeated (label, dataset) gets a ``#2`` suffix and a warning.
        metrics: canonical metric names, each shown on every split (default
            :func:`default_metrics`, placed by :func:`faceval.report.layout.paper_columns`: NME
            on every split, FR/AUC on the main split).
        splits: restrict and order the split columns (default: each dataset's paper splits,
            :func:`faceval.report.layout.paper_splits`, in the runs' order).
        units: display units (default paper convention).
        ci: compute bootstrap intervals for every cell.
        model_columns: ``params``, ``flops``, ``speed`` (see :func:`parse_model_columns`):
            model-cost columns after the model name, from the first of the row's runs whose
            ``model_info`` has the value.  None or empty: none (the table is unchanged).
        names: display names and ``--rename`` (checked against the runs).
        ci_style: ``pm`` or ``interval`` (see :data:`CI_STYLES`).
        title: the caption's first sentence instead of "Results on 300W.".
    """
    if not runs:
        raise InputError("no runs given")
    model_names = parse_model_columns(list(model_columns)) if model_columns else []
    units = units or Units()
    metric_names = [parse_metric(m).name for m in metrics] if metrics else default_metrics(runs)
    if ci_style not in CI_STYLES:
        raise InputError(f"unknown --ci-style '{ci_style}' (one of {', '.join(CI_STYLES)})")
    names = names or Names()
    unique = unique_labels(runs)
    names.check(runs, unique.labels)
    warnings = protocol_warnings(runs, pose_labels=uses_pose(metric_names)) + unique.warnings

    rows: list[Row] = []
    by_label: dict[str, Row] = {}
    for run, label in zip(runs, unique.labels):
        row = by_label.get(label)
        if row is None:
            row = Row(label=label, runs=[], display=names.label(label))
            by_label[label] = row
            rows.append(row)
        row.runs.append(run)

    order = paper_splits(split_order(runs, splits), explicit=splits is not None)
    columns = paper_columns(order, metric_names, explicit_metrics=bool(metrics))

    cells: dict[tuple[int, Column], Cell] = {}
    for i, row in enumerate(rows):
        for col in columns:
            run = next((r for r in row.runs if r.dataset == col.dataset), None)
            if run is None or col.split not in run.splits:
                continue
            value = metric_value(run, col.split, col.metric)
            if value is not None and math.isnan(value):
                value = None  # an empty split or a metric without data: "–", never nan
            interval = metric_ci(run, col.split, col.metric) if ci and value is not None else None
            count = run.split_count(col.split)
            cells[(i, col)] = Cell(value, None if interval is None else (interval.low, interval.high),
                                   None if count.complete else count, protocol_text(run, runs))

    protocols: list[str] = []
    for row in rows:
        for run in row.runs:
            text = protocol_text(run, runs)
            if text not in protocols:
                protocols.append(text)
    marks = [chr(ord("a") + k) if k < 26 else str(k + 1) for k in range(len(protocols))]
    if len(protocols) > 1:
        for row in rows:
            row.protocol_marks = sorted({marks[protocols.index(protocol_text(r, runs))] for r in row.runs})

    model_values = {
        (i, name): model_info_value(row.runs, MODEL_COLUMNS[name].key)
        for i, row in enumerate(rows)
        for name in model_names
    }

    return ReportTable(
        rows=rows,
        columns=columns,
        cells=cells,
        metrics=metric_names,
        units=units,
        ci=ci,
        protocols=protocols,
        marks=marks,
        warnings=warnings,
        model_columns=model_names,
        model_values=model_values,
        names=names,
        ci_style=ci_style,
        title=title,
    )
