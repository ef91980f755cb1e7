"""HTML report: self-contained, and renders (table, CED plots, figures) in headless Chromium (tests/browser.py)."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np

from faceval.report import render_report
from tests.browser import dump_dom, screenshot
from tests.faceval.report.helpers import three_splits_run
from tests.faceval.report.landmark_runs import landmark_run


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
    assert parser.tags.count("svg") == 3 + 1  # one CED plot per split, NME per split (no landmarks, no poses)
    assert parser.tags.count("table") == 1
    assert "&lt;b&gt;my_model#1&lt;/b&gt;" in text and "<b>my_model" not in text
    assert "2024-01-01T00:00:00Z" in text  # provenance shown
    assert "inter-ocular" in text
    assert "<?xml" not in text


PROBE = """<script>
window.addEventListener('load', () => {
  const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; };
  const figures = {};
  document.querySelectorAll('div.plot[id]').forEach(d => { figures[d.id] = box(d); });
  // the PNGs embedded in the SVGs (colour bars), decoded again as <img> to read their size
  const embedded = Array.from(document.querySelectorAll('svg image')).map(e => {
    const img = new Image();
    img.src = e.getAttribute('xlink:href') || e.getAttribute('href');
    return img.decode().then(() => img.naturalWidth, () => 0);
  });
  Promise.all(embedded).then(widths => document.body.setAttribute('data-probe', JSON.stringify({
    images: Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0),
    embedded: widths,
    svgs: Array.from(document.querySelectorAll('svg')).map(box),
    figures: figures,
    page: [document.documentElement.scrollWidth, document.documentElement.scrollHeight]})));
});
</script>"""


def _probe(page: Path, workdir: Path) -> dict:
    """Layout facts of ``page`` as Chromium rendered it (a copy with the probe script; the report has none)."""
    probe_page = workdir / "probe.html"
    probe_page.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    found = re.search(r'data-probe="([^"]+)"', dump_dom(probe_page, workdir))
    assert found, "the probe script did not run"
    return json.loads(html.unescape(found.group(1)))


def test_html_renders_non_blank_in_headless_chromium(tmp_path: Path):
    page = tmp_path / "report.html"
    page.write_text(render_report(_runs(), "html")[0], encoding="utf-8")
    img = screenshot(page, tmp_path).astype(np.float64)
    assert img.shape[:2] == (900, 1200)
    non_white = np.any(img < 245, axis=2)
    assert img.std() > 10.0
    assert non_white.mean() > 0.02  # text, table rules and plots
    # The first CED plot (below the table, left half): coloured curve pixels (blue/orange),
    # not just black text: the inline SVG was drawn.
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    coloured = (np.abs(r - b) > 60) & (np.maximum(r, b) > 120)
    assert coloured[300:, :].sum() > 200


def _near(img: np.ndarray, rgb: tuple[int, int, int], tol: float = 40.0) -> np.ndarray:
    return np.linalg.norm(img.astype(np.float64) - np.asarray(rgb, dtype=np.float64), axis=2) < tol


def test_report_figures_render_in_headless_chromium(tmp_path: Path):
    """Every figure of the report is laid out, drawn and coloured where the page put it."""
    runs = [landmark_run("GhostOne", seed=0, with_pose=True), landmark_run("SPIGA", seed=1, jaw_noise=1.2,
                                                                             with_pose=True)]
    page = tmp_path / "report.html"
    page.write_text(render_report(runs, "html")[0], encoding="utf-8")
    probe = _probe(page, tmp_path)
    width, height = probe["page"]
    assert width <= 1200 and 2000 < height < 8000  # no sideways scrolling; table, 3 CED plots and 4 figures
    assert all(w > 0 for w in probe["images"])  # every <img> decoded (the report embeds none today)
    assert len(probe["embedded"]) == 2 and all(w > 0 for w in probe["embedded"])  # the colour bars' PNGs
    assert len(probe["svgs"]) == 3 + 2 + 1 + 1 and all(w > 100 and h > 100 for _, _, w, h in probe["svgs"])
    assert set(probe["figures"]) == {"ced-1", "ced-2", "ced-3", "landmarks-1", "landmarks-2", "nme-splits", "nme-yaw"}

    shot = screenshot(page, tmp_path, window=(1200, int(height)))
    assert shot.shape == (int(height), 1200, 3)

    def region(name: str) -> np.ndarray:
        left, top, w, h = (int(round(v)) for v in probe["figures"][name])
        assert w > 100 and h > 100 and top + h <= shot.shape[0], name
        return shot[top:top + h, left:left + w]

    # viridis points and colour bar (the bar's gradient is a PNG inside the SVG: its yellow and dark
    # purple ends show it decoded; the second run, all points below the shared maximum, has yellow only there)
    for name in ("landmarks-1", "landmarks-2"):
        face = region(name)
        assert _near(face, (253, 231, 37)).sum() > 50 and _near(face, (68, 1, 84)).sum() > 50, name
    assert _near(region("landmarks-1"), (253, 231, 37), 60).sum() > _near(region("landmarks-2"), (253, 231, 37), 60).sum()
    bars = region("nme-splits")  # three splits: blue, orange and green bars (matplotlib C0-C2)
    for rgb in ((31, 119, 180), (255, 127, 14), (44, 160, 44)):
        assert _near(bars, rgb, 25).sum() > 500, rgb
    yaw = region("nme-yaw")  # two runs: blue and orange bars
    assert _near(yaw, (31, 119, 180), 25).sum() > 500 and _near(yaw, (255, 127, 14), 25).sum() > 500
    below = shot[int(probe["figures"]["nme-yaw"][1] + probe["figures"]["nme-yaw"][3]) + 200:]
    assert below.size and not _near(below, (31, 119, 180), 25).any()  # nothing drawn past the last figure
