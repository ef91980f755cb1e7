"""The HTML report's figures: mean shape, NME per |yaw| bin, bars and panels, against plain numpy."""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from faceval.report import render_report
from faceval.report.figures import YAW_BINS, mean_shape, yaw_bins
from faceval.runs.runfile import read_run, write_run
from tests.faceval.report.helpers import three_splits_run
from tests.faceval.report.landmark_runs import YAWS, landmark_run
from tests.fixtures import template_300w


def _unit(shape: np.ndarray) -> np.ndarray:
    centred = shape - shape.mean(axis=0)
    return centred / math.sqrt(float((centred ** 2).sum()) / len(shape))


def test_mean_shape_undoes_scale_shift_and_rotation():
    template = template_300w()
    faces = []
    for k, angle in enumerate((-0.3, -0.1, 0.1, 0.3)):  # rotations symmetric about 0: the mean keeps T's pose
        c, s = math.cos(angle), math.sin(angle)
        faces.append(template @ np.array([[c, -s], [s, c]]).T * (50 + 40 * k) + np.array([100.0 * k, 7.0]))
    got = mean_shape(np.asarray(faces))
    assert got is not None and np.allclose(got, _unit(template), atol=1e-9)


def test_mean_shape_skips_unusable_faces():
    template = template_300w()
    broken = template.copy()
    broken[3] = np.nan
    flat = np.zeros_like(template)  # all points in one place: no scale
    assert np.allclose(mean_shape(np.asarray([broken, flat, template * 2])), _unit(template), atol=1e-12)
    assert mean_shape(np.asarray([flat, broken])) is None
    assert mean_shape(np.zeros((0, 68, 2))) is None


def _loop_yaw_bins(run, split):
    """(low, high, n, mean finite NME) per bin holding images, and the images in no bin."""
    rows = [int(i) for i in run.splits[split]]
    out, placed = [], set()
    for k, (low, high) in enumerate(YAW_BINS):
        members = []
        for i in rows:
            yaw = abs(run.pose_gt[i][0])
            if yaw >= low and (yaw <= high if k == len(YAW_BINS) - 1 else yaw < high):
                members.append(i)
        placed.update(members)
        if members:
            finite = [run.nme[i] for i in members if math.isfinite(run.nme[i])]
            out.append((low, high, len(members), sum(finite) / len(finite)))
    return out, len(rows) - len(placed)


def test_yaw_bins_equal_the_loop_and_failures_are_left_out_of_the_mean():
    run = landmark_run("m", seed=3, with_pose=True)
    run.nme[2] = np.inf  # a failure in the 15-30 bin: counted there, not averaged
    for split in ("full", "challenging"):
        found, outside = yaw_bins(run, split)
        expected, expected_outside = _loop_yaw_bins(run, split)
        assert [(b.low, b.high, b.n) for b in found] == [e[:3] for e in expected]
        assert [b.nme for b in found] == pytest.approx([e[3] for e in expected], rel=1e-12)
        assert outside == expected_outside
    found, outside = yaw_bins(run, "full")
    assert (45.0, 60.0) not in [(b.low, b.high) for b in found]  # no image there: no bin
    assert outside == sum(1 for y in np.resize(np.asarray(YAWS), 44) if not abs(y) <= 90)  # 120 and NaN


def test_yaw_bins_without_poses_are_empty():
    assert yaw_bins(landmark_run("m"), "full") == ([], 0)


class _Divs(HTMLParser):
    """Text inside each ``div`` with an id (nested SVG text included)."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str | None] = []
        self.text: dict[str, list[str]] = {}
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        attrs = dict(attrs)
        for name in ("src", "href"):
            if attrs.get(name) and not attrs[name].startswith(("#", "data:")):
                self.links.append(attrs[name])
        if tag == "div":
            self.stack.append(attrs.get("id"))
            if attrs.get("id"):
                self.text.setdefault(attrs["id"], [])

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if tag == "div" and self.stack:
            self.stack.pop()

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        for ident in self.stack:
            if ident:
                self.text[ident].append(data.strip())


def div_texts(text: str) -> _Divs:
    parser = _Divs()
    parser.feed(text)
    return parser


def test_html_figures_show_the_values_of_an_independent_computation():
    runs = [landmark_run("GhostOne", seed=0, with_pose=True), landmark_run("SPIGA", seed=1, jaw_noise=1.2,
                                                                             with_pose=True)]
    text, _ = render_report(runs, "html")
    divs = div_texts(text)
    assert divs.links == []
    assert {"landmarks-1", "landmarks-2", "nme-splits", "nme-yaw"} <= set(divs.text)
    bars = [t for t in divs.text["nme-splits"] if t]
    for run in runs:
        for split in ("common", "challenging", "full"):
            assert f"{100 * np.mean(run.nme[run.splits[split]]):.2f}" in bars, (run.label, split)
    counts = [t for t in divs.text["nme-yaw"] if t.startswith("n=")]
    expected, _ = _loop_yaw_bins(runs[0], "full")
    assert counts == [f"n={e[2]}" for e in expected] * 2  # both runs: the same images per bin
    assert [t for t in divs.text["nme-yaw"] if t.endswith("°")] == ["0–15°", "15–30°", "30–45°", "60–90°"]
    for k, run in enumerate(runs, 1):  # the worst point named in each panel's title, from a plain loop
        rows = run.splits["full"]
        per_point = [np.mean(np.linalg.norm(run.predictions[rows, p] - run.ground_truth[rows, p], axis=1)
                             / run.normalizers[rows]) for p in range(68)]
        worst = int(np.argmax(per_point))
        title = " ".join(divs.text[f"landmarks-{k}"])
        assert f"worst point {worst} ({worst + 1} in 1-based markup): {100 * per_point[worst]:.2f} %" in title
    assert worst < 17  # the noisy jaw: the pattern the panel shows


def test_html_is_byte_identical_and_has_no_yaw_figure_without_poses():
    runs = [landmark_run("a", seed=0), landmark_run("b", seed=1)]
    first, _ = render_report(runs, "html")
    assert first == render_report(runs, "html")[0]
    assert 'id="nme-yaw"' not in first and "against head yaw" not in first
    # every id an SVG refers to (clip paths, markers, images) is defined once on the whole page
    referenced = set(re.findall(r'url\(#([^)]+)\)', first)) | set(re.findall(r'href="#([^"]+)"', first))
    defined = re.findall(r' id="([^"]+)"', first)
    assert referenced and all(defined.count(ident) == 1 for ident in referenced)


def test_a_run_without_landmarks_gets_a_note_instead_of_a_panel():
    text, _ = render_report([three_splits_run("zeros")], "html")  # all GT points at (0, 0)
    assert 'id="landmarks-1"' not in text
    assert "no per-landmark plot for zeros: its ground truth on &#x27;full&#x27; has no face" in text
    assert 'id="nme-splits"' in text


def test_landmark_arrays_are_read_for_the_html_only(tmp_path):
    write_run(tmp_path / "run.h5", landmark_run("m", with_pose=True))
    for fmt in ("latex", "markdown", "csv", "json"):
        run = read_run(tmp_path / "run.h5")
        render_report([run], fmt)
        assert not {"predictions", "ground_truth"} & set(run.loaded()), fmt
    run = read_run(tmp_path / "run.h5")
    render_report([run], "html")
    assert {"predictions", "ground_truth"} <= set(run.loaded())
