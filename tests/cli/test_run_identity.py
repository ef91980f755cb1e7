"""The crop cache and --resume never serve a result of other inputs (issue 10, items 1 and 7).

Each test changes one input that determines the result (an image, the data behind the same
relative --data-root, an annotation) between a run that fills the crop cache and a warm run,
and compares the warm run with a run without any cache on the changed data.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceval_cli.main import main
from tests.conftest import shared_path

N = 6  # real HELEN photos copied per data root


def _copy_root(dest: Path) -> Path:
    """A data root with real copies (not links) of the first N HELEN photos and annotations."""
    helen = shared_path("300w_helen_test", "helen", "testset")
    folder = dest / "300w" / "helen" / "testset"
    folder.mkdir(parents=True)
    for image in sorted(helen.glob("*.jpg"))[:N]:
        shutil.copy(image, folder / image.name)
        shutil.copy(image.with_suffix(".pts"), folder / image.with_suffix(".pts").name)
    return dest


def _first_image(root: Path) -> Path:
    return sorted((root / "300w" / "helen" / "testset").glob("*.jpg"))[0]


def _mirror(image: Path) -> None:
    with Image.open(image) as im:
        flipped = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    flipped.save(image, quality=95)


def _run(capsys, root: Path | str, out: Path, *extra: str) -> tuple[np.ndarray, dict]:
    from faceval.runs.runfile import read_run

    capsys.readouterr()
    code = main(["run", "--dataset", "300w:helen", "--data-root", str(root), "--out", str(out), "--format", "json",
                 "--no-progress", *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return read_run(out).predictions, json.loads(captured.out)


def test_replaced_image_is_decoded_again(tmp_path, capsys):
    root = _copy_root(tmp_path / "data")
    cache = ["--cache", str(tmp_path / "cache")]
    before, _ = _run(capsys, root, tmp_path / "cold.h5", *cache)
    _mirror(_first_image(root))
    warm, info = _run(capsys, root, tmp_path / "warm.h5", *cache)
    fresh, _ = _run(capsys, root, tmp_path / "fresh.h5", "--no-cache")
    assert not np.allclose(before[0], fresh[0], atol=1.0), "mirroring must change the prediction"
    np.testing.assert_array_equal(warm, fresh)
    assert info["timings"]["cache_hits"] == N - 1


def test_same_relative_data_root_on_another_copy(tmp_path, capsys, monkeypatch):
    first = _copy_root(tmp_path / "a" / "data")
    second = _copy_root(tmp_path / "b" / "data")
    _mirror(_first_image(second))
    cache = ["--cache", str(tmp_path / "cache")]
    monkeypatch.chdir(tmp_path / "a")
    _run(capsys, "data", tmp_path / "a.h5", *cache)
    monkeypatch.chdir(tmp_path / "b")
    warm, info = _run(capsys, "data", tmp_path / "b.h5", *cache)
    fresh, _ = _run(capsys, "data", tmp_path / "fresh.h5", "--no-cache")
    np.testing.assert_array_equal(warm, fresh)
    # Every file of the other copy has another identity (path, inode): nothing is served from the cache.
    assert info["timings"]["cache_hits"] == 0
    del first


def test_changed_annotation_is_a_miss(tmp_path, capsys):
    root = _copy_root(tmp_path / "data")
    cache = ["--cache", str(tmp_path / "cache")]
    _run(capsys, root, tmp_path / "cold.h5", *cache)
    pts = _first_image(root).with_suffix(".pts")
    points = np.loadtxt(pts)
    points[30] += 5.0  # the nose tip: inside the face box, so the crop rectangle stays the same
    np.savetxt(pts, points, fmt="%.3f")
    warm, info = _run(capsys, root, tmp_path / "warm.h5", *cache)
    fresh, _ = _run(capsys, root, tmp_path / "fresh.h5", "--no-cache")
    np.testing.assert_array_equal(warm, fresh)
    assert info["timings"]["cache_hits"] == N - 1


def _resume_args(root: Path, out: Path, *extra: str) -> list[str]:
    return ["run", "--dataset", "300w:helen", "--data-root", str(root), "--out", str(out), "--no-cache",
            "--no-progress", "--checkpoint-every", "2", "--resume", *extra]


@pytest.mark.parametrize("change", ["image", "data-root", "spec", "model"])
def test_resume_refuses_another_identity(tmp_path, capsys, change):
    """An interrupted run's partial is never continued with other inputs: exit 2, naming what differs."""
    import signal
    import subprocess
    import sys
    import time

    from faceval.evaluation.checkpoint import partial_path

    root = _copy_root(tmp_path / "data")
    out = tmp_path / "r.h5"
    base = [sys.executable, "-m", "faceval_cli.main"] + _resume_args(root, out)[:-1]
    # Interrupt a real run once its first chunk is saved (SIGINT at the checkpoint).
    proc = subprocess.Popen(base + ["--checkpoint-every", "1"], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not partial_path(out).exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=120)[1]
    if proc.returncode == 0:
        pytest.skip("the run finished before it could be interrupted")
    assert proc.returncode == 130, err
    assert partial_path(out).exists()

    args = _resume_args(root, out, "--checkpoint-every", "1")
    words = {"image": "images or annotations", "data-root": "data root", "spec": "model spec", "model": "model"}
    if change == "image":
        _mirror(_first_image(root))
    elif change == "data-root":
        other = _copy_root(tmp_path / "other")
        args[args.index(str(root))] = str(other)
    elif change == "spec":
        args += ["--set", "box_scale=1.25"]
    else:
        onnx = pytest.importorskip("onnx")
        from faceval.models import default_model_path

        graph = onnx.load(str(default_model_path()))
        entry = graph.metadata_props.add()  # same graph and spec, another file hash
        entry.key, entry.value = "note", "a copy"
        model = tmp_path / "model.onnx"
        onnx.save(graph, str(model))
        args += ["--model", str(model)]
    capsys.readouterr()
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "partial progress belongs to a different run" in err and words[change] in err
    assert str(partial_path(out)) in err
    assert not out.exists()


@pytest.mark.slow
def test_warm_resumed_and_merged_runs_equal_a_cold_run(tmp_path, capsys):
    """Property of issue 10 "Done when", on real HELEN photos: every way of getting the result
    (cold, warm from the crop cache, resumed after an interruption, two shards merged) gives
    the same arrays as one cold run without any cache."""
    import signal
    import subprocess
    import sys
    import time

    import h5py

    from faceval.evaluation.checkpoint import partial_path

    helen = shared_path("300w_helen_test", "helen", "testset")
    root = tmp_path / "data"
    folder = root / "300w" / "helen" / "testset"
    folder.mkdir(parents=True)
    for image in sorted(helen.glob("*.jpg"))[:40]:  # links to 40 real photos: the whole data set here
        for path in (image, image.with_suffix(".pts")):
            (folder / path.name).symlink_to(path)
    base = ["--dataset", "300w:helen", "--data-root", str(root), "--checkpoint-every", "4"]
    cache = ["--cache", str(tmp_path / "cache")]

    def arrays(path: Path) -> dict[str, bytes]:
        with h5py.File(path) as h5:
            return {k: h5["arrays"][k][()].tobytes() for k in h5["arrays"]}

    _run(capsys, root, tmp_path / "reference.h5", *base[4:], "--no-cache")
    reference = arrays(tmp_path / "reference.h5")
    _run(capsys, root, tmp_path / "cold.h5", *base[4:], *cache)
    _, warm = _run(capsys, root, tmp_path / "warm.h5", *base[4:], *cache)
    assert warm["timings"]["cache_hits"] == 40
    assert arrays(tmp_path / "cold.h5") == reference and arrays(tmp_path / "warm.h5") == reference

    out = tmp_path / "resumed.h5"
    cmd = [sys.executable, "-m", "faceval_cli.main", "run", *base, "--no-cache", "--no-progress", "--out", str(out)]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not partial_path(out).exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    resumed = subprocess.run(cmd + ["--resume"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert arrays(out) == reference

    for i in (1, 2):
        capsys.readouterr()
        assert main(["run", *base, *cache, "--shard", f"{i}/2", "--no-progress", "--out",
                     str(tmp_path / f"s{i}.h5")]) == 0
    capsys.readouterr()
    assert main(["merge", str(tmp_path / "s1.h5"), str(tmp_path / "s2.h5"), "--out", str(tmp_path / "m.h5")]) == 0
    assert arrays(tmp_path / "m.h5") == reference
