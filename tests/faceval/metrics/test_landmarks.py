"""Per-landmark and per-group NME against an independent loop over images and points."""

from __future__ import annotations

import math

import numpy as np
import pytest

from faceval.metrics.landmarks import group_nme, landmark_errors, per_landmark_nme, run_landmark_errors
from faceval.schemes import load_scheme
from tests.faceval.views.helpers import run_with_failures


def _loop_point_nme(pred, gt, d, nme, visible, k):
    values = []
    for i in range(len(nme)):
        if not math.isfinite(nme[i]) or (visible is not None and not visible[i][k]):
            continue
        values.append(math.hypot(pred[i][k][0] - gt[i][k][0], pred[i][k][1] - gt[i][k][1]) / d[i])
    return sum(values) / len(values) if values else float("nan"), len(values)


def _loop_group_nme(pred, gt, d, nme, visible, group):
    per_image = []
    for i in range(len(nme)):
        if not math.isfinite(nme[i]):
            continue
        pts = [k for k in group if visible is None or visible[i][k]]
        if not pts:
            continue
        per_image.append(sum(math.hypot(pred[i][k][0] - gt[i][k][0], pred[i][k][1] - gt[i][k][1]) for k in pts)
                         / len(pts) / d[i])
    return sum(per_image) / len(per_image), len(per_image)


@pytest.mark.parametrize("use_visible", [False, True])
def test_point_and_group_nme_equal_the_loop(use_visible):
    run = run_with_failures()
    rng = np.random.default_rng(3)
    visible = rng.random(run.visible.shape) > 0.3 if use_visible else None
    points, counts = per_landmark_nme(run.predictions, run.ground_truth, run.normalizers, run.nme, visible)
    for k in (0, 17, 36, 45, 67):
        value, count = _loop_point_nme(run.predictions.tolist(), run.ground_truth.tolist(), run.normalizers.tolist(),
                                       run.nme.tolist(), None if visible is None else visible.tolist(), k)
        assert points[k] == pytest.approx(value, rel=1e-12) and counts[k] == count
    scheme = load_scheme("300w")
    for name in ("jaw", "eyes", "mouth", "nose"):
        value, count = group_nme(run.predictions, run.ground_truth, run.normalizers, run.nme, scheme.groups[name], visible)
        expected, expected_count = _loop_group_nme(run.predictions.tolist(), run.ground_truth.tolist(),
                                                   run.normalizers.tolist(), run.nme.tolist(),
                                                   None if visible is None else visible.tolist(), scheme.groups[name])
        assert value == pytest.approx(expected, rel=1e-12) and count == expected_count


def test_failures_are_left_out_and_mean_of_points_is_the_dataset_nme():
    run = run_with_failures()
    errors = landmark_errors(run.predictions, run.ground_truth, run.normalizers, run.nme, "300w")
    finite = np.isfinite(run.nme)
    assert errors.point_count.tolist() == [int(finite.sum())] * 68
    # all points visible, no visible_only: mean over points of NME_k = mean over images of NME_i
    assert float(np.mean(errors.point_nme)) == pytest.approx(float(run.nme[finite].mean()), rel=1e-12)
    assert set(errors.group_nme) == set(load_scheme("300w").groups)


def test_a_point_with_no_counted_image_is_nan():
    run = run_with_failures()
    visible = np.ones_like(run.visible)
    visible[:, 5] = False
    points, counts = per_landmark_nme(run.predictions, run.ground_truth, run.normalizers, run.nme, visible)
    assert math.isnan(points[5]) and counts[5] == 0


def test_run_landmark_errors_follows_the_split_and_visible_only():
    run = run_with_failures()
    rows = run.splits["b"]
    split_errors = run_landmark_errors(run, "b")
    value, _ = _loop_point_nme(run.predictions[rows].tolist(), run.ground_truth[rows].tolist(),
                               run.normalizers[rows].tolist(), run.nme[rows].tolist(), None, 30)
    assert split_errors.point_nme[30] == pytest.approx(value, rel=1e-12)
    run.visible[:, 30] = False
    assert run_landmark_errors(run).point_count[30] > 0  # visible_only off: visibility ignored
    run.protocol["visible_only"] = True
    assert run_landmark_errors(run).point_count[30] == 0


def test_run_group_nme_is_the_group_value_and_names_unknown_groups():
    from faceval.errors import InputError
    from faceval.metrics.landmarks import run_group_nme

    run = run_with_failures()
    assert run_group_nme(run, "a", "mouth") == run_landmark_errors(run, "a").group_nme["mouth"]
    rows = run.splits["a"]
    expected, _ = _loop_group_nme(run.predictions[rows].tolist(), run.ground_truth[rows].tolist(),
                                  run.normalizers[rows].tolist(), run.nme[rows].tolist(), None, list(range(48, 68)))
    assert run_group_nme(run, "a", "mouth") == pytest.approx(expected, rel=1e-12)
    with pytest.raises(InputError, match=r"no landmark group 'eyse' \(did you mean 'eyes'\?\)"):
        run_group_nme(run, None, "eyse")
