"""``faceval datasets``: list, inspect and verify datasets; list sample ids.

Kept light: ``list`` and ``--help`` read only the JSON manifests (no scipy, pandas, matplotlib or
onnxruntime is imported).

Listings are data: their human form goes to stdout (``faceval datasets list | grep wflw``);
messages and errors go to stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from faceval_cli.common import data_root_option, emit_json, format_option, print_table


def out(line: str = "") -> None:
    """A line of data on stdout."""
    click.echo(line)


def _status(found: int | None, expected: int | None, images_found: int | None = None) -> str:
    if found is None:
        return "not loaded"
    if images_found is not None and images_found < found:
        missing = found - images_found
        lacking = f"{missing} image{'s' if missing != 1 else ''} missing"
        return lacking if expected is None or found >= expected else f"{expected - found} missing, {lacking}"
    if expected is None:
        return "no count in manifest"
    if found == expected:
        return "complete"
    if found < expected:
        return f"{expected - found} missing"
    return f"{found - expected} more than the manifest"


def _splits_table(splits: dict[str, dict[str, Any]], found: dict[str, dict[str, Any]] | None,
                  *, descriptions: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """Aligned table: split, expected[, found, status][, description]."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, show_header=True, pad_edge=False, header_style="bold")
    table.add_column("split", no_wrap=True)
    table.add_column("expected", justify="right", no_wrap=True)
    if found is not None:
        table.add_column("found", justify="right", no_wrap=True)
        table.add_column("status", no_wrap=True)
    if descriptions is not None:
        table.add_column("description", overflow="fold")
    for split, entry in splits.items():
        expected = entry.get("count")
        row = [Text(split), "–" if expected is None else str(expected)]
        if found is not None:
            count = found.get(split)
            n = None if count is None else count.get("found")
            images = None if count is None else count.get("images_found")
            row += ["–" if n is None else str(n), Text(_status(n, expected, images))]
        if descriptions is not None:
            row.append(Text(descriptions.get(split, "")))
        table.add_row(*row)
    return table


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
        splits = ", ".join(f"{s} ({'?' if v['count'] is None else v['count']})" for s, v in entry["splits"].items())
        out(f"{name:<9} scheme {entry['scheme']:<5} {entry['description']}")
        out(f"{'':<9} splits: {splits}; default: {', '.join(entry['default_splits'])}")


@command.command("info")
@click.argument("name")
@data_root_option
@format_option
def info_command(name: str, data_root: Path | None, output_format: str) -> None:
    """Layout, splits and expected counts of NAME (with --data-root: the counts found there)."""
    from faceval.datasets import manifest_sha256
    from faceval.datasets.manifest import load_manifest
    from faceval.datasets.registry import dataset_info, is_json_spec
    from faceval.errors import InputError

    if is_json_spec(name):
        raise InputError(f"datasets info takes a dataset name, not the file of '{name}': 'faceval datasets info "
                         "json' describes the format, 'faceval datasets samples json:PATH' lists a file's samples")
    details = dataset_info(name.lower()).to_dict()
    manifest = load_manifest(details["name"])
    details["manifest_sha256"] = manifest_sha256(details["name"])
    details["notes"] = manifest.get("notes", [])
    for key in ("sample_ids", "coordinates", "boxes", "images", "poses"):
        if key in manifest:
            details[key] = manifest[key]
    if data_root is not None:
        from faceval.datasets.verification import verify_dataset

        report = verify_dataset(details["name"], data_root, all_splits=True)
        details["found"] = report.counts
        details["problems"] = report.problems
    if output_format == "json":
        emit_json(details)
        return
    from rich.padding import Padding

    out(f"{details['name']}: {details['description']}")
    out(f"  scheme: {details['scheme']}")
    out(f"  layout: {details['layout']}")
    for key in ("sample_ids", "coordinates", "boxes", "images", "poses"):
        if key in details:
            out(f"  {key.replace('_', ' ')}: {details[key]}")
    out("  splits:" + (f" (found under {data_root})" if data_root is not None else ""))
    descriptions = {split: entry.get("description", "") for split, entry in details["splits"].items()}
    table = _splits_table(details["splits"], details.get("found") if data_root is not None else None,
                          descriptions=descriptions)
    print_table(Padding(table, (0, 0, 0, 4), expand=False))
    out(f"  default selection: {', '.join(details['default_splits'])}")
    for sel, members in details["selections"].items():
        out(f"  {details['name']}:{sel} selects: {', '.join(members)}")
    out(f"  manifest sha256: {details['manifest_sha256']}")
    for problem in details.get("problems", []):
        out(f"  problem: {problem}")


@command.command("verify")
@click.argument("spec", metavar="NAME[:SPLIT]")
@click.option("--all-splits", is_flag=True, help="Verify every split of NAME (default: the splits NAME[:SPLIT] selects).")
@data_root_option
@format_option
def verify_command(spec: str, all_splits: bool, data_root: Path | None, output_format: str) -> None:
    """Check a local copy of NAME[:SPLIT] against its manifest (exit 2 when incomplete or different).

    NAME alone verifies its default selection (300w: the public test splits, so a test-only copy
    verifies without the training images); NAME:SPLIT one split or selection; --all-splits all.
    A split whose annotations are present but whose images are not is not complete.
    """
    from faceval.datasets import verify
    from faceval.errors import InputError

    report = verify(spec, data_root, all_splits=all_splits)
    if output_format == "json":
        emit_json(report.to_dict())
    else:
        from rich.padding import Padding

        if report.counts:
            out(f"{report.dataset}" + (f" under {report.data_root}" if report.data_root else "") + ":")
            expected = {split: {"count": c.get("expected")} for split, c in report.counts.items()}
            print_table(Padding(_splits_table(expected, report.counts), (0, 0, 0, 2), expand=False))
        for problem in report.problems:
            out(f"problem: {problem}")
        if report.ok:
            out(f"{report.dataset}: complete and matching the manifest ({report.files_checked} digest(s) checked)")
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
