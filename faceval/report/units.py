"""Display units and number formatting of report values.

By default ("paper" convention) NME, FR and other fraction metrics are shown in percent with 2
decimals and AUC as a fraction with 4 decimals, angles in degrees with 2 decimals; ``percent``
shows every fraction metric (AUC too) in percent, ``fraction`` shows the stored fractions (4
decimals). CSV and JSON keep stored fractions unless asked otherwise. Units and display names
come from the metric registry.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass

from faceval.errors import InputError
from faceval.metrics.registry import parse_metric

#: Metric families whose default paper display stays a fraction (AUC is conventionally a fraction).
_FRACTION_DISPLAY_FAMILIES = ("auc",)


@functools.lru_cache(maxsize=4096)
def _scale(mode: str, metric: str) -> tuple[float, str]:
    """(factor, unit) of a metric name under a display mode (a table asks for each cell's)."""
    info = parse_metric(metric)
    if info.unit != "fraction":
        return 1.0, info.unit
    if mode == "fraction":
        return 1.0, "fraction"
    if mode == "paper" and info.family in _FRACTION_DISPLAY_FAMILIES:
        return 1.0, "fraction"
    return 100.0, "percent"


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
        return _scale(self.mode, metric)

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
    display = parse_metric(metric).display
    if not with_unit:
        return display
    _, unit = units.scale(metric)
    suffix = {"percent": " (%)", "degrees": " (°)"}.get(unit, "")
    return display + suffix


def csv_number(value: float | None, precision: int | None = None, factor: float = 1.0) -> str:
    """Fixed formatting for machine-readable output: repr round trip, or fixed digits; an integer
    (a count) unscaled stays an integer (``330``, never ``330.0``)."""
    if value is None:
        return ""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and factor == 1.0:
        return str(int(value))
    value = float(value) * factor
    if not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if precision is not None:
        return f"{value:.{precision}f}"
    return repr(value)
