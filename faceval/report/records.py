"""The machine-readable forms of a report: tidy records (long CSV) and per-run JSON objects.

Values are stored units (fractions, degrees); machine ids are kept (``run``, ``dataset``,
``split``) and the display names of the paper formats are given beside them (``dataset_name``,
``split_name``; see :mod:`faceval.report.names`).
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from faceval.errors import InputError, closest
from faceval.jsonable import to_jsonable
from faceval.metrics.registry import parse_metric, summary_of
from faceval.metrics.run_metrics import (
    CI_LEVEL,
    CI_N_BOOT,
    CI_SEED,
    default_metrics,
    metric_ci,
    metric_value,
    split_json,
)
from faceval.report.model_columns import MODEL_COLUMNS, model_info_value, parse_model_columns
from faceval.report.names import Names, unique_labels
from faceval.runs.data import RunData
from faceval.runs.protocol import COLUMN_KEYS

def split_order(runs: Iterable[RunData], splits: Sequence[str] | None) -> dict[str, list[str]]:
    """Dataset -> its splits in run order (restricted to and ordered as ``splits`` when given)."""
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
                raise InputError(f"no run has split '{s}'{closest(s, sorted(known))}")
        order = {ds: [s for s in wanted if s in names] for ds, names in order.items()}
    return order


# --------------------------------------------------------------------------------------------
# long (tidy) layout and JSON
# --------------------------------------------------------------------------------------------

#: Long-layout columns: machine ids and values first, then the display names, then the protocol.
LONG_COLUMNS = ("run", "dataset", "split", "metric", "value", "unit", "n", "dataset_name", "split_name") + COLUMN_KEYS


def long_records(
    runs: Sequence[RunData],
    *,
    metrics: Sequence[str] | None = None,
    splits: Sequence[str] | None = None,
    ci: bool = False,
    model_columns: Sequence[str] | None = None,
    names: Names | None = None,
) -> list[dict[str, Any]]:
    """One record per (run, split, metric): the tidy form for pandas.

    Keys: ``run`` (the run's label, made unique by :func:`unique_labels`: a repeat is ``LABEL#2``,
    as in the paper formats), ``dataset, split, metric, value`` (stored units: fractions or degrees),
    ``ci_low, ci_high`` with ``ci``, ``unit`` (fraction, degrees, count), ``n`` (images in the
    split), ``dataset_name`` and ``split_name`` (the display names of the paper formats, after
    ``names``' renames: ``300W``, ``Full``) and one key per protocol key.

    With ``model_columns``, each run also gets one record per model-cost column after its metric
    records: ``metric`` the ``model_info`` key (``params``, ``flops``, ``images_per_s``),
    ``split`` and ``n`` empty (a property of the run, not of a split), ``value`` unscaled (None
    when the run does not have it), ``unit`` ``count`` or ``images/s``.  The columns stay the same.
    """
    if not runs:
        raise InputError("no runs given")
    model_names = parse_model_columns(list(model_columns)) if model_columns else []
    metric_names = [parse_metric(m).name for m in metrics] if metrics else default_metrics(runs)
    names = names or Names()
    order = split_order(runs, splits)
    out: list[dict[str, Any]] = []
    for run, label in zip(runs, unique_labels(runs).labels):
        proto = run.protocol.columns()
        display = {"dataset_name": names.dataset(run.dataset)}
        for split in order.get(run.dataset, []):
            if split not in run.splits:
                continue
            for metric in metric_names:
                value = metric_value(run, split, metric)
                record: dict[str, Any] = {
                    "run": label,
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
                record.update(display, split_name=names.split(split))
                record.update(proto)
                out.append(record)
        for name in model_names:
            column = MODEL_COLUMNS[name]
            record = {"run": label, "dataset": run.dataset, "split": "", "metric": column.key,
                      "value": model_info_value([run], column.key)}
            if ci:
                record["ci_low"] = None
                record["ci_high"] = None
            record["unit"] = column.unit
            record["n"] = ""
            record.update(display, split_name="")
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
    names: Names | None = None,
) -> list[dict[str, Any]]:
    """One ``faceval score --format json``-like object per run.

    ``{"schema_version", "label", "dataset", "protocol", "splits": {split: {metric: value}}}``
    (``label`` made unique by :func:`unique_labels`: a repeat on one dataset is ``LABEL#2``)
    (values stored fractions/degrees, computed from the per-image arrays; non-finite values
    become null; each split also has ``n_expected`` and ``complete``).  Without ``metrics`` the
    whole summary is given; with ``ci`` a ``"ci"`` object ``{split: {metric:
    [low, high]}}`` is added.  With ``model_columns`` a ``"model_info"`` object holds the chosen
    ``model_info`` keys (``params``, ``flops``, ``images_per_s``; unscaled, null when missing).
    ``dataset_name`` and ``split_names`` (``{split: display name}``) give the paper formats' names.
    """
    if not runs:
        raise InputError("no runs given")
    model_names = parse_model_columns(list(model_columns)) if model_columns else []
    metric_names = [parse_metric(m).name for m in metrics] if metrics else None
    names = names or Names()
    order = split_order(runs, splits)
    out: list[dict[str, Any]] = []
    for run, label in zip(runs, unique_labels(runs).labels):
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
            "label": label,
            "dataset": run.dataset,
            "protocol": run.protocol,
            "splits": split_values,
            "dataset_name": names.dataset(run.dataset),
            "split_names": {s: names.split(s) for s in split_values},
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
