"""Non-regular files named like data (a FIFO called x.pts or x.jpg) are skipped with a warning.

On the old code ``datasets samples`` opened the FIFO and blocked forever; each test runs the load
in a child process with a timeout so that a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import numpy as np
import pytest

from tests.fixtures import build_300w_tree, build_aflw2000_tree, random_faces

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo (POSIX)")


def _load_in_child(spec: str, root: str, queue) -> None:  # type: ignore[no-untyped-def]
    import faceval.datasets as datasets

    ann = datasets.load(spec, root)
    queue.put((list(ann.sample_ids), list(ann.warnings), [p is not None for p in ann.image_paths]))


def _load(spec: str, root: Path, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_load_in_child, args=(spec, str(root), queue))
    child.start()
    child.join(timeout)
    if child.is_alive():
        child.kill()
        child.join()
        pytest.fail(f"loading {spec} did not finish within {timeout} s (a FIFO was opened)")
    assert child.exitcode == 0
    return queue.get(timeout=5)


def test_fifo_named_pts_is_skipped_with_a_warning(tmp_path: Path) -> None:
    root = build_300w_tree(tmp_path / "data")  # face_0..2 with images
    os.mkfifo(root / "300w" / "helen" / "testset" / "zz_fifo.pts")
    ids, warnings, _ = _load("300w:helen", root)
    assert ids == [f"helen/testset/face_{i}.jpg" for i in range(3)]
    assert any("not regular files" in w and "zz_fifo.pts" in w for w in warnings), warnings


def test_fifo_named_like_an_image_is_not_taken_for_the_image(tmp_path: Path) -> None:
    faces = random_faces(2)
    root = build_300w_tree(tmp_path / "data", {"helen/testset/a.jpg": faces[0]}, with_images=True)
    folder = root / "300w" / "helen" / "testset"
    from faceval.io.pts import write_pts

    write_pts(folder / "b.pts", faces[1])
    os.mkfifo(folder / "b.jpg")
    ids, warnings, has_image = _load("300w:helen", root)
    assert ids == ["helen/testset/a.jpg", "helen/testset/b.jpg"]
    assert has_image == [True, False]
    assert any("b.jpg" in w and "not regular files" in w for w in warnings), warnings


def test_fifo_named_mat_in_aflw2000_is_skipped(tmp_path: Path) -> None:
    faces = random_faces(1)
    root = build_aflw2000_tree(tmp_path / "data", {"image00002.jpg": (faces[0], (0.0, 0.0, 0.0))})
    os.mkfifo(root / "aflw2000" / "AFLW2000" / "image00003.mat")
    ids, warnings, _ = _load("aflw2000:all", root)
    assert ids == ["image00002.jpg"]
    assert any("image00003.mat" in w for w in warnings), warnings


def test_score_loading_never_stats_image_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """need_images=False is a loader parameter; 300W ids still get the image's real extension."""
    import faceval.datasets as datasets

    faces = random_faces(2)
    root = build_300w_tree(tmp_path / "data", {"helen/testset/a.png": faces[0], "helen/testset/b.jpg": faces[1]})
    stats: list[str] = []
    real_stat = os.stat

    def spy(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(path).endswith((".jpg", ".png")):
            stats.append(str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", spy)
    ann = datasets.load("300w:helen", root, need_images=False)
    assert ann.sample_ids == ["helen/testset/a.png", "helen/testset/b.jpg"]
    assert stats == []
    np.testing.assert_allclose(ann.landmarks, faces)
