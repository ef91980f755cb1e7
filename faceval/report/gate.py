"""Regression gate: compare a run with a baseline under rules such as ``nme:+1%``.

Rule syntax: ``METRIC[@SPLIT]:BOUND`` where ``BOUND`` is ``+ABS``, ``-ABS``, ``+REL%`` or
``-REL%`` (no sign: the worsening direction of the metric).  ``@`` tokens that parse as numbers
belong to the metric (``fr@0.10``), the one that does not is the split: ``fr@0.10@test:+0.01``
is metric ``fr@0.10`` on split ``test``; ``fr@0.10:+0.01`` applies to every split common to
both runs.  Values are in stored units (fractions; degrees for pose): ``nme:+0.001`` lets NME
rise by at most 0.001 (0.1 points).

Direction comes from the metric registry: a lower-is-better metric (NME, FR, percentiles, pose
MAE) may *rise* by at most the bound (``+``); a higher-is-better one (AUC, pose correlation) may
*fall* by at most it (``-``); a closer-to-zero one (pose bias) may move away from zero, in
magnitude, by at most it (``+``).  A sign contradicting the direction is an input error.  Relative bounds are relative
to the baseline value.

Default rules (when none is given), on every common split that has images in both runs, with T the baseline's first protocol
threshold:

* ``nme:+1%``       NME may rise by at most 1 % of the baseline value;
* ``fr@T:+0.005``   failure rate may rise by at most 0.5 points (absolute);
* ``auc@T:-1%``     AUC may fall by at most 1 % of the baseline value;
* for a pose-only baseline (no landmark metric): ``mae_mean:+1%``.

With a significance level, a check fails only when its change exceeds the bound *and* a paired
Wilcoxon signed-rank test of the per-image errors (NME; absolute pose error for pose metrics)
over the samples common to both runs, matched by sample id, gives p < alpha.

Runs with different protocols (:meth:`Protocol.differences
<faceval.runs.protocol.Protocol.differences>`, or pose labels that differ on a common sample:
:func:`faceval.runs.data.run_differences`) are not compared unless explicitly allowed; runs
of different datasets never are, nor a partial run (a split with missing samples, a shard, a
``--limit`` run) against a complete baseline.

Every value is computed from the runs' per-image arrays by the metric registry, the same
numbers as ``report`` and the JSON summary.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence


from faceval.errors import InputError
from faceval.metrics.registry import metric_name, parse_metric
from faceval.metrics.run_metrics import metric_value, paired_errors
from faceval.runs.data import RunData, run_differences
from faceval.runs.protocol import ProtocolDifference

#: Slack for floating-point noise when comparing a change with its bound.
EPS = 1e-12

_BOUND_RE = re.compile(r"\s*([+-]?)\s*([^%\s+-][^%\s]*)\s*(%?)\s*")


@dataclass(frozen=True)
class Rule:
    """One gate rule.

    Attributes:
        text: the rule as written (or generated).
        metric: canonical metric name.
        split: the split, or None for every common split.
        bound: allowed worsening magnitude (absolute stored units, or percent when relative).
        relative: True when ``bound`` is a percentage of the baseline value.
        direction: ``lower`` or ``higher`` (which way is better).
    """

    text: str
    metric: str
    split: str | None
    bound: float
    relative: bool
    direction: str

    def bound_text(self) -> str:
        """The bound as the user reads it: ``+0.005`` or ``-1%``."""
        sign = "-" if self.direction == "higher" else "+"
        return f"{sign}{self.bound:g}%" if self.relative else f"{sign}{self.bound:g}"


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def parse_rule(text: str) -> Rule:
    """Parse ``METRIC[@SPLIT]:BOUND`` (see the module docstring); InputError on any problem."""
    raw = text.strip()
    left, sep, right = raw.rpartition(":")
    if not sep or not left.strip() or not right.strip():
        raise InputError(
            f"rule '{text}': expected METRIC[@SPLIT]:BOUND, e.g. 'nme:+1%', 'fr@0.10@test:+0.01', 'auc@0.10:-1%'"
        )
    tokens = [t.strip() for t in left.strip().split("@")]
    if any(not t for t in tokens):
        raise InputError(f"rule '{text}': empty name around '@'")
    metric_tokens = [tokens[0]]
    split: str | None = None
    for tok in tokens[1:]:
        if split is not None:
            raise InputError(f"rule '{text}': more than one split ('{split}', '{tok}'); write one rule per split")
        if _is_number(tok):
            metric_tokens.append(tok)
        else:
            split = tok
    try:
        info = parse_metric("@".join(metric_tokens))
    except InputError as exc:
        raise InputError(f"rule '{text}': {exc}") from None
    metric = info.name
    direction = info.direction

    match = _BOUND_RE.fullmatch(right)
    number = float("nan")
    if match:
        try:
            number = float(match.group(2))
        except ValueError:
            match = None
    if not match or not math.isfinite(number) or number < 0:
        raise InputError(
            f"rule '{text}': bound '{right.strip()}' is not +ABS, -ABS, +REL% or -REL% (e.g. +0.001, -1%)"
        )
    sign, _, percent = match.groups()
    if sign == "-" and direction == "zero":
        raise InputError(
            f"rule '{text}': {metric} is better closer to zero, so a rule bounds how much its magnitude may rise: "
            f"write '+{number:g}{percent}'"
        )
    if sign == "-" and direction == "lower":
        raise InputError(
            f"rule '{text}': {metric} is lower-is-better, so a rule bounds how much it may rise: "
            f"write '+{number:g}{percent}' (a '-' bound would demand an improvement)"
        )
    if sign == "+" and direction == "higher":
        raise InputError(
            f"rule '{text}': {metric} is higher-is-better, so a rule bounds how much it may fall: "
            f"write '-{number:g}{percent}'"
        )
    return Rule(text=raw, metric=metric, split=split, bound=number, relative=bool(percent), direction=direction)


#: The default rules, with ``{fr}`` and ``{auc}`` the metrics at the baseline's first threshold.
DEFAULT_RULE_TEMPLATES: tuple[str, ...] = ("nme:+1%", "{fr}:+0.005", "{auc}:-1%")

#: The default rules as the user reads them (``faceval gate --help``).
DEFAULT_RULES_HELP = "nme:+1%, fr@T:+0.005, auc@T:-1% (T = the baseline's first threshold), on every common split"


def default_rules(baseline: RunData) -> list[Rule]:
    """``nme:+1%``, ``fr@T:+0.005``, ``auc@T:-1%`` (T = the baseline's first threshold); no AUC
    rule under AUC mode ``none`` (HRNet, mmpose, 3DDFA)."""
    if baseline.pose_only:
        return [parse_rule("mae_mean:+1%")]
    thresholds = baseline.protocol.thresholds
    if not thresholds:
        return [parse_rule(DEFAULT_RULE_TEMPLATES[0])]
    t = thresholds[0]
    names = {"fr": metric_name("fr", t), "auc": metric_name("auc", t)}
    templates = [x for x in DEFAULT_RULE_TEMPLATES if "{auc}" not in x or baseline.protocol.auc_mode != "none"]
    return [parse_rule(template.format(**names)) for template in templates]


def check_significance(significance: float | None) -> None:
    """InputError unless ``significance`` is None or in (0, 1)."""
    if significance is not None and not 0.0 < significance < 1.0:
        raise InputError(f"--significance must be between 0 and 1, got {significance:g}")


def describe_difference(diff: ProtocolDifference) -> str:
    """``key: run 'a', baseline 'b'`` with unset values spelled out."""
    return diff.describe("run", "baseline")


def protocol_differences(run: RunData, baseline: RunData, *, pose_labels: bool = True) -> list[ProtocolDifference]:
    """The protocol keys whose values differ between two runs (``this`` = run, ``other`` = baseline),
    then, with ``pose_labels``, ``pose labels`` when both runs score pose against labels that
    differ on a common sample."""
    return run_differences(run, baseline, pose_labels=pose_labels)


def check_complete(run: RunData, baseline: RunData) -> None:
    """Raise InputError when ``run`` is partial (missing samples, a shard, ``--limit``) on splits
    where ``baseline`` is complete: its numbers are not those of the split. Names every such split."""
    bad = [c for c in run.incomplete_splits() if c.split in baseline.splits and baseline.split_count(c.split).complete]
    if not bad:
        return
    shard = bad[0].shard if bad[0].shard and not bad[0].shard.endswith("/1") else None
    what = f"shard {shard} of a sharded run" if shard else "partial"
    where = ", ".join(f"'{c.split}' ({c.describe()}; baseline {baseline.split_count(c.split).n} images)" for c in bad)
    raise InputError(
        f"run '{run.label}' is {what} on split{'s' if len(bad) > 1 else ''} {where} where baseline "
        f"'{baseline.label}' is complete: the numbers are not comparable"
        + (" (merge the shards with faceval merge first)" if shard else "")
    )


@dataclass
class Check:
    """One (rule, split) comparison."""

    rule: str
    metric: str
    split: str
    direction: str
    baseline: float | None
    run: float | None
    change: float | None
    relative_change: float | None
    bound: str
    allowed: float | None
    exceeded: bool
    p_value: float | None
    n_paired: int
    passed: bool
    message: str

    @property
    def name(self) -> str:
        """``metric@split`` for display and JUnit names."""
        return f"{self.metric}@{self.split}"


@dataclass
class GateResult:
    """The outcome of :func:`evaluate_gate`."""

    run_label: str
    baseline_label: str
    dataset: str
    significance: float | None
    checks: list[Check]
    protocol_differences: list[ProtocolDifference] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when no check failed."""
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        """The failing checks."""
        return [c for c in self.checks if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (non-finite numbers become None)."""

        def clean(v: Any) -> Any:
            if isinstance(v, float) and not math.isfinite(v):
                return None
            return v

        return {
            "schema_version": 1,
            "passed": self.passed,
            "run": self.run_label,
            "baseline": self.baseline_label,
            "dataset": self.dataset,
            "significance": self.significance,
            "n_checks": len(self.checks),
            "n_failed": len(self.failures),
            "protocol_differences": [{"key": d.key, "run": d.this, "baseline": d.other}
                                     for d in self.protocol_differences],
            "checks": [{k: clean(v) for k, v in asdict(c).items()} for c in self.checks],
        }


def check_comparable(run: RunData, baseline: RunData, *, allow_protocol_change: bool = False,
                     pose_labels: bool = True) -> list[ProtocolDifference]:
    """Raise InputError when runs may not be compared; return tolerated protocol differences.
    ``pose_labels``: the comparison involves pose metrics, so the pose labels must agree too."""
    if run.dataset != baseline.dataset:
        raise InputError(
            f"run '{run.label}' is on dataset '{run.dataset}' but baseline '{baseline.label}' is on "
            f"'{baseline.dataset}': runs of different datasets are not compared"
        )
    check_complete(run, baseline)
    diffs = protocol_differences(run, baseline, pose_labels=pose_labels)
    if diffs and not allow_protocol_change:
        detail = "; ".join(describe_difference(d) for d in diffs)
        raise InputError(
            f"run and baseline use different protocols ({detail}); the numbers are not comparable "
            "(pass --allow-protocol-change to compare anyway)"
        )
    return diffs


def _paired_p(run: RunData, baseline: RunData, split: str, metric: str) -> tuple[float | None, int]:
    from faceval.metrics import paired

    a, b = paired_errors(run, baseline, split, metric)
    if a.size == 0:
        return None, 0
    result = paired.paired_test(a, b)
    p = float(result.p_value)
    return (p if math.isfinite(p) else 1.0), result.n


def evaluate_gate(
    run: RunData,
    baseline: RunData,
    rules: Sequence[Rule] | None = None,
    *,
    significance: float | None = None,
    allow_protocol_change: bool = False,
) -> GateResult:
    """Check ``run`` against ``baseline``.

    Args:
        rules: parsed rules (default :func:`default_rules` of the baseline).
        significance: alpha of the paired Wilcoxon test, or None for bounds only.
        allow_protocol_change: compare even when protocol keys differ.

    Raises:
        InputError: different datasets or protocols, a partial run against a complete baseline,
            a rule's split absent from either run, no common split, or a bad significance level.
    """
    check_significance(significance)
    rules = list(rules) if rules else default_rules(baseline)
    with_pose = any(parse_metric(rule.metric).needs_pose for rule in rules)  # pose labels matter only then
    diffs = check_comparable(run, baseline, allow_protocol_change=allow_protocol_change, pose_labels=with_pose)
    common = [s for s in baseline.splits if s in run.splits]
    if not common:
        raise InputError(
            f"run '{run.label}' and baseline '{baseline.label}' share no split "
            f"(run: {', '.join(run.splits)}; baseline: {', '.join(baseline.splits)})"
        )
    checks: list[Check] = []
    for rule in rules:
        if rule.split is not None:
            if rule.split not in common:
                from faceval.errors import closest

                where = "the run" if rule.split not in run.splits else "the baseline"
                if rule.split not in run.splits and rule.split not in baseline.splits:
                    where = "either run"
                raise InputError(f"rule '{rule.text}': split '{rule.split}' is not in {where}{closest(rule.split, common)}")
            if not (len(run.splits[rule.split]) and len(baseline.splits[rule.split])):
                raise InputError(f"rule '{rule.text}': split '{rule.split}' has no images in "
                                 f"{'the run' if not len(run.splits[rule.split]) else 'the baseline'}")
            splits = [rule.split]
        else:
            splits = [s for s in common if len(run.splits[s]) and len(baseline.splits[s])]
        for split in splits:
            checks.append(_check(rule, run, baseline, split, significance))
    return GateResult(
        run_label=run.label,
        baseline_label=baseline.label,
        dataset=run.dataset,
        significance=significance,
        checks=checks,
        protocol_differences=diffs,
    )


def _check(rule: Rule, run: RunData, baseline: RunData, split: str, significance: float | None) -> Check:
    base_value = metric_value(baseline, split, rule.metric)
    run_value = metric_value(run, split, rule.metric)
    if base_value is None or run_value is None:
        missing = "baseline" if base_value is None else "run"
        why = " (a pose-only run has no landmark metrics)" if (baseline if base_value is None else run).pose_only \
            and parse_metric(rule.metric).needs_landmarks else ""
        raise InputError(f"rule '{rule.text}': {rule.metric} cannot be computed for the {missing} on split "
                         f"'{split}'{why}")
    change = run_value - base_value
    rel = change / abs(base_value) if base_value != 0 and math.isfinite(base_value) else None
    allowed = abs(base_value) * rule.bound / 100.0 if rule.relative else rule.bound
    if rule.direction == "zero":  # pose bias: its magnitude may grow by at most the bound
        worsening = abs(run_value) - abs(base_value)
    else:
        worsening = change if rule.direction == "lower" else -change
    if math.isnan(worsening):
        exceeded = not (math.isnan(run_value) and math.isnan(base_value))
    elif math.isinf(worsening):
        exceeded = worsening > 0
    else:
        exceeded = worsening > allowed + EPS * max(1.0, abs(base_value))
    p_value: float | None = None
    n_paired = 0
    if significance is not None:
        p_value, n_paired = _paired_p(run, baseline, split, rule.metric)
    if not exceeded:
        passed = True
    elif significance is None:
        passed = False
    else:
        passed = not (p_value is not None and p_value < significance)
    verb = "rose" if change >= 0 else "fell"
    message = (
        f"{rule.metric} on {split} {verb} from {base_value:.6g} to {run_value:.6g} "
        f"(change {change:+.6g}; allowed {rule.bound_text()} = {allowed:.6g})"
    )
    if p_value is not None:
        message += f", Wilcoxon p={p_value:.3g} over {n_paired} images"
        if exceeded and passed:
            message += f" (not significant at {significance:g})"
    return Check(
        rule=rule.text,
        metric=rule.metric,
        split=split,
        direction=rule.direction,
        baseline=base_value,
        run=run_value,
        change=change,
        relative_change=rel,
        bound=rule.bound_text(),
        allowed=allowed,
        exceeded=exceeded,
        p_value=p_value,
        n_paired=n_paired,
        passed=passed,
        message=message,
    )
