"""Provenance: what produced a run (versions, command line, times, host)."""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

import faceval


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def git_describe() -> str | None:
    """``git describe`` of faceval's source tree, when it is a git checkout."""
    source = Path(faceval.__file__).resolve().parents[1]
    if not (source / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(source), "describe", "--always", "--dirty", "--tags"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def now_iso() -> str:
    """Current UTC time, ISO 8601 with seconds."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def collect(argv: Iterable[str] | None = None) -> dict[str, Any]:
    """Versions of faceval and its numeric stack, Python, platform and the command line."""
    import numpy

    runtime = _version("onnxruntime") or _version("onnxruntime-gpu")
    return {
        "faceval_version": faceval.__version__,
        "git_describe": git_describe(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "h5py": _version("h5py"),
        "scipy": _version("scipy"),
        "onnxruntime": runtime,
        "platform": platform.platform(),
        "command_line": list(sys.argv if argv is None else argv),
    }


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def sample_set_sha256(sample_ids: Iterable[str]) -> str:
    """Hash of the ordered sample ids (two runs compare only on the same sample set)."""
    digest = hashlib.sha256()
    for sample_id in sample_ids:
        digest.update(sample_id.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
