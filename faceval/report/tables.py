"""Report tables built from runs: the paper-layout table and the tidy records.

A :class:`ReportTable` is the format-neutral form of ``faceval report``: rows are models
(``RunData.label``; runs of one model on several datasets share a row, as in the ASMNet
paper's Table 2), columns are ``(dataset, split, metric)`` grouped by split.  The renderers
in :mod:`faceval.report.formats` turn it into LaTeX, Markdown, HTML or CSV; :func:`long_records`
gives the tidy one-row-per-(run, split, metric) form and :func:`runs_json` the JSON form.

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
from typing import Any, Iterable, Sequence

from faceval.errors import InputError
from faceval.jsonable import to_jsonable
from faceval.metrics.registry import parse_metric, summary_of
from faceval.metrics.run_metrics import (
    CI_LEVEL,
    CI_N_BOOT,
    CI_SEED,
    default_metrics,
    metric_ci,
    metric_value,
    parse_metric_list,
    split_json,
)
from faceval.report.model_columns import MODEL_COLUMNS, ModelColumn, model_info_value, parse_model_columns
from faceval.report.units import Units, header_label
from faceval.runs.data import RunData, SplitCount
from faceval.runs.protocol import COLUMN_KEYS

__all__ = [
    "CI_LEVEL", "CI_N_BOOT", "CI_SEED", "Cell", "Column", "LONG_COLUMNS", "MODEL_COLUMNS", "ModelColumn",
    "ReportTable", "Row", "model_info_value",
    "Units", "build_table", "default_metrics", "long_records", "metric_ci", "metric_value", "parse_metric_list",
    "parse_model_columns", "protocol_warnings", "runs_json",
]

#: Footnote marks of partial cells (repeated, ``††``, once used up).
_MARKS = ("†", "‡", "§", "¶")

# --------------------------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One value column of the paper layout."""

    dataset: str
    split: str
    metric: str


@dataclass
class Cell:
    """A value (stored fraction/degrees), its optional bootstrap interval and completeness.

    ``partial`` is the split's count when the run lacks samples of the complete split (missing
    files, a shard, ``--limit``): the cell is marked and never bold against complete cells.
    """

    value: float | None
    ci: tuple[float, float] | None = None
    partial: SplitCount | None = None


@dataclass
class Row:
    """One model: its label and its runs (one per dataset)."""

    label: str
    runs: list[RunData]
    protocol_marks: list[str] = field(default_factory=list)


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
        """Split name, prefixed by the dataset when the table spans several datasets."""
        return f"{dataset} {split}" if len(self.datasets) > 1 else split

    def best_rows(self, column: Column) -> set[int]:
        """Rows holding the best displayed value of a column (direction from the registry).

        Values are compared as displayed (rounded), so ties on the page are all bold.
        Columns with fewer than two values have no best.
        """
        direction = parse_metric(column.metric).direction
        present = [(i, self.cells[(i, column)]) for i in range(len(self.rows)) if (i, column) in self.cells]
        present = [(i, c) for i, c in present if c.value is not None and not math.isnan(c.value)]
        complete = [(i, c) for i, c in present if c.partial is None]
        if complete:
            # A partial cell never competes with complete ones.
            present = complete
        elif len({(c.partial.n, c.partial.n_expected, c.partial.shard) for _, c in present if c.partial}) > 1:
            return set()  # partial cells of different sample sets are not comparable either
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

    def ci_halfwidth(self, row: int, column: Column) -> float | None:
        """Half the width of a cell's interval (stored units), or None."""
        cell = self.cells.get((row, column))
        if cell is None or cell.ci is None:
            return None
        return (cell.ci[1] - cell.ci[0]) / 2.0

    def caption(self) -> str:
        """Plain-text caption: what the numbers are, units, bold rule and protocol(s)."""
        unit_bits = []
        percent = [m for m in self.metrics if self.units.scale(m)[1] == "percent"]
        fraction = [m for m in self.metrics if self.units.scale(m)[1] == "fraction"]
        if percent:
            unit_bits.append(", ".join(header_label(m, self.units, with_unit=False) for m in percent) + " in %")
        if fraction:
            unit_bits.append(", ".join(header_label(m, self.units, with_unit=False) for m in fraction) + " as fractions")
        text = "Results on " + ", ".join(self.datasets) + "."
        if unit_bits:
            text += " " + "; ".join(unit_bits) + "."
        text += " Best per column in bold."
        if self.model_columns:
            bits = {
                "params": "Params in millions",
                "flops": "FLOPs in billions (2 × MACs, batch 1)",
                "speed": "img/s the throughput measured by the run (machine dependent)",
            }
            named = "; ".join(bits[c] for c in self.model_columns)
            text += f" Model columns from the run files, not bold: {named}."
        if self.ci:
            text += (
                f" ± is half the width of the bootstrap {int(CI_LEVEL * 100)} % interval"
                f" ({CI_N_BOOT} resamples over images, seed {CI_SEED})."
            )
        if len(self.protocols) == 1:
            text += f" Protocol: {self.protocols[0]}."
        else:
            text += " Protocols: " + "; ".join(f"({m}) {p}" for m, p in zip(self.marks, self.protocols)) + "."
        for note in self.footnotes():
            text += " " + note
        return text


def _split_order(runs: Iterable[RunData], splits: Sequence[str] | None) -> dict[str, list[str]]:
    order: dict[str, list[str]] = {}
    for run in runs:
        names = order.setdefault(run.dataset, [])
        for s in run.splits:
            if s not in names:
                names.append(s)
    if splits is not None:
        wanted = list(splits)
        known = {s for names in order.values() for s in names}
        for s in wanted:
            if s not in known:
                from faceval.errors import closest

                raise InputError(f"no run has split '{s}'{closest(s, sorted(known))}")
        order = {ds: [s for s in wanted if s in names] for ds, names in order.items()}
    return order


def protocol_warnings(runs: Sequence[RunData]) -> list[str]:
    """Messages naming protocol differences between runs of one table (empty when they agree)."""
    out: list[str] = []
    by_dataset: dict[str, list[RunData]] = {}
    for run in runs:
        by_dataset.setdefault(run.dataset, []).append(run)
    texts = {r.protocol.describe() for r in runs}
    if len(texts) > 1:
        out.append("runs use different protocols; each is named in the caption: " + " | ".join(sorted(texts)))
    for dataset, group in by_dataset.items():
        ref = group[0]
        for other in group[1:]:
            diffs = [d.key for d in ref.protocol.differences(other.protocol)]
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
) -> ReportTable:
    """Build the paper-layout table of ``runs``.

    Args:
        runs: the runs, in row order.  Runs sharing a label but on different datasets share a
            row; a repeated (label, dataset) gets a ``#2`` suffix and a warning.
        metrics: canonical metric names (default :func:`default_metrics`).
        splits: restrict and order the split columns (default: each dataset's split order as
            the runs list them).
        units: display units (default paper convention).
        ci: compute bootstrap intervals for every cell.
        model_columns: ``params``, ``flops``, ``speed`` (see :func:`parse_model_columns`):
            model-cost columns after the model name, from the first of the row's runs whose
            ``model_info`` has the value.  None or empty: none (the table is unchanged).
    """
    if not runs:
        raise InputError("no runs given")
    model_names = parse_model_columns(list(model_columns)) if model_columns else []
    units = units or Units()
    metric_names = [parse_metric(m).name for m in metrics] if metrics else default_metrics(runs)
    warnings = protocol_warnings(runs)

    rows: list[Row] = []
    by_label: dict[str, Row] = {}
    for run in runs:
        label = run.label
        row = by_label.get(label)
        if row is not None and any(r.dataset == run.dataset for r in row.runs):
            n = 2
            while f"{label}#{n}" in by_label and any(r.dataset == run.dataset for r in by_label[f"{label}#{n}"].runs):
                n += 1
            warnings.append(f"two runs of '{label}' on {run.dataset}; the second is shown as '{label}#{n}'")
            label = f"{label}#{n}"
            row = by_label.get(label)
        if row is None:
            row = Row(label=label, runs=[])
            by_label[label] = row
            rows.append(row)
        row.runs.append(run)

    order = _split_order(runs, splits)
    columns = [Column(ds, s, m) for ds, names in order.items() for s in names for m in metric_names]

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
                                   None if count.complete else count)

    protocols: list[str] = []
    for row in rows:
        for run in row.runs:
            text = run.protocol.describe()
            if text not in protocols:
                protocols.append(text)
    marks = [chr(ord("a") + k) if k < 26 else str(k + 1) for k in range(len(protocols))]
    if len(protocols) > 1:
        for row in rows:
            row.protocol_marks = sorted({marks[protocols.index(r.protocol.describe())] for r in row.runs})

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
    )


# --------------------------------------------------------------------------------------------
# long (tidy) layout and JSON
# --------------------------------------------------------------------------------------------

LONG_COLUMNS = ("run", "dataset", "split", "metric", "value", "unit", "n") + COLUMN_KEYS


def long_records(
    runs: Sequence[RunData],
    *,
    metrics: Sequence[str] | None = None,
    splits: Sequence[str] | None = None,
    ci: bool = False,
    model_columns: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """One record per (run, split, metric): the tidy form for pandas.

    Keys: ``run, dataset, split, metric, value`` (stored units: fractions or degrees),
    ``ci_low, ci_high`` with ``ci``, ``unit`` (fraction, degrees, count), ``n`` (images in the
    split) and one key per protocol key.

    With ``model_columns``, each run also gets one record per model-cost column after its metric
    records: ``metric`` the ``model_info`` key (``params``, ``flops``, ``images_per_s``),
    ``split`` and ``n`` empty (a property of the run, not of a split), ``value`` unscaled (None
    when the run does not have it), ``unit`` ``count`` or ``images/s``.  The columns stay the same.
    """
    if not runs:
        raise InputError("no runs given")
    model_names = parse_model_columns(list(model_columns)) if model_columns else []
    metric_names = [parse_metric(m).name for m in metrics] if metrics else default_metrics(runs)
    order = _split_order(runs, splits)
    out: list[dict[str, Any]] = []
    for run in runs:
        proto = run.protocol.columns()
        for split in order.get(run.dataset, []):
            if split not in run.splits:
                continue
            for metric in metric_names:
                value = metric_value(run, split, metric)
                record: dict[str, Any] = {
                    "run": run.label,
                    "dataset": run.dataset,
                    "split": split,
                    "metric": metric,
                    "value": value,
                }
                if ci:
                    interval = metric_ci(run, split, metric) if value is not None else None
                    record["ci_low"] = interval.low if interval else None
                    record["ci_high"] = interval.high if interval else None
                record["unit"] = parse_metric(metric).unit
                record["n"] = int(len(run.splits[split]))
                record.update(proto)
                out.append(record)
        for name in model_names:
            column = MODEL_COLUMNS[name]
            record = {"run": run.label, "dataset": run.dataset, "split": "", "metric": column.key,
                      "value": model_info_value([run], column.key)}
            if ci:
                record["ci_low"] = None
                record["ci_high"] = None
            record["unit"] = column.unit
            record["n"] = ""
            record.update(proto)
            out.append(record)
    return out


def _model_json(value: float | None) -> int | float | None:
    """Integral counts as ints (params, FLOPs), other numbers as floats."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() and abs(value) < 2**63 else float(value)


def runs_json(
    runs: Sequence[RunData],
    *,
    metrics: Sequence[str] | None = None,
    splits: Sequence[str] | None = None,
    ci: bool = False,
    model_columns: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """One ``faceval score --format json``-like object per run.

    ``{"schema_version", "label", "dataset", "protocol", "splits": {split: {metric: value}}}``
    (values stored fractions/degrees, computed from the per-image arrays; non-finite values
    become null; each split also has ``n_expected`` and ``complete``).  Without ``metrics`` the
    whole summary is given; with ``ci`` a ``"ci"`` object ``{split: {metric:
    [low, high]}}`` is added.  With ``model_columns`` a ``"model_info"`` object holds the chosen
    ``model_info`` keys (``params``, ``flops``, ``images_per_s``; unscaled, null when missing).
    """
    if not runs:
        raise InputError("no runs given")
    model_names = parse_model_columns(list(model_columns)) if model_columns else []
    metric_names = [parse_metric(m).name for m in metrics] if metrics else None
    order = _split_order(runs, splits)
    out: list[dict[str, Any]] = []
    for run in runs:
        split_values: dict[str, dict[str, Any]] = {}
        intervals: dict[str, dict[str, Any]] = {}
        for split in order.get(run.dataset, []):
            if split not in run.splits:
                continue
            if metric_names is None:
                values: dict[str, Any] = summary_of(run.view(split))
            else:
                values = {m: metric_value(run, split, m) for m in metric_names}
            split_values[split] = split_json(run, split, values)
            if ci:
                intervals[split] = {}
                for m in values:
                    interval = metric_ci(run, split, m)
                    if interval is not None:
                        intervals[split][m] = [interval.low, interval.high]
        entry: dict[str, Any] = {
            "schema_version": int(run.schema_version),
            "label": run.label,
            "dataset": run.dataset,
            "protocol": run.protocol,
            "splits": split_values,
        }
        if model_names:
            entry["model_info"] = {
                MODEL_COLUMNS[n].key: _model_json(model_info_value([run], MODEL_COLUMNS[n].key))
                for n in model_names
            }
        if ci:
            entry["ci"] = {"level": CI_LEVEL, "n_boot": CI_N_BOOT, "seed": CI_SEED, "intervals": intervals}
        out.append(to_jsonable(entry))
    return out
