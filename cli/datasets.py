"""``faceval datasets``: list, inspect and verify datasets; list sample ids.

Kept light: ``list`` and ``--help`` read only the JSON manifests (no scipy, pandas, matplotlib or
onnxruntime is imported).
"""

from __future__ import annotations

from pathlib import Path

import click

from faceval_cli.common import data_root_option, emit_json, format_option, info


@click.group("datasets", context_settings={"help_option_names": ["-h", "--help"]})
def command() -> None:
    """List, inspect and verify datasets; list sample ids."""


@command.command("list")
@format_option
def list_command(output_format: str) -> None:
    """Every dataset faceval knows, with its splits and landmark scheme."""
    from faceval.datasets import list_datasets

    datasets = list_datasets()
    if output_format == "json":
        emit_json({"datasets": datasets})
        return
    for name, entry in datasets.items():
        splits = ", ".join(f"{s} ({v['count']})" for s, v in entry["splits"].items())
        info(f"{name:<9} scheme {entry['scheme']:<5} {entry['description']}")
        info(f"{'':<9} splits: {splits}; default: {', '.join(entry['default_splits'])}")


@command.command("info")
@click.argument("name")
@data_root_option
@format_option
def info_command(name: str, data_root: Path | None, output_format: str) -> None:
    """Layout, splits and expected counts of NAME (with --data-root: the counts found there)."""
    from faceval.datasets import manifest_sha256
    from faceval.datasets.manifest import load_manifest
    from faceval.datasets.registry import dataset_info

    details = dataset_info(name.lower()).to_dict()
    manifest = load_manifest(details["name"])
    details["manifest_sha256"] = manifest_sha256(details["name"])
    details["notes"] = manifest.get("notes", [])
    for key in ("sample_ids", "coordinates", "boxes", "images", "poses"):
        if key in manifest:
            details[key] = manifest[key]
    if data_root is not None:
        from faceval.datasets.verification import verify_dataset

        report = verify_dataset(details["name"], data_root)
        details["found"] = report.counts
        details["problems"] = report.problems
    if output_format == "json":
        emit_json(details)
        return
    info(f"{details['name']}: {details['description']}")
    info(f"  scheme: {details['scheme']}")
    info(f"  layout: {details['layout']}")
    for key in ("sample_ids", "coordinates", "boxes", "images", "poses"):
        if key in details:
            info(f"  {key.replace('_', ' ')}: {details[key]}")
    info("  splits:")
    for split, entry in details["splits"].items():
        found = details.get("found", {}).get(split)
        have = f" found {found['found']}" if found else ""
        info(f"    {split:<13} {entry['count']:>5}{have}  {entry['description']}")
    info(f"  default selection: {', '.join(details['default_splits'])}")
    for sel, members in details["selections"].items():
        info(f"  {details['name']}:{sel} selects: {', '.join(members)}")
    info(f"  manifest sha256: {details['manifest_sha256']}")
    for problem in details.get("problems", []):
        info(f"  problem: {problem}")


@command.command("verify")
@click.argument("name")
@data_root_option
@format_option
def verify_command(name: str, data_root: Path | None, output_format: str) -> None:
    """Check a local copy of NAME against its manifest (exit 2 when incomplete or different)."""
    from faceval.datasets import verify
    from faceval.errors import InputError

    report = verify(name.lower(), data_root)
    if output_format == "json":
        emit_json(report.to_dict())
    else:
        for split, count in report.counts.items():
            info(f"{report.dataset}:{split}: {count['found']} of {count['expected']}")
        for problem in report.problems:
            info(f"problem: {problem}")
        if report.ok:
            info(f"{report.dataset}: complete and matching the manifest ({report.files_checked} digest(s) checked)")
    if not report.ok:
        raise InputError(f"{report.dataset}: {len(report.problems)} problem(s) against the manifest; "
                         f"first: {report.problems[0]}")


@command.command("samples")
@click.argument("spec", metavar="NAME[:SPLIT]")
@data_root_option
@format_option
def samples_command(spec: str, data_root: Path | None, output_format: str) -> None:
    """Sample ids of NAME[:SPLIT] in canonical order (one per line on stdout)."""
    from faceval.datasets import sample_ids

    ids = sample_ids(spec, data_root)
    if output_format == "json":
        emit_json({"spec": spec, "count": len(ids), "sample_ids": ids})
        return
    click.echo("\n".join(ids))
