"""Report tables built from runs: values, confidence intervals, units and protocol notes.

A :class:`ReportTable` is the format-neutral form of ``faceval report``: rows are models
(``RunData.label``; runs of one model on several datasets share a row, as in the ASMNet
paper's Table 2), columns are ``(dataset, split, metric)`` grouped by split.  The renderers
in :mod:`faceval.report.formats` turn it into LaTeX, Markdown, HTML or CSV; :func:`long_records`
gives the tidy one-row-per-(run, split, metric) form and :func:`runs_json` the JSON form.

Default metrics (:func:`default_metrics`): ``nme``, ``fr@T`` and ``auc@T`` with ``T`` the first
threshold of the first run's protocol (the dataset's conventional threshold: 0.08 for 300W
inter-ocular, 0.10 for WFLW); only ``nme`` when a run lists no thresholds.

Units (:class:`Units`): by default ("paper" convention) NME, FR and other fraction metrics are
shown in percent with 2 decimals and AUC as a fraction with 4 decimals, angles in degrees with
2 decimals; ``percent`` shows every fraction metric (AUC too) in percent, ``fraction`` shows
the stored fractions (4 decimals).  CSV and JSON keep stored fractions unless asked otherwise.

Model-cost columns (:data:`MODEL_COLUMNS`, ``faceval report --model-columns params,flops,speed``):
off by default.  When asked for, the paper layout gets "Params (M)", "FLOPs (B)" and "img/s"
columns right after the model name, read from the runs' ``model_info`` (the first run of a row
that has the value); they are never bold (a model's size is a property, not a score, and
throughput depends on the machine).  See :func:`parse_model_columns`.

Everything here is deterministic: the same runs give the same table (bootstrap intervals use a
fixed seed).  This module never imports click or rich; metric code is imported lazily.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from faceval.errors import InputError
from faceval.runs.data import PROTOCOL_KEYS, RunData

#: Bootstrap settings for ``--ci`` (documented in captions).
CI_LEVEL = 0.95
CI_N_BOOT = 2000
CI_SEED = 0

#: Metrics whose default paper display stays a fraction (AUC is conventionally a fraction).
_FRACTION_DISPLAY_PREFIXES = ("auc",)

# --------------------------------------------------------------------------------------------
# metric helpers
# --------------------------------------------------------------------------------------------


def metric_info(name: str) -> Any:
    """The registry's :class:`MetricInfo` for ``name`` (InputError with a suggestion if unknown)."""
    from faceval.metrics import registry

    return registry.metric_info(name)


def canonical_metric(name: str) -> str:
    """The registry's canonical spelling of a metric name (``fr@0.1`` -> ``fr@0.10``)."""
    info = metric_info(name.strip())
    return str(getattr(info, "name", name.strip()))


def parse_metric_list(text: str | Sequence[str] | None) -> list[str] | None:
    """Parse ``"nme,fr@0.10,auc@0.10"`` (or a list) into canonical names; None stays None."""
    if text is None:
        return None
    items = text.split(",") if isinstance(text, str) else list(text)
    names: list[str] = []
    for item in items:
        item = item.strip()
        if not item:
            continue
        name = canonical_metric(item)
        if name not in names:
            names.append(name)
    if not names:
        raise InputError("--metrics lists no metric")
    return names


def run_thresholds(run: RunData) -> list[float]:
    """The run's protocol thresholds as floats, in the run's order (may be empty)."""
    raw = run.protocol.get("thresholds")
    if raw is None:
        return []
    if isinstance(raw, (int, float, np.floating, np.integer)):
        return [float(raw)]
    if isinstance(raw, str):
        return [float(t) for t in raw.replace(",", " ").split()]
    return [float(t) for t in np.asarray(raw, dtype=float).ravel()]


def default_metrics(runs: Sequence[RunData]) -> list[str]:
    """``nme``, ``fr@T``, ``auc@T`` with T the first threshold of the first run with thresholds."""
    for run in runs:
        thresholds = run_thresholds(run)
        if thresholds:
            t = thresholds[0]
            return [canonical_metric("nme"), canonical_metric(f"fr@{t:.2f}"), canonical_metric(f"auc@{t:.2f}")]
    return [canonical_metric("nme")]


def _summary_lookup(run: RunData, split: str, metric: str) -> float | None:
    values = run.summary.get(split) if isinstance(run.summary, dict) else None
    if not values or metric not in values:
        return None
    value = values[metric]
    if value is None:
        return None
    return float(value)


def _pose_for(run: RunData, split: str) -> tuple[np.ndarray | None, np.ndarray | None]:
    if run.pose_pred is None or run.pose_gt is None:
        return None, None
    idx = run.splits[split]
    return np.asarray(run.pose_pred)[idx], np.asarray(run.pose_gt)[idx]


def metric_value(run: RunData, split: str, metric: str) -> float | None:
    """A metric of one split: the stored summary value, else computed from per-image data.

    Returns None when the run lacks the split or the metric cannot be computed (e.g. pose
    metrics of a run without pose).
    """
    if split not in run.splits:
        return None
    stored = _summary_lookup(run, split, metric)
    if stored is not None:
        return stored
    from faceval.metrics import registry

    pose_pred, pose_gt = _pose_for(run, split)
    if metric.startswith("mae") and pose_pred is None:
        return None
    value = registry.compute_metric(
        metric,
        run.split_nme(split),
        auc_mode=str(run.protocol.get("auc_mode", "exact")),
        pose_pred=pose_pred,
        pose_gt=pose_gt,
        pose_wrap=bool(run.protocol.get("pose_wrap", False)),
        n_failed_inputs=int(np.count_nonzero(np.asarray(run.failed_inputs)[run.splits[split]])),
    )
    return None if value is None else float(value)


def _pose_errors(run: RunData, split: str, metric: str) -> np.ndarray | None:
    """Per-image absolute pose error for ``mae_yaw|pitch|roll|mean`` (degrees), or None."""
    pred, gt = _pose_for(run, split)
    if pred is None or gt is None:
        return None
    diff = np.abs(np.asarray(pred, dtype=float) - np.asarray(gt, dtype=float))
    which = metric.split("_", 1)[1] if "_" in metric else "mean"
    axes = {"yaw": 0, "pitch": 1, "roll": 2}
    if which in axes:
        return diff[:, axes[which]]
    return diff.mean(axis=1)


def per_image_values(run: RunData, split: str, metric: str) -> np.ndarray:
    """The per-image quantity a metric aggregates: NME (fractions, inf = failure) or pose error."""
    if metric.startswith("mae"):
        errors = _pose_errors(run, split, metric)
        if errors is None:
            raise InputError(f"run '{run.label}' has no pose for metric {metric}")
        return errors
    return np.asarray(run.split_nme(split), dtype=float)


def _vector_percentile(q: float):  # type: ignore[no-untyped-def]
    def stat(rows: np.ndarray) -> Any:
        return np.percentile(rows, q, axis=-1)

    return stat


def _mean_stat(values: np.ndarray) -> Any:
    return np.mean(np.asarray(values, dtype=float), axis=-1)


def metric_ci(run: RunData, split: str, metric: str) -> tuple[float, float] | None:
    """Bootstrap 95 % interval of a metric over the images of a split (seeded, reproducible).

    ``nme``, ``nme_p<q>``, ``fr@T`` and ``auc@T`` use the metrics package's statistics (AUC in
    its exact closed form whatever the run's AUC mode); pose MAE the mean of per-image absolute
    errors.  Counts get no interval (None).
    """
    if split not in run.splits:
        return None
    from faceval.metrics import bootstrap

    base = metric.split("@", 1)[0]
    if base in ("n", "n_nonfinite", "n_failed_inputs"):
        return None
    if metric.startswith("mae"):
        values = _pose_errors(run, split, metric)
        if values is None:
            return None
        statistic: Any = _mean_stat
    elif base.startswith("nme_p"):
        values = per_image_values(run, split, metric)
        q = float(getattr(metric_info(metric), "quantile", None) or base[len("nme_p"):])
        # Vectorised linear percentile when no failure is involved (same numbers as the
        # metrics package, which loops per replicate to treat inf exactly).
        statistic = _vector_percentile(q) if np.all(np.isfinite(values)) else metric
    elif base in ("nme", "fr", "auc"):
        values = per_image_values(run, split, metric)
        statistic = metric
    else:
        return None
    if values.size == 0:
        return None
    low, high = bootstrap.bootstrap_ci(values, statistic, n_boot=CI_N_BOOT, level=CI_LEVEL, seed=CI_SEED)
    return float(low), float(high)


# --------------------------------------------------------------------------------------------
# units and number formatting
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Units:
    """How values are displayed.

    Attributes:
        mode: ``"paper"`` (NME/FR percent, AUC fraction), ``"percent"`` (all fraction metrics
            in percent) or ``"fraction"`` (stored fractions).
        precision: digits after the point; None for the per-unit defaults (percent 2,
            fraction 4, degrees 2, count 0).
    """

    mode: str = "paper"
    precision: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("paper", "percent", "fraction"):
            raise InputError(f"unknown unit mode {self.mode!r} (paper, percent or fraction)")
        if self.precision is not None and not 0 <= self.precision <= 12:
            raise InputError(f"--precision must be between 0 and 12, got {self.precision}")

    def scale(self, metric: str) -> tuple[float, str]:
        """(factor, unit) for a metric: unit one of percent, fraction, degrees, count."""
        info = metric_info(metric)
        unit = str(getattr(info, "unit", "fraction"))
        if unit != "fraction":
            return 1.0, unit
        if self.mode == "fraction":
            return 1.0, "fraction"
        if self.mode == "paper" and metric.split("@", 1)[0].startswith(_FRACTION_DISPLAY_PREFIXES):
            return 1.0, "fraction"
        return 100.0, "percent"

    def digits(self, metric: str) -> int:
        """Digits after the point for a metric."""
        if self.precision is not None:
            return self.precision
        _, unit = self.scale(metric)
        return {"percent": 2, "fraction": 4, "degrees": 2, "count": 0}.get(unit, 4)

    def format(self, metric: str, value: float | None) -> str:
        """A fixed-point string for display ('' for None, 'inf'/'nan' for non-finite)."""
        if value is None:
            return ""
        if not math.isfinite(value):
            return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        factor, _ = self.scale(metric)
        digits = self.digits(metric)
        text = f"{value * factor:.{digits}f}"
        if text.startswith("-") and float(text) == 0.0:
            text = text[1:]
        return text


def header_label(metric: str, units: Units, *, with_unit: bool = True) -> str:
    """Column title of a metric: registry display name plus the unit, e.g. ``NME (%)``."""
    info = metric_info(metric)
    display = str(getattr(info, "display", metric))
    if not with_unit:
        return display
    _, unit = units.scale(metric)
    suffix = {"percent": " (%)", "degrees": " (°)"}.get(unit, "")
    return display + suffix


def csv_number(value: float | None, precision: int | None = None, factor: float = 1.0) -> str:
    """Fixed formatting for machine-readable output: repr round trip, or fixed digits."""
    if value is None:
        return ""
    value = float(value) * factor
    if not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if precision is not None:
        return f"{value:.{precision}f}"
    return repr(value)


# --------------------------------------------------------------------------------------------
# protocol text
# --------------------------------------------------------------------------------------------


def _fmt_protocol_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple, np.ndarray)):
        return " ".join(_fmt_protocol_value(v) for v in np.asarray(value).ravel().tolist())
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        return format(float(value), "g")
    return str(value)


def protocol_text(run: RunData) -> str:
    """One line naming the protocol: normaliser, thresholds, AUC mode, box source and scale."""
    p = run.protocol
    parts = [f"{p.get('normalizer', 'unknown')} normaliser"]
    if p.get("aggregation") not in (None, "", "mean"):
        parts[-1] += f" ({p.get('aggregation')} aggregation)"
    if p.get("visible_only"):
        parts.append("visible points only")
    thresholds = run_thresholds(run)
    if thresholds:
        parts.append("thresholds " + "/".join(f"{t:.2f}" for t in thresholds))
    parts.append(f"AUC {p.get('auc_mode', 'exact')}")
    box = p.get("box_source")
    if box:
        box_text = f"box {box}"
        scale = p.get("box_scale")
        if scale is not None:
            box_text += f" x{_fmt_protocol_value(scale)}"
        if p.get("box_square"):
            box_text += " square"
        parts.append(box_text)
    return ", ".join(parts)


def protocol_key(run: RunData) -> tuple[tuple[str, str], ...]:
    """The comparable protocol of a run (PROTOCOL_KEYS, values as text)."""
    return tuple((k, _fmt_protocol_value(run.protocol.get(k))) for k in PROTOCOL_KEYS)


def protocol_columns(run: RunData) -> dict[str, str]:
    """Protocol as flat text columns for the long layout."""
    return {k: _fmt_protocol_value(run.protocol.get(k)) for k in PROTOCOL_KEYS}


# --------------------------------------------------------------------------------------------
# model-cost columns (params, FLOPs, throughput from the runs' model_info)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelColumn:
    """A model-cost column of ``--model-columns``.

    Attributes:
        name: the option's name (``params``, ``flops``, ``speed``).
        key: the ``RunData.model_info`` key (and the CSV/JSON name): ``params``, ``flops``,
            ``images_per_s``.
        title: the paper-layout header.
        factor: display factor (params in millions, FLOPs in billions).
        digits: display digits after the point.
        unit: the long-layout ``unit`` (stored values are unscaled).
    """

    name: str
    key: str
    title: str
    factor: float
    digits: int
    unit: str

    def format(self, value: float | None) -> str | None:
        """The display text (``value * factor`` with ``digits`` decimals), None when missing."""
        if value is None:
            return None
        text = f"{value * self.factor:.{self.digits}f}"
        if text.startswith("-") and float(text) == 0.0:
            text = text[1:]
        return text


#: ``--model-columns`` names, in their canonical display order.
MODEL_COLUMNS: dict[str, ModelColumn] = {
    "params": ModelColumn("params", "params", "Params (M)", 1e-6, 2, "count"),
    "flops": ModelColumn("flops", "flops", "FLOPs (B)", 1e-9, 2, "count"),
    "speed": ModelColumn("speed", "images_per_s", "img/s", 1.0, 0, "images/s"),
}


def parse_model_columns(text: str | Sequence[str] | None) -> list[str] | None:
    """Parse ``"params,flops,speed"`` (any subset, given order kept, duplicates dropped).

    None stays None (no model columns).  An unknown name raises :class:`InputError` with the
    closest known name; a list naming nothing raises too.
    """
    if text is None:
        return None
    items = text.split(",") if isinstance(text, str) else list(text)
    names: list[str] = []
    for item in items:
        item = str(item).strip().lower()
        if not item:
            continue
        if item not in MODEL_COLUMNS:
            from faceval.errors import closest

            raise InputError(
                f"unknown model column '{item}'{closest(item, list(MODEL_COLUMNS))}"
                f" (one or more of {', '.join(MODEL_COLUMNS)})"
            )
        if item not in names:
            names.append(item)
    if not names:
        raise InputError("--model-columns lists no column (one or more of " + ", ".join(MODEL_COLUMNS) + ")")
    return names


def model_info_value(runs: Iterable[RunData], key: str) -> float | None:
    """``model_info[key]`` of the first run that has a finite number there (None if none does)."""
    for run in runs:
        info = run.model_info if isinstance(run.model_info, dict) else {}
        value = info.get(key)
        if value is None or isinstance(value, (bool, np.bool_)):
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            return number
    return None


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
    """A value (stored fraction/degrees) and its optional bootstrap interval."""

    value: float | None
    ci: tuple[float, float] | None = None


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
        info = metric_info(column.metric)
        direction = str(getattr(info, "direction", "lower"))
        if direction not in ("lower", "higher"):
            return set()
        shown: dict[int, float] = {}
        for i in range(len(self.rows)):
            cell = self.cells.get((i, column))
            if cell is None or cell.value is None or math.isnan(cell.value):
                continue
            shown[i] = float(self.units.format(column.metric, cell.value))
        if len(shown) < 2:
            return set()
        target = min(shown.values()) if direction == "lower" else max(shown.values())
        return {i for i, v in shown.items() if v == target}

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
    texts = {protocol_text(r) for r in runs}
    if len(texts) > 1:
        out.append("runs use different protocols; each is named in the caption: " + " | ".join(sorted(texts)))
    for dataset, group in by_dataset.items():
        ref = group[0]
        for other in group[1:]:
            diffs = [k for (k, a), (_, b) in zip(protocol_key(ref), protocol_key(other)) if a != b]
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
    metric_names = [canonical_metric(m) for m in metrics] if metrics else default_metrics(runs)
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
            interval = metric_ci(run, col.split, col.metric) if ci and value is not None else None
            cells[(i, col)] = Cell(value, interval)

    protocols: list[str] = []
    for row in rows:
        for run in row.runs:
            text = protocol_text(run)
            if text not in protocols:
                protocols.append(text)
    marks = [chr(ord("a") + k) if k < 26 else str(k + 1) for k in range(len(protocols))]
    if len(protocols) > 1:
        for row in rows:
            row.protocol_marks = sorted({marks[protocols.index(protocol_text(r))] for r in row.runs})

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

LONG_COLUMNS = ("run", "dataset", "split", "metric", "value", "unit", "n") + PROTOCOL_KEYS


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
    metric_names = [canonical_metric(m) for m in metrics] if metrics else default_metrics(runs)
    order = _split_order(runs, splits)
    out: list[dict[str, Any]] = []
    for run in runs:
        proto = protocol_columns(run)
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
                    record["ci_low"] = interval[0] if interval else None
                    record["ci_high"] = interval[1] if interval else None
                record["unit"] = str(getattr(metric_info(metric), "unit", "fraction"))
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


def _json_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_json_value(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)


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
    (values stored fractions/degrees; non-finite values become null).  Without ``metrics`` the
    run's whole stored summary is given; with ``ci`` a ``"ci"`` object ``{split: {metric:
    [low, high]}}`` is added.  With ``model_columns`` a ``"model_info"`` object holds the chosen
    ``model_info`` keys (``params``, ``flops``, ``images_per_s``; unscaled, null when missing).
    """
    if not runs:
        raise InputError("no runs given")
    model_names = parse_model_columns(list(model_columns)) if model_columns else []
    metric_names = [canonical_metric(m) for m in metrics] if metrics else None
    order = _split_order(runs, splits)
    out: list[dict[str, Any]] = []
    for run in runs:
        split_values: dict[str, dict[str, Any]] = {}
        intervals: dict[str, dict[str, Any]] = {}
        for split in order.get(run.dataset, []):
            if split not in run.splits:
                continue
            if metric_names is None:
                stored = dict(run.summary.get(split, {}))
                if not stored:
                    stored = {m: metric_value(run, split, m) for m in default_metrics([run])}
                values = stored
            else:
                values = {m: metric_value(run, split, m) for m in metric_names}
            split_values[split] = values
            if ci:
                intervals[split] = {}
                for m in values:
                    try:
                        interval = metric_ci(run, split, m)
                    except InputError:
                        interval = None
                    if interval is not None:
                        intervals[split][m] = list(interval)
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
        out.append(_json_value(entry))
    return out
