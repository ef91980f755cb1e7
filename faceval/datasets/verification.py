"""Check a local copy of a dataset against its manifest (``faceval datasets verify``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faceval.datasets.manifest import landmarks_digest, load_manifest, manifest_sha256, sha256_file
from faceval.datasets.registry import dataset_info
from faceval.errors import InputError


@dataclass
class VerifyReport:
    """Outcome of :func:`verify_dataset`: ``ok`` when complete and matching."""

    dataset: str
    data_root: str | None
    manifest_sha256: str
    counts: dict[str, dict[str, int | None]] = field(default_factory=dict)
    files_checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "data_root": self.data_root, "manifest_sha256": self.manifest_sha256,
                "counts": self.counts, "files_checked": self.files_checked, "problems": list(self.problems),
                "ok": self.ok}


def verify_dataset(name: str, data_root: Path | str | None) -> VerifyReport:
    """Load every split (non-strict), compare counts, hash files and landmark digests.

    Every warning of the load (fewer samples than the manifest, missing images, attribute-list
    differences) and every missing or differing file becomes a problem.
    """
    from faceval.datasets import NO_ROOT, load, resolve_data_root
    from faceval.datasets.sample import sample_dir

    info = dataset_info(name)
    manifest = load_manifest(name)
    root = resolve_data_root(data_root)
    if info.needs_data_root and root is None:
        raise InputError(NO_ROOT)
    report = VerifyReport(dataset=name, data_root=str(root) if root else None, manifest_sha256=manifest_sha256(name))
    base = sample_dir() if name == "sample" else Path(root) / name  # type: ignore[arg-type]
    for entry in manifest.get("files", []):
        path = base / entry["path"]
        if not path.is_file():
            report.problems.append(f"missing file: {path}")
            continue
        if entry.get("sha256"):
            report.files_checked += 1
            if sha256_file(path) != entry["sha256"]:
                report.problems.append(f"sha256 differs from the manifest: {path}")
    splits = list(info.splits)
    try:
        ann = load(f"{name}:{splits[0]}", root) if len(splits) == 1 else _load_all(name, root, splits)
    except InputError as exc:
        report.problems.append(str(exc))
        return report
    for split in splits:
        found = len(ann.splits.get(split, ()))
        report.counts[split] = {"found": found, "expected": info.splits[split].get("count")}
    report.problems.extend(ann.warnings)
    for split, entry in manifest.get("landmark_digests", {}).items():
        idx = ann.splits.get(split)
        if idx is None or not entry.get("sha256") or len(idx) != info.splits[split].get("count"):
            continue  # an incomplete split is already reported by its count
        report.files_checked += 1
        digest = landmarks_digest([ann.sample_ids[i] for i in idx], ann.landmarks[idx])
        if digest != entry["sha256"]:
            report.problems.append(f"{name}:{split}: landmarks differ from the manifest's digest")
    return report


def _load_all(name: str, root: Path | None, splits: list[str]):  # type: ignore[no-untyped-def]
    """Load every split of a dataset at once (the registry's selection mechanism, bypassed)."""
    from faceval.datasets import _restrict_to_splits
    from faceval.datasets.registry import loader_module

    manifest = load_manifest(name)
    if root is None or not Path(root).is_dir():
        raise InputError("data root is not a folder", path=root)
    return _restrict_to_splits(loader_module(name).load(Path(root), tuple(splits), strict=False, manifest=manifest))
