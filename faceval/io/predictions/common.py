"""The typed values the prediction readers hand on, and the helpers their messages share."""

from __future__ import annotations

import tokenize
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

FORMATS = ("csv", "npy", "npz", "json", "h5")
POSE_COLUMNS = ("yaw", "pitch", "roll")

#: what numpy, zipfile and h5py raise on damaged files (turned into InputError naming the file)
DAMAGED = (ValueError, TypeError, KeyError, IndexError, AttributeError, OSError, EOFError, RuntimeError,
           MemoryError, SyntaxError, tokenize.TokenError, zipfile.BadZipFile, zlib.error)


def show(value: object, width: int = 40) -> str:
    """A sample id as one short line for messages (control characters escaped, long ids cut)."""
    text = str(value)
    if not text.isprintable():
        text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= width else text[: width - 3] + "..."


def first_line(exc: BaseException) -> str:
    """An exception's first line for a one-line message (its type when it has no text)."""
    text = str(exc).strip()
    return show(text.splitlines()[0], 80) if text else type(exc).__name__


@dataclass(frozen=True)
class PredictionArrays:
    """Predictions held in memory (the Python API): ``landmarks`` ``(N, K, 2)`` (or ``(N, 2K)``).

    Without ``sample_ids`` the rows are in the dataset's canonical order; ``pose`` is ``(N, 3)``
    yaw, pitch, roll degrees or None.
    """

    landmarks: Any
    sample_ids: Sequence[str] | None = None
    pose: Any = None


@dataclass
class RawPredictions:
    """Predictions as a file holds them, before they are aligned with a dataset.

    ``ids`` is None for files in canonical order (NPY, NPZ without ids); ``image_paths`` is True
    when the ids are image paths from another tool (SPIGA) that still need resolving. ``owned``:
    the arrays were made by the reader (nothing else holds them), so later steps may keep them
    rather than copy.
    """

    ids: list[str] | None
    landmarks: np.ndarray
    pose: np.ndarray | None
    format: str
    image_paths: bool = False
    owned: bool = True


@dataclass
class LoadedPredictions:
    """Predictions in dataset order: ``landmarks`` (N, K, 2) NaN where missing, ``pose`` (N, 3) or None.

    Counts of the rows that were left out: ``outside`` (samples of the dataset outside the
    selection), ``absent`` (samples of the dataset whose files this data root lacks) and
    ``ignored`` (ids the dataset does not know, dropped under ``ignore_extra``). ``owned``: see
    :class:`RawPredictions`.
    """

    landmarks: np.ndarray
    pose: np.ndarray | None
    present: np.ndarray
    format: str
    ignored: int = 0
    outside: int = 0
    absent: int = 0
    owned: bool = True

    @property
    def missing(self) -> int:
        return int((~self.present).sum())
