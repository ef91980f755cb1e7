"""Pictures of the HTML report: error per landmark on the mean shape, NME per split, NME against |yaw|.

Three figures beside the table and the CED plots (issue 13 item 4), each an inline SVG made as
the CED plots are (matplotlib ``Figure`` + Agg canvas, rc settings and a fixed
``svg.hashsalt`` per figure from :mod:`faceval.report.ced`, no date), so the page stays one
self-contained, byte-identical file:

* **error per landmark**: for each run, the mean normalised error of every point
  (:func:`faceval.metrics.landmarks.run_landmark_errors`) drawn on the mean shape of the run's
  ground truth (:func:`mean_shape`: every face centred, scaled to unit RMS radius and rotated
  onto the running mean, generalised Procrustes), colour and size = error, one colour bar
  scale shared by every run so the panels compare;
* **NME per split**: one bar group per run (the table's row label), one bar per split shown in
  the table, the value printed as the table prints it;
* **NME against |yaw|** (only when some run has GT head poses): the NME of the images whose GT
  |yaw| falls in each of :data:`YAW_BINS` (only bins holding images), the image count on the bar.

Every value comes from the metric registry (``nme``) or the landmark-error functions, on the
largest split the table shows of each run; the per-landmark arrays are read (a lazily read run
file reads them then) only here, so other report formats never touch them.
"""

from __future__ import annotations

import html
import io
import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np

from faceval.runs.data import RunData

if TYPE_CHECKING:
    from .tables import ReportTable

#: |yaw| bins in degrees: ``[low, high)``, the last one closed (``[60, 90]``).
YAW_BINS: tuple[tuple[float, float], ...] = ((0.0, 15.0), (15.0, 30.0), (30.0, 45.0), (45.0, 60.0), (60.0, 90.0))

#: Schemes whose point order traces the face (jaw, brows, nose, eyes, mouth): their groups are
#: drawn as faint lines joining the points.
_OUTLINED_SCHEMES = ("300w", "wflw")
_COLORMAP = "viridis"  # perceptually uniform, readable with the common colour-vision deficiencies


# --------------------------------------------------------------------------------------------
# the data behind the figures
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One run as the figures show it: the table's row label and the split the figures use."""

    label: str
    run: RunData
    splits: list[str]  # the run's splits shown in the table, in table order
    split: str  # the largest of them (the per-landmark and yaw figures use it)


@dataclass(frozen=True)
class LandmarkPanel:
    """The error per landmark of one run."""

    entry: Entry
    shape: np.ndarray  # (K, 2) mean shape, unit RMS radius, image orientation (y down)
    point_nme: np.ndarray  # (K,) fractions, NaN where no image counts
    n_images: int


@dataclass(frozen=True)
class YawBin:
    """NME of the images whose GT |yaw| is in ``[low, high)`` (``[low, high]`` for the last bin)."""

    low: float
    high: float
    n: int
    nme: float


def table_entries(table: "ReportTable") -> list[Entry]:
    """One :class:`Entry` per run of the table (row order), with the splits the table shows of it;
    a pose-only run (no landmarks, no NME) has none of the figures."""
    many_datasets = len(table.datasets) > 1
    out: list[Entry] = []
    for row in table.rows:
        for run in row.runs:
            if run.pose_only:
                continue
            splits = [s for ds, s, _ in table.groups() if ds == run.dataset and s in run.splits]
            if not splits:
                continue
            largest = max(splits, key=lambda s: (len(run.splits[s]), -splits.index(s)))
            label = f"{row.label} ({run.dataset})" if many_datasets else row.label
            out.append(Entry(label=label, run=run, splits=splits, split=largest))
    return out


def mean_shape(ground_truth: np.ndarray, iterations: int = 5) -> np.ndarray | None:
    """The mean of ``(N, K, 2)`` faces after normalising each one; None without a usable face.

    Each face with all points finite and a non-zero spread is centred and scaled to unit RMS
    distance from its centroid, then rotated (least squares) onto the current mean, which
    starts as the plain mean of the centred, scaled faces (so it keeps their orientation) and
    is re-estimated ``iterations`` times (generalised Procrustes, no reflection).
    """
    faces = np.asarray(ground_truth, dtype=np.float64)
    if faces.ndim != 3 or faces.shape[0] == 0 or faces.shape[2] != 2:
        return None
    faces = faces[np.isfinite(faces).all(axis=(1, 2))]
    centred = faces - faces.mean(axis=1, keepdims=True)
    scale = np.sqrt((centred ** 2).sum(axis=2).mean(axis=1))
    keep = np.isfinite(scale) & (scale > 0)
    if not keep.any():
        return None
    unit = centred[keep] / scale[keep, None, None]
    mean = _unit_rms(unit.mean(axis=0))
    if mean is None:
        return None
    for _ in range(iterations):
        x, y = unit[..., 0], unit[..., 1]
        theta = np.arctan2((x * mean[:, 1] - y * mean[:, 0]).sum(axis=1), (x * mean[:, 0] + y * mean[:, 1]).sum(axis=1))
        c, s = np.cos(theta)[:, None], np.sin(theta)[:, None]
        aligned = np.stack([c * x - s * y, s * x + c * y], axis=2)
        new = _unit_rms(aligned.mean(axis=0))
        if new is None:
            break
        mean = new
    return mean


def _unit_rms(shape: np.ndarray) -> np.ndarray | None:
    shape = shape - shape.mean(axis=0)
    rms = float(np.sqrt((shape ** 2).sum(axis=1).mean()))
    return shape / rms if np.isfinite(rms) and rms > 0 else None


def landmark_panel(entry: Entry) -> LandmarkPanel | str:
    """The per-landmark error of a run on its mean shape, or why there is none (a sentence)."""
    from faceval.metrics.landmarks import run_landmark_errors

    run, split = entry.run, entry.split
    rows = np.asarray(run.splits[split], dtype=np.int64)
    gt = np.asarray(run.ground_truth)[rows]
    shape = mean_shape(gt)
    if shape is None:
        return f"no per-landmark plot for {entry.label}: its ground truth on '{split}' has no face with finite, spread points"
    errors = run_landmark_errors(run, split)
    if not np.isfinite(errors.point_nme).any():
        return f"no per-landmark plot for {entry.label}: no image of '{split}' has a usable prediction"
    return LandmarkPanel(entry=entry, shape=shape, point_nme=errors.point_nme, n_images=int(errors.point_count.max()))


def yaw_bins(run: RunData, split: str) -> tuple[list[YawBin], int]:
    """NME per GT-|yaw| bin of one split (bins without images left out), and how many images
    fall in no bin (no finite yaw label, or |yaw| > 90°). Empty without GT poses."""
    from faceval.metrics.registry import parse_metric

    if run.pose_gt is None:
        return [], 0
    view = run.view(split)
    nme = parse_metric("nme")
    per_image = nme.per_image(view)
    yaw = np.abs(np.asarray(run.pose_gt, dtype=np.float64)[np.asarray(run.splits[split], dtype=np.int64), 0])
    binned = np.zeros(yaw.shape, dtype=bool)
    out: list[YawBin] = []
    for k, (low, high) in enumerate(YAW_BINS):
        with np.errstate(invalid="ignore"):
            inside = (yaw >= low) & ((yaw <= high) if k == len(YAW_BINS) - 1 else (yaw < high))
        binned |= inside
        if inside.any():
            out.append(YawBin(low, high, int(inside.sum()), float(nme.aggregate(per_image[inside], view.protocol))))
    return out, int((~binned).sum())


# --------------------------------------------------------------------------------------------
# drawing
# --------------------------------------------------------------------------------------------


@contextmanager
def _drawing(salt: str, **rc: Any) -> Iterator[None]:
    """The CED plots' rc settings (:mod:`faceval.report.ced`) with ``svg.hashsalt`` = ``salt``, text as text."""
    import matplotlib

    from .ced import _rc

    with _rc(salt), matplotlib.rc_context({"svg.fonttype": "none", **rc}):
        yield


def _figure(size: tuple[float, float]) -> Any:
    """A ``Figure`` on an Agg canvas (pyplot is never used); call inside :func:`_drawing`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    return fig


def _svg(fig: Any) -> str:
    """The figure as an SVG element to inline (no XML declaration, no date); call inside :func:`_drawing`."""
    from .ced import _metadata

    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata=_metadata("svg"))
    data = buf.getvalue().decode("utf-8")
    return data[data.find("<svg"):].strip()


def _nme_axis(unit: str) -> str:
    return {"percent": "NME (%)", "fraction": "NME"}.get(unit, f"NME ({unit})")


def _figure_width(n_bars: int) -> float:
    """Inches: wide enough for ``n_bars`` bars and their labels."""
    return max(4.8, 1.4 + 0.42 * n_bars)


def _plot_div(classes: str, ident: str, svg: str) -> str:
    """A ``div.plot`` holding an inline SVG at its natural width (the page's plots are 480 px wide)."""
    found = re.match(r'<svg[^>]* width="([0-9.]+)pt"', svg)
    px = max(480, round(float(found.group(1)) * 4 / 3) if found else 480)  # 1 pt = 4/3 CSS px
    return f'<div class="plot {classes}" id="{ident}" style="width: {px}px">\n{svg}\n</div>'


def _outline_groups(scheme_name: str, k: int) -> list[tuple[list[int], bool]]:
    """Point paths to draw faintly: ``(indices, closed)`` for the innermost groups of the scheme."""
    from faceval.schemes import load_scheme

    if scheme_name not in _OUTLINED_SCHEMES:
        return []
    scheme = load_scheme(scheme_name)
    if scheme.num_points != k:
        return []
    groups = scheme.groups
    out = []
    for name, idx in groups.items():
        if len(idx) < 3 or any(set(other) < set(idx) for other in groups.values()):
            continue  # a union of other groups (eyes, mouth, brows, nose) or too short to trace
        out.append((list(idx), name.endswith("_eye") or name.endswith("mouth")))
    return out


def landmark_svg(panel: LandmarkPanel, vmax: float, factor: float, unit: str, salt: str) -> str:
    """One run's error per landmark on its mean shape, with a colour bar (0 to ``vmax`` fractions)."""
    with _drawing(salt, **{"axes.grid": False}):
        fig = _figure((4.6, 4.4))
        ax = fig.add_subplot(1, 1, 1)
        shape, err = panel.shape, panel.point_nme
        for idx, closed in _outline_groups(panel.entry.run.scheme, len(shape)):
            path = shape[idx + idx[:1]] if closed else shape[idx]
            ax.plot(path[:, 0], path[:, 1], color="#bbbbbb", linewidth=0.8, zorder=1)
        ok = np.isfinite(err)
        scaled = np.where(ok, err, 0.0) * factor
        top = max(vmax * factor, 1e-12)
        sizes = 14.0 + 70.0 * np.clip(scaled / top, 0.0, 1.0)
        dots = ax.scatter(shape[ok, 0], shape[ok, 1], c=scaled[ok], s=sizes[ok], cmap=_COLORMAP, vmin=0.0, vmax=top,
                          edgecolors="#333333", linewidths=0.4, zorder=2)
        if (~ok).any():  # points no image counts for (all invisible): hollow
            ax.scatter(shape[~ok, 0], shape[~ok, 1], s=14.0, facecolors="none", edgecolors="#999999", linewidths=0.6)
        ax.set_aspect("equal")
        ax.invert_yaxis()  # image coordinates: y down
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        worst = int(np.nanargmax(err))
        ax.set_title(f"{panel.entry.label} — {panel.entry.split} ({panel.n_images} images)\n"
                     f"worst point {worst} ({worst + 1} in 1-based markup): {err[worst] * factor:.2f} {unit}",
                     fontsize=8.5)
        bar = fig.colorbar(dots, ax=ax, fraction=0.046, pad=0.04)
        bar.set_label(f"mean error of the point (NME, {unit})")
        fig.tight_layout()
        return _svg(fig)


def split_bars_svg(entries: Sequence[Entry], table: "ReportTable", salt: str) -> str:
    """NME per split: one bar group per run, one bar (colour) per split, values as the table prints them."""
    from faceval.metrics.run_metrics import metric_value

    units = table.units
    factor, unit = units.scale("nme")
    keys: list[tuple[str, str]] = list(dict.fromkeys((e.run.dataset, s) for e in entries for s in e.splits))
    with _drawing(salt):
        width = 0.8 / max(len(keys), 1)
        fig = _figure((_figure_width(len(keys) * len(entries)), 3.6))
        ax = fig.add_subplot(1, 1, 1)
        colours = [f"C{k % 10}" for k in range(len(keys))]
        drawn: set[int] = set()
        for g, entry in enumerate(entries):
            present = [k for k, (ds, s) in enumerate(keys) if ds == entry.run.dataset and s in entry.splits]
            for j, k in enumerate(present):
                value = metric_value(entry.run, keys[k][1], "nme")
                if value is None or not np.isfinite(value):
                    continue
                x = g + (j - (len(present) - 1) / 2) * width
                label = None if k in drawn else table.group_title(*keys[k])
                drawn.add(k)
                ax.bar(x, value * factor, width * 0.92, color=colours[k], label=label)
                ax.text(x, value * factor, units.format("nme", value), ha="center", va="bottom", fontsize=6.5)
        ax.set_xticks(range(len(entries)))
        ax.set_xticklabels([e.label for e in entries], fontsize=8)
        ax.set_xlim(-0.6, len(entries) - 0.4)
        ax.set_ylabel(_nme_axis(unit))
        ax.margins(y=0.12)
        ax.set_title("NME per split")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=min(len(keys), 5), fontsize=7.5, frameon=False)
        fig.tight_layout()
        return _svg(fig)


def yaw_svg(series: Sequence[tuple[Entry, list[YawBin]]], table: "ReportTable", salt: str) -> str:
    """NME against GT |yaw|: one bar per run in each bin that holds images, the image count on it."""
    factor, unit = table.units.scale("nme")
    bins = [b for b in YAW_BINS if any((x.low, x.high) == b for _, found in series for x in found)]
    with _drawing(salt):
        width = 0.8 / max(len(series), 1)
        fig = _figure((_figure_width(len(bins) * len(series)), 3.6))
        ax = fig.add_subplot(1, 1, 1)
        for r, (entry, found) in enumerate(series):
            by_bin = {(x.low, x.high): x for x in found}
            first = True
            for b_index, b in enumerate(bins):
                if b not in by_bin or not np.isfinite(by_bin[b].nme):
                    continue
                x = b_index + (r - (len(series) - 1) / 2) * width
                value = by_bin[b].nme * factor
                ax.bar(x, value, width * 0.92, color=f"C{r % 10}", label=entry.label if first else None)
                ax.text(x, value, f"n={by_bin[b].n}", ha="center", va="bottom", fontsize=6.5)
                first = False
        ax.set_xticks(range(len(bins)))
        ax.set_xticklabels([f"{low:g}–{high:g}°" for low, high in bins])
        ax.set_xlabel("|yaw| of the ground-truth head pose")
        ax.set_ylabel(_nme_axis(unit))
        ax.margins(y=0.12)
        ax.set_title("NME against head yaw")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=min(len(series), 4), fontsize=7.5,
                  frameon=False)
        fig.tight_layout()
        return _svg(fig)


# --------------------------------------------------------------------------------------------
# the HTML sections
# --------------------------------------------------------------------------------------------


def figures_html(table: "ReportTable") -> str:
    """The report's figure sections (error per landmark, NME per split, NME against |yaw|) as HTML."""
    esc = html.escape
    entries = table_entries(table)
    if not entries:
        return ""
    factor, unit = table.units.scale("nme")
    unit_text = "%" if unit == "percent" else unit
    parts: list[str] = []

    panels: list[LandmarkPanel] = []
    notes: list[str] = []
    for entry in entries:
        found = landmark_panel(entry)
        if isinstance(found, LandmarkPanel):
            panels.append(found)
        else:
            notes.append(found)
    parts.append("<h2>Error per landmark</h2>")
    if panels:
        vmax = max(float(np.nanmax(p.point_nme)) for p in panels)
        parts.append('<div class="plots">')
        for k, panel in enumerate(panels, 1):
            svg = landmark_svg(panel, vmax, factor, unit_text, salt=f"faceval-landmarks-{k}")
            parts.append(_plot_div("figure-landmarks", f"landmarks-{k}", svg))
        parts.append("</div>")
        parts.append('<p class="caption">' + esc(
            "Mean error of each point over the images of the split (normalised as the NME; failures left out), "
            "drawn on the mean shape of the run's ground truth (each face centred, scaled and rotated onto the "
            "mean). Colour and size grow with the error; one colour scale for every run.") + "</p>")
    for note in notes:
        parts.append(f'<p class="caption">{esc(note)}.</p>')

    parts.append("<h2>NME per split</h2>")
    parts.append(_plot_div("figure-splits", "nme-splits", split_bars_svg(entries, table, salt="faceval-splits")))

    series = []
    left_out = []
    for entry in entries:
        found, outside = yaw_bins(entry.run, entry.split)
        if found:
            series.append((entry, found))
            if outside:
                left_out.append(f"{entry.label}: {outside}")
    if series:
        parts.append("<h2>NME against head yaw</h2>")
        parts.append(_plot_div("figure-yaw", "nme-yaw", yaw_svg(series, table, salt="faceval-yaw")))
        text = ("NME of the images whose ground-truth |yaw| falls in each bin (0–15°, 15–30°, 30–45°, 45–60°, "
                "60–90°; bins without images left out), on each run's split shown above; n is the image count.")
        if left_out:
            text += " Images without a yaw label or beyond 90° are in no bin (" + "; ".join(left_out) + ")."
        parts.append(f'<p class="caption">{esc(text)}</p>')
    return "\n".join(parts)


__all__ = ["YAW_BINS", "Entry", "LandmarkPanel", "YawBin", "table_entries", "mean_shape", "landmark_panel", "yaw_bins",
           "landmark_svg", "split_bars_svg", "yaw_svg", "figures_html"]
