"""Each peer preset reproduces its peer on SPIGA's real predictions (../shared/data/spiga_results).

The expected values are computed here, independently, by plain numpy copies of each peer's own
evaluation code (PIPNet ``compute_fr_and_auc``, STAR ``FR_AUC.test``, menpofit
``area_under_curve_and_failure_rate`` and its 49/51-point errors, SPIGA ``_cumulative_error`` /
``_auc_fr_metrics`` in percent, HRNet ``compute_nme`` + failure counts, mmpose ``_calc_distances``
+ ``keypoint_nme``), and where the peer published a metric file (SPIGA) against that file too.
The numbers faceval gives come from ``choose_protocol`` + ``build_run`` (the path ``faceval
score`` takes). ``scipy.integrate.simps`` no longer exists: the oracle for the peers' Simpson is
``scipy.integrate.simpson`` on an odd number of samples (the same composite rule), and for an
even number the old ``even='avg'`` rule written out from scipy's documentation.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import simpson

from faceval.datasets.common import make_annotations
from faceval.errors import InputError
from faceval.evaluation.scoring import PredictionSet, build_run
from faceval.metrics.presets import PRESET_NAMES, ProtocolChoice, choose_protocol
from tests.faceval.metrics.test_spiga_reference import load_db

EXACT = 1e-12


# ------------------------------------------------------------------------------------------
# oracles: the peers' code, re-typed in numpy
# ------------------------------------------------------------------------------------------


def old_simps(y: np.ndarray, x: np.ndarray) -> float:
    """The removed ``scipy.integrate.simps(y, x)`` (``even='avg'``), built on ``simpson``."""
    y, x = np.asarray(y, float), np.asarray(x, float)
    if y.size % 2 == 1:
        return float(simpson(y, x=x))
    first = simpson(y[:-1], x=x[:-1]) + 0.5 * (x[-1] - x[-2]) * (y[-1] + y[-2])
    last = 0.5 * (x[1] - x[0]) * (y[1] + y[0]) + simpson(y[1:], x=x[1:])
    return float((first + last) / 2)


def pipnet_fr_auc(nmes: np.ndarray, thres: float = 0.1, step: float = 0.0001) -> tuple[float, float]:
    """PIPNet lib/functions.py compute_fr_and_auc (STAR's FR_AUC.test is the same before rounding)."""
    num_data = len(nmes)
    xs = np.arange(0, thres + step, step)
    ys = np.array([np.count_nonzero(nmes <= x) for x in xs]) / float(num_data)
    fr = 1.0 - ys[-1]
    auc = old_simps(ys, x=xs) / thres
    return fr, auc


def menpofit_auc_fr(errors: np.ndarray, step_error: float, max_error: float, min_error: float = 0.0):
    """menpofit/error/stats.py area_under_curve_and_failure_rate (+ compute_cumulative_error)."""
    x_axis = list(np.arange(min_error, max_error + step_error, step_error))
    n_errors = len(errors)
    ced = np.array([np.count_nonzero([errors <= x]) / n_errors for x in x_axis])
    return old_simps(ced, x=np.array(x_axis)) / max_error, 1.0 - ced[-1]


def pipnet_nme(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """PIPNet compute_nme with norm = ||gt[36] - gt[45]|| (also HRNet's and STAR's ocular NME)."""
    out = []
    for p, g in zip(pred, gt):
        norm = np.linalg.norm(g[36] - g[45])
        out.append(np.mean(np.linalg.norm(p - g, axis=1)) / norm)
    return np.array(out)


def spiga_auc_fr(nme_percent: list[float], thr: float, bins: int = 10000) -> tuple[float, float]:
    """SPIGA metrics/landmarks.py _cumulative_error + _filter_cumulative + _auc_fr_metrics (percent)."""
    num_imgs, base = np.histogram(nme_percent, bins=bins)
    cumulative = [x / float(len(nme_percent)) for x in np.cumsum(num_imgs)]
    base = base[:bins]
    base = [x for x in base if (x < thr)]
    cumulative = cumulative[:len(base)]
    if not base:
        return 0.0, 100.0
    auc = (old_simps(np.array(cumulative), x=np.array(base)) / thr) * 100.0
    if base[-1] < thr and cumulative[-1] == 1:
        auc += ((thr - base[-1]) / thr) * 100
    fr = (1 - cumulative[-1]) * 100.0
    return auc, fr


def spiga_nme_percent(pred: np.ndarray, gt: np.ndarray, norm: str) -> list[float]:
    """SPIGA compute_error: ne = ||a - p|| / norm * 100 per landmark, mean per image."""
    out = []
    for p, g in zip(pred, gt):
        if norm == "corners":
            d = float(((g[45] - g[36]) ** 2).sum() ** 0.5)  # SPIGA ids 12 and 7
        else:  # lnd_bbox
            wh = g.max(axis=0) - g.min(axis=0)
            d = (wh[0] * wh[1]) ** 0.5
        out.append(np.mean([float(((g[k] - p[k]) ** 2).sum() ** 0.5) / d * 100 for k in range(len(g))]))
    return out


def mmpose_keypoint_nme(preds: np.ndarray, gts: np.ndarray, mask: np.ndarray) -> float:
    """mmpose NME metric (keypoint_distance, 300W indices 36/45) -> _calc_distances -> keypoint_nme."""
    interocular = np.linalg.norm(gts[:, 36, :] - gts[:, 45, :], axis=1, keepdims=True)
    norm_factor = np.tile(interocular, [1, 2])
    n, k, _ = preds.shape
    _mask = mask.copy()
    _mask[np.where((norm_factor == 0).sum(1))[0], :] = False
    distances = np.full((n, k), -1, dtype=np.float32)
    norm_factor[np.where(norm_factor <= 0)] = 1e6
    distances[_mask] = np.linalg.norm(((preds - gts) / norm_factor[:, None, :])[_mask], axis=-1)
    distances = distances.T
    distance_valid = distances[distances != -1]
    return distance_valid.sum() / max(1, len(distance_valid))


# ------------------------------------------------------------------------------------------
# faceval: the preset through choose_protocol + build_run
# ------------------------------------------------------------------------------------------


def _annotations(db: str, dataset: str, splits: dict[str, np.ndarray] | None = None):
    data = load_db(db)
    n = data["gt"].shape[0]
    ann = make_annotations(dataset=dataset, scheme="300w", sample_ids=[f"s{i:04d}" for i in range(n)],
                           image_paths=[None] * n, landmarks=data["gt"], visible=data["visible"],
                           splits=splits or {"full": np.arange(n)}, warnings=[], data_root=None)
    return ann, data


def _score(db: str, dataset: str, choice: ProtocolChoice, splits: dict[str, np.ndarray] | None = None):
    ann, data = _annotations(db, dataset, splits)
    protocol = choose_protocol(choice, dataset, ann.splits, ann.scheme)
    run = build_run(ann, PredictionSet(landmarks=data["pred"]), protocol, label=choice.preset or "faceval")
    return run, data


def test_every_preset_is_tested_here() -> None:
    assert set(PRESET_NAMES) == {"pipnet", "star", "menpofit", "spiga", "hrnet", "mmpose", "3ddfa"}


def test_pipnet_reproduces_compute_fr_and_auc_on_300w() -> None:
    run, data = _score("300wpublic", "300w", ProtocolChoice(preset="pipnet"))
    p = run.protocol
    assert (p.preset, p.normalizer, p.aggregation, p.auc_mode, p.fr_cut, p.thresholds) == (
        "pipnet", "inter-ocular", "mean", "simpson-1e-4", "grid", (0.10,))
    nmes = pipnet_nme(data["pred"], data["gt"])
    fr, auc = pipnet_fr_auc(nmes)  # PIPNet's thres=0.1 for every dataset
    stats = run.summary["full"]
    assert stats["nme"] == pytest.approx(np.mean(nmes), abs=EXACT)
    assert stats["fr@0.10"] == pytest.approx(fr, abs=EXACT)
    assert stats["auc@0.10"] == pytest.approx(auc, abs=EXACT)


@pytest.mark.parametrize("t", [0.05, 0.07, 0.08])
def test_grid_cut_and_auc_at_other_thresholds(t: float) -> None:
    """--threshold overrides the preset (recorded); the grid (overshooting at 0.05/0.07) still applies."""
    run, data = _score("300wpublic", "300w", ProtocolChoice(preset="pipnet", thresholds=(t,)))
    assert run.protocol.overrides == ("thresholds",)
    fr, auc = pipnet_fr_auc(pipnet_nme(data["pred"], data["gt"]), thres=t)
    name = f"{t:.2f}"
    assert run.summary["full"][f"fr@{name}"] == pytest.approx(fr, abs=EXACT)
    assert run.summary["full"][f"auc@{name}"] == pytest.approx(auc, abs=EXACT)


def test_star_uses_005_on_300w() -> None:
    run, data = _score("300wpublic", "300w", ProtocolChoice(preset="star"))
    assert run.protocol.thresholds == (0.05,) and run.protocol.normalizer == "inter-ocular"
    fr, auc = pipnet_fr_auc(pipnet_nme(data["pred"], data["gt"]), thres=0.05)
    stats = run.summary["full"]
    # STAR prints round(fr, 4), round(auc, 6); faceval keeps the unrounded values
    assert stats["fr@0.05"] == pytest.approx(fr, abs=EXACT)
    assert stats["auc@0.05"] == pytest.approx(auc, abs=EXACT)
    assert round(stats["auc@0.05"], 6) == round(auc, 6)


def test_star_normalises_cofw_inter_pupil() -> None:
    protocol = choose_protocol(ProtocolChoice(preset="star"), "cofw", ["test"])
    assert (protocol.normalizer, protocol.thresholds) == ("inter-pupil", (0.10,))


def test_menpofit_auc_at_008_and_its_own_rule() -> None:
    run, data = _score("300wpublic", "300w", ProtocolChoice(preset="menpofit"))
    assert run.protocol.thresholds == (0.08,)
    nmes = pipnet_nme(data["pred"], data["gt"])  # outer_eye_corner_68_euclidean_error
    auc, fr = menpofit_auc_fr(nmes, step_error=1e-4, max_error=0.08)
    assert run.summary["full"]["auc@0.08"] == pytest.approx(auc, abs=EXACT)
    assert run.summary["full"]["fr@0.08"] == pytest.approx(fr, abs=EXACT)
    # the closed form differs from menpofit's Simpson on its grid (which is why a preset exists)
    exact = np.mean(np.maximum(0, 0.08 - nmes)) / 0.08
    assert abs(exact - auc) > 1e-6


@pytest.mark.parametrize("points", ["inner49", "inner51"])
def test_menpofit_box_edge_on_inner_points(points: str) -> None:
    """menpofit bb_avg_edge_length_49/68 errors: error over the subset, box of all 68 GT points."""
    run, data = _score("300wpublic", "300w", ProtocolChoice(preset="menpofit", normalizer="box-edge", points=points))
    assert run.protocol.overrides == ("normalizer", "points")
    gt, pred = data["gt"], data["pred"]
    keep = np.arange(17, 68) if points == "inner51" else np.delete(np.arange(68), [60, 64])[17:]
    assert len(keep) == int(points[-2:])
    expected = []
    for p, g in zip(pred, gt):
        height, width = np.max(g, axis=0) - np.min(g, axis=0)  # bb_avg_edge_length of the 68-point GT
        expected.append(np.mean(np.linalg.norm(p[keep] - g[keep], axis=1)) / (0.5 * (height + width)))
    np.testing.assert_allclose(run.nme, expected, rtol=1e-12)
    auc, fr = menpofit_auc_fr(np.array(expected), step_error=1e-4, max_error=0.08)
    assert run.summary["full"]["auc@0.08"] == pytest.approx(auc, abs=EXACT)


def test_points_subset_is_refused_off_the_68_point_scheme() -> None:
    with pytest.raises(InputError, match="needs the 68-point 300w scheme.*'wflw' scheme \\(98 points\\)"):
        choose_protocol(ProtocolChoice(points="inner49"), "wflw", ["test"], "wflw")


def _spiga_subsets(db: str) -> dict[str, np.ndarray]:
    data = load_db(db)
    splits = {"full": np.arange(data["gt"].shape[0])}
    splits.update({k: np.asarray(v) for k, v in data["subsets"].items()})
    return splits


@pytest.mark.parametrize("db, dataset, norm, thr", [
    ("300wpublic", "300w", "corners", 8),
    ("300wprivate", "300w", "lnd_bbox", 7),
    ("cofw68", "cofw68", "lnd_bbox", 7),
])
def test_spiga_histogram_auc_and_fr_match_its_code_and_metric_files(db: str, dataset: str, norm: str, thr: int) -> None:
    splits = _spiga_subsets(db)
    if db == "300wprivate":  # faceval's 300W private splits
        splits = {"private": splits["full"], "indoor": splits["indoor"], "outdoor": splits["outdoor"]}
    run, data = _score(db, dataset, ProtocolChoice(preset="spiga"), splits)
    assert run.protocol.fr_cut == "spiga-hist" and run.protocol.auc_mode == "spiga-hist"
    assert run.protocol.thresholds == (thr / 100,)
    assert run.protocol.normalizer == ("inter-ocular" if norm == "corners" else "bbox")
    nme = spiga_nme_percent(data["pred"], data["gt"], norm)
    published = data["metrics"]["landmarks"]
    key = f"{thr / 100:.2f}"
    for split, idx in splits.items():
        auc, fr = spiga_auc_fr([nme[i] for i in idx], thr)
        stats = run.summary[split]
        assert 100 * stats[f"auc@{key}"] == pytest.approx(auc, abs=1e-9), split
        assert 100 * stats[f"fr@{key}"] == pytest.approx(fr, abs=1e-9), split
        sub = published if split in ("full", "private") else published["subset"][split]
        assert 100 * stats[f"auc@{key}"] == pytest.approx(sub["auc"], abs=1e-9), split
        assert 100 * stats[f"fr@{key}"] == pytest.approx(sub["fr"], abs=1e-9), split
        assert 100 * stats["nme"] == pytest.approx(sub["nme"], abs=1e-9), split


def test_spiga_refuses_a_mixed_300w_selection() -> None:
    with pytest.raises(InputError, match="300W public and private differently"):
        choose_protocol(ProtocolChoice(preset="spiga"), "300w", ["helen", "indoor"])


def test_peer_fr_cuts_differ_from_strict_where_their_code_says() -> None:
    """SPIGA: an NME in (t, first edge >= t) is no failure; the grid: none in (t, grid[-1]]."""
    from faceval.metrics.curves import failure_rate

    nme = np.array([0.01, 0.0800001, 0.2])  # one NME just above t = 0.08, in the bin holding t
    _auc, fr = spiga_auc_fr(list(100 * nme), 8)
    assert failure_rate(nme, 0.08, "spiga-hist") == pytest.approx(fr / 100, abs=1e-12) == pytest.approx(1 / 3)
    assert failure_rate(nme, 0.08, "strict") == pytest.approx(2 / 3)
    nme = np.array([0.01, 0.05005, 0.2])  # at t = 0.05 the float grid ends at 0.0501
    fr_grid, _auc = pipnet_fr_auc(nme, thres=0.05)
    assert failure_rate(nme, 0.05, "grid") == pytest.approx(fr_grid, abs=1e-12) == pytest.approx(1 / 3)
    assert failure_rate(nme, 0.05, "strict") == pytest.approx(2 / 3)


def test_hrnet_strict_failures_at_008_and_010() -> None:
    run, data = _score("300wpublic", "300w", ProtocolChoice(preset="hrnet"))
    assert run.protocol.thresholds == (0.08, 0.10) and run.protocol.fr_cut == "strict"
    gt, pred = data["gt"], data["pred"]
    rmse = np.array([np.sum(np.linalg.norm(p - g, axis=1)) / (np.linalg.norm(g[36] - g[45]) * 68)
                     for p, g in zip(pred, gt)])  # HRNet compute_nme, L = 68
    assert run.summary["full"]["nme"] == pytest.approx(rmse.mean(), abs=EXACT)
    assert run.summary["full"]["fr@0.08"] == (rmse > 0.08).sum() / len(rmse)
    assert run.summary["full"]["fr@0.10"] == (rmse > 0.10).sum() / len(rmse)
    # HRNet computes no AUC: none in the summary (only an explicit --auc-mode adds faceval's)
    assert run.protocol.auc_mode == "none" and not any(k.startswith("auc@") for k in run.summary["full"])
    exact, _ = _score("300wpublic", "300w", ProtocolChoice(preset="hrnet", auc_mode="exact"))
    t = 0.08
    assert exact.protocol.overrides == ("auc_mode",)
    assert exact.summary["full"]["auc@0.08"] == pytest.approx(np.mean(np.clip(t - rmse, 0, None)) / t, abs=EXACT)


def test_mmpose_masked_point_mean_on_cofw68() -> None:
    run, data = _score("cofw68", "cofw68", ProtocolChoice(preset="mmpose"))
    p = run.protocol
    assert (p.aggregation, p.distance_dtype, p.visible_only, p.normalizer) == (
        "point-mean", "float32", True, "inter-ocular")
    expected = mmpose_keypoint_nme(data["pred"], data["gt"], data["visible"])
    assert isinstance(expected, np.float32)
    assert run.summary["full"]["nme"] == float(expected)  # bit for bit: same float32 sum
    assert 100 * run.summary["full"]["nme"] == pytest.approx(3.2624, abs=1e-4)  # evaluation.md section 2
    assert p.auc_mode == "none" and not any(k.startswith("auc@") for k in run.summary["full"])  # NME only
    # the per-image mean of the visible points (faceval's mean) is another number
    mean_run, _ = _score("cofw68", "cofw68", ProtocolChoice(visible_only=True))
    assert 100 * mean_run.summary["full"]["nme"] == pytest.approx(3.2924, abs=1e-4)


def test_point_mean_equals_the_mean_with_every_point_counted() -> None:
    point, data = _score("300wpublic", "300w", ProtocolChoice(aggregation="point-mean"))
    mean, _ = _score("300wpublic", "300w", ProtocolChoice())
    assert point.summary["full"]["nme"] == pytest.approx(mean.summary["full"]["nme"], rel=1e-13)
    assert point.protocol.distance_dtype == "float64"


def test_3ddfa_is_bbox_on_aflw2000_only() -> None:
    protocol = choose_protocol(ProtocolChoice(preset="3ddfa"), "aflw2000", ["all"])
    assert (protocol.normalizer, protocol.aggregation, protocol.preset) == ("bbox", "mean", "3ddfa")
    # 3DDFA's benchmark_aflw2000.py (calc_nme, ana) reports NME per yaw bin and their mean: no AUC
    assert protocol.auc_mode == "none" and protocol.overrides == ()
    exact = choose_protocol(ProtocolChoice(preset="3ddfa", auc_mode="exact"), "aflw2000", ["all"])
    assert exact.auc_mode == "exact" and exact.overrides == ("auc_mode",)
    with pytest.raises(InputError, match="preset '3ddfa'.*defines no settings for dataset '300w'"):
        choose_protocol(ProtocolChoice(preset="3ddfa"), "300w", ["helen"])


def test_unknown_preset_names_the_closest() -> None:
    with pytest.raises(InputError, match="unknown protocol preset 'pipnett'.*pipnet"):
        choose_protocol(ProtocolChoice(preset="pipnett"), "300w", ["helen"])


def test_explicit_flag_equal_to_the_preset_is_no_override() -> None:
    protocol = choose_protocol(ProtocolChoice(preset="pipnet", normalizer="inter-ocular", auc_mode="exact"),
                               "300w", ["helen"])
    assert protocol.overrides == ("auc_mode",) and protocol.auc_mode == "exact"
    assert "overridden: auc_mode" in protocol.describe()


def test_box_height_is_spigas_height_normaliser() -> None:
    """SPIGA _get_img_norm('height') = anns['bbox'][3] of its GT file (its 300W db_info offers it at 4 %)."""
    import json

    from tests.conftest import shared_path

    gt_file = json.loads((shared_path("spiga_results", "300wpublic") / "test.json").read_text())
    run, data = _score("300wpublic", "300w", ProtocolChoice(preset="spiga", normalizer="box-height", thresholds=(0.04,)))
    assert run.protocol.overrides == ("normalizer", "thresholds")
    nme = []
    for anns, p in zip(gt_file, data["pred"]):
        g = np.asarray(anns["landmarks"])
        norm = anns["bbox"][3]
        nme.append(np.mean([float(((g[k] - p[k]) ** 2).sum() ** 0.5) / norm * 100 for k in range(len(g))]))
    np.testing.assert_allclose(100 * run.nme, nme, rtol=1e-12)
    auc, fr = spiga_auc_fr(nme, 4)
    assert 100 * run.summary["full"]["auc@0.04"] == pytest.approx(auc, abs=1e-9)
    assert 100 * run.summary["full"]["fr@0.04"] == pytest.approx(fr, abs=1e-9)
