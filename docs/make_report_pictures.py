"""Render the README's report pictures from SPIGA's real 300W predictions (``../shared/data``).

    python docs/make_report_pictures.py

1. ``faceval score`` makes two run files from SPIGA's predictions: ``SPIGA`` as published, and
   a copy with Gaussian noise (sigma 1.5 px, seed 0) on every landmark (the planted regression of
   ``tests/cli/test_spiga_reports.py``).
2. ``faceval report --format latex --ci`` writes the table (``docs/report-table-spiga.tex``);
   pdflatex compiles it unedited in a plain ``article`` (booktabs only) and pdftoppm renders the
   page, cropped to ``docs/report-table-spiga.png``.
3. ``faceval plot ced`` draws both runs' CED on the full set (``docs/ced-spiga.png``).

Needs pdflatex (texlive-latex-base, -recommended) and pdftoppm (poppler-utils).  The pictures hold
metrics of predictions, not data from ``../shared/data``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from faceval_cli.main import main  # noqa: E402
from tests.cli.test_score import PUBLIC_FOLDERS, _spiga_tree  # noqa: E402

DOCS = REPO / "docs"


def _crop(png: Path, out: Path, margin: int = 12) -> None:
    from PIL import Image

    image = Image.open(png).convert("L")
    ink = np.flatnonzero((np.asarray(image) < 250).any(axis=1)), np.flatnonzero((np.asarray(image) < 250).any(axis=0))
    box = (max(int(ink[1].min()) - margin, 0), max(int(ink[0].min()) - margin, 0),
           min(int(ink[1].max()) + margin, image.width), min(int(ink[0].max()) + margin, image.height))
    Image.open(png).convert("RGB").crop(box).save(out, optimize=True)


def main_script() -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        root, predictions, _ = _spiga_tree(tmp, "300wpublic", PUBLIC_FOLDERS)
        preds = json.loads(predictions.read_text())
        rng = np.random.default_rng(0)
        for item in preds:
            lm = np.asarray(item["landmarks"], dtype=np.float64)
            item["landmarks"] = (lm + rng.normal(0, 1.5, lm.shape)).tolist()
        noisy = tmp / "noisy.json"
        noisy.write_text(json.dumps(preds))
        runs = [tmp / "spiga.h5", tmp / "noisy.h5"]
        common = ["--dataset", "300w", "--data-root", str(root), "--format", "json"]
        assert main(["score", "--predictions", str(predictions), "--label", "SPIGA", "--out", str(runs[0]), *common]) == 0
        assert main(["score", "--predictions", str(noisy), "--label", "SPIGA_noisy", "--out", str(runs[1]), *common]) == 0

        table = DOCS / "report-table-spiga.tex"
        assert main(["report", *map(str, runs), "--ci", "--label", "tab:spiga", "--out", str(table),
                     "--rename", "SPIGA_noisy=SPIGA + noise",
                     "--caption", "SPIGA's 300W test predictions scored by faceval; the second row adds Gaussian "
                                  "noise (σ = 1.5 px) to every landmark."]) == 0
        (tmp / "paper.tex").write_text("\\documentclass{article}\n\\usepackage{booktabs}\n\\pagestyle{empty}\n"
                                       "\\begin{document}\n\\input{" + str(table.with_suffix("")) + "}\n"
                                       "\\end{document}\n", encoding="utf-8")
        subprocess.run([shutil.which("pdflatex") or "pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                        "paper.tex"], cwd=tmp, check=True, capture_output=True)
        subprocess.run([shutil.which("pdftoppm") or "pdftoppm", "-r", "170", "-png", "-singlefile", "paper.pdf",
                        "page"], cwd=tmp, check=True, capture_output=True)
        _crop(tmp / "page.png", DOCS / "report-table-spiga.png")
        assert main(["plot", "ced", *map(str, runs), "--split", "full", "--out", str(DOCS / "ced-spiga.png")]) == 0


if __name__ == "__main__":
    main_script()
