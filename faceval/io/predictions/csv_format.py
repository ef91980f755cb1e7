"""Prediction CSV: header ``sample_id,x0,y0,...`` then optional ``yaw,pitch,roll`` columns.

Numbers are plain ASCII decimal or scientific (``12``, ``-3.5``, ``1e-3``), or ``nan``/``inf`` in
any letter case, with an optional sign, for a failed prediction; an empty field, ``1_000``,
non-ASCII digits, ``true`` and anything else are an error naming the file, line and column.

Read vectorised in pieces with pandas' C parser (:mod:`faceval.io.table`), NaN and inf fields
included; a file that reader does not take as plainly numeric (an empty field, a boolean-looking
token, a NaN not written as one, a quoted field across a piece boundary, any parser error) is
re-read by the strict checker, which either accepts it or names the first offending field.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceval.errors import InputError
from faceval.io.predictions.common import POSE_COLUMNS, RawPredictions, show
from faceval.io.table import TableSpec, read_table

#: a number field of a prediction CSV: plain ASCII decimal or scientific, or nan/inf (a failure)
NUMBER = re.compile(r"[ \t]*(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|inf|infinity))[ \t]*",
                    re.ASCII | re.IGNORECASE)
#: fields pandas' C parser would read as a number although they are not one (booleans)
_BOOLEAN_FIELD = re.compile(rb'(?:^|,)[ \t]*"?(?:true|false)"?[ \t]*(?=,|\r?$)', re.IGNORECASE | re.MULTILINE)
#: every spelling of NaN that :data:`NUMBER` accepts (pandas' C parser reads inf in any case itself)
NAN_TOKENS = tuple(sign + "".join(letters) for sign in ("", "+", "-")
                   for letters in itertools.product("nN", "aA", "nN"))


@dataclass(frozen=True)
class CsvHeader:
    """The checked header: column names, landmark count and whether pose columns end it."""

    names: list[str]
    points: int
    has_pose: bool


def csv_header(first_line: str, source: Path) -> CsvHeader:
    """Check the header line (``sample_id,x0,y0,...[,yaw,pitch,roll]``); errors name line 1."""
    try:
        rows = list(csv.reader([first_line]))
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", path=source, line=1) from None
    header = [h.strip() for h in rows[0]] if rows else []
    if not header or not any(header):
        raise InputError("empty file; expected a header 'sample_id,x0,y0,...'", path=source, line=1)
    if header[0] != "sample_id":
        raise InputError(f"expected the header to start with 'sample_id', found '{show(header[0])}'", path=source, line=1)
    has_pose = tuple(header[-3:]) == POSE_COLUMNS
    named_pose = [h for h in header if h in POSE_COLUMNS]
    if named_pose and not has_pose:
        raise InputError(f"expected the pose columns 'yaw,pitch,roll' (three values) at the end of the header, "
                         f"found '{','.join(named_pose)}'", path=source, line=1)
    coord_cols = header[1 : len(header) - (3 if has_pose else 0)]
    if not coord_cols or len(coord_cols) % 2:
        raise InputError(f"expected pairs of coordinate columns x0,y0,x1,y1,...; found {len(coord_cols)} columns", path=source, line=1)
    expected = [f"{axis}{k}" for k in range(len(coord_cols) // 2) for axis in ("x", "y")]
    if coord_cols != expected:
        bad = next(i for i, (a, b) in enumerate(zip(coord_cols, expected)) if a != b)
        raise InputError(f"column {bad + 2}: expected '{expected[bad]}', found '{show(coord_cols[bad])}'", path=source, line=1)
    return CsvHeader(header, len(coord_cols) // 2, has_pose)


def read_header(source: Path) -> CsvHeader:
    """Read and check the first line of a prediction CSV."""
    try:
        with open(source, "rb") as handle:
            first = handle.readline()
    except OSError as exc:
        raise InputError(f"cannot read the prediction file: {exc.strerror or exc}", path=source) from None
    try:
        first_line = first.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text; expected a CSV file", path=source) from None
    return csv_header(first_line, source)


def read_csv(source: Path) -> RawPredictions:
    """A prediction CSV: the vectorised reader, or the strict checker where that one declines."""
    header = read_header(source)
    k = header.points
    fast = read_csv_fast(source, header)
    if fast is not None:
        return fast
    ids, values = read_csv_strict(source, header)
    lms = values[:, : 2 * k].reshape(len(ids), k, 2)
    pose = values[:, 2 * k :] if header.has_pose else None
    return RawPredictions(ids, lms, pose, "csv")


def read_csv_fast(source: Path, header: CsvHeader) -> RawPredictions | None:
    """Vectorised read (:func:`faceval.io.table.read_table`); None whenever the strict checker must decide."""
    k = header.points
    blocks = ((0, 2 * k), (2 * k, 2 * k + 3)) if header.has_pose else ((0, 2 * k),)
    spec = TableSpec(ncols=len(header.names), text_col=0, sep=",", header_lines=1, blocks=blocks,
                     boolean=_BOOLEAN_FIELD, na_values=NAN_TOKENS, blank_lines_ok=True)
    table = read_table(source, spec)
    if table is None or not all(isinstance(s, str) for s in table.texts):
        return None
    n = table.rows
    lms = table.blocks[0].reshape(n, k, 2)
    pose = table.blocks[1] if header.has_pose else None
    return RawPredictions([s.strip() for s in table.texts], lms, pose, "csv")


def read_csv_strict(source: Path, header: CsvHeader) -> tuple[list[str], np.ndarray]:
    """Field-by-field reader: accepts exactly :data:`NUMBER` fields, names the first bad one."""
    try:
        text = source.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text; expected a CSV file", path=source) from None
    except OSError as exc:
        raise InputError(f"cannot read the prediction file: {exc.strerror or exc}", path=source) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    names = header.names
    ids: list[str] = []
    rows: list[list[float]] = []
    try:
        next(reader, None)
        for row in reader:
            line_no = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(names):
                raise InputError(f"expected {len(names)} fields as in the header, found {len(row)}", path=source,
                                 line=line_no)
            for j, token in enumerate(row[1:], start=1):
                if not NUMBER.fullmatch(token):
                    raise InputError(f"column {j + 1} ('{show(names[j])}'): expected a number "
                                     f"(plain ASCII decimal or scientific, or nan), found '{show(token)}'",
                                     path=source, line=line_no)
            ids.append(row[0].strip())
            rows.append([float(token) for token in row[1:]])
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", path=source, line=reader.line_num) from None
    values = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(names) - 1)
    return ids, values
