"""`faceval run --dataset json:PATH`: the bundled photos given as an annotation JSON score as the .pts tree does."""

from __future__ import annotations

import json
import shutil

import pytest

from faceval.io.pts import read_pts
from faceval_cli.main import main
from tests.fixtures import SAMPLE_DIR


def _run(capsys, args):
    capsys.readouterr()
    code = main(["run", *args, "--no-cache", "--no-progress", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_json_dataset_runs_like_the_pts_files(tmp_path, capsys):
    folder = tmp_path / "db"
    (folder / "images").mkdir(parents=True)
    records = []
    for name in ("breakingbad.jpg", "einstein.jpg", "takeo.ppm"):
        shutil.copy(SAMPLE_DIR / name, folder / "images" / name)
        landmarks = read_pts((SAMPLE_DIR / name).with_suffix(".pts"), 68)  # 0-based
        records.append({"imgpath": f"images/{name}", "landmarks": landmarks.tolist()})
    (folder / "test.json").write_text(json.dumps(records))
    from_json = _run(capsys, ["--dataset", f"json:{folder / 'test.json'}", "--out", str(tmp_path / "j.h5")])
    from_pts = _run(capsys, ["--dataset", "sample", "--out", str(tmp_path / "s.h5")])
    assert from_json["dataset"] == "json" and from_json["splits"]["all"]["n"] == 3
    assert from_json["splits"]["all"]["nme"] == pytest.approx(from_pts["splits"]["all"]["nme"], rel=1e-12)
    assert from_json["protocol"]["manifest_sha256"] != from_pts["protocol"]["manifest_sha256"]
