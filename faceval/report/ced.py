"""Cumulative error distribution (CED) plots, reproducible byte for byte.

Built with matplotlib's object API (``Figure`` + Agg canvas; pyplot is never imported and no
global state is left behind: rc settings are applied inside ``rc_context``).  matplotlib is
imported inside the functions, so importing this module costs nothing.

File output is fixed: PDF without a creation date and with fixed Producer/Creator, SVG with a
fixed ``svg.hashsalt`` and no date (text kept as text, so labels can be searched and edited),
PNG with fixed ``Software`` metadata.

The x axis is NME in the tables' unit: percent by default (``percent=False``: fractions), up to
``xmax`` (axis unit; default the threshold).  The legend sits outside the axes (below, to the
right, or none) so it never hides a curve.  Curve labels are made unique by the report's rule
(:func:`faceval.report.names.unique_labels`: ``SPIGA#2``), and each run's colour and line style
follow its position in the argument list (:func:`run_style`, Okabe-Ito colours), so the same runs
get the same colours in PDF, PNG, SVG and the HTML report.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from faceval.errors import InputError
from faceval.runs.data import RunData

from dataclasses import dataclass

from faceval.metrics.registry import metric_name, threshold_key
from faceval.metrics.run_metrics import metric_value
from faceval.report.names import Names, unique_labels

#: Points on the x grid of each curve.
GRID_POINTS = 1001

_FORMATS = {".pdf": "pdf", ".png": "png", ".svg": "svg"}

#: Okabe-Ito colours (told apart by colour-blind readers), by the run's position.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
#: Line styles, changed each time the palette is used up.
LINESTYLES = ("-", "--", ":", "-.")
#: Where the legend goes.
LEGENDS = ("below", "right", "none")


@dataclass(frozen=True)
class CurveStyle:
    """Colour and line style of one run's curve."""

    color: str
    linestyle: str


def run_style(position: int) -> CurveStyle:
    """The style of the run at ``position`` (0-based) in the argument list: fixed across formats."""
    return CurveStyle(PALETTE[position % len(PALETTE)], LINESTYLES[(position // len(PALETTE)) % len(LINESTYLES)])


def parse_size(text: str) -> tuple[float, float]:
    """``"6x4"`` (inches, ``x`` or ``×``) -> ``(6.0, 4.0)``; InputError for anything else."""
    parts = str(text).lower().replace("×", "x").split("x")
    try:
        if len(parts) != 2:
            raise ValueError
        width, height = (float(p) for p in parts)
    except ValueError:
        raise InputError(f"--size '{text}': expected WIDTHxHEIGHT in inches, e.g. 6x4") from None
    if not (0.5 <= width <= 50 and 0.5 <= height <= 50):
        raise InputError(f"--size '{text}': width and height must be between 0.5 and 50 inches")
    return width, height

_RC = {
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "svg.fonttype": "none",
    "pdf.fonttype": 42,
    "path.simplify": True,
    "figure.dpi": 100,
    "savefig.dpi": 150,
}


def _metadata(fmt: str) -> dict[str, Any]:
    if fmt == "pdf":
        return {"CreationDate": None, "ModDate": None, "Producer": "faceval", "Creator": "faceval"}
    if fmt == "svg":
        return {"Date": None, "Creator": "faceval"}
    if fmt == "png":
        return {"Software": "faceval"}
    return {}


def format_for(path: str | Path) -> str:
    """pdf, png or svg from a file name (InputError for anything else)."""
    suffix = Path(path).suffix.lower()
    if suffix not in _FORMATS:
        raise InputError(f"CED plot {path}: unknown extension '{suffix}' (use .pdf, .png or .svg)")
    return _FORMATS[suffix]


def resolve_threshold(runs: Sequence[RunData], threshold: float | None) -> float:
    """The given threshold, else the first threshold of the first run that lists any, else 0.10."""
    if threshold is not None:
        if not threshold > 0:
            raise InputError(f"--threshold must be positive, got {threshold}")
        return float(threshold)
    for run in runs:
        if run.protocol.thresholds:
            return float(run.protocol.thresholds[0])
    return 0.10


def _curve_label(run: RunData, split: str, t: float, show_dataset: bool, *, label: str | None = None,
                 percent: bool = True) -> str:
    auc = metric_value(run, split, metric_name("auc", t))
    fr = metric_value(run, split, metric_name("fr", t))
    name = run.label if label is None else label
    if show_dataset:
        name += f" ({run.dataset} {split})"
    count = run.split_count(split)
    if not count.complete:
        name += f" [partial: {count.describe()}]"
    bits = []
    if auc is not None and math.isfinite(auc):
        bits.append(f"AUC@{threshold_key(t)} {auc:.4f}")
    if fr is not None and math.isfinite(fr):
        bits.append(f"FR@{threshold_key(t)} {fr * 100:.2f}%" if percent else f"FR@{threshold_key(t)} {fr:.4f}")
    return f"{name}: " + ", ".join(bits) if bits else name


def ced_figure(
    runs: Sequence[RunData],
    *,
    split: str | None = None,
    threshold: float | None = None,
    title: str | None = None,
    size: tuple[float, float] | None = None,
    legend: str = "below",
    xmax: float | None = None,
    percent: bool = True,
    labels: Sequence[str] | None = None,
    positions: Sequence[int] | None = None,
) -> Any:
    """A matplotlib ``Figure`` with one CED curve per run.

    Args:
        runs: runs to draw, in legend order.
        split: the split of every run (default: each run's first split).
        threshold: the AUC/FR threshold of the legend and the default x range end (default:
            first protocol threshold, else 0.10); a fraction, as in metric names.
        title: plot title (default names the dataset(s) and split(s)).
        size: ``(width, height)`` in inches (default 5 wide, taller with more runs below).
        legend: ``below``, ``right`` (outside the axes) or ``none``.
        xmax: x range end in the axis unit (percent, or fraction with ``percent=False``).
        percent: x axis (and the legend's FR) in percent, as the tables; else fractions.
        labels: curve names (default :func:`unique_labels` of ``runs``).
        positions: each run's position for :func:`run_style` (default 0, 1, ...).

    The y axis is the proportion of images with NME <= x; the legend gives AUC@t and FR@t.
    Must be called inside :func:`_rc` for reproducible output (the save functions do).
    """
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from faceval.metrics import curves

    if not runs:
        raise InputError("no runs to plot")
    if legend not in LEGENDS:
        raise InputError(f"unknown legend place '{legend}' (one of {', '.join(LEGENDS)})")
    labels = list(labels) if labels is not None else unique_labels(runs).labels
    positions = list(positions) if positions is not None else list(range(len(runs)))
    if len(labels) != len(runs) or len(positions) != len(runs):
        raise InputError("one label and one position per run")
    t = resolve_threshold(runs, threshold)
    factor = 100.0 if percent else 1.0
    if xmax is not None and not (math.isfinite(xmax) and xmax > 0):
        raise InputError(f"--xmax must be a positive number, got {xmax}")
    x_end = float(xmax) / factor if xmax is not None else t
    chosen = [(run, ced_split(run, split)) for run in runs]
    datasets = list(dict.fromkeys(r.dataset for r, _ in chosen))
    splits_used = list(dict.fromkeys(s for _, s in chosen))
    show_dataset = len(datasets) > 1 or len(splits_used) > 1

    if size is None:
        size = (5.0, 3.4 + 0.16 * len(chosen)) if legend == "below" else ((7.5, 3.8) if legend == "right" else (5.0, 3.8))
    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    xs = np.linspace(0.0, x_end, GRID_POINTS)
    for (run, s), label, position in zip(chosen, labels, positions):
        ys = np.asarray(curves.ced(run.split_nme(s), xs), dtype=float)
        style = run_style(position)
        ax.plot(xs * factor, ys, linewidth=1.4, color=style.color, linestyle=style.linestyle,
                label=_curve_label(run, s, t, show_dataset, label=label, percent=percent))
    # every run's normaliser (the axis once named only the first run's, whatever the others used)
    normalizer = " / ".join(dict.fromkeys(str(r.protocol.normalizer) for r, _ in chosen if r.protocol.normalizer))
    unit = "%" if percent else "fraction"
    ax.set_xlabel(f"NME ({unit}, {normalizer})" if normalizer else f"NME ({unit})")
    ax.set_ylabel("Proportion of images")
    ax.set_xlim(0.0, x_end * factor)
    ax.set_ylim(0.0, 1.0)
    if title is None:
        names = Names()
        title = ("CED: " + ", ".join(names.dataset(d) for d in datasets) + " "
                 + "/".join(names.split(s) for s in splits_used))
    ax.set_title(title)
    if legend != "none":
        handles, texts = ax.get_legend_handles_labels()
        loc = "outside lower center" if legend == "below" else "outside right upper"
        fig.legend(handles, texts, loc=loc, fontsize=7.5, frameon=False, ncols=1)
    return fig


def _rc(salt: str = "faceval"):  # type: ignore[no-untyped-def]
    import matplotlib

    return matplotlib.rc_context({**_RC, "svg.hashsalt": salt})


def ced_split(run: RunData, split: str | None = None, *, path: object | None = None) -> str:
    """The split of ``run`` a CED plot draws: ``split``, or the run's first split.

    Raises:
        InputError: the run has no splits, no such split, or the split holds no image (a blank
            curve is not a result); ``path`` (the run file) starts the message when given.
    """
    s = split if split is not None else next(iter(run.splits), None)
    if s is None:
        raise InputError(f"run '{run.label}' has no splits to plot", path=path)
    if s not in run.splits:
        from faceval.errors import closest

        have = ", ".join(run.splits)
        raise InputError(f"run '{run.label}' has no split '{s}'{closest(s, list(run.splits))}; "
                         f"its splits: {have}", path=path)
    if len(run.splits[s]) == 0:
        raise InputError(f"split '{s}' of run '{run.label}' holds no image: no CED curve to draw", path=path)
    return s


def render_ced(
    runs: Sequence[RunData],
    fmt: str,
    *,
    split: str | None = None,
    threshold: float | None = None,
    title: str | None = None,
    salt: str = "faceval",
    svg_fonttype: str = "none",
    **options: Any,
) -> bytes:
    """The CED plot as ``pdf``, ``png`` or ``svg`` bytes (byte-identical for the same runs).

    ``options`` go to :func:`ced_figure` (``size``, ``legend``, ``xmax``, ``percent``,
    ``labels``, ``positions``).  SVG keeps text as text (``svg_fonttype="path"``: outlines).
    """
    if fmt not in ("pdf", "png", "svg"):
        raise InputError(f"unknown plot format '{fmt}' (pdf, png or svg)")
    import matplotlib

    with _rc(salt), matplotlib.rc_context({"svg.fonttype": svg_fonttype}):
        fig = ced_figure(runs, split=split, threshold=threshold, title=title, **options)
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, metadata=_metadata(fmt))
    return buf.getvalue()


def save_ced(
    runs: Sequence[RunData],
    path: str | Path,
    *,
    split: str | None = None,
    threshold: float | None = None,
    title: str | None = None,
) -> bytes:
    """Render the CED plot in the format given by ``path``'s extension; returns the bytes.

    Writing is left to the caller (the CLI writes atomically).
    """
    return render_ced(runs, format_for(path), split=split, threshold=threshold, title=title)


def ced_svg_inline(runs: Sequence[RunData], *, split: str | None = None, threshold: float | None = None,
                   salt: str = "faceval", **options: Any) -> str:
    """An SVG element for inlining in HTML (no XML declaration or doctype; text as text)."""
    data = render_ced(runs, "svg", split=split, threshold=threshold, salt=salt, svg_fonttype="none",
                      **options).decode("utf-8")
    start = data.find("<svg")
    return data[start:].strip()
