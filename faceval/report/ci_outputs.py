"""CI outputs of a gate result: JUnit XML, GitHub annotations and a step-summary table.

All three are plain strings (deterministic: no timestamps or durations beyond ``time="0"``).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from .gate import Check, GateResult


def _num(value: float | None, digits: int = 6) -> str:
    if value is None:
        return "–"
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}"


def _p(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"


def junit_xml(result: GateResult, *, suite_name: str = "faceval gate") -> str:
    """One ``<testsuite>`` with one ``<testcase>`` per (rule, split); failures carry a message.

    Escaping is done by ElementTree, so labels and messages with ``<&"`` stay well-formed.
    """
    failures = len(result.failures)
    root = ET.Element("testsuites", {"name": suite_name, "tests": str(len(result.checks)),
                                     "failures": str(failures), "errors": "0", "time": "0"})
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": suite_name,
            "tests": str(len(result.checks)),
            "failures": str(failures),
            "errors": "0",
            "skipped": "0",
            "time": "0",
        },
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("run", result.run_label),
        ("baseline", result.baseline_label),
        ("dataset", result.dataset),
        ("significance", "" if result.significance is None else f"{result.significance:g}"),
    ):
        ET.SubElement(props, "property", {"name": name, "value": value})
    for diff in result.protocol_differences:
        ET.SubElement(props, "property", {"name": f"protocol_change.{diff.key}",
                                          "value": f"run {diff.this}; baseline {diff.other}"})
    classname = f"faceval.gate.{result.dataset}"
    for check in result.checks:
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": classname, "name": f"{check.rule} [{check.split}]", "time": "0"},
        )
        if not check.passed:
            failure = ET.SubElement(case, "failure", {"message": check.message, "type": "regression"})
            failure.text = _details(check)
        else:
            out = ET.SubElement(case, "system-out")
            out.text = check.message
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _details(check: Check) -> str:
    lines = [
        f"rule: {check.rule}",
        f"metric: {check.metric} ({check.direction} is better)",
        f"split: {check.split}",
        f"baseline: {_num(check.baseline)}",
        f"run: {_num(check.run)}",
        f"change: {_num(check.change)}",
        f"allowed: {check.bound} = {_num(check.allowed)}",
    ]
    if check.p_value is not None:
        lines.append(f"wilcoxon p: {_p(check.p_value)} (n={check.n_paired})")
    return "\n".join(lines)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(result: GateResult, *, title: str = "faceval gate") -> list[str]:
    """One ``::error title=...::message`` workflow command per failing check."""
    return [f"::error title={_escape_property(title)}::{_escape_data(c.message)}" for c in result.failures]


def checks_text(n: int) -> str:
    """``1 check``, ``2 checks``: the count of gate checks in a sentence."""
    return f"{n} check" if n == 1 else f"{n} checks"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def step_summary_markdown(result: GateResult) -> str:
    """A Markdown section for ``$GITHUB_STEP_SUMMARY``: verdict line and one table row per check."""
    verdict = "✅ passed" if result.passed else f"❌ {len(result.failures)} of {checks_text(len(result.checks))} regressed"
    lines = [
        f"### faceval gate: {_md(result.run_label)} vs {_md(result.baseline_label)} ({_md(result.dataset)})",
        "",
        f"**{verdict}**" + (f" (significance {result.significance:g})" if result.significance is not None else ""),
        "",
    ]
    if result.protocol_differences:
        lines.append(
            "Protocol differences (allowed): "
            + "; ".join(f"{_md(d.key)}: run {_md(d.this)}, baseline {_md(d.other)}" for d in result.protocol_differences)
        )
        lines.append("")
    lines.append("| metric | split | baseline | run | change | bound | p-value | result |")
    lines.append("| :--- | :--- | ---: | ---: | ---: | ---: | ---: | :--- |")
    for c in result.checks:
        lines.append(
            f"| {_md(c.metric)} | {_md(c.split)} | {_num(c.baseline)} | {_num(c.run)} | "
            f"{'–' if c.change is None else f'{c.change:+.6g}'} | {_md(c.bound)} | {_p(c.p_value)} | "
            f"{'PASS' if c.passed else '**FAIL**'} |"
        )
    return "\n".join(lines) + "\n\n"
