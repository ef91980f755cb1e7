"""Failure rate, CED, AUC modes and percentiles: loops, independent re-implementations, properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faceval.errors import InputError
from faceval.metrics import AUC_MODES, auc, ced, failure_rate, percentiles, simpson_legacy


def random_nme(seed: int, n: int, n_inf: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.gamma(4.0, 0.012, size=n)
    x[rng.choice(n, size=n_inf, replace=False)] = np.inf
    return x


# ---- loops ----------------------------------------------------------------------------------


def loop_fr(nme: list[float], t: float) -> float:
    return sum(1 for v in nme if not v <= t) / len(nme)


def loop_auc_exact(nme: list[float], t: float) -> float:
    total = 0.0
    for v in nme:
        if v < t:
            total += (t - v) / t
    return total / len(nme)


def loop_percentile(nme: list[float], q: float) -> float:
    s = sorted(nme)
    h = (len(s) - 1) * q / 100
    lo, hi = math.floor(h), math.ceil(h)
    if s[lo] == math.inf or (h > lo and s[hi] == math.inf):
        return math.inf
    return s[lo] + (h - lo) * (s[hi] - s[lo])


@pytest.mark.parametrize("n_inf", [0, 3])
def test_fr_ced_auc_percentiles_match_loops(n_inf: int) -> None:
    nme = random_nme(0, 301, n_inf)
    lst = nme.tolist()
    for t in (0.05, 0.07, 0.08, 0.1):
        assert failure_rate(nme, t) == pytest.approx(loop_fr(lst, t), abs=1e-15)
        assert auc(nme, t) == pytest.approx(loop_auc_exact(lst, t), rel=1e-12)
    xs = np.linspace(0, 0.2, 57)
    np.testing.assert_allclose(ced(nme, xs), [sum(1 for v in lst if v <= x) / len(lst) for x in xs])
    got = percentiles(nme, (0, 50, 90, 95, 99, 100))
    for q in (0, 50, 90, 95, 99, 100):
        want = loop_percentile(lst, q)
        key = f"nme_p{q}"
        if math.isinf(want):
            assert got[key] == math.inf
        else:
            assert got[key] == pytest.approx(want, rel=1e-12)


def test_failure_rate_is_strict() -> None:
    assert failure_rate(np.array([0.08, 0.0800001, 0.05]), 0.08) == pytest.approx(1 / 3)
    assert ced(np.array([0.08]), [0.08])[0] == 1.0


def test_percentiles_equal_numpy_without_failures() -> None:
    nme = random_nme(1, 1000)
    got = percentiles(nme)
    assert list(got) == ["nme_p50", "nme_p90", "nme_p95", "nme_p99"]
    assert list(got.values()) == list(np.percentile(nme, [50, 90, 95, 99]))


def test_nonfinite_never_nan() -> None:
    nme = np.array([0.01, 0.02, np.inf, np.nan])
    assert failure_rate(nme, 0.1) == 0.5
    for mode in AUC_MODES:
        v = auc(nme, 0.1, mode=mode)
        assert np.isfinite(v) and v <= 0.5 + 1e-3
    assert auc(nme, 0.1) == pytest.approx(((0.1 - 0.01) + (0.1 - 0.02)) / 0.1 / 4)
    p = percentiles(nme, (10, 50, 90))
    assert not any(math.isnan(v) for v in p.values())
    assert p["nme_p90"] == math.inf
    assert auc(np.array([np.inf, np.inf]), 0.1, mode="spiga-hist") == 0.0


def test_empty_and_bad_arguments() -> None:
    empty = np.array([])
    assert math.isnan(failure_rate(empty, 0.1))
    assert math.isnan(auc(empty, 0.1))
    assert math.isnan(percentiles(empty)["nme_p50"])
    with pytest.raises(InputError, match="did you mean 'spiga-hist'"):
        auc(np.array([0.1]), 0.1, mode="spiga_hist")
    with pytest.raises(InputError, match="threshold"):
        auc(np.array([0.1]), 0.0)
    assert AUC_MODES == ("exact", "simpson-1e-4", "spiga-hist")


# ---- simpson-1e-4: against an independent PIPNet-style implementation -----------------------


def old_simps(y: np.ndarray, x: np.ndarray) -> float:
    """The removed ``scipy.integrate.simps(y, x=x)`` (even='avg'), rebuilt from current scipy:
    ``scipy.integrate.simpson`` is unchanged for an odd number of samples; for an even number the
    old default averaged Simpson-on-first-(N-1)+trapezoid-last and trapezoid-first+Simpson-on-last-(N-1)."""
    from scipy.integrate import simpson

    n = len(y)
    if n % 2 == 1:
        return float(simpson(y, x=x))
    first = simpson(y[:-1], x=x[:-1]) + 0.5 * (x[-1] - x[-2]) * (y[-1] + y[-2])
    last = 0.5 * (x[1] - x[0]) * (y[1] + y[0]) + simpson(y[1:], x=x[1:])
    return float((first + last) / 2)


def pipnet_auc(nmes: np.ndarray, thres: float, step: float = 0.0001) -> float:
    """PIPNet's compute_fr_and_auc (AUC part), with a Python-level CED."""
    xs = np.arange(0, thres + step, step)
    ys = np.array([np.count_nonzero(nmes <= x) for x in xs]) / float(len(nmes))
    return old_simps(ys, xs) / thres


@pytest.mark.parametrize("t", [0.05, 0.07, 0.08, 0.1])
def test_simpson_mode_matches_pipnet(t: float) -> None:
    nme = random_nme(2, 500, n_inf=2)
    assert auc(nme, t, mode="simpson-1e-4") == pytest.approx(pipnet_auc(nme, t), abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 40), seed=st.integers(0, 2**32 - 1))
def test_simpson_legacy_matches_rebuilt_old_simps(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.uniform(0.1, 1.0, size=n))
    y = rng.normal(size=n)
    assert simpson_legacy(y, x) == pytest.approx(old_simps(y, x), rel=1e-10, abs=1e-12)


def test_simpson_legacy_exact_on_cubics_and_even_counts() -> None:
    x = np.linspace(0, 2, 9)  # odd count: composite Simpson is exact for cubics
    assert simpson_legacy(x**3, x) == pytest.approx(4.0, rel=1e-12)
    x = np.linspace(0, 1, 4)  # even count: 'avg' of two mixed schemes, exact for lines
    assert simpson_legacy(2 * x + 1, x) == pytest.approx(2.0, rel=1e-12)
    assert simpson_legacy(np.array([1.0]), np.array([0.0])) == 0.0


def test_current_scipy_simpson_differs_for_even_counts() -> None:
    """Why faceval carries its own rule: scipy's current `simpson` changed the even-count case."""
    from scipy.integrate import simpson

    x = np.linspace(0, 1, 6)
    y = np.exp(3 * x)
    assert simpson_legacy(y[:5], x[:5]) == pytest.approx(simpson(y[:5], x=x[:5]), rel=1e-13)
    assert abs(simpson_legacy(y, x) - simpson(y, x=x)) > 1e-6


def test_spec_note_float_grid_overshoots_at_005_and_007() -> None:
    """evaluation.md section 3: arange(0, t+1e-4, 1e-4) ends at t + 1e-4 for t = 0.05 and 0.07."""
    for t, overshoots in ((0.05, True), (0.07, True), (0.08, False), (0.1, False)):
        xs = np.arange(0, t + 1e-4, 1e-4)
        assert bool(xs[-1] > t + 5e-5) is overshoots, t
    # With every NME well below t, CED = 1 on the extra step: +1e-4/t (0.2 points at 0.05,
    # ~0.14 at 0.07) over the exact value; without overshoot the schemes agree closely.
    nme = np.full(200, 0.001) + np.linspace(0, 0.02, 200)
    for t, extra in ((0.05, 1e-4 / 0.05), (0.07, 1e-4 / 0.07), (0.08, 0.0), (0.1, 0.0)):
        assert auc(nme, t, mode="simpson-1e-4") - auc(nme, t) == pytest.approx(extra, abs=2e-4), t


# ---- spiga-hist -----------------------------------------------------------------------------


def spiga_hist_reference(nme: np.ndarray, thr: float) -> float:
    """SPIGA's _cumulative_error + _auc_fr_metrics, written as SPIGA's loops (fractions)."""
    num_imgs, base = np.histogram(nme, bins=10000)
    cumulative = [x / float(len(nme)) for x in np.cumsum(num_imgs)]
    base = base[:10000]
    base = [x for x in base if x < thr]
    cumulative = cumulative[: len(base)]
    if not base:
        return 0.0
    a = old_simps(np.array(cumulative), np.array(base)) / thr
    if base[-1] < thr and cumulative[-1] == 1:
        a += (thr - base[-1]) / thr
    return a


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_spiga_hist_matches_reference(seed: int) -> None:
    nme = random_nme(seed, 700)
    for t in (0.07, 0.08, 0.1):
        assert auc(nme, t, mode="spiga-hist") == pytest.approx(spiga_hist_reference(nme, t), abs=1e-12)


# ---- properties -----------------------------------------------------------------------------

nme_lists = st.lists(
    st.one_of(st.floats(0.0, 0.3, allow_nan=False), st.just(math.inf)), min_size=1, max_size=60
)
thresholds = st.sampled_from([0.05, 0.07, 0.08, 0.1]) | st.floats(0.01, 0.5)


@settings(max_examples=60, deadline=None)
@given(values=nme_lists, t=thresholds)
def test_exact_auc_equals_fine_integration_of_ced(values: list[float], t: float) -> None:
    nme = np.array(values)
    m = 2_000_000
    xs = np.linspace(0.0, t, m + 1)
    srt = np.sort(nme)
    ys = np.searchsorted(srt, xs, side="right") / nme.size  # independent CED
    h = t / m
    area = h * (ys.sum() - 0.5 * (ys[0] + ys[-1]))  # trapezoid; error <= h/2 per jump
    assert auc(nme, t) == pytest.approx(area / t, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(values=nme_lists, t=thresholds, seed=st.integers(0, 2**32 - 1))
def test_curves_do_not_depend_on_order(values: list[float], t: float, seed: int) -> None:
    nme = np.array(values)
    perm = np.random.default_rng(seed).permutation(nme.size)
    for mode in AUC_MODES:
        assert auc(nme[perm], t, mode=mode) == pytest.approx(auc(nme, t, mode=mode), abs=1e-12)
    assert failure_rate(nme[perm], t) == failure_rate(nme, t)
    assert percentiles(nme[perm]) == percentiles(nme)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 50), t=thresholds)
def test_perfect_predictions_give_fr0_auc1(n: int, t: float) -> None:
    nme = np.zeros(n)
    assert failure_rate(nme, t) == 0.0
    assert auc(nme, t) == 1.0
    assert percentiles(nme) == {"nme_p50": 0.0, "nme_p90": 0.0, "nme_p95": 0.0, "nme_p99": 0.0}


@settings(max_examples=60, deadline=None)
@given(values=nme_lists, t=thresholds)
def test_auc_bounds_and_fr_consistency(values: list[float], t: float) -> None:
    nme = np.array(values)
    a = auc(nme, t)
    assert 0.0 <= a <= 1.0
    assert a <= 1.0 - failure_rate(nme, t) + 1e-12  # failures contribute nothing
