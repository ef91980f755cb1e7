"""Vectorised reading of large numeric text tables (WFLW lists, prediction CSVs) in byte-range pieces.

A table has ``ncols`` fields per line: one text column (an image path or a sample id) and numeric
columns. The file is cut into pieces of about 4 MiB at line ends; each piece is parsed by pandas'
C parser and written straight into preallocated arrays, one per column block. Nothing holds the
whole file or a whole-table frame, so the memory this needs is the output arrays plus one piece.
One thread: parsing pieces from a buffer holds the GIL (two threads measured no faster here), and
the tokeniser's buffers freed by worker threads stay in their malloc arenas (higher peak RSS).

:func:`read_table` returns None whenever the caller's strict checker must decide, which then
either accepts the file or names the first bad field with its line: a NUL byte, a boolean-looking
token (the C parser reads ``true`` as 1.0), a vertical tab or form feed (whitespace to the C parser
only), a piece whose row count is not its line count (blank or whitespace-only lines where the
caller needs line numbers, rows the parser merged), a NaN not written as a NaN token (a short row
on pandas versions that fill it with NaN), any parser error or warning.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from dataclasses import dataclass, field

import numpy as np

#: bytes per piece: small enough to bound memory, large enough that the per-call cost is noise
PIECE_BYTES = 1 << 22


@dataclass(frozen=True)
class TableSpec:
    """How to read one table format.

    ``text_col``: index of the text column (0 or ``ncols - 1``); ``sep``: ``","`` or ``r"\\s+"``;
    ``header_lines``: lines skipped at the top; ``blocks``: ranges ``(start, stop)`` of the numeric
    columns (numbered without the text column), one output array each; ``na_values``: tokens read as
    NaN in every column (a text field spelled so becomes NaN too: the caller rejects non-string texts;
    empty: a NaN is never expected, the caller rejects non-finite values itself);
    ``blank_lines_ok``: blank lines are skipped (no line numbers needed); otherwise they send the
    file to the checker; ``boolean``: a regex matching a boolean-looking field.
    """

    ncols: int
    text_col: int
    sep: str
    header_lines: int
    blocks: tuple[tuple[int, int], ...]
    boolean: "re.Pattern[bytes]"
    na_values: tuple[str, ...] = ()
    blank_lines_ok: bool = False

    def __post_init__(self) -> None:
        covered = sorted(c for start, stop in self.blocks for c in range(start, stop))
        if covered != list(range(self.ncols - 1)) or self.text_col not in (0, self.ncols - 1):
            raise ValueError("a TableSpec's blocks cover every numeric column once; the text column is first or last")


@dataclass
class Table:
    """A parsed table: one float64 array per block, the text column, and whether any NaN was read."""

    blocks: list[np.ndarray]
    texts: list[str]
    any_nan: bool = False
    rows: int = 0


@dataclass
class _Piece:
    start: int
    stop: int
    row0: int
    rows: int
    texts: list[str] = field(default_factory=list)


class _Reject(Exception):
    """The strict checker must decide."""


def read_table(path: os.PathLike[str] | str, spec: TableSpec) -> Table | None:
    """Read ``path`` by ``spec`` (see the module docstring); None: let the strict checker decide."""
    try:
        with open(path, "rb") as handle:
            fd = handle.fileno()
            pieces = _scan(fd, os.fstat(fd).st_size, spec)
            if pieces is None:
                return None
            total = sum(p.rows for p in pieces)
            if total == 0:
                return None
            blocks = [np.empty((total, stop - start), dtype=np.float64) for start, stop in spec.blocks]
            import pandas as pd

            with warnings.catch_warnings():
                warnings.simplefilter("error", pd.errors.ParserWarning)  # extra fields: never silently dropped
                flags = [_parse(fd, p, spec, blocks) for p in pieces]
    except (_Reject, ValueError, TypeError, OSError, OverflowError, MemoryError, Warning):
        return None  # pandas' ParserError and EmptyDataError are ValueErrors; ParserWarning is raised
    texts: list[str] = []
    rows = 0
    for piece in pieces:  # pieces with blank lines hold fewer rows than lines: close the gaps
        if piece.row0 != rows:
            for out in blocks:
                out[rows: rows + piece.rows] = out[piece.row0: piece.row0 + piece.rows]
        rows += piece.rows
        texts += piece.texts
    if rows == 0:
        return None
    if rows != total:
        blocks = [out[:rows] for out in blocks]
    return Table(blocks=blocks, texts=texts, any_nan=any(flags), rows=rows)


def _scan(fd: int, size: int, spec: TableSpec) -> list[_Piece] | None:
    """Cut the file into pieces at line ends, counting rows; None on anything the checker must see."""
    if size == 0:
        return None
    pos = 0
    for _ in range(spec.header_lines):
        end = _line_end(fd, pos, size)
        if end is None:
            return None
        pos = end
    pieces: list[_Piece] = []
    rows = 0
    while pos < size:
        data = os.pread(fd, PIECE_BYTES, pos)
        if pos + len(data) < size:
            cut = data.rfind(b"\n")
            while cut < 0:  # a line longer than a piece: read on to its end
                more = os.pread(fd, PIECE_BYTES, pos + len(data))
                if not more:
                    break
                data += more
                cut = data.rfind(b"\n")
            if cut >= 0:
                data = data[: cut + 1]
        if not data:
            break
        count = _rows(data, spec)
        if count is None:
            return None
        pieces.append(_Piece(pos, pos + len(data), rows, count))
        rows += count
        pos += len(data)
    return pieces


def _line_end(fd: int, pos: int, size: int) -> int | None:
    while pos < size:
        data = os.pread(fd, 1 << 16, pos)
        cut = data.find(b"\n")
        if cut >= 0:
            return pos + cut + 1
        pos += len(data)
    return None


_SPECIAL = (b"\0", b"\x0b", b"\x0c")


def _rows(data: bytes, spec: TableSpec) -> int | None:
    """Lines in one piece (it ends at a line end, or at the end of the file); None: send to the checker.

    Blank lines are counted here as rows; :func:`_parse` finds the difference (pandas skips them).
    """
    if any(data.find(b) >= 0 for b in _SPECIAL):
        return None
    lowered = data.lower()
    if (lowered.find(b"true") >= 0 or lowered.find(b"false") >= 0) and spec.boolean.search(data):
        return None
    del lowered
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def _parse(fd: int, piece: _Piece, spec: TableSpec, blocks: list[np.ndarray]) -> bool:
    """Parse one piece into its rows of ``blocks``; True when it holds a NaN token."""
    import pandas as pd

    data = os.pread(fd, piece.stop - piece.start, piece.start)
    nnum = spec.ncols - 1
    numeric = [j for j in range(spec.ncols) if j != spec.text_col]
    na = list(spec.na_values)
    frame = pd.read_csv(
        io.BytesIO(data), sep=spec.sep, header=None, names=list(range(spec.ncols)), index_col=False,
        engine="c", encoding="utf-8-sig" if piece.start == 0 else "utf-8",
        dtype={spec.text_col: str, **{j: np.float64 for j in numeric}},
        keep_default_na=False, na_filter=bool(na), na_values=na or None,  # one list: a dict per column costs a third
        skip_blank_lines=True,
    )
    if len(frame) != piece.rows:
        if not spec.blank_lines_ok or len(frame) != sum(1 for line in data.split(b"\n") if line.strip()):
            raise _Reject()
        piece.rows = len(frame)  # blank lines, skipped: the rows of the later pieces move up
    texts = frame.pop(spec.text_col).tolist()
    values = frame.to_numpy(dtype=np.float64)
    del frame
    if values.shape != (piece.rows, nnum):
        raise _Reject()
    any_nan = bool(np.isnan(values).any())
    if any_nan:
        if not na or not _fields_complete(data, spec, piece.rows):
            raise _Reject()
    rows = slice(piece.row0, piece.row0 + piece.rows)
    for out, (start, stop) in zip(blocks, spec.blocks):
        out[rows] = values[:, start:stop]
    piece.texts = texts
    return any_nan


def _fields_complete(data: bytes, spec: TableSpec, rows: int) -> bool:
    """Every row of a ``,``-separated piece has ``ncols`` fields (no short row read as NaN)."""
    if spec.sep != ",":
        return False
    expected = rows * (spec.ncols - 1)
    if data.find(b'"') < 0:
        return data.count(b",") == expected
    raw = np.frombuffer(data, dtype=np.uint8)
    inside = (np.cumsum(raw == ord('"'), dtype=np.uint8) & 1).astype(bool)  # parity of quotes so far
    return int(np.count_nonzero((raw == ord(",")) & ~inside)) == expected
