"""``--config faceval.toml``: defaults for command options, as click's ``default_map``.

Top-level keys (``data_root``, ``device``, ``cache``, ``progress``, ``strict_data``) apply to
every command that has the option; a table per command (``[run]``, ``[gate]``, ``[datasets]``
...) sets that command's options by their long flag name (``batch-size`` or ``batch_size``).
Flags given on the command line always win.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from faceval.errors import InputError, closest

GLOBAL_KEYS = ("data_root", "device", "cache", "progress", "strict_data")


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file (tomllib on Python 3.11+, else the tomli package)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        try:
            import tomli as tomllib
        except ImportError:
            raise InputError("reading --config needs Python 3.11+ or the tomli package (pip install tomli)", path=path) from None
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise InputError("config file not found", path=path) from None
    except IsADirectoryError:
        raise InputError("expected a TOML config file, found a folder", path=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"invalid TOML: {exc}", path=path) from None


def _option_names(command: click.Command) -> dict[str, str]:
    """Every accepted key (long flag without dashes, with - or _) -> click parameter name."""
    names: dict[str, str] = {}
    for param in command.params:
        if not isinstance(param, click.Option) or param.name is None:
            continue
        for opt in param.opts + param.secondary_opts:
            if opt.startswith("--"):
                key = opt[2:]
                if key.startswith("no-") and opt in param.secondary_opts:
                    continue
                names[key] = param.name
                names[key.replace("-", "_")] = param.name
        names[param.name] = param.name
    return names


def _translate(command: click.Command, values: dict[str, Any], where: str, path: Path, strict: bool) -> dict[str, Any]:
    names = _option_names(command)
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            if strict:
                raise InputError(f"unknown section [{where}.{key}]: '{where}' has no subcommands", path=path)
            continue
        if key not in names:
            if strict:
                raise InputError(f"[{where}] has no option '{key}'{closest(key, sorted(names))}", path=path)
            continue
        param = next(p for p in command.params if p.name == names[key])
        try:  # check the value now, so the error names the config file rather than a flag never typed
            param.type_cast_value(click.Context(command), value)
        except click.BadParameter as exc:
            raise InputError(f"{_place(where)}{key} = {value!r}: {exc.format_message()}", path=path) from None
        except InputError as exc:  # a name the library checks (ProtocolName: --protocol, --normalizer, ...)
            raise InputError(f"{_place(where)}{key} = {value!r}: {exc}", path=path) from None
        except (TypeError, ValueError, AttributeError):  # click's types assume strings: a TOML list or number where a path is due
            raise InputError(f"{_place(where)}{key} = {value!r}: not a valid {param.type.name} for "
                             f"'{param.opts[0]}'", path=path) from None
        out[names[key]] = value
    return out


def _place(where: str) -> str:
    return "" if not where else f"[{where}] "


def _check_group_section(group: click.Group, ctx: click.Context, section: dict[str, Any], where: str, path: Path) -> None:
    """Every key of a group's table (``[datasets]``) is an option of one of its subcommands, every
    sub-table (``[datasets.verify]``) names a subcommand and holds only that subcommand's options."""
    subs = {name: group.get_command(ctx, name) for name in group.list_commands(ctx)}
    subs = {name: sub for name, sub in subs.items() if sub is not None}
    shared: dict[str, click.Command] = {}
    for sub in subs.values():
        for key in _option_names(sub):
            shared.setdefault(key, sub)
    for key, value in section.items():
        if isinstance(value, dict):
            if key not in subs:
                raise InputError(f"unknown section [{where}.{key}]{closest(key, list(subs))}; "
                                 f"subcommands of {where}: {', '.join(subs)}", path=path)
            _translate(subs[key], value, f"{where}.{key}", path, strict=True)
        elif key not in shared:
            raise InputError(f"[{where}] has no option '{key}' in any of its subcommands{closest(key, sorted(shared))}",
                             path=path)
        else:
            _translate(shared[key], {key: value}, where, path, strict=True)


def check_config(config: dict[str, Any], group: click.Group, ctx: click.Context, path: Path) -> None:
    """Check the whole file, whatever command runs: unknown top-level keys, sections, and keys
    or values of any section (every command's table, not only the invoked command's)."""
    from faceval_cli.main import COMMANDS

    for key, value in config.items():
        if isinstance(value, dict):
            if key not in COMMANDS:
                raise InputError(f"unknown section [{key}]{closest(key, list(COMMANDS))}; sections are command names", path=path)
        elif key not in GLOBAL_KEYS:
            raise InputError(f"unknown top-level key '{key}'{closest(key, GLOBAL_KEYS)}; top-level keys: {', '.join(GLOBAL_KEYS)}", path=path)
    for key, value in config.items():  # a top-level value is checked even by a command without that option
        if not isinstance(value, dict):
            holder = _first_command_with(group, ctx, key)
            if holder is not None:
                _translate(holder, {key: value}, "", path, strict=True)
    for key, section in config.items():
        if not isinstance(section, dict):
            continue
        command = group.get_command(ctx, key)
        if command is None:
            continue
        if isinstance(command, click.Group):
            _check_group_section(command, ctx, section, key, path)
        else:
            _translate(command, section, key, path, strict=True)


def _first_command_with(group: click.Group, ctx: click.Context, key: str) -> click.Command | None:
    """A command that has the top-level option ``key``: ``run`` has every one of :data:`GLOBAL_KEYS`."""
    command = group.get_command(ctx, "run")
    return command if command is not None and key in _option_names(command) else None


def default_map(config: dict[str, Any], group: click.Group, ctx: click.Context, command_name: str, path: Path) -> dict[str, Any]:
    """The ``default_map`` for the invoked command (nested for groups such as ``datasets``).

    The whole file is checked first (:func:`check_config`), so a misspelt key in ``[gate]`` is
    reported by ``faceval run`` too, not only once the gate runs in CI.
    """
    check_config(config, group, ctx, path)
    globals_ = {k: v for k, v in config.items() if not isinstance(v, dict)}
    section = config.get(command_name, {})
    command = group.get_command(ctx, command_name)
    if command is None:
        return {}
    if isinstance(command, click.Group):
        nested: dict[str, Any] = {}
        for sub_name in command.list_commands(ctx):
            sub = command.get_command(ctx, sub_name)
            if sub is None:
                continue
            values = {**globals_, **{k: v for k, v in section.items() if not isinstance(v, dict)},
                      **section.get(sub_name, {})}
            nested[sub_name] = _translate(sub, values, f"{command_name}.{sub_name}", path, strict=False)
        return {command_name: nested}
    return {command_name: _translate(command, {**globals_, **section}, command_name, path, strict=False)}
