"""Which columns the paper layout shows by default: a table a page can hold.

Following the ASMNet paper's tables (and most landmark papers): NME on every split shown, and
FR@T and AUC@T only on the dataset's main split (300W: Full, or Private; WFLW, COFW,
AFLW2000-3D: Test).  300W shows Common, Challenging and Full (not the HELEN and LFPW parts of
Common) unless ``--splits`` names others.  With ``--metrics`` every split gets every metric
listed; with ``--splits`` the splits are exactly those.

+------------------+--------------------------------------+----------------------+
| dataset          | splits shown (default)               | FR@T, AUC@T on       |
+==================+======================================+======================+
| 300W             | Common, Challenging, Full (Private)  | Full (Private)       |
| WFLW             | Test, Pose, ..., Blur (all of run's) | Test                 |
| COFW, AFLW2000-3D| the run's splits                     | Test                 |
+------------------+--------------------------------------+----------------------+

A dataset whose runs have none of its paper splits shows all of them; one with no main split
shown gets every metric on every split.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

#: Splits of the default paper table, per dataset (only those the runs have, in run order).
PAPER_SPLITS: dict[str, tuple[str, ...]] = {
    "300w": ("common", "challenging", "full", "private"),
}

#: The split that carries FR and AUC in the default paper table, per dataset.
MAIN_SPLITS: dict[str, tuple[str, ...]] = {
    "300w": ("full", "private"),
    "wflw": ("test",),
    "cofw": ("test",),
    "aflw2000": ("test",),
    "sample": ("all",),
}

#: Metric families shown on every split of the default table (the others: main split only).
_EVERY_SPLIT_FAMILIES = ("nme",)


@dataclass(frozen=True)
class Column:
    """One value column of the paper layout (machine ids; display names come from ``Names``)."""

    dataset: str
    split: str
    metric: str


def paper_splits(order: dict[str, list[str]], explicit: bool) -> dict[str, list[str]]:
    """Restrict each dataset's splits to its paper splits (unless ``--splits`` was given)."""
    if explicit:
        return order
    out: dict[str, list[str]] = {}
    for dataset, names in order.items():
        wanted = PAPER_SPLITS.get(dataset)
        kept = [s for s in names if wanted is None or s in wanted]
        out[dataset] = kept or list(names)
    return out


def paper_columns(order: dict[str, list[str]], metrics: Sequence[str], explicit_metrics: bool) -> list[Column]:
    """The columns: every metric on every split with ``--metrics``; else NME everywhere, FR/AUC on the main split."""
    from faceval.metrics.registry import parse_metric

    columns: list[Column] = []
    for dataset, names in order.items():
        main = [s for s in names if s in MAIN_SPLITS.get(dataset, ())]
        for split in names:
            for metric in metrics:
                every = explicit_metrics or not main or parse_metric(metric).family in _EVERY_SPLIT_FAMILIES
                if every or split in main:
                    columns.append(Column(dataset, split, metric))
    return columns
