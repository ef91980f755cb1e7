"""Pose sidecar CSV: ``sample_id,yaw,pitch,roll`` in degrees (header line required).

Used for datasets without pose labels (300W, WFLW): papers use pseudo ground truth from another
model, and faceval records the file it came from.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from faceval.errors import InputError
from faceval.io.text import read_text

HEADER = ("sample_id", "yaw", "pitch", "roll")


def read_pose_csv(path: Path | str) -> tuple[list[str], np.ndarray]:
    """Return the sample ids and an ``(N, 3)`` float64 array of yaw, pitch, roll degrees."""
    path = Path(path)
    text = read_text(path, "pose CSV")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", path=path, line=reader.line_num) from None
    numbered = [(i + 1, [c.strip() for c in row]) for i, row in enumerate(rows) if any(c.strip() for c in row)]
    if not numbered:
        raise InputError(f"empty pose CSV: expected a header '{','.join(HEADER)}' and one row per sample",
                         path=path, line=1)
    number, header = numbered[0]
    if tuple(h.lower() for h in header) != HEADER:
        raise InputError(f"expected the header '{','.join(HEADER)}', found '{_one_line(','.join(header))}'",
                         path=path, line=number)
    ids: list[str] = []
    values = np.empty((len(numbered) - 1, 3))
    seen: dict[str, int] = {}
    for k, (number, row) in enumerate(numbered[1:]):
        if len(row) != 4:
            raise InputError(f"expected 4 columns (sample_id, yaw, pitch, roll), found {len(row)}",
                             path=path, line=number)
        if row[0] in seen:
            raise InputError(f"duplicate sample id '{_one_line(row[0])}' (first on line {seen[row[0]]})", path=path, line=number)
        seen[row[0]] = number
        try:
            values[k] = [float(v) for v in row[1:]]
        except ValueError:
            raise InputError(f"expected numeric yaw, pitch, roll in degrees, found '{_one_line(','.join(row[1:]))}'",
                             path=path, line=number) from None
        ids.append(row[0])
    return ids, values


def _one_line(text: str, width: int = 60) -> str:
    """Text from a (possibly quoted, multi-line) CSV field as one short line for a message."""
    if not text.isprintable():
        text = text.encode("unicode_escape").decode("ascii")
    return text[:width]


def write_pose_csv(path: Path | str, sample_ids: list[str], poses: np.ndarray) -> None:
    """Write a pose sidecar CSV (degrees yaw, pitch, roll)."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for sid, (yaw, pitch, roll) in zip(sample_ids, np.asarray(poses, dtype=np.float64)):
            writer.writerow([sid, repr(float(yaw)), repr(float(pitch)), repr(float(roll))])
