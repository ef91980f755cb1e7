"""Cross-split bins: the splits whose per-bin means a metric averages (3DDFA's yaw bins).

AFLW2000-3D as 3DDFA reports it: three yaw bins ``|yaw| <= 30``, ``(30, 60]``, ``> 60`` (yaw from
the dataset's ``Pose_Para``), given as the splits ``aflw2000:yaw0-30``, ``aflw2000:yaw30-60``,
``aflw2000:yaw60-90``, and the metric ``nme_binmean`` = the mean of the three bin means
(3DDFA ``benchmark_aflw2000.py``: ``mean([mean(nme[bin_1]), mean(nme[bin_2]), mean(nme[bin_3])])``).

A run has its bins when it holds every bin split of its dataset; then each image of the run gets
the index of the bin split holding it (-1: none), and any split whose images cover every bin
(``all``, ``test``) shows ``nme_binmean``. A run holding only some bin splits is *partial*:
:func:`bin_coverage` says which are missing, and ``nme_binmean`` is refused there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from faceval.errors import InputError

#: dataset -> its bin splits, in order.
BIN_SPLITS: dict[str, tuple[str, ...]] = {"aflw2000": ("yaw0-30", "yaw30-60", "yaw60-90")}


@dataclass(frozen=True)
class BinCoverage:
    """Which bin splits of a dataset a run holds (``names`` empty: the dataset has no bins)."""

    dataset: str
    names: tuple[str, ...]
    present: tuple[str, ...]

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(n for n in self.names if n not in self.present)

    @property
    def complete(self) -> bool:
        """True when the dataset has bins and the run holds all of them."""
        return bool(self.names) and not self.missing

    @property
    def partial(self) -> bool:
        """True when the run holds some bin splits but not all."""
        return bool(self.present) and bool(self.missing)

    def describe_missing(self) -> str:
        """``partial: the run lacks aflw2000:yaw60-90`` (for messages)."""
        return "partial: the run lacks " + ", ".join(f"{self.dataset}:{n}" for n in self.missing)


def bin_coverage(dataset: str, splits: Mapping[str, object]) -> BinCoverage:
    """The bin splits of ``dataset`` and those among ``splits``."""
    names = BIN_SPLITS.get(dataset, ())
    return BinCoverage(dataset, names, tuple(n for n in names if n in splits))


def bin_index(dataset: str, splits: Mapping[str, np.ndarray], n: int) -> np.ndarray | None:
    """``(n,)`` int64: the bin of each image of a run (-1: in no bin); None without all bins.

    Raises:
        InputError: an image in two bin splits (the bins must not overlap).
    """
    coverage = bin_coverage(dataset, splits)
    if not coverage.complete:
        return None
    out = np.full(n, -1, dtype=np.int64)
    for b, name in enumerate(coverage.names):
        idx = np.asarray(splits[name], dtype=np.int64)
        if (out[idx] >= 0).any():
            raise InputError(f"the bin splits of {dataset} overlap: an image of {name} is in another bin too")
        out[idx] = b
    return out


def mean_of_bin_means_rows(rows: np.ndarray) -> np.ndarray:
    """``nme_binmean`` of each row of ``(B, n, 3)`` = (NME, bin index, number of bins) -> ``(B,)``.

    ``(1/B) sum_b mean_{i in bin b, NME_i finite} NME_i``; a bin whose images all failed has
    mean inf, a bin without images (a resample can lose one) NaN.
    """
    from faceval.metrics.nme import dataset_nme

    if rows.shape[1] == 0:
        return np.full(rows.shape[0], np.nan)
    n_bins = int(rows[0, 0, 2])
    out = np.empty(rows.shape[0])
    for r, row in enumerate(rows):
        out[r] = float(np.mean([dataset_nme(row[row[:, 1] == b, 0]) for b in range(n_bins)]))
    return out
