"""Mutation strategies shared by the reader fuzz tests (hypothesis).

Every position is drawn as a fraction in [0, 1) of the input's length, so one strategy serves
files of any size and hypothesis shrinks towards the start of the file.

* :func:`text_mutations`: byte flips, truncation, line deletion/duplication, token insertion or
  replacement ('nan', '', '1e400', 'abc', ...), re-encoding (latin-1 with a non-ASCII character,
  UTF-16), an empty file.
* :func:`binary_mutations`: byte flips, truncation, appended junk, an empty file.
* :func:`json_mutations`: replace one node of a parsed JSON document by another JSON value.
* :func:`h5_mutations`: delete or replace one dataset, group or attribute of an HDF5 file.
* :func:`mat5_mutations`: replace or delete one variable of a MATLAB v5 file (scipy).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import strategies as st

#: tokens a careless tool writes into numeric files
BAD_TOKENS = ("nan", "NaN", "", "1e400", "-1e400", "inf", "abc", "1,5", "0x1F", "{", "}", "version: 1",
              "n_points: 68", "n_points: x", "\t", "\u00e9", "\x00", "1e-400", "--1", "'", '"')

_frac = st.floats(min_value=0.0, max_value=1.0, exclude_max=True, allow_nan=False)


def _at(fraction: float, length: int) -> int:
    return min(int(fraction * length), max(length - 1, 0))


# --------------------------------------------------------------------------- text and bytes

_text_op = st.one_of(
    st.tuples(st.just("flip"), _frac, st.integers(1, 255)),
    st.tuples(st.just("truncate"), _frac),
    st.tuples(st.just("delete_line"), _frac),
    st.tuples(st.just("duplicate_line"), _frac),
    st.tuples(st.just("insert_token"), _frac, _frac, st.sampled_from(BAD_TOKENS)),
    st.tuples(st.just("replace_token"), _frac, _frac, st.sampled_from(BAD_TOKENS)),
    st.tuples(st.just("encode"), st.sampled_from(("latin-1", "utf-16", "utf-16-le", "cp1252"))),
    st.tuples(st.just("crlf")),
    st.tuples(st.just("empty")),
)

_binary_op = st.one_of(
    st.tuples(st.just("flip"), _frac, st.integers(1, 255)),
    st.tuples(st.just("flip"), _frac, st.integers(1, 255)),
    st.tuples(st.just("truncate"), _frac),
    st.tuples(st.just("append"), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("empty")),
)


def text_mutations(max_ops: int = 3) -> st.SearchStrategy[list[tuple]]:
    return st.lists(_text_op, min_size=1, max_size=max_ops)


def binary_mutations(max_ops: int = 3) -> st.SearchStrategy[list[tuple]]:
    return st.lists(_binary_op, min_size=1, max_size=max_ops)


def mutate_bytes(data: bytes, ops: list[tuple]) -> bytes:
    """Apply text or binary mutation ops (see the strategies) to ``data``."""
    for op in ops:
        kind = op[0]
        if kind == "flip" and data:
            i = _at(op[1], len(data))
            data = data[:i] + bytes([data[i] ^ op[2]]) + data[i + 1:]
        elif kind == "truncate":
            data = data[: int(op[1] * len(data))]
        elif kind == "append":
            data = data + op[1]
        elif kind == "empty":
            data = b""
        elif kind in ("delete_line", "duplicate_line"):
            lines = data.split(b"\n")
            i = _at(op[1], len(lines))
            if kind == "delete_line":
                del lines[i]
            else:
                lines.insert(i, lines[i])
            data = b"\n".join(lines)
        elif kind in ("insert_token", "replace_token"):
            lines = data.split(b"\n")
            i = _at(op[1], len(lines))
            tokens = lines[i].split(b" ")
            j = _at(op[2], len(tokens))
            token = op[3].encode("utf-8")
            if kind == "insert_token":
                tokens.insert(j, token)
            else:
                tokens[j] = token
            lines[i] = b" ".join(tokens)
            data = b"\n".join(lines)
        elif kind == "encode":
            text = data.decode("utf-8", errors="replace")
            if op[1] in ("latin-1", "cp1252"):
                # a non-ASCII character in the first line, so that the re-encoding shows
                first, sep, rest = text.partition("\n")
                text = first + " caf\u00e9" + sep + rest
            data = text.encode(op[1], errors="replace")
        elif kind == "crlf":
            data = data.replace(b"\n", b"\r\n")
    return data


# --------------------------------------------------------------------------- JSON

_json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.sampled_from([math.nan, math.inf, -math.inf, 1e308, 0.5]),
    st.text(max_size=8),
)
json_values = st.recursive(
    _json_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=8,
)

json_mutations = st.lists(
    st.one_of(st.tuples(st.just("replace"), _frac, json_values), st.tuples(st.just("delete"), _frac)),
    min_size=1, max_size=3,
)


def _json_paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    paths = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            paths += _json_paths(value, prefix + (key,))
    elif isinstance(node, list):
        for k, value in enumerate(node):
            paths += _json_paths(value, prefix + (k,))
    return paths


def mutate_json(document: Any, ops: list[tuple]) -> Any:
    """Replace or delete one node per op (the root can be replaced, never deleted)."""
    document = json.loads(json.dumps(document))
    for op in ops:
        paths = _json_paths(document)
        path = paths[_at(op[1], len(paths))]
        if not path:
            if op[0] == "replace":
                document = op[2]
            continue
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        if op[0] == "replace":
            parent[path[-1]] = op[2]
        else:
            del parent[path[-1]]
    return document


# --------------------------------------------------------------------------- HDF5

_h5_values = st.sampled_from(["string", "scalar", "nan-scalar", "wrong-shape", "empty", "int-matrix", "group",
                              "bytes-attr", "not-json"])
h5_mutations = st.lists(
    st.one_of(st.tuples(st.just("delete"), _frac), st.tuples(st.just("replace"), _frac, _h5_values)),
    min_size=1, max_size=2,
)


def _replacement(kind: str) -> Any:
    return {
        "string": np.bytes_(b"abc"),
        "scalar": np.float64(3.0),
        "nan-scalar": np.float64(np.nan),
        "wrong-shape": np.arange(7, dtype=np.float64).reshape(7, 1),
        "empty": np.zeros((0,), dtype=np.float64),
        "int-matrix": np.arange(12, dtype=np.int64).reshape(3, 4),
        "bytes-attr": np.bytes_(b"\xff\xfe"),
        "not-json": "{not json",
    }.get(kind, np.float64(1.0))


def mutate_h5(path: Path, ops: list[tuple]) -> None:
    """Delete or replace one HDF5 object or attribute per op (in place)."""
    import h5py

    with h5py.File(path, "r+") as h5:
        for op in ops:
            targets: list[tuple[str, str | None]] = [("/", a) for a in h5.attrs]
            h5.visititems(lambda name, obj: targets.extend([(name, None)] + [(name, a) for a in obj.attrs]))
            if not targets:
                return
            name, attr = targets[_at(op[1], len(targets))]
            if name not in h5 and name != "/":
                continue
            if attr is not None:
                if op[0] == "delete":
                    del h5[name].attrs[attr]
                else:
                    h5[name].attrs[attr] = _replacement(op[2])
                continue
            if op[0] == "delete":
                del h5[name]
            elif op[2] == "group":
                del h5[name]
                h5.create_group(name)
            else:
                del h5[name]
                h5.create_dataset(name, data=_replacement(op[2]))


# --------------------------------------------------------------------------- MATLAB v5

mat5_mutations = st.lists(
    st.one_of(st.tuples(st.just("delete"), _frac),
              st.tuples(st.just("replace"), _frac, st.sampled_from(["string", "scalar", "nan", "wrong-shape",
                                                                     "empty", "transposed", "cell"]))),
    min_size=1, max_size=2,
)


def mutate_mat5(path: Path, ops: list[tuple]) -> None:
    """Delete or replace one variable of a MATLAB v5 file (rewritten with scipy)."""
    from scipy.io import loadmat, savemat

    mat = {k: v for k, v in loadmat(str(path)).items() if not k.startswith("__")}
    for op in ops:
        names = sorted(mat)
        if not names:
            break
        name = names[_at(op[1], len(names))]
        if op[0] == "delete":
            del mat[name]
            continue
        value = np.asarray(mat[name])
        mat[name] = {
            "string": "abc",
            "scalar": 1.5,
            "nan": np.full(value.shape, np.nan),
            "wrong-shape": np.zeros((2, 5)),
            "empty": np.zeros((0, 0)),
            "transposed": value.T,
            "cell": np.array([np.zeros(2), "x"], dtype=object),
        }[op[2]]
    savemat(str(path), mat)
