"""External tools the rendering tests drive: headless Chromium, a TeX engine, pdftoppm.

``.ci/run`` installs them (Debian packages ``chromium``, ``texlive-latex-base``,
``texlive-latex-recommended``, ``poppler-utils``) when missing, so under CI (``CI`` set) a missing
tool fails the test instead of skipping it; on a developer machine without them the test skips
with the package to install.

Chromium runs headless with the flags this sandbox needs: no sandbox (root), no GPU, and no
background networking, component updates or sync (otherwise it tries to reach hosts this
network refuses), with a fresh profile folder per call.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
HEADLESS_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--force-device-scale-factor=1")


def in_ci() -> bool:
    return os.environ.get("CI", "") not in ("", "0", "false")


def require_tool(names: tuple[str, ...], package: str) -> str:
    """The first of ``names`` on PATH; else skip (fail under CI, where .ci/run installs ``package``)."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    message = f"{names[0]} not available (install the Debian package '{package}' to run this test)"
    if in_ci():
        pytest.fail(f"{message}; .ci/run installs it, so CI must have it")
    pytest.skip(message)


def chromium() -> str:
    """Path of a Chromium binary (see :func:`require_tool`)."""
    return require_tool(CHROMIUM_NAMES, "chromium")


def run_chromium(page: Path, workdir: Path, *extra: str, window: tuple[int, int] = (1200, 900),
                 timeout: float = 120.0) -> subprocess.CompletedProcess:
    """Run headless Chromium on ``page`` with a fresh profile under ``workdir``; fails on a timeout."""
    profile = workdir / f"chromium-profile-{len(list(workdir.glob('chromium-profile-*')))}"
    cmd = [chromium(), *HEADLESS_FLAGS, f"--user-data-dir={profile}", f"--window-size={window[0]},{window[1]}",
           *extra, page.as_uri()]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"headless Chromium did not finish within {timeout:.0f} s: {' '.join(cmd)}")


def screenshot(page: Path, workdir: Path, window: tuple[int, int] = (1200, 900)):  # type: ignore[no-untyped-def]
    """A screenshot of ``page`` as an ``(H, W, 3)`` uint8 array; fails when Chromium wrote none."""
    import numpy as np
    from PIL import Image

    shot = workdir / f"shot-{len(list(workdir.glob('shot-*.png')))}.png"
    result = run_chromium(page, workdir, f"--screenshot={shot}", window=window)
    assert shot.exists(), f"headless Chromium wrote no screenshot (exit {result.returncode}): {result.stderr[-2000:]}"
    return np.asarray(Image.open(shot).convert("RGB"))


def dump_dom(page: Path, workdir: Path, window: tuple[int, int] = (1200, 900)) -> str:
    """The DOM after the page's scripts ran (``--dump-dom``, virtual time so ``load`` fires)."""
    result = run_chromium(page, workdir, "--dump-dom", "--virtual-time-budget=10000", window=window)
    assert result.returncode == 0 and "<html" in result.stdout, \
        f"headless Chromium --dump-dom failed (exit {result.returncode}): {result.stderr[-2000:]}"
    return result.stdout
