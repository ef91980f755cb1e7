"""The README's set-up commands are exactly what CI runs, and the README holds no placeholders."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _readme_setup_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("## Set-up: two commands", 1)[1].split("\n## ", 1)[0]
    return [line.strip() for line in section.splitlines() if line.startswith("    ") and line.strip()][:2]


def test_ci_runs_the_readme_commands():
    commands = _readme_setup_commands()
    assert len(commands) == 2 and "faceval run" in commands[0] and "pytest" in commands[1]
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.lstrip().startswith("#")]
    for command in commands:
        assert command in ci, f"README command not run by .ci/run: {command}"


def test_readme_has_no_placeholders():
    text = (REPO / "README.md").read_text()
    assert not re.search(r"\b[A-Z_]{6,}_TABLE\b", text)


def test_readme_lists_every_api_protocol_keyword():
    """The Python API section once left out ``protocol``, ``fr_cut`` and ``points``."""
    import re

    from faceval.api import PROTOCOL_OPTIONS

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    start = text.index("- Protocol keywords (both):")
    item = " ".join(text[start:text.index("\n- ", start + 1)].split())
    assert set(re.findall(r"`([a-z_]+)`", item.split(";")[0])) == set(PROTOCOL_OPTIONS), item
