"""CLI calls shared by the CLI tests: run ``faceval`` in-process and require exit 0."""

from __future__ import annotations

import json

from faceval_cli.main import main


def call_ok(capsys, args: list[str]) -> tuple[str, str]:
    """``faceval ARGS`` must exit 0; its (stdout, stderr)."""
    capsys.readouterr()
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 0, err
    return out, err


def score_json(capsys, args: list[str]) -> tuple[dict, str]:
    """``faceval score ARGS --format json`` must exit 0; its parsed JSON and stderr."""
    out, err = call_ok(capsys, ["score", *args, "--format", "json"])
    return json.loads(out), err
