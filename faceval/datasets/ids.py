"""Which sample ids a dataset knows, beyond the loaded selection (for ``faceval score``).

A prediction file may hold ids outside the requested selection. Three cases are told apart:

* a sample of the dataset present under this data root but in another split (AFLW2000 faces
  outside +-99 degrees, WFLW train faces, 300W train images): left out with a note;
* a sample of the dataset whose files are absent from this copy (a 300W folder holding fewer
  files than the manifest, a missing WFLW list or COFW file): left out with a note, never given a
  "did you mean" suggestion;
* an id the dataset does not know at all: an error.

Each loader module may define ``present_ids(root, manifest) -> list[str]`` (every sample under the
root, all splits, cheaply: no annotation parsing where a listing suffices), ``absent_sample(sid,
present, root, manifest) -> bool`` and ``layout_candidates(path, manifest) -> list[str]`` (ids an
image path from another tool names by the layout alone). Without ``present_ids`` every split is
loaded; without ``absent_sample`` no id counts as absent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from faceval.datasets.manifest import load_manifest
from faceval.datasets.registry import dataset_info, loader_module


@dataclass
class DatasetIds:
    """Lazily computed knowledge of one dataset's ids under one data root."""

    name: str
    root: Path | None
    _present: frozenset[str] | None = field(default=None, repr=False)

    def present(self) -> frozenset[str]:
        """Every sample id of the dataset found under the data root (all splits)."""
        if self._present is None:
            module = loader_module(self.name)
            manifest = load_manifest(self.name)
            if hasattr(module, "present_ids"):
                ids = module.present_ids(self.root, manifest)
            else:
                ids = _load_all_ids(self.name, self.root)
            self._present = frozenset(ids)
        return self._present

    def is_absent_sample(self, sample_id: str) -> bool:
        """True when ``sample_id`` is a sample of the dataset whose files this copy lacks."""
        module = loader_module(self.name)
        if not hasattr(module, "absent_sample") or sample_id in self.present():
            return False
        return bool(module.absent_sample(sample_id, self.present(), self.root, load_manifest(self.name)))

    def layout_candidates(self, path: str) -> list[str]:
        """Sample ids that an image path names by the dataset's folder layout (present or not)."""
        module = loader_module(self.name)
        if not hasattr(module, "layout_candidates"):
            return []
        return list(module.layout_candidates(path, load_manifest(self.name)))


def dataset_ids(name: str, data_root: Path | str | None) -> DatasetIds:
    """The :class:`DatasetIds` of dataset ``name`` (no work until asked)."""
    from faceval.datasets import resolve_data_root

    dataset_info(name)
    return DatasetIds(name, resolve_data_root(data_root))


def _load_all_ids(name: str, root: Path | None) -> list[str]:
    """Ids of every split, by loading them (non-strict, no images); an unreadable copy knows none."""
    from faceval.errors import InputError

    info = dataset_info(name)
    try:
        ann = loader_module(name).load(root, tuple(info.splits), strict=False, manifest=load_manifest(name),
                                       need_images=False)
    except InputError:
        return []
    return list(ann.sample_ids)
