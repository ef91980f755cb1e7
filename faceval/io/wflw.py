"""WFLW annotation lists.

* Full lists (``list_98pt_rect_attr_{train,test}.txt``): 207 tokens per line — 196 coordinates
  ``x0 y0 ... x97 y97``, the rectangle ``x_min y_min x_max y_max``, six 0/1 flags (pose, expression,
  illumination, make-up, occlusion, blur) and the image path relative to ``WFLW_images/``.
* Attribute lists (``list_98pt_test_<attribute>.txt``): 197 tokens — coordinates + image path.

WFLW coordinates are stored as they are used by every published WFLW evaluation (they come from
Python tooling, not MATLAB), so they are taken as 0-based pixel coordinates and **not** shifted.
Blank lines are ignored. Numbers are plain ASCII decimal or scientific. Parsing is vectorised with
pandas' C parser; a file it does not read as plainly numeric and complete (a boolean-looking token,
a short line, a non-finite value, any parser error) is re-read by the token-by-token checker, which
names the line of the first bad token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceval.errors import InputError
from faceval.io.table import TableSpec, read_table
from faceval.io.text import parse_floats, read_text

NUM_POINTS = 98
ATTRIBUTE_NAMES = ("pose", "expression", "illumination", "makeup", "occlusion", "blur")
#: attribute-list file stem suffix per flag (the pose list is called ``largepose``)
ATTRIBUTE_LIST_NAMES = {"pose": "largepose", "expression": "expression", "illumination": "illumination",
                        "makeup": "makeup", "occlusion": "occlusion", "blur": "blur"}

_FULL_TOKENS = 2 * NUM_POINTS + 4 + 6 + 1
_FULL_EXPECT = "expected 207 tokens (196 coordinates, 4 rectangle values, 6 attribute flags, image path)"
_ATTR_TOKENS = 2 * NUM_POINTS + 1
_ATTR_EXPECT = "expected 197 tokens (196 coordinates, image path)"


@dataclass
class WflwList:
    """One parsed WFLW list (full or attribute list).

    Attributes:
        landmarks: ``(N, 98, 2)`` float64, as stored (0-based).
        boxes: ``(N, 4)`` float64 ``x_min, y_min, x_max, y_max``; NaN for attribute lists.
        flags: ``(N, 6)`` int8 in :data:`ATTRIBUTE_NAMES` order; -1 for attribute lists.
        image_paths: ``N`` image paths relative to ``WFLW_images/`` (``/`` separators).
        line_numbers: ``(N,)`` 1-based line of each record.
    """

    landmarks: np.ndarray
    boxes: np.ndarray
    flags: np.ndarray
    image_paths: list[str]
    line_numbers: np.ndarray

    def __len__(self) -> int:
        return len(self.image_paths)

    def face_ids(self) -> list[str]:
        """Sample ids ``<image path>#<k>``, k = the face's index among its image's lines in file order."""
        seen: dict[str, int] = {}
        ids = []
        for image in self.image_paths:
            k = seen.get(image, 0)
            seen[image] = k + 1
            ids.append(f"{image}#{k}")
        return ids


def read_wflw_list(path: Path | str) -> WflwList:
    """Read a full WFLW list (207 tokens per line)."""
    return _read(Path(path), _FULL_TOKENS, _FULL_EXPECT, "WFLW annotation list")


def read_wflw_attribute_list(path: Path | str) -> WflwList:
    """Read a WFLW attribute list (197 tokens per line: coordinates + image path)."""
    return _read(Path(path), _ATTR_TOKENS, _ATTR_EXPECT, "WFLW attribute list")


_BOOLEAN_TOKEN = re.compile(rb"(?:^|[ \t])(?:true|false)(?=[ \t]|\r?$)", re.IGNORECASE | re.MULTILINE)


def _spec(ntokens: int) -> TableSpec:
    """Coordinates, rectangle and flags as three arrays (attribute lists: coordinates only)."""
    nnum = ntokens - 1
    blocks = ((0, 2 * NUM_POINTS), (2 * NUM_POINTS, 200), (200, 206)) if ntokens == _FULL_TOKENS else ((0, nnum),)
    return TableSpec(ncols=ntokens, text_col=nnum, sep=r"\s+", header_lines=0, blocks=blocks, boolean=_BOOLEAN_TOKEN)


def _read_fast(path: Path, ntokens: int) -> WflwList | None:
    """The list via pandas' C parser in pieces (:mod:`faceval.io.table`); None: use the checker."""
    table = read_table(path, _spec(ntokens))
    if table is None:
        return None
    if not all(np.isfinite(block).all() for block in table.blocks):
        return None
    if not all(isinstance(p, str) and p.strip() for p in table.texts):
        return None  # a line without its image path: the checker names it
    paths = [p.replace("\\", "/") for p in table.texts]
    n = len(paths)
    numbers = np.arange(1, n + 1, dtype=np.int64)
    landmarks = table.blocks[0].reshape(n, NUM_POINTS, 2)
    if ntokens != _FULL_TOKENS:
        return WflwList(landmarks=landmarks, boxes=np.full((n, 4), np.nan), flags=np.full((n, 6), -1, dtype=np.int8),
                        image_paths=paths, line_numbers=numbers)
    return WflwList(landmarks=landmarks, boxes=table.blocks[1], flags=_flags(path, table.blocks[2], numbers, None),
                    image_paths=paths, line_numbers=numbers)


def _read(path: Path, ntokens: int, expect: str, what: str) -> WflwList:
    fast = _read_fast(path, ntokens)
    if fast is not None:
        return fast
    lines = read_text(path, what).splitlines()
    numeric: list[str] = []
    images: list[str] = []
    numbers: list[int] = []
    nnum = ntokens - 1
    for i, line in enumerate(lines):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != ntokens:
            raise InputError(f"{expect}, found {len(parts)}", path=path, line=i + 1)
        numeric.extend(parts[:nnum])
        images.append(parts[nnum].replace("\\", "/"))
        numbers.append(i + 1)
    if not images:
        raise InputError(f"empty {what}: {expect} per line", path=path, line=1)
    values = parse_floats(numeric, numbers, nnum, path, what="values")
    return _assemble(path, values, images, np.asarray(numbers, dtype=np.int64), ntokens, numeric)


def _flags(path: Path, raw_flags: np.ndarray, numbers: np.ndarray, numeric: list[str] | None) -> np.ndarray:
    """The six 0/1 flags as int8; anything else names its line (and the token as written, when known)."""
    bad = ~np.isin(raw_flags, (0.0, 1.0))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        shown = numeric[row * (_FULL_TOKENS - 1) + 200 + col] if numeric is not None else f"{raw_flags[row, col]:g}"
        raise InputError(f"expected a 0/1 {ATTRIBUTE_NAMES[col]} flag (token {197 + 4 + col}), "
                         f"found '{shown}'", path=path, line=int(numbers[row]))
    return raw_flags.astype(np.int8)


def _assemble(path: Path, values: np.ndarray, images: list[str], numbers: np.ndarray, ntokens: int,
              numeric: list[str] | None) -> WflwList:
    n = len(images)
    landmarks = values[:, : 2 * NUM_POINTS].reshape(n, NUM_POINTS, 2)
    if ntokens == _FULL_TOKENS:
        boxes = values[:, 196:200].copy()
        flags = _flags(path, values[:, 200:206], numbers, numeric)
    else:
        boxes = np.full((n, 4), np.nan)
        flags = np.full((n, 6), -1, dtype=np.int8)
    return WflwList(landmarks=landmarks, boxes=boxes, flags=flags, image_paths=images, line_numbers=numbers)
