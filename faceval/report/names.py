"""Names as papers print them, ``--rename``, and unique run labels.

Display names are for the paper formats (LaTeX, Markdown, HTML) and plots: datasets as "300W",
"WFLW", "COFW", "AFLW2000-3D"; splits as "Common", "Challenging", "Full", "Pose", "Expression",
"Illumination", "Make-up", "Occlusion", "Blur", "Private", "Test", "HELEN", "LFPW", "iBUG", ...
Machine formats (CSV, JSON) keep the ids (``300w``, ``largepose``) and add the display name
beside them.  ``--rename old=new`` changes the display name of a split, a dataset or a model
(row label); machine ids never change.

:func:`unique_labels` is the one rule that makes labels unique, used by the report tables and
the CED plots alike: a second run with the same label on the same dataset is ``LABEL#2``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from faceval.errors import InputError, closest
from faceval.runs.data import RunData

#: Dataset id -> the name papers print.
DATASET_DISPLAY: dict[str, str] = {
    "300w": "300W",
    "wflw": "WFLW",
    "cofw": "COFW",
    "aflw2000": "AFLW2000-3D",
    "sample": "sample",
}

#: Split id -> the name papers print.
SPLIT_DISPLAY: dict[str, str] = {
    "common": "Common",
    "challenging": "Challenging",
    "full": "Full",
    "private": "Private",
    "indoor": "Indoor",
    "outdoor": "Outdoor",
    "helen": "HELEN",
    "lfpw": "LFPW",
    "ibug": "iBUG",
    "afw": "AFW",
    "test": "Test",
    "train": "Train",
    "all": "All",
    "largepose": "Pose",
    "expression": "Expression",
    "illumination": "Illumination",
    "makeup": "Make-up",
    "occlusion": "Occlusion",
    "blur": "Blur",
}


def parse_renames(items: Iterable[str] | None) -> dict[str, str]:
    """``["old=new", ...]`` (``--rename``, repeatable) -> ``{old: new}``.

    ``old`` is a split id or display name, a dataset id or display name, or a model label;
    ``new`` is any non-empty text.  A malformed item raises :class:`InputError`.
    """
    out: dict[str, str] = {}
    for item in items or ():
        old, sep, new = str(item).partition("=")
        old, new = old.strip(), new.strip()
        if not sep or not old or not new:
            raise InputError(f"--rename '{item}': expected OLD=NEW, e.g. 'full=Fullset' or 'SPIGA_noisy=SPIGA (noisy)'")
        if old in out and out[old] != new:
            raise InputError(f"--rename '{item}': '{old}' is already renamed to '{out[old]}'")
        out[old] = new
    return out


def annotation_file_name(run: RunData) -> str:
    """The annotation file a ``json:PATH[:SPLIT]`` run was scored on, by name (``test.json``), from
    the ``dataset_spec`` of its provenance; ``unknown file`` when the run does not say."""
    spec = str(run.provenance.get("dataset_spec") or "")
    name = spec.split(":", 1)[1].rsplit(":", 1)[0] if spec.count(":") else spec
    return name.replace("\\", "/").rsplit("/", 1)[-1] or "unknown file"


def caption_datasets(datasets: Sequence[str], runs: Sequence[RunData], names: "Names") -> list[str]:
    """The names a caption gives ``datasets`` (ids, in order): display names, and for ``json`` (every
    ``json:PATH`` run is dataset "json") the stem of each annotation file of ``runs`` (``test``)."""
    out: list[str] = []
    for dataset in datasets:
        if dataset != "json":
            texts = [names.dataset(dataset)]
        else:
            files = [annotation_file_name(r) for r in runs if r.dataset == "json"]
            texts = [names.dataset(f[:-5] if f.lower().endswith(".json") else f) for f in files]
        out += [t for t in texts if t not in out]
    return out


@dataclass(frozen=True)
class Names:
    """Display names of one report: the defaults plus the user's ``--rename`` map."""

    renames: dict[str, str] = field(default_factory=dict)

    def dataset(self, dataset: str) -> str:
        default = DATASET_DISPLAY.get(dataset, dataset)
        return self.renames.get(dataset, self.renames.get(default, default))

    def split(self, split: str) -> str:
        default = SPLIT_DISPLAY.get(split, split)
        return self.renames.get(split, self.renames.get(default, default))

    def label(self, label: str) -> str:
        return self.renames.get(label, label)

    def check(self, runs: Sequence[RunData], labels: Sequence[str] = ()) -> None:
        """Refuse a ``--rename`` whose old name matches nothing in the runs (a typo)."""
        known: list[str] = []
        for run in runs:
            known += [run.label, run.dataset, DATASET_DISPLAY.get(run.dataset, run.dataset)]
            for s in run.splits:
                known += [s, SPLIT_DISPLAY.get(s, s)]
        known += list(labels)
        known = list(dict.fromkeys(known))
        for old in self.renames:
            if old not in known:
                raise InputError(f"--rename '{old}={self.renames[old]}': no split, dataset or model is called "
                                 f"'{old}'{closest(old, known)}")


@dataclass(frozen=True)
class UniqueLabels:
    """Labels made unique (one per run, in run order) and the warnings that say so."""

    labels: list[str]
    warnings: list[str]


def unique_labels(runs: Sequence[RunData]) -> UniqueLabels:
    """One label per run: a repeated (label, dataset) becomes ``label#2`` (``#3``, ...).

    Runs of one label on different datasets keep the label (they share a table row).  The
    number is the smallest ``n >= 2`` whose ``label#n`` has no run on that dataset yet.
    """
    taken: dict[str, set[str]] = {}
    labels: list[str] = []
    warnings: list[str] = []
    for run in runs:
        label = run.label
        if run.dataset in taken.get(label, set()):
            n = 2
            while run.dataset in taken.get(f"{label}#{n}", set()):
                n += 1
            warnings.append(f"two runs of '{label}' on {run.dataset}; the second is shown as '{label}#{n}'")
            label = f"{label}#{n}"
        taken.setdefault(label, set()).add(run.dataset)
        labels.append(label)
    return UniqueLabels(labels, warnings)
