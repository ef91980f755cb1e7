"""Strict numbers in JSON inputs, and where a value sits in the text (line and column).

JSON landmarks and poses must be JSON numbers (``1``, ``-2.5``, ``1e-3``; Python's ``NaN`` and
``Infinity`` constants, as ``json.dumps`` writes them, mark a failed prediction). Strings
(``"1.5"``), booleans and ``null`` are errors naming the file, line and column of the value.

Checking is vectorised over the parsed document; the position of a bad value is found only on the
error path, by walking the text with the standard decoder (:func:`value_position`).
"""

from __future__ import annotations

import json
from itertools import chain
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from faceval.errors import InputError

#: Python types a JSON number decodes to (bool is a subclass of int and is rejected explicitly)
_NUMBER_TYPES = frozenset({int, float})
_DECODER = json.JSONDecoder()
_WS = " \t\n\r"

Key = int | str


def load_json_text(path: Path, text: str, what: str) -> Any:
    """Parse ``text`` (read from ``path``); a syntax error names the line and column."""
    if not text.strip():
        raise InputError(f"empty {what}: expected a JSON list of records", path=path, line=1)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"column {exc.colno}: invalid JSON: {exc.msg}", path=path, line=exc.lineno) from None
    except RecursionError:
        raise InputError(f"invalid JSON: nested too deeply for a {what}", path=path) from None


def describe(value: Any) -> str:
    """A JSON value's kind and a short rendering, for messages ("the string '1.5'", "true")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        shown = value if len(value) <= 30 else value[:27] + "..."
        return f"the string {json.dumps(shown)}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return repr(value)


def value_position(text: str, keys: Sequence[Key]) -> tuple[int, int] | None:
    """1-based (line, column) of the value reached by ``keys`` (list indices and object keys).

    None when the path does not exist in ``text``. Runs only on the error path.
    """
    try:
        pos = _skip_ws(text, 0)
        for key in keys:
            pos = _child(text, pos, key)
            if pos is None:
                return None
    except (ValueError, IndexError):
        return None
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, column


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WS:
        pos += 1
    return pos


def _child(text: str, pos: int, key: Key) -> int | None:
    """Position of child ``key`` of the container starting at ``pos``."""
    opener = text[pos]
    if opener == "[" and isinstance(key, int):
        pos = _skip_ws(text, pos + 1)
        index = 0
        while text[pos] != "]":
            if index == key:
                return pos
            _, end = _DECODER.raw_decode(text, pos)
            pos = _skip_ws(text, end)
            if text[pos] == ",":
                pos = _skip_ws(text, pos + 1)
            index += 1
        return None
    if opener == "{" and isinstance(key, str):
        pos = _skip_ws(text, pos + 1)
        found = None
        while text[pos] != "}":
            name, end = _DECODER.raw_decode(text, pos)
            pos = _skip_ws(text, end)
            pos = _skip_ws(text, pos + 1)  # the ':'
            if name == key:
                found = pos  # the last duplicate wins, as in json.loads
            _, end = _DECODER.raw_decode(text, pos)
            pos = _skip_ws(text, end)
            if text[pos] == ",":
                pos = _skip_ws(text, pos + 1)
        return found
    return None


def bad_number_error(path: Path, text: str, keys: Sequence[Key], where: str, value: Any,
                     expected: str = "a JSON number") -> InputError:
    """The one-line error for a value that is not a number: file, line, column, what was found."""
    position = value_position(text, keys)
    column = f"column {position[1]}: " if position else ""
    return InputError(f"{column}{where}: expected {expected}, found {describe(value)}", path=path,
                      line=position[0] if position else None)


def is_number(value: Any) -> bool:
    return type(value) in _NUMBER_TYPES


def all_numbers(nested: list[Any], depth: int) -> bool:
    """True when ``nested`` is lists of lists (``depth`` levels) whose leaves are all JSON numbers.

    A fast check over the whole document (C-level iteration); False sends the caller to the slow
    path that finds and names the first offending value.
    """
    level: Any = nested
    try:
        for _ in range(depth - 1):
            if not all(type(v) is list for v in level):
                return False
            level = list(chain.from_iterable(level))
        return set(map(type, level)) <= _NUMBER_TYPES
    except TypeError:
        return False


def number_rows(values: list[Any], width: int, path: Path, text: str, prefix: Sequence[Key],
                where: str, expected: str) -> np.ndarray:
    """``values`` (a JSON list of ``width`` numbers) as float64, or an error naming the bad entry."""
    if type(values) is not list or len(values) != width:
        raise bad_number_error(path, text, list(prefix), where, values, expected)
    for j, value in enumerate(values):
        if not is_number(value):
            raise bad_number_error(path, text, [*prefix, j], f"{where}[{j}]", value)
    return np.asarray(values, dtype=np.float64)
