"""Entry point: a click group whose commands are imported only when used.

``faceval --help`` must stay fast, so command modules (and through them numpy,
pandas, onnxruntime ...) are imported lazily, and the group's help lists the
commands from the static table below.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys

import click

from faceval import __version__

#: name -> (module in faceval_cli, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "Evaluate an ONNX model on a dataset (default: bundled model on the bundled sample)."),
    "score": ("score", "Evaluate predictions made elsewhere (CSV, NPY/NPZ, JSON, SPIGA JSON)."),
    "report": ("report", "Tables (CSV, LaTeX, Markdown, HTML, JSON) and CED plots from run files."),
    "gate": ("gate", "Compare a run with a baseline; exit 1 on a regression (for CI)."),
    "plot": ("plot", "Plots from run files (CED curves)."),
    "datasets": ("datasets", "List, inspect and verify datasets; list sample ids."),
    "models": ("models", "Inspect, build and annotate ONNX models."),
    "bench": ("bench", "Latency and throughput of an ONNX model per batch size."),
    "merge": ("merge", "Join shard run files into one run."),
    "show": ("show", "Protocol, provenance, summary, failures and the worst images of a run file."),
    "export": ("export", "Per-sample table of a run file (CSV, JSON, Parquet)."),
    "gallery": ("gallery", "The worst (or chosen) faces with GT and prediction drawn (HTML or PNG)."),
}


class LazyGroup(click.Group):
    """A group that imports ``faceval_cli.<module>`` on first use of a command."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(f"faceval_cli.{COMMANDS[cmd_name][0]}")
        return module.command

    def resolve_command(self, ctx, args):  # type: ignore[no-untyped-def]
        name = args[0] if args else None
        if name is not None and name not in COMMANDS and not name.startswith("-"):
            from faceval.errors import closest

            ctx.fail(f"No such command '{name}'.{closest(name, list(COMMANDS))}")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, help_) in COMMANDS.items()])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="faceval")
@click.option("--debug", is_flag=True, envvar="FACEVAL_DEBUG", help="Show tracebacks of unexpected errors.")
@click.option("--config", "config_path", type=click.Path(dir_okay=True), envvar="FACEVAL_CONFIG", default=None,
              help="TOML file with option defaults: top-level data_root/device/cache/progress/strict_data, "
                   "and a [command] table per command (or FACEVAL_CONFIG).")
@click.pass_context
def cli(ctx: click.Context, debug: bool, config_path: str | None) -> None:
    """faceval: benchmark facial landmark and head-pose models.

    \b
    Exit codes: 0 success, 1 gate found a regression, 2 usage or input error,
    3 runtime failure (model or provider), 130 interrupted (Ctrl-C), 143 terminated.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    if config_path and ctx.invoked_subcommand:
        from pathlib import Path

        from faceval_cli.config import default_map, read_toml

        path = Path(config_path)
        ctx.default_map = default_map(read_toml(path), ctx.command, ctx, ctx.invoked_subcommand, path)


def _on_sigterm(signum: int, frame: object) -> None:
    from faceval.errors import Terminated

    raise Terminated()


def _debug_requested(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get("FACEVAL_DEBUG", "") not in ("", "0")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and map every outcome to a documented exit code."""
    from faceval.errors import FacevalError, Terminated

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not in the main thread (tests)
        pass
    try:
        rv = cli.main(args=args, prog_name="faceval", standalone_mode=False)
        return int(rv) if isinstance(rv, int) else 0
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.UsageError as exc:
        # One line, like every other input error; click's own block would be four.
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        message = " ".join(exc.format_message().split())
        click.echo(f"faceval: error: {message}{hint}", err=True)
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return int(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("faceval: interrupted", err=True)
        return 130
    except Terminated:
        click.echo("faceval: terminated", err=True)
        return 143
    except FacevalError as exc:
        if _debug_requested(args):
            import traceback

            traceback.print_exc()
        click.echo(f"faceval: error: {exc}", err=True)
        return exc.exit_code
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the one place that turns crashes into exit 3
        if _debug_requested(args):
            import traceback

            traceback.print_exc()
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        click.echo(
            f"faceval: internal error: {type(exc).__name__}: {first} (run with --debug for the traceback)",
            err=True,
        )
        return 3


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
