"""3DDFA's "mean of the three yaw-bin means" (``nme_binmean``) on a synthetic AFLW2000-3D run.

The run has the splits ``all`` and the yaw bins ``yaw0-30``, ``yaw30-60``, ``yaw60-90`` (|yaw|
<= 30, (30, 60], > 60; the names the aflw2000 loader gives them). The expected value is computed
here as 3DDFA's benchmark_aflw2000.py ``ana()`` does, from its own bbox NME (``calc_nme``).
"""

from __future__ import annotations

import numpy as np
import pytest

from faceval.datasets.common import make_annotations
from faceval.errors import InputError
from faceval.evaluation.scoring import PredictionSet, build_run
from faceval.metrics.presets import ProtocolChoice, choose_protocol
from faceval.metrics.registry import metric_name
from faceval.metrics.run_metrics import metric_ci, metric_value
from faceval.report import render_report
from faceval.runs.runfile import read_run, write_run
from tests.fixtures import random_faces

BINS = ("yaw0-30", "yaw30-60", "yaw60-90")


def _faces(n: int = 60, seed: int = 4):
    rng = np.random.default_rng(seed)
    gt = random_faces(n, seed=seed)
    pred = gt + rng.normal(0, 2.0, size=gt.shape) * rng.uniform(0.5, 3.0, size=(n, 1, 1))
    yaw = rng.uniform(-90, 90, size=n)
    yaw[:3] = [30.0, -60.0, 60.0000001]  # bin edges: 30 -> first bin, 60 -> second, just above -> third
    return gt, pred, yaw


def _splits(yaw: np.ndarray, bins: tuple[str, ...] = BINS) -> dict[str, np.ndarray]:
    a = np.abs(yaw)
    masks = {"yaw0-30": a <= 30, "yaw30-60": (a > 30) & (a <= 60), "yaw60-90": a > 60}
    out = {"all": np.arange(yaw.size)}
    out.update({b: np.flatnonzero(masks[b]) for b in bins})
    return out


def _run(bins: tuple[str, ...] = BINS, preset: str | None = "3ddfa"):
    gt, pred, yaw = _faces()
    n = gt.shape[0]
    poses = np.stack([yaw, np.zeros(n), np.zeros(n)], axis=1)
    ann = make_annotations(dataset="aflw2000", scheme="300w", sample_ids=[f"image{i:05d}.jpg" for i in range(n)],
                           image_paths=[None] * n, landmarks=gt, poses=poses, splits=_splits(yaw, bins),
                           warnings=[], data_root=None, pose_source="dataset")
    choice = ProtocolChoice(preset=preset) if preset else ProtocolChoice(normalizer="bbox")
    protocol = choose_protocol(choice, "aflw2000", ann.splits, ann.scheme)
    return build_run(ann, PredictionSet(landmarks=pred), protocol, label="m"), gt, pred, yaw


def _3ddfa_binmean(gt: np.ndarray, pred: np.ndarray, yaw: np.ndarray) -> float:
    """3DDFA calc_nme (bbox of the 68 2-D GT points) + ana() (float64 here)."""
    nme_list = []
    for p, g in zip(pred, gt):
        minx, maxx = np.min(g[:, 0]), np.max(g[:, 0])
        miny, maxy = np.min(g[:, 1]), np.max(g[:, 1])
        llength = np.sqrt((maxx - minx) * (maxy - miny))
        nme_list.append(np.mean(np.sqrt(np.sum((p - g) ** 2, axis=1))) / llength)
    nme_list = np.array(nme_list)
    yaw_abs = np.abs(yaw)
    ind_1 = yaw_abs <= 30
    ind_2 = np.bitwise_and(yaw_abs > 30, yaw_abs <= 60)
    ind_3 = yaw_abs > 60
    return float(np.mean([np.mean(nme_list[ind_1]), np.mean(nme_list[ind_2]), np.mean(nme_list[ind_3])]))


def test_binmean_is_the_mean_of_the_three_bin_means() -> None:
    run, gt, pred, yaw = _run()
    expected = _3ddfa_binmean(gt, pred, yaw)
    assert run.summary["all"]["nme_binmean"] == pytest.approx(expected, rel=1e-12)
    assert metric_value(run, "all", "nme_binmean") == pytest.approx(expected, rel=1e-12)
    # not the plain mean (the bins hold different numbers of images)
    assert abs(run.summary["all"]["nme"] - expected) > 1e-6
    for b in BINS:  # a bin split alone has one bin: no mean of bin means there
        assert "nme_binmean" not in run.summary[b]
        assert metric_value(run, b, "nme_binmean") is None


def test_binmean_is_there_without_the_preset_when_the_bins_are() -> None:
    run, gt, pred, yaw = _run(preset=None)
    assert run.summary["all"]["nme_binmean"] == pytest.approx(_3ddfa_binmean(gt, pred, yaw), rel=1e-12)


def test_binmean_survives_the_run_file_and_reaches_the_report(tmp_path) -> None:
    run, gt, pred, yaw = _run()
    path = tmp_path / "run.h5"
    write_run(path, run)
    back = read_run(path)
    expected = _3ddfa_binmean(gt, pred, yaw)
    assert back.protocol.preset == "3ddfa"
    assert metric_value(back, "all", "nme_binmean") == pytest.approx(expected, rel=1e-12)
    text, _warnings = render_report([back], "markdown", splits=["all"])  # a default column with the bins
    assert "All NME bin mean (%)" in text
    table, _warnings = render_report([back], "csv", metrics=["nme", "nme_binmean"], splits=["all"])
    import csv
    import io

    rows = {r["metric"]: float(r["value"]) for r in csv.DictReader(io.StringIO(table))}
    assert rows["nme_binmean"] == pytest.approx(expected, rel=1e-12)
    assert rows["nme"] == pytest.approx(back.summary["all"]["nme"], rel=1e-12)
    interval = metric_ci(back, "all", "nme_binmean")
    assert interval is not None and interval.low <= expected <= interval.high


def test_a_partial_run_is_refused() -> None:
    run, *_ = _run(bins=("yaw0-30", "yaw30-60"))
    assert "nme_binmean" not in run.summary["all"]
    with pytest.raises(InputError, match="partial: the run lacks aflw2000:yaw60-90"):
        metric_value(run, "all", "nme_binmean")


def test_3ddfa_preset_warns_when_bins_are_missing(capsys) -> None:
    from faceval.evaluation.score import describe_choice

    protocol = choose_protocol(ProtocolChoice(preset="3ddfa"), "aflw2000", ["test"])
    messages = describe_choice(protocol, "aflw2000", {"test": np.arange(3)})
    assert messages[0].startswith("note: protocol preset 3ddfa")
    assert "no nme_binmean" in messages[1] and "aflw2000:yaw60-90" in messages[1]


def test_3ddfa_run_has_no_auc_anywhere(tmp_path) -> None:
    """3DDFA reports NME only: no auc@T in the summary, the default columns or the default gate rules."""
    from faceval.report.gate import default_rules

    run, gt, pred, yaw = _run()
    assert run.protocol.auc_mode == "none"
    for split in ("all", *BINS):
        assert not any(k.startswith("auc@") for k in run.summary[split])
    path = tmp_path / "run.h5"
    write_run(path, run)
    back = read_run(path)
    text, _warnings = render_report([back], "markdown", splits=["all"])
    header = text.splitlines()[0]
    assert "AUC" not in header and "All NME bin mean (%)" in header and "no AUC" in text
    assert not any(r.metric.startswith("auc") for r in default_rules(back))
    asked, _warnings = render_report([back], "markdown", metrics=["nme", metric_name("auc", 0.1)], splits=["all"])
    assert asked.splitlines()[2].split("|")[3].strip() == "–"  # the AUC cell of the row
    # faceval's exact AUC only when asked for (an override), from the per-image bbox NME
    gt_run, *_ = _run(preset=None)
    nme = np.array([np.mean(np.sqrt(np.sum((p - g) ** 2, axis=1))) / np.sqrt(np.ptp(g[:, 0]) * np.ptp(g[:, 1]))
                    for p, g in zip(pred, gt)])
    assert gt_run.summary["all"][metric_name("auc", 0.1)] == pytest.approx(np.mean(np.clip(0.1 - nme, 0, None)) / 0.1, rel=1e-12)
