"""300W / iBUG ``.pts`` landmark files.

Two forms are read:

* the official form: ``version: 1``, ``n_points: 68``, ``{``, one ``x y`` line per point, ``}``;
* a header-less form seen in the wild: just the ``x y`` lines.

Coordinates on disk are 1-based (MATLAB); :func:`read_pts` returns 0-based pixel
coordinates (1 subtracted) and :func:`write_pts` writes 1-based ones.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from faceval.errors import InputError
from faceval.io.text import NUMBER_TOKEN, parse_floats, read_text

WHAT = ".pts landmark file"

_PAIR = rf"[ \t]*{NUMBER_TOKEN.pattern}[ \t]+{NUMBER_TOKEN.pattern}[ \t]*"
#: A header-less file of ``x y`` lines only (blank lines allowed): read in one step; anything else
#: takes the line-by-line path below, which says what is wrong and where.
_PLAIN = re.compile(rf"(?:(?:{_PAIR})?\r?\n)*(?:{_PAIR})?", re.ASCII)


def read_pts(path: Path | str, expected_points: int | None = 68) -> np.ndarray:
    """Read a ``.pts`` file; return ``(K, 2)`` float64 0-based pixel coordinates.

    Args:
        path: the file.
        expected_points: the point count the caller needs (``None``: any count).

    Raises:
        InputError: empty file, bad header, non-numeric value, a line without exactly two values,
            ``n_points`` disagreeing with the lines, or a point count other than ``expected_points``.
    """
    path = Path(path)
    text = read_text(path, WHAT)
    if _PLAIN.fullmatch(text):
        values = np.array(text.split(), dtype=np.float64)
        if values.size and np.isfinite(values).all() and (expected_points is None or values.size == 2 * expected_points):
            return values.reshape(-1, 2) - 1.0
    lines = text.splitlines()
    numbered = [(i + 1, line.strip()) for i, line in enumerate(lines) if line.strip()]
    if not numbered:
        want = f"{expected_points} " if expected_points else ""
        raise InputError(f"empty {WHAT}: expected {want}'x y' lines (optionally with a 'version: 1' header)",
                         path=path, line=1)
    declared: int | None = None
    if numbered[0][1].lower().startswith("version"):
        declared, body = _split_header(numbered, path)
    else:
        body = numbered
    tokens: list[str] = []
    line_numbers: list[int] = []
    for number, line in body:
        parts = line.split()
        if len(parts) != 2:
            raise InputError(f"expected 2 values per point line (x y), found {len(parts)}", path=path, line=number)
        tokens.extend(parts)
        line_numbers.append(number)
    points = parse_floats(tokens, line_numbers, 2, path)
    if declared is not None and declared != len(points):
        raise InputError(f"header says n_points: {declared} but {len(points)} point lines follow",
                         path=path, line=body[-1][0] if body else numbered[-1][0])
    if expected_points is not None and len(points) != expected_points:
        raise InputError(f"expected {expected_points} points, found {len(points)}", path=path)
    return points - 1.0


def _split_header(numbered: list[tuple[int, str]], path: Path) -> tuple[int, list[tuple[int, str]]]:
    """Parse ``version``/``n_points``/``{`` ... ``}``; return the declared count and the point lines."""
    declared: int | None = None
    open_at: int | None = None
    for k, (number, line) in enumerate(numbered):
        if line == "{":
            open_at = k
            break
        key, sep, value = line.partition(":")
        if not sep:
            raise InputError(f"expected a header line 'key: value' or '{{', found '{line[:30]}'", path=path, line=number)
        if key.strip().lower() == "n_points":
            try:
                declared = int(value.strip())
            except ValueError:
                raise InputError(f"expected an integer after 'n_points:', found '{value.strip()[:30]}'",
                                 path=path, line=number) from None
    if open_at is None:
        raise InputError("expected '{' after the header (version, n_points)", path=path, line=numbered[-1][0])
    if declared is None:
        raise InputError("expected an 'n_points: N' header line", path=path, line=numbered[0][0])
    close_at = next((k for k in range(open_at + 1, len(numbered)) if numbered[k][1] == "}"), None)
    if close_at is None:
        raise InputError("expected a closing '}' after the point lines", path=path, line=numbered[-1][0])
    if close_at != len(numbered) - 1:
        number, line = numbered[close_at + 1]
        raise InputError(f"expected nothing after the closing '}}', found '{line[:30]}'", path=path, line=number)
    return declared, numbered[open_at + 1 : close_at]


def write_pts(path: Path | str, landmarks: np.ndarray) -> None:
    """Write ``(K, 2)`` 0-based landmarks as an official ``.pts`` file (header, 1-based coordinates)."""
    points = np.asarray(landmarks, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"expected (K, 2) landmarks, got shape {points.shape}")
    body = "\n".join(f"{x:.6f} {y:.6f}" for x, y in points + 1.0)
    Path(path).write_text(f"version: 1\nn_points: {len(points)}\n{{\n{body}\n}}\n", encoding="ascii")
