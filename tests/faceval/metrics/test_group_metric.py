"""``nme_group:<group>`` as a registered metric, against a plain loop over images and points."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import replace

import numpy as np
import pytest

from faceval.errors import InputError
from faceval.metrics.registry import metric_name, parse_metric
from faceval.metrics.run_metrics import metric_ci, metric_value
from faceval.runs.runfile import read_run, write_run
from tests.faceval.views.helpers import run_with_failures

#: the five groups of issue 13, as the 300-W markup numbers them (1-based in the 300-W paper)
GROUPS_300W_1BASED = {"jaw": range(1, 18), "brows": range(18, 28), "nose": range(28, 37), "eyes": range(37, 49),
                      "mouth": range(49, 69)}


def _loop_group_nme(run, rows, points, visible_only=False):
    """Mean over images (finite NME, at least one counted point) of the mean point error / d_i."""
    per_image = []
    for i in rows:
        if not math.isfinite(run.nme[i]):
            continue
        errors = []
        for k in points:
            if visible_only and not run.visible[i][k]:
                continue
            dx = run.predictions[i][k][0] - run.ground_truth[i][k][0]
            dy = run.predictions[i][k][1] - run.ground_truth[i][k][1]
            errors.append(math.sqrt(dx * dx + dy * dy) / run.normalizers[i])
        if errors:
            per_image.append(sum(errors) / len(errors))
    return sum(per_image) / len(per_image) if per_image else float("nan")


def test_names_are_made_and_parsed_by_the_registry():
    assert metric_name("nme_group", "eyes") == "nme_group:eyes"
    metric = parse_metric(" NME_group:Eyes ")
    assert metric.name == "nme_group:eyes" and metric.family == "nme_group"
    assert metric.unit == "fraction" and metric.direction == "lower" and metric.reads_landmarks
    assert not parse_metric("nme").reads_landmarks
    with pytest.raises(InputError, match=r"unknown landmark group 'eyse' in metric 'nme_group:eyse' "
                                         r"\(did you mean 'eyes'\?\)"):
        parse_metric("nme_group:eyse")
    with pytest.raises(InputError, match="needs a landmark group name"):
        metric_name("nme_group", 0.1)


@pytest.mark.parametrize("name", sorted(GROUPS_300W_1BASED))
def test_the_five_groups_of_the_300w_scheme(name):
    from faceval.schemes import load_scheme

    assert load_scheme("300w").groups[name] == [k - 1 for k in GROUPS_300W_1BASED[name]]


def test_every_scheme_has_brows_made_of_its_eyebrows():
    from faceval.schemes import SCHEME_NAMES, load_scheme

    for scheme_name in SCHEME_NAMES:
        groups = load_scheme(scheme_name).groups
        eyebrows = groups.get("eyebrows") or groups["right_eyebrow"] + groups["left_eyebrow"]
        assert groups["brows"] == sorted(eyebrows), scheme_name


@pytest.mark.parametrize("visible_only", [False, True])
def test_value_of_a_run_file_equals_the_loop(tmp_path, visible_only):
    run = run_with_failures(n=24, seed=2)
    rng = np.random.default_rng(7)
    run.visible = rng.random(run.visible.shape) > 0.25
    run.visible[0, 36:48] = False  # image 0 has no visible eye point: it drops out under visible_only
    if visible_only:
        run.protocol = replace(run.protocol, visible_only=True)
    write_run(tmp_path / "run.h5", run)
    back = read_run(tmp_path / "run.h5")
    for split in ("a", "b", "full"):
        rows = [int(i) for i in run.splits[split]]
        for group, points in GROUPS_300W_1BASED.items():
            expected = _loop_group_nme(run, rows, [k - 1 for k in points], visible_only)
            got = metric_value(back, split, metric_name("nme_group", group))
            assert got == pytest.approx(expected, rel=1e-12), (split, group)


def test_landmark_arrays_are_read_only_for_the_group_metric(tmp_path):
    run = run_with_failures(n=20)
    write_run(tmp_path / "run.h5", run)
    back = read_run(tmp_path / "run.h5")
    metric_value(back, "full", "nme")
    assert "predictions" not in back.loaded() and "ground_truth" not in back.loaded()
    metric_value(back, "full", "nme_group:mouth")
    assert {"predictions", "ground_truth", "normalizers"} <= set(back.loaded())


def test_interval_brackets_the_value_and_a_missing_group_is_empty():
    run = run_with_failures(n=30)
    value = metric_value(run, "full", "nme_group:eyes")
    interval = metric_ci(run, "full", "nme_group:eyes")
    assert interval is not None and interval.low <= value <= interval.high and interval.estimate == value
    run.scheme = "cofw"  # no jaw group in the COFW markup: the cell is empty, not an error
    assert metric_value(run, "full", "nme_group:jaw") is None


def test_report_accepts_the_group_metric(tmp_path, capsys):
    from faceval_cli.main import main

    run = run_with_failures(n=20, seed=4)
    write_run(tmp_path / "run.h5", run)
    capsys.readouterr()
    assert main(["report", str(tmp_path / "run.h5"), "--metrics", "nme,nme_group:eyes,nme_group:brows",
                 "--format", "csv"]) == 0
    records = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    got = {(r["split"], r["metric"]): float(r["value"]) for r in records}
    for split in ("a", "b", "full"):
        rows = [int(i) for i in run.splits[split]]
        for group in ("eyes", "brows"):
            expected = _loop_group_nme(run, rows, [k - 1 for k in GROUPS_300W_1BASED[group]])
            assert got[(split, f"nme_group:{group}")] == pytest.approx(expected, rel=1e-12)
    assert main(["report", str(tmp_path / "run.h5"), "--metrics", "nme_group:eyse"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "did you mean 'eyes'" in err


def test_gate_rule_on_a_group_catches_a_worse_eye_region():
    from faceval.report.gate import evaluate_gate, parse_rule

    baseline = run_with_failures(n=20, seed=5)
    run = run_with_failures(n=20, seed=5)
    run.label = "worse eyes"
    eyes = [k - 1 for k in GROUPS_300W_1BASED["eyes"]]
    run.predictions[:, eyes] += 1.5  # every eye point 1.5 px further off; the other points unchanged
    rules = [parse_rule("nme_group:eyes@full:+5%"), parse_rule("nme_group:mouth@full:+0%")]
    result = evaluate_gate(run, baseline, rules, significance=0.05)
    by_metric = {c.metric: c for c in result.checks}
    assert not by_metric["nme_group:eyes"].passed and by_metric["nme_group:mouth"].passed
    rows = [int(i) for i in run.splits["full"]]
    assert by_metric["nme_group:eyes"].run == pytest.approx(_loop_group_nme(run, rows, eyes), rel=1e-12)
    assert by_metric["nme_group:eyes"].baseline == pytest.approx(_loop_group_nme(baseline, rows, eyes), rel=1e-12)


def test_group_nme_follows_the_runs_point_subset(tmp_path):
    """SPIGA's 300W predictions scored on menpofit's inner 49 points: the jaw is not scored (an empty
    value, once its full 68-point error), the mouth loses its corners 60 and 64 (0-based), as a plain
    loop over SPIGA's JSON gives; ``show`` lists no jaw."""
    from faceval.api import score
    from faceval.views.show import describe_run
    from tests.conftest import shared_path
    from tests.faceval.metrics.test_spiga_reference import load_db

    base = shared_path("spiga_results", "300wpublic")
    run = score(base / "spiga_results_test.json", f"json:{base / 'test.json'}", points="inner49").data
    data = load_db("300wpublic")
    import json

    position = {r["imgpath"]: i for i, r in enumerate(json.loads((base / "test.json").read_text()))}
    order = [position[str(s)] for s in run.sample_ids]  # load_db follows test.json's order
    gt, pred = data["gt"][order], data["pred"][order]
    d = np.linalg.norm(gt[:, 36] - gt[:, 45], axis=1)
    mouth = [k for k in range(48, 68) if k not in (60, 64)]
    expected = float(np.mean([np.mean([np.linalg.norm(pred[i, k] - gt[i, k]) for k in mouth]) / d[i]
                              for i in range(len(d))]))
    assert metric_value(run, "all", "nme_group:mouth") == pytest.approx(expected, rel=1e-12)
    jaw = metric_value(run, "all", "nme_group:jaw")
    assert jaw is None or math.isnan(jaw)
    overview = describe_run(run)
    assert "jaw" not in overview.landmark_groups["all"] and "mouth" in overview.landmark_groups["all"]


def test_per_landmark_errors_leave_unscored_points_out():
    """The HTML figure's per-point errors of an inner-49 run: the jaw and mouth corners have none."""
    from faceval.api import score
    from faceval.metrics.landmarks import run_landmark_errors
    from tests.conftest import shared_path

    base = shared_path("spiga_results", "300wpublic")
    inner = score(base / "spiga_results_test.json", f"json:{base / 'test.json'}", points="inner49").data
    full = score(base / "spiga_results_test.json", f"json:{base / 'test.json'}").data
    a, b = run_landmark_errors(inner, "all"), run_landmark_errors(full, "all")
    unscored = list(range(17)) + [60, 64]
    assert np.isnan(a.point_nme[unscored]).all() and not a.point_count[unscored].any()
    scored = [k for k in range(68) if k not in unscored]
    np.testing.assert_array_equal(a.point_nme[scored], b.point_nme[scored])  # same normaliser: all 68 GT points
    assert np.isfinite(b.point_nme).all()
