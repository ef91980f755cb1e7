"""Options and output helpers shared by the commands (CLI layer only).

Data goes to stdout, messages and progress to stderr; progress bars only on an
interactive terminal (never in CI).
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import click

from faceval.jsonable import to_jsonable

data_root_option = click.option(
    "--data-root",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="FACEVAL_DATA_ROOT",
    default=None,
    help="Folder holding the datasets (or FACEVAL_DATA_ROOT).",
)

format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(["human", "json"]),
    default="human",
    show_default=True,
    help="human: tables on stderr; json: one JSON object on stdout.",
)

progress_option = click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar (default: only on an interactive terminal, never in CI).",
)

device_option = click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda", "tensorrt"]),
    default="auto",
    show_default=True,
    help="auto uses CUDA only when a session really gets it, else CPU; cuda/tensorrt require that "
         "provider (exit 3 when the session does not get it).",
)


def progress_wanted(flag: bool | None) -> bool:
    """Explicit flag wins; otherwise only on a terminal and not under CI."""
    if flag is not None:
        return flag
    return sys.stderr.isatty() and not os.environ.get("CI")


def stderr_console():  # type: ignore[no-untyped-def]
    """Rich console on stderr; off a terminal (CI logs) wide enough that no table is cut."""
    from rich.console import Console

    width = None if sys.stderr.isatty() else 200
    return Console(stderr=True, highlight=False, soft_wrap=False, width=width)


def stdout_console():  # type: ignore[no-untyped-def]
    """A rich console on stdout; off a terminal it is 200 columns wide so tables are not cut at 80."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 200)


def print_table(renderable: Any, console: Any = None) -> None:  # type: ignore[no-untyped-def]
    """Render a rich table on stdout without the trailing padding rich adds to each line."""
    console = console or stdout_console()
    with console.capture() as capture:
        console.print(renderable)
    click.echo("\n".join(line.rstrip() for line in capture.get().splitlines()))


def emit_json(obj: Any) -> None:
    """Write one JSON object on stdout (sorted keys: stable for CI parsers).

    Non-finite numbers (an NME percentile that falls among failures is infinite)
    are written as ``null``: JSON has no infinity (:func:`faceval.jsonable.to_jsonable`).
    """
    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2, sort_keys=True, allow_nan=False) + "\n")
    sys.stdout.flush()


def info(message: str) -> None:
    """A message on stderr."""
    click.echo(message, err=True)


class _NoProgress:
    def start(self, total: int) -> None:
        pass

    def message(self, text: str) -> None:
        click.echo(text, err=True)

    def advance(self, n: int = 1) -> None:
        pass


class _RichProgress:
    def __init__(self, progress, description: str) -> None:  # type: ignore[no-untyped-def]
        self.progress = progress
        self.task = progress.add_task(description, total=None)

    def start(self, total: int) -> None:
        self.progress.update(self.task, total=total)

    def advance(self, n: int = 1) -> None:
        self.progress.advance(self.task, n)

    def message(self, text: str) -> None:
        """Print above the live bar (plain text: no rich markup in file names)."""
        self.progress.console.print(text, markup=False, highlight=False)


@contextmanager
def progress_bar(enabled: bool, description: str) -> Iterator[Any]:
    """Yield a reporter with ``start(total)``, ``advance(n)`` and ``message(text)``.

    Enabled: a rich bar on stderr, with messages printed above it; disabled: messages only.
    """
    if not enabled:
        yield _NoProgress()
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr_console(),
        transient=True,
    ) as progress:
        yield _RichProgress(progress, description)
