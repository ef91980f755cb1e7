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


def _which_protocol_section() -> str:
    text = (REPO / "README.md").read_text()
    assert "\n## Which protocol?\n" in text, "README lacks the section 'Which protocol?'"
    return text.split("\n## Which protocol?\n", 1)[1].split("\n## ", 1)[0]


def test_which_protocol_names_every_preset_and_only_real_ones():
    from faceval.metrics.presets import PRESET_NAMES

    section = _which_protocol_section()
    named = set(re.findall(r"--protocol (\w+)", section))
    assert named >= set(PRESET_NAMES), f"presets missing from 'Which protocol?': {set(PRESET_NAMES) - named}"
    # the measured preset table's rows are presets that exist
    table = section.split("| preset | threshold |", 1)[1].split("\n\n", 1)[0]
    rows = re.findall(r"^\| `([\w-]+)`", table, flags=re.M)
    assert len(rows) >= 4 and set(rows) <= set(PRESET_NAMES), rows


def test_which_protocol_commands_parse_with_the_cli():
    """Every command the section gives is accepted by the CLI's parser (no option that does not exist)."""
    import shlex

    import click

    from faceval_cli.main import cli

    section = _which_protocol_section()
    block = [line.strip() for line in section.splitlines() if line.startswith("    ") and line.strip()]
    variables: dict[str, str] = {}
    commands = []
    for line in block:
        if re.fullmatch(r"\w+=.*", line):
            name, value = line.split("=", 1)
            variables[name] = shlex.split(value)[0] if value.startswith('"') else value
            continue
        commands.append(line)
    assert len(commands) >= 4 and all(c.startswith("faceval ") for c in commands)
    for command in commands:
        for name, value in variables.items():
            command = command.replace(f"${name}", value)
        argv = shlex.split(command)[1:]
        sub = cli.get_command(click.Context(cli), argv[0])
        assert sub is not None, command
        # parse only (no callback): an unknown option or a bad choice raises a UsageError here
        sub.make_context(argv[0], argv[1:], resilient_parsing=False).close()


def test_readme_lists_every_api_protocol_keyword():
    """The Python API section once left out ``protocol``, ``fr_cut`` and ``points``."""
    import re

    from faceval.api import PROTOCOL_OPTIONS

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    start = text.index("- Protocol keywords (both):")
    item = " ".join(text[start:text.index("\n- ", start + 1)].split())
    assert set(re.findall(r"`([a-z_]+)`", item.split(";")[0])) == set(PROTOCOL_OPTIONS), item
