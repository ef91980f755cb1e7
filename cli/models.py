"""``faceval models info | build | annotate``: inspect, build and annotate ONNX models.

``models info`` output is data: its human form goes to stdout; messages go to stderr.
"""

from __future__ import annotations

from pathlib import Path

import click

from faceval_cli.common import emit_json, format_option, info as say


@click.group("models")
def command() -> None:
    """Inspect, build and annotate ONNX models."""


def _fmt_shape(shape: object) -> str:
    if not shape:
        return "?"
    return "[" + ", ".join(str(d) for d in shape) + "]"  # type: ignore[union-attr]


@command.command("info")
@click.argument("model_arg", metavar="[MODEL]", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--model", "model_opt", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="ONNX model (the same as the MODEL argument, as in run and bench).")
@format_option
def info_cmd(model_arg: Path | None, model_opt: Path | None, output_format: str) -> None:
    """Inputs, outputs, opset, embedded spec, parameters, MACs and FLOPs of MODEL.

    \b
    Params: conv/gemm/matmul weights and biases, batch norm counted folded into
    the conv before it. FLOPs = 2 x MACs of Conv (incl. depthwise), Gemm, MatMul
    at batch 1 and the model's input size.
    """
    from faceval.errors import InputError
    from faceval.models.inspect import inspect_model

    if model_arg is not None and model_opt is not None and model_arg != model_opt:
        raise InputError(f"two models given ('{model_arg}' and --model '{model_opt}'); give one")
    model = model_arg or model_opt
    if model is None:
        raise InputError("no model given: faceval models info MODEL (or --model MODEL)")
    data = inspect_model(model)
    if output_format == "json":
        emit_json(data)
        return
    from rich.table import Table
    from rich.text import Text

    from faceval_cli.common import print_table, stdout_console

    console = stdout_console()
    click.echo(f"model: {model}")  # on its own line: a long path is never wrapped or cut
    table = Table(show_header=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("name", overflow="fold")
    table.add_column("shape", no_wrap=True)
    table.add_column("dtype", no_wrap=True)
    for kind in ("inputs", "outputs"):
        for v in data[kind]:
            # Text, not a str: rich would read "[batch, 3, 224, 224]" as markup and print nothing
            table.add_row(kind[:-1], Text(str(v["name"])), Text(_fmt_shape(v["shape"])), Text(str(v["dtype"])))
    print_table(table, console)
    macs = data["macs"]
    lines = [
        f"opset {data['opset']}, IR {data['ir_version']}, producer {data['producer'] or '-'}, {data['nodes']} nodes",
        f"batch: {'fixed ' + str(data['batch_fixed']) if data['batch_fixed'] else 'dynamic'}",
        f"params: {data['params']:,} ({data['params'] / 1e6:.2f} M)",
        (
            f"MACs: {macs:,} ({macs / 1e9:.3f} G); FLOPs: {data['flops']:,} ({data['flops'] / 1e9:.2f} G)"
            if macs is not None
            else f"MACs/FLOPs: unknown (no shapes for {', '.join(data.get('unknown_shapes', []))})"
        ),
        f"sha256: {data['sha256']}",
    ]
    for line in lines:
        click.echo(line)
    if data["spec"]:
        click.echo("spec (ONNX metadata faceval.spec):")
        for key, value in data["spec"].items():
            click.echo(f"  {key}: {value}")
    else:
        click.echo("spec: none embedded (faceval infers one from the shapes; see 'faceval models annotate')")


@command.command("build")
@click.argument("arch", type=click.Choice(["asmnet", "mobilenetv2"]))
@click.option("--points", type=click.Choice(["68", "98"]), default="68", show_default=True, help="Landmarks (68: 300w, 98: wflw).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None, help="Output file (default ARCH_POINTS.onnx).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random weights.")
def build_cmd(arch: str, points: str, out: Path | None, seed: int) -> None:
    """Build a reference ASMNet or MobileNetV2 graph (random weights, dynamic batch, opset 17)."""
    from faceval.models.build import build_to_file

    out = out or Path(f"{arch}_{points}.onnx")
    path = build_to_file(arch, int(points), out, seed=seed)
    say(f"wrote {path}")


@command.command("annotate")
@click.argument("model", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--spec", "spec_path", type=click.Path(path_type=Path, dir_okay=False), required=True, help="JSON model spec.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None, help="Output file (default: MODEL in place).")
def annotate_cmd(model: Path, spec_path: Path, out: Path | None) -> None:
    """Store a model spec in MODEL's metadata (key faceval.spec); written atomically."""
    from faceval.models.metadata import write_spec
    from faceval.models.spec import load_spec_file

    spec = load_spec_file(spec_path)
    path = write_spec(model, spec, out)
    say(f"wrote spec into {path}")
