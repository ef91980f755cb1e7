"""CED plots: reproducible bytes, formats by extension, no pyplot."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from faceval.errors import InputError
from faceval.report.ced import ced_figure, ced_svg_inline, format_for, render_ced, resolve_threshold
from tests.faceval.report.helpers import make_run, three_splits_run


def _runs():
    return [three_splits_run("mnv2", 1.0, 0), three_splits_run("my_model#1", 0.9, 1)]


@pytest.mark.parametrize("fmt,magic", [("pdf", b"%PDF"), ("png", b"\x89PNG"), ("svg", b"<?xml")])
def test_byte_identical_across_renders(fmt, magic):
    first = render_ced(_runs(), fmt)
    second = render_ced(_runs(), fmt)
    assert first.startswith(magic)
    assert first == second


def test_fixed_metadata():
    pdf = render_ced(_runs(), "pdf")
    assert b"CreationDate" not in pdf and b"(faceval)" in pdf
    svg = render_ced(_runs(), "svg").decode()
    assert "<dc:date>" not in svg and "faceval" in svg
    png = render_ced(_runs(), "png")
    assert b"faceval" in png and b"Matplotlib" not in png


def test_no_pyplot_and_rc_restored():
    code = (
        "import sys, matplotlib; sys.path.insert(0, '.');"
        "from tests.faceval.report.helpers import three_splits_run;"
        "from faceval.report.ced import render_ced;"
        "keys = [k for k in matplotlib.rcParams.keys() if k != 'backend'];"
        "before = {k: matplotlib.rcParams[k] for k in keys};"
        "render_ced([three_splits_run('a')], 'svg');"
        "changed = [k for k in keys if matplotlib.rcParams[k] != before[k]];"
        "print('matplotlib.pyplot' in sys.modules, changed)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(__import__("tests.conftest").conftest.REPO_ROOT)).stdout.strip()
    assert out == "False []"


def test_figure_curves_and_legend():
    runs = _runs()
    fig = ced_figure(runs, split="challenging", threshold=0.1)
    ax = fig.axes[0]
    assert len(ax.lines) == 2
    assert ax.get_xlim() == (0.0, 10.0)  # percent, as the tables
    assert ax.get_legend() is None and len(fig.legends) == 1  # the legend is the figure's, outside the axes
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[0].startswith("mnv2: AUC@0.10 ") and "FR@0.10" in labels[0]
    y = ax.lines[0].get_ydata()
    assert y[0] == 0.0 and np.all(np.diff(y) >= 0) and y[-1] <= 1.0


def test_threshold_and_split_resolution():
    runs = _runs()
    assert resolve_threshold(runs, None) == 0.08
    assert resolve_threshold(runs, 0.1) == 0.1
    with pytest.raises(InputError):
        resolve_threshold(runs, -1.0)
    with pytest.raises(InputError, match="did you mean 'full'"):
        render_ced(runs, "svg", split="fulll")
    with pytest.raises(InputError, match=r"has no split 'private'; its splits: common, challenging, full$"):
        render_ced(runs, "svg", split="private")  # nothing close: the splits it has are listed


def test_format_for():
    assert format_for("a/b.PDF") == "pdf" and format_for("x.svg") == "svg" and format_for("x.png") == "png"
    with pytest.raises(InputError, match="unknown extension"):
        format_for("x.jpg")


def test_inline_svg_has_no_prolog():
    svg = ced_svg_inline([make_run("a", [0.01, 0.02, 0.2], dataset="wflw")])
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "<text" in svg  # text kept as text for HTML


# ---------------------------------------------------------------------------------------------
# units, labels, colours, legend placement, size: read back from the rendered files
# ---------------------------------------------------------------------------------------------


def _hex_rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def _mask(image: np.ndarray, color: str, tol: int = 12) -> np.ndarray:
    """Pixels within ``tol`` of ``color`` in every channel."""
    rgb = np.asarray(_hex_rgb(color), dtype=np.int64)
    return (np.abs(image[..., :3].astype(np.int64) - rgb) <= tol).all(axis=2)


def _png(data: bytes) -> np.ndarray:
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_x_axis_percent_and_fraction_follow_the_per_image_nme():
    nme = np.array([0.01, 0.02, 0.02, 0.05, 0.30])
    run = make_run("r", nme, dataset="wflw")
    ax = ced_figure([run]).axes[0]
    x, y = ax.lines[0].get_xdata(), ax.lines[0].get_ydata()
    assert ax.get_xlim() == (0.0, 10.0) and x[-1] == pytest.approx(10.0) and "NME (%" in ax.get_xlabel()
    for k in (0, 150, 200, 499, 500, 1000):  # y = share of images with 100 * NME <= x (plain loop)
        assert y[k] == pytest.approx(sum(1 for e in nme if 100 * e <= x[k] + 1e-9) / len(nme))
    frac = ced_figure([run], percent=False, xmax=0.06).axes[0]
    assert frac.get_xlim() == (0.0, 0.06) and "NME (fraction" in frac.get_xlabel()
    assert frac.lines[0].get_xdata()[-1] == pytest.approx(0.06)
    wide = ced_figure([run], xmax=40).axes[0]  # the axis unit: 40 %
    assert wide.get_xlim() == (0.0, 40.0) and wide.lines[0].get_ydata()[-1] == 1.0
    with pytest.raises(InputError, match="--xmax"):
        ced_figure([run], xmax=0)


def test_duplicate_labels_are_made_unique_as_the_report_does():
    from faceval.report.tables import build_table

    runs = [three_splits_run("SPIGA", 1.0, 0), three_splits_run("SPIGA", 1.1, 1), three_splits_run("SPIGA", 1.2, 2)]
    svg = render_ced(runs, "svg", split="full").decode()
    import xml.etree.ElementTree as ET

    texts = ["".join(el.itertext()) for el in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]
    legend = [t.split(":")[0] for t in texts if "AUC@0.08" in t]
    assert legend == ["SPIGA", "SPIGA#2", "SPIGA#3"]
    assert [row.label for row in build_table(runs).rows] == legend


def test_colours_follow_the_run_position_in_every_format(tmp_path):
    import re

    from faceval.report.ced import PALETTE, run_style

    a, b = three_splits_run("a", 1.0, 0), three_splits_run("b", 1.3, 1)
    svg = render_ced([a, b], "svg", split="full").decode()
    # the two curves are the two longest paths; their strokes are the first two palette colours, in order
    strokes = re.findall(r'<path d="M [^"]{2000,}"[^>]*style="[^"]*stroke: (#[0-9a-f]{6})', svg)
    assert strokes == [PALETTE[0].lower(), PALETTE[1].lower()]
    swapped = render_ced([b, a], "svg", split="full").decode()
    assert re.findall(r'<path d="M [^"]{2000,}"[^>]*style="[^"]*stroke: (#[0-9a-f]{6})', swapped) == strokes
    assert run_style(0) != run_style(7) and run_style(7).color == PALETTE[0]  # past the palette: a new dash
    png = _png(render_ced([a, b], "png", split="full"))
    assert _mask(png, PALETTE[0]).sum() > 300 and _mask(png, PALETTE[1]).sum() > 300
    assert _mask(png, PALETTE[2]).sum() == 0  # no third run, no third colour
    pdf = tmp_path / "ced.pdf"
    pdf.write_bytes(render_ced([a, b], "pdf", split="full"))
    from tests.test_ci_tools import _png_pages

    page = _png_pages(pdf, tmp_path / "ced")[0]
    assert _mask(page, PALETTE[0], 20).sum() > 100 and _mask(page, PALETTE[1], 20).sum() > 100
    assert _mask(page, PALETTE[2], 20).sum() == 0


def test_legend_outside_the_curves_and_size():
    from faceval.report.ced import PALETTE

    runs = _runs()
    below = _png(render_ced(runs, "png", split="full", size=(6.0, 4.0)))
    assert below.shape[:2] == (600, 900)  # 6x4 inches at 150 dpi
    rows = np.flatnonzero(_mask(below, PALETTE[1]).any(axis=1))
    # the legend's handle sits below the x tick labels: a gap of rows without the colour above it
    assert rows.max() > 0.85 * below.shape[0] and np.diff(rows).max() > 40
    right = _png(render_ced(runs, "png", split="full", legend="right", size=(8.0, 4.0)))
    cols = np.flatnonzero(_mask(right, PALETTE[1]).any(axis=0))
    assert cols.max() > 0.6 * right.shape[1] and np.diff(cols).max() > 20
    none = _png(render_ced(runs, "png", split="full", legend="none", size=(6.0, 4.0)))
    rows_none = np.flatnonzero(_mask(none, PALETTE[1]).any(axis=1))
    assert rows_none.max() < rows.max() and np.diff(rows_none).max() <= 40  # only the curve: no gap, nothing below
    with pytest.raises(InputError, match="legend"):
        render_ced(runs, "png", legend="inside")


def test_parse_size():
    from faceval.report.ced import parse_size

    assert parse_size("6x4") == (6.0, 4.0) and parse_size("3.5×2") == (3.5, 2.0)
    for bad in ("6", "6x", "axb", "0x4", "100x4"):
        with pytest.raises(InputError, match="--size"):
            parse_size(bad)
