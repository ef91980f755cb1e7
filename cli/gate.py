"""``faceval gate``: compare a run with a baseline; exit 1 on a regression (for CI)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from faceval.report.gate import DEFAULT_RULES_HELP, GateResult
from faceval_cli.common import emit_json, info


@click.command("gate")
@click.argument("run", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--baseline", required=True, type=click.Path(path_type=Path, dir_okay=False), help="Baseline run file.")
@click.option("--rule", "rules", multiple=True, metavar="METRIC[@SPLIT]:BOUND",
              help="Allowed worsening, repeatable: nme:+0.001 (absolute, fractions), nme@full:+1% "
                   "(relative), fr@0.10@test:+0.01, auc@0.10:-1%. Default: " + DEFAULT_RULES_HELP + ".")
@click.option("--significance", type=float, default=None, metavar="ALPHA",
              help="A check fails only if its bound is exceeded AND a paired Wilcoxon test on per-image "
                   "errors (samples matched by id) gives p < ALPHA.")
@click.option("--junit-xml", "junit_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write a JUnit XML report (one testcase per rule and split).")
@click.option("--github/--no-github", default=None,
              help="Print ::error annotations and append a table to $GITHUB_STEP_SUMMARY "
                   "(default: on when GITHUB_ACTIONS=true).")
@click.option("--summary", "summary_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Append the Markdown summary table to this file (default with --github: $GITHUB_STEP_SUMMARY).")
@click.option("--format", "output_format", type=click.Choice(["human", "json"]), default="human", show_default=True,
              help="human: a table on stderr; json: one JSON object on stdout.")
@click.option("--allow-protocol-change", is_flag=True,
              help="Compare runs whose protocols differ (normaliser, thresholds, box, AUC mode, manifest, sample set).")
def command(run: Path, baseline: Path, rules: tuple[str, ...], significance: float | None, junit_path: Path | None,
            github: bool | None, summary_path: Path | None, output_format: str, allow_protocol_change: bool) -> int:
    """Check RUN against a baseline run; exit 0 pass, 1 regression, 2 usage or input error.

    \b
    Rules are METRIC[@SPLIT]:BOUND in stored units (fractions, degrees):
      nme:+0.001         NME may rise by at most 0.001 (0.1 points), every split
      nme@full:+1%       NME on 'full' may rise by at most 1 % of the baseline
      fr@0.10@test:+0.01 FR@0.10 on 'test' may rise by at most 1 point
      auc@0.10:-1%       AUC@0.10 may fall by at most 1 % relative
    Lower-is-better metrics take '+', higher-is-better ones (AUC) take '-'.
    Default rules: see --rule.

    \b
    Runs with different protocols are not compared (exit 2) unless
    --allow-protocol-change; runs of different datasets never are, nor a
    partial run (missing samples, a shard, --limit) against a complete baseline.
    """
    from faceval.atomic import check_writable_target
    from faceval.errors import InputError
    from faceval.report import ci_outputs
    from faceval.report.gate import check_significance, describe_difference, evaluate_gate, parse_rule
    from faceval.runs.runfile import METRIC_FIELDS, read_run

    parsed = [parse_rule(r) for r in rules]
    for output in (junit_path, summary_path):
        if output is not None:
            check_writable_target(output)  # fail before any output is written
    check_significance(significance)
    run_data = read_run(run, prefetch=METRIC_FIELDS)
    base_data = read_run(baseline, prefetch=METRIC_FIELDS)
    result = evaluate_gate(run_data, base_data, parsed or None, significance=significance,
                           allow_protocol_change=allow_protocol_change)
    for diff in result.protocol_differences:
        info(f"faceval: warning: protocol differs ({describe_difference(diff)}); "
             "compared anyway (--allow-protocol-change)")

    if junit_path is not None:
        from faceval.atomic import write_text_atomic

        write_text_atomic(junit_path, ci_outputs.junit_xml(result))
    if github is None:
        github = os.environ.get("GITHUB_ACTIONS", "").lower() == "true"
    if github:
        for line in ci_outputs.github_annotations(result):
            click.echo(line)
    if summary_path is None and github and os.environ.get("GITHUB_STEP_SUMMARY"):
        summary_path = Path(os.environ["GITHUB_STEP_SUMMARY"])
    if summary_path is not None:
        try:
            with open(summary_path, "a", encoding="utf-8") as handle:
                handle.write(ci_outputs.step_summary_markdown(result))
        except OSError as exc:
            raise InputError(f"cannot write {summary_path}: {exc.strerror or exc}") from None

    if output_format == "json":
        emit_json(result.to_dict())
    else:
        _print_human(result)
    return 0 if result.passed else 1


def _print_human(result: "GateResult") -> None:
    import sys

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from faceval.report.ci_outputs import checks_text

    def num(v: float | None) -> str:
        return "–" if v is None else f"{v:.6g}"

    table = Table(title=escape(f"gate: {result.run_label} vs baseline {result.baseline_label} ({result.dataset})"),
                  title_justify="left")
    for name, justify in (("metric", "left"), ("split", "left"), ("baseline", "right"), ("run", "right"),
                          ("change", "right"), ("bound", "right"), ("p-value", "right"), ("result", "left")):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for c in result.checks:
        verdict = "[green]PASS[/green]" if c.passed else "[bold red]FAIL[/bold red]"
        if c.passed and c.exceeded:
            verdict = "[yellow]PASS (n.s.)[/yellow]"
        table.add_row(
            escape(c.metric), escape(c.split), num(c.baseline), num(c.run),
            "–" if c.change is None else f"{c.change:+.6g}",
            escape(f"{c.bound} ({num(c.allowed)})"),
            "–" if c.p_value is None else f"{c.p_value:.3g}",
            verdict,
        )
    # Off a terminal (CI logs) 200 columns, so numbers are never cut to '0.00402…' at 80.
    console = Console(stderr=True, highlight=False, soft_wrap=False, width=None if sys.stderr.isatty() else 200)
    console.print(table)
    not_significant = sum(1 for c in result.checks if c.passed and c.exceeded)
    if result.passed:
        note = ""
        if not_significant:
            note = f"; {not_significant} exceeded the bound but not significantly (p >= {result.significance:g})"
        console.print(f"gate: PASS ({checks_text(len(result.checks))}{note})", markup=False)
    else:
        console.print(f"gate: FAIL: {len(result.failures)} of {checks_text(len(result.checks))} regressed", markup=False)
        for c in result.failures:
            console.print(f"  {c.message}", markup=False, soft_wrap=True)
