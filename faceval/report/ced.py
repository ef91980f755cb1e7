"""Cumulative error distribution (CED) plots, reproducible byte for byte.

Built with matplotlib's object API (``Figure`` + Agg canvas; pyplot is never imported and no
global state is left behind: rc settings are applied inside ``rc_context``).  matplotlib is
imported inside the functions, so importing this module costs nothing.

File output is fixed: PDF without a creation date and with fixed Producer/Creator, SVG with a
fixed ``svg.hashsalt`` and no date, PNG with fixed ``Software`` metadata.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from faceval.errors import InputError
from faceval.runs.data import RunData

from faceval.metrics.registry import metric_name, threshold_key
from faceval.metrics.run_metrics import metric_value

#: Points on the x grid of each curve.
GRID_POINTS = 1001

_FORMATS = {".pdf": "pdf", ".png": "png", ".svg": "svg"}

_RC = {
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "svg.fonttype": "path",
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


def _curve_label(run: RunData, split: str, t: float, show_dataset: bool) -> str:
    auc = metric_value(run, split, metric_name("auc", t))
    fr = metric_value(run, split, metric_name("fr", t))
    name = run.label
    if show_dataset:
        name += f" ({run.dataset} {split})"
    count = run.split_count(split)
    if not count.complete:
        name += f" [partial: {count.describe()}]"
    bits = []
    if auc is not None and math.isfinite(auc):
        bits.append(f"AUC@{threshold_key(t)} {auc:.4f}")
    if fr is not None and math.isfinite(fr):
        bits.append(f"FR@{threshold_key(t)} {fr * 100:.2f}%")
    return f"{name}: " + ", ".join(bits) if bits else name


def ced_figure(
    runs: Sequence[RunData],
    *,
    split: str | None = None,
    threshold: float | None = None,
    title: str | None = None,
    figsize: tuple[float, float] = (5.0, 3.8),
) -> Any:
    """A matplotlib ``Figure`` with one CED curve per run.

    Args:
        runs: runs to draw, in legend order.
        split: the split of every run (default: each run's first split).
        threshold: x range end (default: first protocol threshold, else 0.10).
        title: plot title (default names the dataset(s) and split(s)).

    The y axis is the proportion of images with NME <= x; the legend gives AUC@t and FR@t.
    Must be called inside :func:`_rc` for reproducible output (the save functions do).
    """
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from faceval.metrics import curves

    if not runs:
        raise InputError("no runs to plot")
    t = resolve_threshold(runs, threshold)
    chosen: list[tuple[RunData, str]] = []
    for run in runs:
        s = split if split is not None else next(iter(run.splits), None)
        if s is None:
            raise InputError(f"run '{run.label}' has no splits to plot")
        if s not in run.splits:
            from faceval.errors import closest

            have = ", ".join(run.splits)
            raise InputError(f"run '{run.label}' has no split '{s}'{closest(s, list(run.splits))}; "
                             f"its splits: {have}")
        chosen.append((run, s))
    datasets = list(dict.fromkeys(r.dataset for r, _ in chosen))
    splits_used = list(dict.fromkeys(s for _, s in chosen))
    show_dataset = len(datasets) > 1 or len(splits_used) > 1

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    xs = np.linspace(0.0, t, GRID_POINTS)
    for run, s in chosen:
        ys = np.asarray(curves.ced(run.split_nme(s), xs), dtype=float)
        ax.plot(xs, ys, linewidth=1.4, label=_curve_label(run, s, t, show_dataset))
    normalizer = runs[0].protocol.normalizer
    ax.set_xlabel(f"NME ({normalizer})" if normalizer else "NME")
    ax.set_ylabel("Proportion of images")
    ax.set_xlim(0.0, t)
    ax.set_ylim(0.0, 1.0)
    if title is None:
        title = "CED: " + ", ".join(datasets) + " " + "/".join(splits_used)
    ax.set_title(title)
    ax.legend(loc="best", fontsize=7.5)
    fig.tight_layout()
    return fig


def _rc(salt: str = "faceval"):  # type: ignore[no-untyped-def]
    import matplotlib

    return matplotlib.rc_context({**_RC, "svg.hashsalt": salt})


def render_ced(
    runs: Sequence[RunData],
    fmt: str,
    *,
    split: str | None = None,
    threshold: float | None = None,
    title: str | None = None,
    salt: str = "faceval",
    svg_fonttype: str = "path",
) -> bytes:
    """The CED plot as ``pdf``, ``png`` or ``svg`` bytes (byte-identical for the same runs)."""
    if fmt not in ("pdf", "png", "svg"):
        raise InputError(f"unknown plot format '{fmt}' (pdf, png or svg)")
    import matplotlib

    with _rc(salt), matplotlib.rc_context({"svg.fonttype": svg_fonttype}):
        fig = ced_figure(runs, split=split, threshold=threshold, title=title)
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
                   salt: str = "faceval") -> str:
    """An SVG element for inlining in HTML (no XML declaration or doctype; text as text)."""
    data = render_ced(runs, "svg", split=split, threshold=threshold, salt=salt, svg_fonttype="none").decode("utf-8")
    start = data.find("<svg")
    return data[start:].strip()
