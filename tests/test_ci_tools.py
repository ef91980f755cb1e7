"""The system tools .ci/run installs, driven on faceval's own outputs: a TeX engine compiles the
LaTeX table unedited, and pdftoppm renders it and the CED plot to non-blank pages.

(Headless Chromium is driven in tests/cli/test_gallery.py and tests/faceval/report/test_html.py.)
Under CI a missing tool fails these tests; elsewhere they skip naming the Debian package.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from faceval.runs.runfile import write_run
from faceval_cli.main import main
from tests.browser import require_tool
from tests.faceval.views.helpers import run_with_failures


def _png_pages(pdf: Path, prefix: Path) -> list[np.ndarray]:
    from PIL import Image

    pdftoppm = require_tool(("pdftoppm",), "poppler-utils")
    result = subprocess.run([pdftoppm, "-r", "100", "-png", str(pdf), str(prefix)], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    pages = sorted(prefix.parent.glob(prefix.name + "*.png"))
    assert pages, "pdftoppm wrote no page"
    return [np.asarray(Image.open(p).convert("RGB"), dtype=np.int64) for p in pages]


@pytest.fixture
def run_file(tmp_path: Path) -> Path:
    path = tmp_path / "run.h5"
    write_run(path, run_with_failures())
    return path


def test_latex_table_compiles_unedited_and_renders(run_file, tmp_path):
    pdflatex = require_tool(("pdflatex",), "texlive-latex-base")
    table = tmp_path / "table.tex"
    assert main(["report", str(run_file), "--format", "latex", "--out", str(table)]) == 0
    doc = tmp_path / "paper.tex"
    doc.write_text("\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n\\input{table}\n"
                   "\\end{document}\n", encoding="utf-8")
    result = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", doc.name], cwd=tmp_path,
                            capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stdout[-3000:]
    page = _png_pages(tmp_path / "paper.pdf", tmp_path / "page")[0]
    dark = (page < 100).all(axis=2)
    assert dark.sum() > 500  # text and rules were typeset
    rows = np.flatnonzero(dark.any(axis=1))
    assert rows.max() - rows.min() > 40  # several lines, not one error message


def test_ced_pdf_renders_with_pdftoppm(run_file, tmp_path):
    pdf = tmp_path / "ced.pdf"
    assert main(["plot", "ced", str(run_file), "--out", str(pdf)]) == 0
    page = _png_pages(pdf, tmp_path / "ced")[0]
    r, g, b = page[..., 0], page[..., 1], page[..., 2]
    coloured = (np.abs(r - b) > 60) | (np.abs(r - g) > 60)
    assert coloured.sum() > 200  # the curves, not only black axes
    assert (page < 100).all(axis=2).sum() > 200  # axes and labels
