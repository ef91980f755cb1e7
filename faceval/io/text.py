"""Shared helpers of the text readers: decoding, tokenising and numeric parsing with line numbers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import numpy as np

from faceval.errors import InputError


def read_text(path: Path, what: str) -> str:
    """Read a UTF-8 (or ASCII) text file; a missing, unreadable or undecodable file is an InputError.

    A UTF-8 byte-order mark is dropped. ``what`` names the expected format in messages.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{what} not found", path=path) from None
    except IsADirectoryError:
        raise InputError(f"expected a {what}, found a folder", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror or exc}", path=path) from None
    if b"\x00" in data[:4096]:
        raise InputError(f"expected a text {what}, found binary data", path=path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"expected UTF-8 text in a {what}, found undecodable byte 0x{data[exc.start]:02x}",
                         path=path, line=line) from None
    return text


#: a numeric token of an annotation file: plain ASCII decimal or scientific (no ``1_000``, no
#: non-ASCII digits, no ``nan``/``inf``: ground truth must be finite)
NUMBER_TOKEN = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def parse_floats(tokens: Sequence[str], line_numbers: Sequence[int], per_line: int, path: Path,
                 what: str = "coordinates") -> np.ndarray:
    """Convert a flat token list (``per_line`` tokens from each line) to float64, vectorised.

    On a non-numeric or non-finite token, raise InputError naming the 1-based line.
    Returns an array of shape ``(len(line_numbers), per_line)``.
    """
    strict = all(NUMBER_TOKEN.fullmatch(token) for token in tokens)
    try:
        values = np.array(tokens, dtype=np.float64) if strict else None
    except ValueError:
        values = None
    if values is not None and np.isfinite(values).all():
        return values.reshape(len(line_numbers), per_line)
    for k, token in enumerate(tokens):
        try:
            value = float(token) if NUMBER_TOKEN.fullmatch(token) else None
        except ValueError:
            value = None
        if value is None or not np.isfinite(value):
            raise InputError(f"expected numeric {what}, found '{_short(token)}'",
                             path=path, line=int(line_numbers[k // per_line]))
    raise AssertionError("unreachable")  # pragma: no cover


def _short(token: str, width: int = 30) -> str:
    return token if len(token) <= width else token[: width - 3] + "..."
