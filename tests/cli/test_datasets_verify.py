"""`faceval datasets verify`: one split, test-only copies, named digest mismatches, images required."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from faceval_cli.main import main
from tests.conftest import shared_path
from tests.fixtures import build_300w_tree, random_faces

PUBLIC = {"helen/testset": (330, ".jpg"), "lfpw/testset": (224, ".png"), "ibug": (135, ".jpg")}


def _verify(capsys, *args: str) -> tuple[int, dict, str]:
    capsys.readouterr()
    code = main(["datasets", "verify", *args, "--format", "json"])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def _helen_copy(tmp_path: Path) -> Path:
    """A private copy of the real HELEN .pts files (images linked), so one file can be changed."""
    src = shared_path("300w_helen_test", "helen", "testset")
    dst = tmp_path / "data" / "300w" / "helen" / "testset"
    dst.mkdir(parents=True)
    for entry in sorted(src.iterdir()):
        if entry.suffix == ".pts":
            shutil.copyfile(entry, dst / entry.name)
        else:
            os.symlink(entry, dst / entry.name)
    return tmp_path / "data"


def test_one_split_of_the_real_helen_copy_verifies(tmp_path, capsys):
    """Old code: '300w:helen' was taken for a dataset name (exit 2, unknown dataset)."""
    root = tmp_path / "data"
    root.mkdir()
    os.symlink(shared_path("300w_helen_test"), root / "300w")
    code, report, err = _verify(capsys, "300w:helen", "--data-root", str(root))
    assert code == 0, err
    assert report["splits"] == ["helen"] and report["problems"] == []
    assert report["counts"]["helen"] == {"found": 330, "expected": 330, "images_found": 330}
    assert report["files_checked"] == 1  # the helen landmark digest


def test_a_test_only_copy_verifies_without_the_training_images(tmp_path, capsys):
    faces = random_faces(1)[0]
    samples = {f"{folder}/s{i:03d}{ext}": faces for folder, (n, ext) in PUBLIC.items() for i in range(n)}
    root = build_300w_tree(tmp_path / "data", samples, with_images=False)
    for sid in samples:
        (root / "300w" / sid).touch()  # verify looks for the images, it does not decode them
    code, report, err = _verify(capsys, "300w", "--data-root", str(root))
    assert report["splits"] == ["helen", "lfpw", "common", "challenging", "full"]
    # only the landmark digest of the real HELEN set differs (these faces are synthetic)
    assert [p for p in report["problems"] if "landmarks differ" not in p] == [], report["problems"]
    assert all(c["found"] == c["expected"] == c["images_found"] for c in report["counts"].values())
    code_all, report_all, _ = _verify(capsys, "300w", "--all-splits", "--data-root", str(root))
    assert code_all == 2 and any("300w:train: 0 of 3148 samples present" in p for p in report_all["problems"])
    assert not any("train" in p for p in report["problems"])


def test_a_digest_mismatch_names_the_file(tmp_path, capsys):
    root = _helen_copy(tmp_path)
    pts = root / "300w" / "helen" / "testset" / "296814969_3.pts"
    lines = pts.read_text().splitlines()
    x, y = lines[10].split()
    lines[10] = f"{float(x) + 3.0:.6f} {y}"
    pts.write_text("\n".join(lines) + "\n")
    code, report, _ = _verify(capsys, "300w:helen", "--data-root", str(root))
    assert code == 2
    assert report["problems"] == [f"300w:helen: landmarks differ from the manifest's digest: first in {pts} "
                                  "(1 sample(s) differ)"]


def test_pts_files_without_images_are_not_complete(tmp_path, capsys):
    faces = random_faces(2)
    root = build_300w_tree(tmp_path, {"ibug/a.jpg": faces[0], "ibug/b.jpg": faces[1]}, with_images=False)
    capsys.readouterr()
    assert main(["datasets", "verify", "300w:challenging", "--data-root", str(root)]) == 2
    out = capsys.readouterr().out
    row = next(line.split(None, 3) for line in out.splitlines() if line.strip().startswith("challenging"))
    assert row[:3] == ["challenging", "135", "2"]
    assert row[3].strip() == "133 missing, 2 images missing"
    assert "complete" not in row[3]


def test_all_splits_with_a_split_is_a_usage_error(tmp_path, capsys):
    """NAME:SPLIT selects splits, --all-splits every split: together they contradict (exit 2, one line)."""
    capsys.readouterr()
    code = main(["datasets", "verify", "300w:helen", "--all-splits", "--data-root", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and "--all-splits" in err and "'300w:helen'" in err
