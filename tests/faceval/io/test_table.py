"""The piecewise numeric-table reader behind the WFLW lists and prediction CSVs (faceval.io.table).

Expected values come from numpy arrays written with ``repr`` floats and from the csv module, never
from the reader under test; small piece sizes force many pieces so that every boundary case runs.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest

from faceval.io import table
from faceval.io.table import TableSpec, read_table

BOOL = re.compile(rb'(?:^|,)[ \t]*"?(?:true|false)"?[ \t]*(?=,|\r?$)', re.IGNORECASE | re.MULTILINE)


def _spec(ncols: int, **kw) -> TableSpec:
    return TableSpec(ncols=ncols, text_col=0, sep=",", header_lines=1,
                     blocks=kw.pop("blocks", ((0, ncols - 1),)), boolean=BOOL, **kw)


def _write(path: Path, ids: list[str], values: np.ndarray, blank_every: int = 0) -> Path:
    lines = ["id," + ",".join(f"v{j}" for j in range(values.shape[1]))]
    for i, (sid, row) in enumerate(zip(ids, values)):
        lines.append(sid + "," + ",".join(repr(float(v)) for v in row))
        if blank_every and i % blank_every == 0:
            lines.append("")
    path.write_text("\n".join(lines) + "\n")
    return path


def _csv_module(path: Path) -> tuple[list[str], np.ndarray]:
    """The independent reading: the csv module and float()."""
    with open(path, newline="") as handle:
        rows = [r for r in csv.reader(handle)][1:]
    rows = [r for r in rows if r and any(x.strip() for x in r)]
    return [r[0] for r in rows], np.array([[float(x) for x in r[1:]] for r in rows])


@pytest.mark.parametrize("piece", [64, 1000, 1 << 22])
def test_pieces_give_the_csv_modules_rows_in_order(tmp_path, monkeypatch, piece):
    monkeypatch.setattr(table, "PIECE_BYTES", piece)
    rng = np.random.default_rng(0)
    values = rng.normal(0, 100, (300, 7))
    values[5, 2] = np.nan
    values[17, 0] = np.inf
    values[18, 6] = -np.inf
    ids = [f"img/{i}.jpg" for i in range(300)]
    path = _write(tmp_path / "t.csv", ids, values, blank_every=37)
    got = read_table(path, _spec(8, blocks=((0, 4), (4, 7)), na_values=("nan",), blank_lines_ok=True))
    want_ids, want = _csv_module(path)
    assert got is not None and got.rows == 300 and got.texts == want_ids
    np.testing.assert_array_equal(np.concatenate(got.blocks, axis=1), want)  # NaN where NaN, inf where inf
    assert got.any_nan


def test_nan_and_inf_are_read_without_the_strict_checker(tmp_path, monkeypatch):
    """A prediction CSV with failed rows (nan, NaN, -inf, INF) stays on the vectorised path."""
    from faceval.io.predictions import csv_format

    def fail(*args, **kwargs):
        raise AssertionError("the strict checker was called")

    monkeypatch.setattr(csv_format, "read_csv_strict", fail)
    path = tmp_path / "p.csv"
    path.write_text("sample_id,x0,y0,x1,y1\na,1,2,3,4\nb,nan,NaN,-inf,INF\nc,+nan,-NAN,1e3,.5\n")
    raw = csv_format.read_csv(path)
    assert raw.ids == ["a", "b", "c"]
    assert raw.landmarks.shape == (3, 2, 2)
    assert np.isnan(raw.landmarks[1, 0]).all() and raw.landmarks[1, 1].tolist() == [-np.inf, np.inf]
    assert np.isnan(raw.landmarks[2, 0]).all() and raw.landmarks[2, 1].tolist() == [1000.0, 0.5]


@pytest.mark.parametrize("row, message", [
    ("b,1,,3,4", r"p\.csv:3: column 3 \('y0'\): expected a number .* found ''"),
    ("b,1,2,3", r"p\.csv:3: expected 5 fields as in the header, found 4"),
    ("b,1,nan,3", r"p\.csv:3: expected 5 fields as in the header, found 4"),
    ("b,1,2,3,4,5", r"p\.csv:3: expected 5 fields as in the header, found 6"),
    ("b,1,true,3,4", r"p\.csv:3: column 3 \('y0'\): expected a number .* found 'true'"),
    ("b,1,2,1_000,4", r"p\.csv:3: column 4 \('x1'\): expected a number .* found '1_000'"),
    ("b,1,2,3,\x0c4", r"p\.csv:3: column 5 \('y1'\): expected a number"),
])
def test_bad_fields_still_name_line_and_column(tmp_path, row, message):
    from faceval.errors import InputError
    from faceval.io.predictions.csv_format import read_csv

    path = tmp_path / "p.csv"
    path.write_text(f"sample_id,x0,y0,x1,y1\na,1,2,3,4\n{row}\nc,1,2,3,4\n")
    with pytest.raises(InputError, match=message):
        read_csv(path)


def test_a_short_row_is_never_read_as_nan(tmp_path, monkeypatch):
    """Short rows (which some pandas versions fill with NaN) are sent to the checker, in any piece."""
    monkeypatch.setattr(table, "PIECE_BYTES", 32)
    path = tmp_path / "t.csv"
    path.write_text("id,a,b\n" + "x,1,nan\n" * 20 + "y,1\n" + "z,2,3\n" * 20)
    assert read_table(path, _spec(3, na_values=("nan",), blank_lines_ok=True)) is None
    assert not table._fields_complete(b'"a,b",1\n', _spec(3), 1)  # quoted commas are not separators
    assert table._fields_complete(b'"a,b",1,2\n', _spec(3), 1)


def test_declines_what_the_checker_must_see(tmp_path):
    spec = _spec(3, na_values=("nan",))
    cases = {"bool": "id,a,b\nx,1,TRUE\n", "nan_not_allowed": "id,a,b\nx,1,2\n", "nul": "id,a,b\nx,1,\x002\n",
             "blank_needs_lines": "id,a,b\nx,1,2\n\ny,3,4\n", "empty": "", "header_only": "id,a,b\n"}
    for name, text in cases.items():
        path = tmp_path / f"{name}.csv"
        path.write_text(text)
        use = _spec(3) if name == "nan_not_allowed" else spec
        got = read_table(path, use)
        if name == "nan_not_allowed":
            assert got is not None and not got.any_nan  # plain numbers pass
            path.write_text("id,a,b\nx,1,nan\n")
            assert read_table(path, use) is None  # NaN without NaN tokens allowed: the checker decides
        else:
            assert got is None, name


def test_a_bad_spec_is_refused():
    with pytest.raises(ValueError):
        _spec(4, blocks=((0, 2),))
