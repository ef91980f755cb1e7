"""Bootstrap intervals: against a loop over the same draws, reproducibility, string statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from faceval.errors import InputError
from faceval.metrics import auc, bootstrap_ci, dataset_nme, failure_rate


def sample_nme(n: int = 135, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.gamma(4.0, 0.012, size=n)
    x[:2] = np.inf
    return x


def test_matches_loop_over_same_draws() -> None:
    values = sample_nme()
    n_boot = 500
    rng = np.random.default_rng(7)
    idx = rng.integers(0, values.size, size=(n_boot, values.size))  # one chunk for this N
    stats = [dataset_nme(values[row]) for row in idx]
    want = np.percentile(stats, [2.5, 97.5])
    got = bootstrap_ci(values, "nme", n_boot=n_boot, seed=7)
    assert got == pytest.approx(tuple(want), rel=1e-12)


@pytest.mark.parametrize("name,func", [("fr@0.08", lambda v: failure_rate(v, 0.08)), ("auc@0.08", lambda v: auc(v, 0.08))])
def test_string_statistics_equal_metric_on_each_resample(name: str, func) -> None:
    values = sample_nme()
    rng = np.random.default_rng(3)
    idx = rng.integers(0, values.size, size=(300, values.size))
    stats = [func(values[row]) for row in idx]
    want = np.percentile(stats, [5, 95])
    assert bootstrap_ci(values, name, n_boot=300, level=0.9, seed=3) == pytest.approx(tuple(want), rel=1e-9, abs=1e-12)


def test_reproducible_bit_for_bit_and_seed_dependent() -> None:
    values = sample_nme(2000)
    a = bootstrap_ci(values, "nme", seed=11)
    b = bootstrap_ci(values, "nme", seed=11)
    assert a == b
    assert bootstrap_ci(values, "nme", seed=12) != a


def test_callable_statistic_and_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    from faceval.metrics import bootstrap as mod

    values = np.random.default_rng(1).normal(size=400)
    monkeypatch.setattr(mod, "_CHUNK_ELEMENTS", 400 * 64)  # 64 replicates per chunk
    calls: list[int] = []

    def mean_rows(s: np.ndarray) -> np.ndarray:
        calls.append(s.shape[0])
        return s.mean(axis=1)

    low, high = bootstrap_ci(values, mean_rows, n_boot=1000)
    assert max(calls) == 64 and sum(calls) == 1000
    assert low < values.mean() < high
    se = values.std() / math.sqrt(values.size)
    assert high - low == pytest.approx(2 * 1.96 * se, rel=0.15)


def test_percentile_statistic_and_errors() -> None:
    values = sample_nme(200)
    low, high = bootstrap_ci(values, "nme_p50", n_boot=200)
    assert low <= np.median(values) <= high
    with pytest.raises(InputError, match="level"):
        bootstrap_ci(values, "nme", level=1.5)
    with pytest.raises(InputError, match="unknown metric"):
        bootstrap_ci(values, "nmee")
    with pytest.raises(InputError, match="not the count 'n_nonfinite'"):
        bootstrap_ci(values, "n_nonfinite")
    assert all(math.isnan(v) for v in bootstrap_ci(np.array([]), "nme"))


def _permuted(run, order: np.ndarray):
    """A copy of ``run`` with its samples stored in ``order`` (splits re-indexed, still sorted)."""
    import copy

    out = copy.copy(run)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    for name in ("sample_ids", "predictions", "ground_truth", "visible", "normalizers", "nme", "failed_inputs",
                 "failure_reasons", "pose_pred", "pose_gt"):
        value = getattr(run, name)
        setattr(out, name, None if value is None else np.asarray(value)[order])
    out.splits = {k: np.sort(inverse[np.asarray(v)]) for k, v in run.splits.items()}
    return out


def test_intervals_do_not_depend_on_the_order_of_the_samples(tmp_path) -> None:
    """The same images stored in another order give bit-identical intervals (report --ci)."""
    from faceval.metrics.run_metrics import metric_ci
    from faceval.report import render_report
    from faceval.runs.runfile import read_run, write_run
    from tests.faceval.runs.helpers import make_run

    run = make_run(n=60, seed=3)
    run.nme[[4, 17]] = np.inf  # two failures
    run.failed_inputs[[4, 17]] = True
    order = np.random.default_rng(11).permutation(60)
    other = _permuted(run, order)
    # the permuted copy holds the same (id, NME) pairs
    assert dict(zip(other.sample_ids, other.nme)) == dict(zip(run.sample_ids, run.nme))
    # resampling the stored order would differ (the bug this guards against)
    stored = bootstrap_ci(run.nme[run.splits["full"]], "auc@0.08", seed=0)
    shuffled = bootstrap_ci(other.nme[other.splits["full"]], "auc@0.08", seed=0)
    assert stored != shuffled
    for split in ("a", "b", "full"):
        for metric in ("nme", "fr@0.08", "auc@0.08", "nme_p90", "mae_yaw", "mae_mean"):
            one, two = metric_ci(run, split, metric), metric_ci(other, split, metric)
            assert one is not None and two is not None
            assert (one.low, one.high) == (two.low, two.high), (split, metric)
    # through the run files and a whole report, byte for byte
    a = write_run(tmp_path / "a.h5", run)
    b = write_run(tmp_path / "b.h5", other)
    texts = [render_report([read_run(p)], "markdown", ci=True, metrics=["nme", "fr@0.08", "auc@0.08"])[0]
             for p in (a, b)]
    assert "±" in texts[0] and texts[0] == texts[1]
