"""``faceval gallery`` end to end on real photos: the bundled sample, HELEN, and headless Chromium."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceval.runs.runfile import read_run
from faceval_cli.main import main
from tests.browser import dump_dom, screenshot
from tests.faceval.views.helpers import helen_run_file


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> Path:
    """A real run of the bundled GhostOne on the three bundled photos (no data root needed)."""
    top = tmp_path_factory.mktemp("gallery-sample")
    out = top / "sample.h5"
    assert main(["run", "--out", str(out), "--no-progress", "--cache", str(top / "cache"), "--format", "json"]) == 0
    return out


def test_png_gallery_of_the_sample_is_deterministic(sample_run, tmp_path, capsys):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert main(["gallery", str(sample_run), "--out", str(a)]) == 0
    assert main(["gallery", str(sample_run), "--out", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    im = np.asarray(Image.open(a).convert("RGB"))
    assert im.shape[1] == 3 * (256 + 8) + 8  # three faces in a row
    assert "wrote 3 faces" in capsys.readouterr().err



def test_one_chosen_face_is_said_in_the_singular(sample_run, tmp_path, capsys):
    out = tmp_path / "one.png"
    assert main(["gallery", str(sample_run), "--out", str(out), "--samples", "einstein.jpg"]) == 0
    assert f"wrote 1 face to {out}" in capsys.readouterr().err

def test_gallery_without_data_root_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("FACEVAL_DATA_ROOT", raising=False)
    run_file, root = helen_run_file()
    capsys.readouterr()
    out = tmp_path / "worst.html"
    assert main(["gallery", str(run_file), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("faceval: error: the gallery reads each face from its original image: no data root: "
                          "pass --data-root DIR or set FACEVAL_DATA_ROOT")
    assert str(root) in err and not out.exists()


def test_gallery_with_another_copy_of_the_data_is_an_error(tmp_path, capsys):
    """A data root whose .pts differ from the run's GT gives an error, not a picture of other faces."""
    from tests.fixtures import build_300w_tree, random_faces

    run_file, _ = helen_run_file()
    capsys.readouterr()
    run = read_run(run_file)
    worst = str(run.sample_ids[int(np.nanargmax(np.where(np.isfinite(run.nme), run.nme, np.nan)))])
    other = build_300w_tree(tmp_path / "other", {worst: random_faces(1, seed=5)[0]})
    out = tmp_path / "w.png"
    assert main(["gallery", str(run_file), "--out", str(out), "--worst", "1", "--data-root", str(other)]) == 2
    err = capsys.readouterr().err.strip()
    assert f"sample '{worst}': the ground truth under data root {other} differs from the run's" in err
    assert not out.exists()


def test_html_gallery_of_the_worst_helen_faces(tmp_path, capsys):
    run_file, root = helen_run_file()
    out = tmp_path / "worst.html"
    assert main(["gallery", str(run_file), "--out", str(out), "--data-root", str(root)]) == 0
    text = out.read_text(encoding="utf-8")
    run = read_run(run_file)
    order = sorted(range(len(run.nme)), key=lambda i: -run.nme[i])[:12]  # no failures in this run
    ids = re.findall(r'alt="([^"]+)"', text)
    assert ids == [str(run.sample_ids[i]) for i in order]
    assert re.findall(r"#(\d+) NME", text) == [str(r) for r in range(1, 13)]
    assert "src=\"http" not in text and "href=" not in text


GALLERY_PROBE = """<script>
window.addEventListener('load', () => {
  const images = Array.from(document.images);
  const first = images[0].getBoundingClientRect();
  document.body.setAttribute('data-probe', JSON.stringify({
    decoded: images.map(i => (i.complete ? i.naturalWidth : 0) + 'x' + (i.complete ? i.naturalHeight : 0)),
    first: [first.left, first.top, first.width, first.height],
    page: [document.documentElement.scrollWidth, document.documentElement.scrollHeight]}));
});
</script>"""


def test_html_gallery_renders_in_headless_chromium(sample_run, tmp_path):
    """Chromium decodes every embedded face, and the screenshot shows the first face where the page put it."""
    out = tmp_path / "worst.html"
    assert main(["gallery", str(sample_run), "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    probe_page = tmp_path / "probe.html"  # the test's own copy with a probe script; the gallery has none
    probe_page.write_text(text.replace("</body>", GALLERY_PROBE + "</body>"), encoding="utf-8")
    dom = dump_dom(probe_page, tmp_path)
    found = re.search(r"data-probe=\"([^\"]+)\"", dom)
    assert found, "the probe script did not run"
    probe = json.loads(found.group(1).replace("&quot;", '"'))
    assert probe["decoded"] == ["256x256"] * 3
    left, top, width, height = (int(round(v)) for v in probe["first"])
    assert (width, height) == (256, 256)
    assert probe["page"][0] <= 1200 and probe["page"][1] > top + height

    shot = screenshot(out, tmp_path).astype(np.int64)
    assert shot.shape == (900, 1200, 3)
    embedded = re.search(r'src="data:image/png;base64,([^"]+)"', text).group(1)
    face = np.asarray(Image.open(io.BytesIO(base64.b64decode(embedded))).convert("RGB"), dtype=np.int64)
    rendered = shot[top:top + height, left:left + width]
    assert np.abs(rendered - face).mean() < 3.0  # the first face, drawn pixel for pixel
    assert np.abs(shot[:, -150:] - 255).max() < 10  # a white margin right of the three faces
