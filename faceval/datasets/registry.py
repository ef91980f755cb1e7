"""The dataset registry: name -> loader module, plus spec parsing (``NAME`` or ``NAME:SPLIT``).

Dataset facts (splits, counts, default selection, scheme) live in the manifests; this module maps
names to the code that reads each layout. Loader modules are imported only when a dataset is
loaded, so listing datasets imports neither numpy-heavy readers nor scipy/h5py.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from faceval.datasets.manifest import DATASET_NAMES, load_manifest
from faceval.errors import InputError, closest

#: dataset name -> module implementing ``load(root, splits, *, strict, manifest) -> Annotations``
LOADERS: dict[str, str] = {
    "300w": "faceval.datasets.w300",
    "wflw": "faceval.datasets.wflw",
    "cofw": "faceval.datasets.cofw",
    "cofw68": "faceval.datasets.cofw68",
    "json": "faceval.datasets.annotation_json",
    "aflw2000": "faceval.datasets.aflw2000",
    "sample": "faceval.datasets.sample",
}


@dataclass(frozen=True)
class DatasetInfo:
    """What faceval knows about one dataset (from its manifest)."""

    name: str
    description: str
    scheme: str
    splits: dict[str, dict[str, Any]]
    default_splits: tuple[str, ...]
    selections: dict[str, tuple[str, ...]]
    needs_data_root: bool
    layout: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary (used by ``faceval datasets list/info``)."""
        return {
            "name": self.name,
            "description": self.description,
            "scheme": self.scheme,
            "splits": {k: {"count": v.get("count"), "description": v.get("description", "")} for k, v in self.splits.items()},
            "default_splits": list(self.default_splits),
            "selections": {k: list(v) for k, v in self.selections.items()},
            "needs_data_root": self.needs_data_root,
            "layout": self.layout,
        }


def dataset_info(name: str) -> DatasetInfo:
    """Info of a registered dataset; unknown names raise InputError with the closest name."""
    if name not in LOADERS:
        raise InputError(f"unknown dataset '{name}'{closest(name, DATASET_NAMES)}; known: {', '.join(DATASET_NAMES)}")
    m = load_manifest(name)
    return DatasetInfo(
        name=name,
        description=m["description"],
        scheme=m["scheme"],
        splits=dict(m["splits"]),
        default_splits=tuple(m["default_splits"]),
        selections={k: tuple(v) for k, v in m.get("selections", {}).items()},
        needs_data_root=bool(m.get("needs_data_root", True)),
        layout=m.get("layout", ""),
    )


def loader_module(name: str) -> ModuleType:
    """Import the loader module of ``name``."""
    dataset_info(name)
    return importlib.import_module(LOADERS[name])


def parse_spec(spec: str) -> tuple[str, str | None]:
    """Split ``NAME[:SPLIT]``; the name is lower-cased (dataset names are), the split is kept."""
    name, sep, split = spec.strip().partition(":")
    name = name.strip().lower()
    if not name:
        raise InputError(f"expected a dataset as NAME or NAME:SPLIT, found '{spec}'")
    if sep and not split.strip():
        raise InputError(f"expected a split after '{name}:', found nothing (e.g. {name}:{dataset_info(name).default_splits[0]})")
    return name, (split.strip() if sep else None)


def is_json_spec(spec: str) -> bool:
    """True for ``json:PATH[:SPLIT]``, a dataset given as an annotation file (name case-insensitive)."""
    name, sep, _ = spec.strip().partition(":")
    return bool(sep) and name.strip().lower() == "json"


def resolve_splits(spec: str) -> tuple[DatasetInfo, str | None, tuple[str, ...]]:
    """Resolve a spec to (info, requested split or None, splits to load in order).

    For ``json:PATH[:SPLIT]`` the splits are known only from the file: (info, None, ()).
    """
    if is_json_spec(spec):
        return dataset_info("json"), None, ()
    name, split = parse_spec(spec)
    info = dataset_info(name)
    if split is None:
        return info, None, info.default_splits
    if split in info.selections:
        return info, split, info.selections[split]
    if split in info.splits:
        return info, split, (split,)
    choices = sorted(set(info.splits) | set(info.selections))
    raise InputError(f"unknown split '{split}' of dataset '{name}'{closest(split, choices)}; "
                     f"known: {', '.join(choices)}")
