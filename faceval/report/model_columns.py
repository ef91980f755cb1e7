"""Model-cost columns of reports (``faceval report --model-columns params,flops,speed``).

Off by default. When asked for, the paper layout gets "Params (M)", "FLOPs (B)" and "img/s"
columns right after the model name, read from the runs' ``model_info`` (the first run of a row
that has the value); they are never bold (a model's size is a property, not a score, and
throughput depends on the machine).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from faceval.errors import InputError
from faceval.runs.data import RunData


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
