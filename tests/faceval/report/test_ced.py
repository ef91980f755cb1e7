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
    assert ax.get_xlim() == (0.0, 0.1)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
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
