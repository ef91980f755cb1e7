"""Gate rules, evaluation, significance and CI outputs (library level)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from faceval.errors import InputError
from faceval.report.ci_outputs import github_annotations, junit_xml, step_summary_markdown
from faceval.report.gate import default_rules, evaluate_gate, parse_rule, protocol_differences
from tests.faceval.report.helpers import base_protocol, make_run, three_splits_run


# ------------------------------------------------------------------ parsing


@pytest.mark.parametrize(
    "text,metric,split,bound,relative,direction",
    [
        ("nme:+0.001", "nme", None, 0.001, False, "lower"),
        ("nme:0.001", "nme", None, 0.001, False, "lower"),
        ("nme@full:+1%", "nme", "full", 1.0, True, "lower"),
        ("fr@0.10@test:+0.01", "fr@0.10", "test", 0.01, False, "lower"),
        ("fr@0.1:+0.01", "fr@0.10", None, 0.01, False, "lower"),
        ("auc@0.10@test:-1%", "auc@0.10", "test", 1.0, True, "higher"),
        ("auc@0.08:-0.5 %", "auc@0.08", None, 0.5, True, "higher"),
        ("nme_p90@challenging:+1e-3", "nme_p90", "challenging", 0.001, False, "lower"),
        ("mae_yaw:+0.5", "mae_yaw", None, 0.5, False, "lower"),
    ],
)
def test_parse_rule(text, metric, split, bound, relative, direction):
    rule = parse_rule(text)
    assert (rule.metric, rule.split, rule.bound, rule.relative, rule.direction) == (
        metric, split, bound, relative, direction)


@pytest.mark.parametrize(
    "text,message",
    [
        ("nmee:+0.1", "did you mean 'nme'"),
        ("nme:-0.001", "lower-is-better"),
        ("auc@0.10:+1%", "higher-is-better"),
        ("nme", "expected METRIC"),
        ("nme:", "expected METRIC"),
        ("nme:+abc", "bound"),
        ("nme:+inf", "bound"),
        ("nme@a@b:+1%", "more than one split"),
        ("fr@:+0.1", "empty name"),
    ],
)
def test_parse_rule_errors(text, message):
    with pytest.raises(InputError, match=message):
        parse_rule(text)


def test_default_rules():
    texts = [r.text for r in default_rules(three_splits_run("a"))]
    assert texts == ["nme:+1%", "fr@0.08:+0.005", "auc@0.08:-1%"]
    wflw = make_run("w", [0.05], dataset="wflw")
    assert [r.text for r in default_rules(wflw)] == ["nme:+1%", "fr@0.10:+0.005", "auc@0.10:-1%"]


# ------------------------------------------------------------------ evaluation


def test_run_vs_itself_passes():
    run = three_splits_run("a")
    result = evaluate_gate(run, run)
    assert result.passed
    assert len(result.checks) == 3 * 3  # three default rules x three splits
    assert {c.split for c in result.checks} == {"common", "challenging", "full"}


def test_planted_regression_fails():
    base = three_splits_run("base")
    bad = three_splits_run("cand")
    bad.nme = bad.nme.copy()
    bad.nme[60:70] *= 1.5  # ten challenging images worse
    from faceval.evaluation.scoring import recompute_summary

    bad.summary = recompute_summary(bad)
    result = evaluate_gate(bad, base, [parse_rule("nme:+1%"), parse_rule("auc@0.08@common:-1%")])
    failed = {(c.metric, c.split) for c in result.failures}
    assert ("nme", "challenging") in failed and ("nme", "full") in failed
    assert ("nme", "common") not in failed and ("auc@0.08", "common") not in failed
    check = next(c for c in result.checks if (c.metric, c.split) == ("nme", "challenging"))
    assert check.change > 0 and check.allowed == pytest.approx(0.01 * check.baseline)


def test_higher_is_better_direction():
    base = make_run("b", [0.02] * 10, dataset="wflw")
    better = make_run("c", [0.01] * 10, dataset="wflw")
    worse = make_run("c", [0.03] * 10, dataset="wflw")
    rule = parse_rule("auc@0.10:-1%")
    assert evaluate_gate(better, base, [rule]).passed
    assert not evaluate_gate(worse, base, [rule]).passed
    # absolute bound on a higher-is-better metric
    assert evaluate_gate(worse, base, [parse_rule("auc@0.10:-0.2")]).passed  # AUC 0.8 -> 0.7


def test_protocol_difference_blocks_unless_allowed():
    base = make_run("b", [0.02, 0.03], dataset="wflw")
    other = make_run("c", [0.02, 0.03], dataset="wflw", protocol=base_protocol("wflw", normalizer="inter-pupil"))
    diffs = protocol_differences(other, base)
    assert [(d.key, d.this, d.other) for d in diffs] == [("normalizer", "inter-pupil", "inter-ocular")]
    with pytest.raises(InputError, match="normalizer: run 'inter-pupil', baseline 'inter-ocular'"):
        evaluate_gate(other, base)
    result = evaluate_gate(other, base, allow_protocol_change=True)
    assert result.passed and result.protocol_differences


def test_unset_protocol_values_are_named_not_quoted_empty():
    base = make_run("b", [0.02, 0.03], dataset="wflw")  # scored predictions: no box keys
    other = make_run("c", [0.02, 0.03], dataset="wflw",
                     protocol=base_protocol("wflw", box_source="landmarks", box_scale=1.2, box_square=True))
    with pytest.raises(InputError) as info:
        evaluate_gate(other, base)
    message = str(info.value)
    assert "box_source: run 'landmarks', baseline not set (scored predictions)" in message
    assert "box_scale: run '1.2', baseline not set (scored predictions)" in message
    assert "box_square: run 'true', baseline not set (scored predictions)" in message
    assert "''" not in message and info.value.exit_code == 2
    no_norm = make_run("d", [0.02, 0.03], dataset="wflw", protocol=base_protocol("wflw", normalizer=None))
    with pytest.raises(InputError, match="normalizer: run not set, baseline 'inter-ocular'"):
        evaluate_gate(no_norm, base)


def test_thresholds_as_tuple_or_list_are_equal():
    base = make_run("b", [0.02], dataset="wflw", protocol=base_protocol("wflw", thresholds=[0.1]))
    other = make_run("c", [0.02], dataset="wflw", protocol=base_protocol("wflw", thresholds=(0.10,)))
    assert protocol_differences(other, base) == []


def test_different_datasets_never_compared():
    a = make_run("a", [0.02], dataset="wflw")
    b = make_run("b", [0.02], dataset="cofw")
    with pytest.raises(InputError, match="different datasets"):
        evaluate_gate(a, b, allow_protocol_change=True)


def test_unknown_split_in_rule():
    run = three_splits_run("a")
    with pytest.raises(InputError, match="did you mean 'full'"):
        evaluate_gate(run, run, [parse_rule("nme@fulll:+1%")])


def test_significance_tiny_consistent_regression_is_significant():
    rng = np.random.default_rng(0)
    nme = rng.gamma(9.0, 0.004, size=500)
    base = make_run("base", nme, dataset="wflw")
    cand = make_run("cand", nme * 1.02, dataset="wflw")  # +2 % on every image
    result = evaluate_gate(cand, base, [parse_rule("nme:+1%")], significance=0.05)
    (check,) = result.checks
    assert check.exceeded and check.p_value < 1e-6 and check.n_paired == 500
    assert not result.passed


def test_significance_big_change_on_three_images_is_not():
    base = make_run("base", [0.03, 0.04, 0.05], dataset="wflw")
    cand = make_run("cand", [0.06, 0.08, 0.10], dataset="wflw")  # doubled
    without = evaluate_gate(cand, base, [parse_rule("nme:+1%")])
    assert not without.passed
    result = evaluate_gate(cand, base, [parse_rule("nme:+1%")], significance=0.05)
    (check,) = result.checks
    assert check.exceeded and check.p_value >= 0.05 and check.passed
    assert result.passed


def test_significance_pairs_by_sample_id():
    rng = np.random.default_rng(1)
    nme = rng.gamma(9.0, 0.004, size=200)
    ids = [f"s{i}" for i in range(200)]
    base = make_run("base", nme, dataset="wflw", sample_ids=ids)
    order = rng.permutation(200)
    cand = make_run("cand", nme[order], dataset="wflw", sample_ids=[ids[i] for i in order])
    result = evaluate_gate(cand, base, [parse_rule("nme:+0")], significance=0.05)
    assert result.checks[0].p_value == 1.0  # identical per sample once matched
    assert result.passed


def test_failures_inf_count_as_regression():
    base = make_run("base", [0.02] * 20, dataset="wflw")
    cand = make_run("cand", [0.02] * 18 + [np.inf, np.inf], dataset="wflw")
    result = evaluate_gate(cand, base, [parse_rule("fr@0.10:+0.05")])
    assert not result.passed  # FR 0 -> 0.10


# ------------------------------------------------------------------ CI outputs


def _failing_result():
    base = make_run("base <&>", [0.02, 0.03, 0.04], dataset="wflw")
    cand = make_run('cand "x"', [0.04, 0.06, 0.08], dataset="wflw")
    return evaluate_gate(cand, base, [parse_rule("nme:+1%"), parse_rule("fr@0.10:+0.01")])


def test_junit_xml_well_formed_and_names_failing_rule():
    result = _failing_result()
    xml = junit_xml(result)
    root = ET.fromstring(xml.encode("utf-8"))
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "1"
    cases = suite.findall("testcase")
    names = [c.get("name") for c in cases]
    assert names == ["nme:+1% [full]", "fr@0.10:+0.01 [full]"]
    failure = cases[0].find("failure")
    assert failure is not None and "nme on" in failure.get("message") and "rose" in failure.get("message")
    assert cases[1].find("failure") is None
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["baseline"] == "base <&>" and props["run"] == 'cand "x"'
    assert junit_xml(result) == xml  # deterministic


def test_github_annotations_escape():
    result = _failing_result()
    lines = github_annotations(result)
    assert len(lines) == 1
    assert lines[0].startswith("::error title=faceval gate::nme on ")
    assert "\n" not in lines[0]


def test_step_summary_table():
    md = step_summary_markdown(_failing_result())
    rows = [l for l in md.splitlines() if l.startswith("| ")]
    assert len(rows) == 2 + 2
    assert "**FAIL**" in md and "PASS" in md and "1 of 2 checks regressed" in md
    assert len({r.count(" | ") for r in rows}) == 1


def test_result_to_dict_json_ready():
    import json

    data = _failing_result().to_dict()
    json.dumps(data, allow_nan=False)
    assert data["passed"] is False and data["n_failed"] == 1
