"""HTML report: self-contained, and renders to a non-blank page in headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from faceval.report import render_report
from tests.faceval.report.helpers import three_splits_run


def _runs():
    runs = [three_splits_run("mnv2", 1.0, 0), three_splits_run("<b>my_model#1</b>", 0.9, 1)]
    runs[0].provenance["started"] = "2024-01-01T00:00:00Z"
    return runs


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href") and value and not value.startswith("#"):
                self.links.append(value)


def test_html_is_self_contained_and_escaped():
    text, _ = render_report(_runs(), "html", ci=True)
    parser = _Collector()
    parser.feed(text)
    assert parser.links == []  # no external resources
    assert parser.tags.count("svg") == 3  # one CED plot per split
    assert parser.tags.count("table") == 1
    assert "&lt;b&gt;my_model#1&lt;/b&gt;" in text and "<b>my_model" not in text
    assert "2024-01-01T00:00:00Z" in text  # provenance shown
    assert "inter-ocular" in text
    assert "<?xml" not in text


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_html_renders_non_blank_in_headless_chromium(tmp_path: Path):
    browser = _chromium()
    if browser is None:
        pytest.skip("headless Chromium not available (install the Debian package 'chromium' to run this test)")
    from PIL import Image

    page = tmp_path / "report.html"
    page.write_text(render_report(_runs(), "html")[0], encoding="utf-8")
    shot = tmp_path / "shot.png"
    cmd = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={shot}", "--window-size=1200,900", page.as_uri(),
    ]
    try:
        subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        pytest.skip("headless Chromium did not finish within 120 s")
    if not shot.exists():
        pytest.skip("headless Chromium started but wrote no screenshot in this environment")
    img = np.asarray(Image.open(shot).convert("RGB"), dtype=np.float64)
    assert img.shape[:2] == (900, 1200)
    non_white = np.any(img < 245, axis=2)
    assert img.std() > 10.0
    assert non_white.mean() > 0.02  # text, table rules and plots
    # The first CED plot (below the table, left half): coloured curve pixels (blue/orange),
    # not just black text: the inline SVG was drawn.
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    coloured = (np.abs(r - b) > 60) & (np.maximum(r, b) > 120)
    assert coloured[300:, :].sum() > 200
