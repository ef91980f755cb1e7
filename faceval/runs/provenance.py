"""Provenance: what produced a run (versions, command line, times, host)."""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import faceval


def _version(dist: str, module: str | None = None) -> str | None:
    """The installed version of distribution ``dist`` (import name ``module``, default ``dist``).

    The module's ``__version__`` when it is already imported, else the name of the
    distribution's ``*.dist-info`` folder beside the package (neither imports the package, nor
    ``importlib.metadata``, whose import and path scans cost tens of milliseconds per process);
    ``importlib.metadata`` only when neither is found.
    """
    name = module or dist
    version = getattr(sys.modules.get(name), "__version__", None)
    if isinstance(version, str):
        return version
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return None
    if spec.origin:
        here = Path(spec.origin).parent
        site = here.parent if spec.submodule_search_locations else here
        prefix = dist.replace("-", "_").lower() + "-"
        try:
            found = [p.name for p in site.iterdir() if p.name.lower().startswith(prefix) and p.name.endswith(".dist-info")]
        except OSError:
            found = []
        if len(found) == 1:
            return found[0][len(prefix):-len(".dist-info")]
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


_GIT: dict[str, Any] = {}


def _git_command() -> list[str] | None:
    source = Path(faceval.__file__).resolve().parents[1]
    if not (source / ".git").exists():
        return None
    return ["git", "-C", str(source), "describe", "--always", "--dirty", "--tags"]


def start_git_describe() -> None:
    """Start ``git describe`` in the background (for :func:`git_describe` later in this process)."""
    cmd = _git_command()
    if cmd is None or "proc" in _GIT:
        return
    try:
        _GIT["proc"] = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    except OSError:
        pass


def git_describe() -> str | None:
    """``git describe`` of faceval's source tree, when it is a git checkout."""
    proc = _GIT.pop("proc", None)
    if proc is not None:
        try:
            out, _ = proc.communicate(timeout=5)
        except subprocess.SubprocessError:
            proc.kill()
            proc.communicate()
            return None
        return out.strip() or None
    cmd = _git_command()
    if cmd is None:
        return None
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def now_iso() -> str:
    """Current UTC time, ISO 8601 with seconds."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def collect(argv: Iterable[str] | None = None) -> dict[str, Any]:
    """Versions of faceval and its numeric stack, Python, platform and the command line."""
    import numpy

    runtime = _version("onnxruntime") or _version("onnxruntime-gpu", "onnxruntime")
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
