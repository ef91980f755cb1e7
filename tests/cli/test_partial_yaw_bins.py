"""AFLW2000-3D's yaw bins on a partial copy are partial in every output (synthetic .mat files).

The bins have no known size, so their own count cannot show missing images; they are subsets of
'test' (1969 images in the complete copy), and a copy whose 'test' lacks images makes them
partial: score/report JSON, tables (dagger and footnote), the human summary, `show` and gate.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from faceval_cli.main import main
from tests.faceval.datasets.test_aflw2000_yaw_bins import CASES, _expected, _tree
from tests.fixtures import random_faces
from tests.cli.calls import call_ok as _ok

MANIFEST = Path(__file__).resolve().parents[2] / "data_manifests" / "aflw2000.json"
BINS = ("yaw0-30", "yaw30-60", "yaw60-90")


def _test_count() -> int:
    return int(json.loads(MANIFEST.read_text())["splits"]["test"]["count"])


def _in_test() -> int:
    return sum(1 for _, b in CASES.values() if b is not None)


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("bins")
    root = _tree(tmp)
    faces = random_faces(len(CASES), seed=5)
    preds = faces + np.random.default_rng(1).normal(0, 2.0, faces.shape)
    path = tmp / "p.json"
    path.write_text(json.dumps([{"sample_id": n, "landmarks": preds[i].tolist()} for i, n in enumerate(CASES)]))
    out = {"root": root, "preds": path, "all": tmp / "all.h5", "yaw": tmp / "yaw.h5"}
    for key, spec in (("all", "aflw2000"), ("yaw", "aflw2000:yaw")):
        assert main(["score", "--predictions", str(path), "--dataset", spec, "--data-root", str(root),
                     "--normalizer", "bbox", "--allow-missing", "--out", str(out[key]), "--format", "json"]) == 0
    return out


def test_json_marks_the_bins_partial(scored, capsys):
    n_test, expected = _in_test(), _test_count()
    assert n_test < expected  # the synthetic copy is partial
    for key in ("all", "yaw"):
        out, _ = _ok(capsys, ["report", str(scored[key]), "--format", "json"])
        splits = json.loads(out)[0]["splits"]
        for name in BINS:
            assert splits[name]["n"] == len(_expected(name))
            assert splits[name]["n_expected"] is None and splits[name]["complete"] is False, (key, name)
            assert splits[name]["within"] == {"split": "test", "n": n_test, "n_expected": expected}
        if key == "all":
            assert splits["test"]["complete"] is False and splits["test"]["n_expected"] == expected


def test_tables_mark_bin_cells_and_the_footnote_names_the_parent(scored, capsys):
    md, _ = _ok(capsys, ["report", str(scored["yaw"]), "--format", "markdown", "--metrics", "nme"])
    row = next(line for line in md.splitlines() if line.startswith("| ") and "NME" not in line
               and not set(line) <= set("|-: "))
    cells = [c.strip() for c in row.strip("|").split("|")[1:]]
    assert len(cells) == 3 and all(c.endswith("†") for c in cells), row
    assert f"† partial split: 3 images, within split 'test' ({_in_test()} of {_test_count()} images)" in md


def test_show_and_the_summary_mark_the_bins(scored, capsys):
    from faceval.runs.runfile import read_run
    from faceval_cli.summary_view import print_summary

    out, _ = _ok(capsys, ["show", str(scored["yaw"])])
    for name in BINS:
        line = next(x for x in out.splitlines() if x.strip("│ ").startswith(name))
        assert f"{len(_expected(name))}†" in line
        assert f"† split '{name}' is partial: 3 images, within split 'test'" in out
    shown, _ = _ok(capsys, ["show", str(scored["yaw"]), "--format", "json"])
    assert all(json.loads(shown)["splits"][b]["complete"] is False for b in BINS)
    capsys.readouterr()
    print_summary(read_run(scored["all"]))
    err = capsys.readouterr().err
    assert "warning: split 'yaw30-60' is partial: 3 images, within split 'test'" in err


def test_gate_refuses_partial_bins_against_a_complete_baseline(scored, tmp_path, capsys):
    from faceval.runs.runfile import read_run, write_run

    base = read_run(scored["yaw"], lazy=False)
    base.split_within = {}  # as if scored on a complete copy
    baseline = write_run(tmp_path / "base.h5", base)
    capsys.readouterr()
    assert main(["gate", str(scored["yaw"]), "--baseline", str(baseline)]) == 2
    err = capsys.readouterr().err
    assert "is partial on splits 'yaw0-30' (3 images, within split 'test'" in err and "Traceback" not in err


def test_a_complete_copy_leaves_the_bins_complete(scored):
    """Negative control: the same files with a manifest that counts them all (test = 9)."""
    from faceval.datasets import aflw2000
    from faceval.datasets.manifest import load_manifest

    manifest = json.loads(json.dumps(load_manifest("aflw2000")))
    manifest["splits"]["test"]["count"] = _in_test()
    manifest["splits"]["all"]["count"] = len(CASES)
    ann = aflw2000.load(scored["root"], ("test", *BINS), strict=False, manifest=manifest, need_images=False)
    assert ann.partial_parents == {}
    partial = aflw2000.load(scored["root"], BINS, strict=False, manifest=load_manifest("aflw2000"), need_images=False)
    assert {b: p.split for b, p in partial.partial_parents.items()} == {b: "test" for b in BINS}
