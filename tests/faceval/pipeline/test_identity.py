"""File identities resolve symlinks exactly as ``os.path.realpath`` does, folders resolved once."""

from __future__ import annotations

import os

from faceval.pipeline.identity import file_identity


def test_cached_folders_give_realpath_identities(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    for name in ("a.jpg", "b.jpg"):
        (real / name).write_bytes(name.encode())
    (tmp_path / "linked").symlink_to(real)  # a symlinked folder (like a data root linking to shared data)
    (real / "c.jpg").symlink_to(real / "a.jpg")  # a symlinked file
    (tmp_path / "other").mkdir()
    paths = [tmp_path / "linked" / "a.jpg", tmp_path / "linked" / "b.jpg", tmp_path / "linked" / "c.jpg",
             tmp_path / "other" / ".." / "linked" / "b.jpg", tmp_path / "linked" / "missing.jpg"]
    folders: dict[str, str] = {}
    for path in paths:
        cached = file_identity(path, folders)
        if path.name == "missing.jpg":
            assert cached is None and file_identity(path) is None
            continue
        st = os.stat(os.path.realpath(path))
        assert cached is not None and cached.path == os.path.realpath(path)
        assert (cached.inode, cached.size, cached.mtime_ns) == (st.st_ino, st.st_size, st.st_mtime_ns)
        assert cached == file_identity(path)
    assert file_identity(paths[2], folders).path == str(real / "a.jpg")
