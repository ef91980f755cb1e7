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
    splits: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "data_root": self.data_root, "manifest_sha256": self.manifest_sha256,
                "splits": list(self.splits), "counts": self.counts, "files_checked": self.files_checked, "problems": list(self.problems),
                "ok": self.ok}


def _owned_files(manifest: dict[str, Any]) -> dict[str, set[str]]:
    """Manifest file path -> the splits that need it (files no split claims belong to every split)."""
    owners: dict[str, set[str]] = {}
    for split, definition in manifest["splits"].items():
        paths = []
        if "list" in definition and "lists" in manifest:
            paths.append(manifest["lists"][definition["list"]])
        if "flag" in definition and "attribute_lists" in manifest:
            from faceval.io.wflw import ATTRIBUTE_LIST_NAMES

            paths.append(manifest["attribute_lists"].get(ATTRIBUTE_LIST_NAMES.get(definition["flag"], ""), ""))
        if "mat_files" in manifest and split in manifest["mat_files"]:
            paths.append(manifest["mat_files"][split])
        for path in paths:
            owners.setdefault(path, set()).add(split)
    return owners


def verify_dataset(name: str, data_root: Path | str | None, *, all_splits: bool = False) -> VerifyReport:
    """Check a copy against its manifest: the splits of ``name`` (``NAME`` = its default selection,
    ``NAME:SPLIT`` one split or a named selection; ``all_splits``: every split).

    Per split: the sample count, and (for datasets with image files) how many samples have their
    image: a split whose annotations are all there but whose images are not is not complete.
    Files of the manifest needed by the verified splits are checked for presence and sha256;
    landmark digests of complete splits are compared, and a difference names the first sample file
    whose landmarks differ (from the per-sample digests, where the project has them). Every warning
    of the load and every missing or differing file becomes a problem.
    """
    from faceval.datasets import NO_ROOT, resolve_data_root
    from faceval.datasets.registry import parse_spec, resolve_splits
    from faceval.datasets.sample import sample_dir

    dataset, split = parse_spec(name)
    if dataset == "json":
        raise InputError("a json:PATH dataset is defined by its file and has no manifest to verify against; "
                         "'faceval datasets samples json:PATH' lists what it holds")
    if all_splits and split is not None:
        raise InputError(f"--all-splits verifies every split of {dataset}: give '{dataset}' alone, not '{name}' "
                         "(or drop --all-splits to verify that selection)")
    info, _, selected = resolve_splits(name)
    splits = list(info.splits) if all_splits else list(selected)
    manifest = load_manifest(dataset)
    root = resolve_data_root(data_root)
    if info.needs_data_root and root is None:
        raise InputError(NO_ROOT)
    report = VerifyReport(dataset=dataset, data_root=str(root) if root else None,
                          manifest_sha256=manifest_sha256(dataset))
    report.splits = splits
    base = sample_dir() if dataset == "sample" else Path(root) / dataset  # type: ignore[arg-type]
    owners = _owned_files(manifest)
    for entry in manifest.get("files", []):
        needed_by = owners.get(entry["path"])
        if needed_by is not None and not needed_by & set(splits):
            continue  # e.g. the train list when only the test splits are verified
        path = base / entry["path"]
        if not path.is_file():
            report.problems.append(f"missing file: {path}")
            continue
        if entry.get("sha256"):
            report.files_checked += 1
            if sha256_file(path) != entry["sha256"]:
                report.problems.append(f"sha256 differs from the manifest: {path}")
    try:
        ann = _load_splits(dataset, root, splits)
    except InputError as exc:
        report.problems.append(str(exc))
        return report
    with_images = dataset != "cofw"  # COFW's images live inside its .mat files
    for split in splits:
        idx = ann.splits.get(split, ())
        found = len(idx)
        counts: dict[str, int | None] = {"found": found, "expected": info.splits[split].get("count")}
        if with_images:
            counts["images_found"] = sum(1 for i in idx if ann.image_paths[i] is not None)
        report.counts[split] = counts
    report.problems.extend(ann.warnings)
    for split, entry in manifest.get("landmark_digests", {}).items():
        idx = ann.splits.get(split)
        if split not in splits or idx is None or not entry.get("sha256") or len(idx) != info.splits[split].get("count"):
            continue  # an incomplete split is already reported by its count
        report.files_checked += 1
        ids = [ann.sample_ids[i] for i in idx]
        digest = landmarks_digest(ids, ann.landmarks[idx])
        if digest != entry["sha256"]:
            report.problems.append(f"{dataset}:{split}: landmarks differ from the manifest's digest"
                                   f"{_first_differing(dataset, base, ids, ann.landmarks[idx])}")
    return report


def _first_differing(dataset: str, base: Path, ids: list[str], landmarks: Any) -> str:
    """", first in FILE (N samples differ)" from the per-sample digests, or "" when there are none."""
    digests = sample_digests(dataset)
    differing = [sid for sid, lm in zip(ids, landmarks)
                 if sid in digests and landmarks_digest([sid], lm[None]) != digests[sid]]
    unknown = [sid for sid in ids if sid not in digests]
    if not differing and unknown:
        differing = unknown
    if not differing:
        return ""
    first = base / differing[0]
    annotation = first.with_suffix(".pts") if dataset in ("300w", "sample") else first
    return f": first in {annotation} ({len(differing)} sample(s) differ)"


def sample_digests(dataset: str) -> dict[str, str]:
    """Per-sample landmark digests (``<name>.sample_digests.json``; {} when the project has none)."""
    import json
    from importlib import resources

    import faceval

    try:
        data = resources.files("faceval.manifests").joinpath(f"{dataset}.sample_digests.json").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        source = Path(faceval.__file__).resolve().parents[1] / "data_manifests" / f"{dataset}.sample_digests.json"
        if not source.is_file():
            return {}
        data = source.read_bytes()
    return dict(json.loads(data.decode("utf-8"))["samples"])


def _load_splits(name: str, root: Path | None, splits: list[str]):  # type: ignore[no-untyped-def]
    """Load the given splits at once (non-strict, images looked up)."""
    from faceval.datasets import _restrict_to_splits
    from faceval.datasets.registry import dataset_info, loader_module

    manifest = load_manifest(name)
    if dataset_info(name).needs_data_root and (root is None or not Path(root).is_dir()):
        raise InputError("data root is not a folder", path=root)
    return _restrict_to_splits(loader_module(name).load(None if name == "sample" else Path(root), tuple(splits),
                                                        strict=False, manifest=manifest))
