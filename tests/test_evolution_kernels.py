"""Compiled evolution kernels (``evolution._kernels``) against closed forms and the engines.

Evidence, as in ``test_evolution_closed_forms.py``: exact solutions of the linear birth-death
process (Kendall 1948; Bailey 1964, eq. 8.48), its extinction probability and limit
``(d/b)^n0`` (Harris 1963), the exact mean and variance of Luria-Delbrueck mutants (moment
equations, Bartlett 1955), and two-sample Kolmogorov-Smirnov tests against
``simulate(method="branching")`` and ``simulate(method="gillespie")``. The compiled samplers
(xoshiro256** streams, inversion / PTRS / BTRS / Marsaglia-Tsang) are checked against numpy's.
Both engines of every kernel (``numba`` and the ``numpy`` twin) run each check. Seeds fixed;
tolerances are 4 Monte Carlo SE or KS p > 0.01.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.linalg import expm

from oncoresist.evolution import (
    Clone,
    Drug,
    DrugEffect,
    Model,
    Regimen,
    Schedule,
    Transition,
    simulate,
)
from oncoresist.evolution import _kernels as K
from oncoresist.evolution import _simulate as S

NEAR = (0.14, 0.13)
FAST = (1.0, 0.25)
ENGINES = [
    "numpy",
    pytest.param("numba", marks=pytest.mark.skipif(not K.HAVE_NUMBA, reason="numba")),
]
Z1 = np.zeros((1, 1))


def _one_clone(
    p: int, n0: float, b: float, d: float, *, steps: int, dt: float, engine: str, seed: int
):
    ones = np.ones((1, p, 1))
    return K.cohort(
        np.full((p, 1), n0), b * ones, d * ones, kc0=np.inf * ones, seg_step=np.array([0]),
        seg_level=np.array([0]), a=np.ones((1, 1)), u=Z1, s=Z1, cap_src=np.array([-1]),
        growth=0, dt=dt, steps=steps, rng=np.random.default_rng(seed), engine=engine,
    )  # fmt: skip


def _gillespie(p: int, n0: int, b: float, d: float, *, t: float, engine: str, seed: int, u=None):
    k = 1 if u is None else 2
    uu = Z1 if u is None else np.array([[0.0, u], [0.0, 0.0]])
    x0 = np.zeros((p, k), np.int64)
    x0[:, 0] = n0
    x, _ = K.gillespie_step(
        x0, np.full((p, k), b), np.full((p, k), d), kc0=np.full((p, k), np.inf),
        a=np.ones((k, k)), u=uu, s=np.zeros((k, k)), cap_src=np.full(k, -1), growth=0, dt=t,
        rng=np.random.default_rng(seed), engine=engine,
    )  # fmt: skip
    return x


def _var_se(x: np.ndarray) -> float:
    n = x.size
    c = x - x.mean()
    m2, m4 = np.mean(c**2), np.mean(c**4)
    return math.sqrt(max(m4 - m2**2 * (n - 3) / (n - 1), 0.0) / n)


def _check_mean_var(x: np.ndarray, n0: float, b: float, d: float, t: float) -> None:
    r = b - d
    mean = n0 * math.exp(r * t)
    var = n0 * (b + d) / r * math.exp(r * t) * math.expm1(r * t)
    se = math.sqrt(var / x.size)
    assert abs(x.mean() - mean) < 4 * se, ((x.mean() - mean) / se, se / mean)
    assert abs(x.var(ddof=1) - var) < 4 * _var_se(x), (x.var(ddof=1) / var, _var_se(x) / var)


# ---------------------------------------------------------------------------------------------
# Samplers


@pytest.mark.skipif(not K.HAVE_NUMBA, reason="numba")
@pytest.mark.parametrize(
    ("kind", "a", "b"),
    [
        (0, 1e9, 0.88), (0, 1e9, 0.12), (0, 100, 0.88), (0, 20, 0.3), (0, 5_000_000, 1e-6),
        (1, 0.7, 0), (1, 6.0, 0), (1, 50.0, 0), (1, 1.2e8, 0),
        (2, 3, 0.9), (2, 20, 0.95), (2, 88, 0.87), (2, 880_000_000, 0.87), (3, 1.5, 0), (3, 8.8e8, 0),
    ],
)  # fmt: skip
def test_compiled_samplers_match_numpy(kind, a, b):
    """Each compiled sampler against numpy's (binomial, Poisson, negative binomial, gamma).

    Evidence: exact mean and variance of the law (4 SE) and a two-sample KS test against
    numpy's Generator (p > 0.01; conservative for discrete laws), 20,000 draws each.
    """
    n = 20_000
    got = K._sample(kind, n, float(a), float(b), np.uint64(12345 + kind))
    g = np.random.default_rng(kind)
    ref, mean, var = {
        0: lambda: (g.binomial(int(a), b, n), a * b, a * b * (1 - b)),
        1: lambda: (g.poisson(a, n), a, a),
        2: lambda: (g.negative_binomial(int(a), b, n), a * (1 - b) / b, a * (1 - b) / b**2),
        3: lambda: (g.gamma(a, 1.0, n), a, a),
    }[kind]()
    assert abs(got.mean() - mean) < 4 * math.sqrt(var / n)
    assert abs(got.var() - var) < 4 * _var_se(got)
    assert stats.ks_2samp(got, ref).pvalue > 0.01


# ---------------------------------------------------------------------------------------------
# Closed forms


@pytest.mark.parametrize("engine", ENGINES)
def test_cohort_birth_death_mean_variance(engine):
    """Cohort kernel, one clone, 1e6 cells, Bozic's rates, 365 daily steps: exact mean and
    variance ``n0 e^{rt}``, ``n0 (b+d)/r e^{rt}(e^{rt}-1)`` (4 SE; mean SE 0.08%)."""
    b, d = NEAR
    out = _one_clone(1000, 1e6, b, d, steps=365, dt=1.0, engine=engine, seed=1)
    _check_mean_var(out["x_end"][:, 0].astype(float), 1e6, b, d, 365.0)
    t = np.arange(366.0)
    np.testing.assert_allclose(out["mean_x"][:, 0], 1e6 * np.exp((b - d) * t), rtol=0.004)


@pytest.mark.parametrize("engine", ENGINES)
def test_branching_step_exact_at_any_step(engine):
    """One step of 365 days (the kernel's law is exact for constant rates at any step)."""
    b, d = NEAR
    x, ev = K.branching_step(
        np.full((2000, 1), 10_000), np.full((2000, 1), b), np.full((2000, 1), d), u=Z1, s=Z1,
        dt=365.0, rng=np.random.default_rng(2), engine=engine,
    )  # fmt: skip
    _check_mean_var(x[:, 0].astype(float), 1e4, b, d, 365.0)
    assert ev == int(np.abs(x - 10_000).sum())


@pytest.mark.parametrize("engine", ENGINES)
def test_gillespie_birth_death_mean_variance(engine):
    """Compiled direct method, 200 cells at b = 1, d = 0.25 over 2 days (2000 runs)."""
    b, d = FAST
    x = _gillespie(2000, 200, b, d, t=2.0, engine=engine, seed=3)
    _check_mean_var(x[:, 0].astype(float), 200, b, d, 2.0)


def _alpha(b: float, d: float, t: float) -> float:
    e = math.expm1((b - d) * t)
    return d * e / (b * (e + 1.0) - d)


@pytest.mark.parametrize("engine", ENGINES)
def test_extinction_probability_and_limit(engine):
    """``P(X_t = 0) = alpha(t)^n0`` (Kendall) at 2.5 and 10 days (b = 1, d = 0.6, 3 cells),
    and the limit ``(d/b)^n0`` at day 1000 for Bozic's rates and 5 cells (r t = 10: alpha^n0
    within 2e-4 of the limit). Cohort t_extinct and Gillespie's final zeros, 4 binomial SE."""
    n = 4000
    out = _one_clone(n, 3, 1.0, 0.6, steps=20, dt=0.5, engine=engine, seed=4)
    xg = _gillespie(n, 3, 1.0, 0.6, t=2.5, engine=engine, seed=5)
    for t, got in ((2.5, np.mean(out["t_extinct"] <= 2.5 + 1e-9)),
                   (10.0, np.mean(out["t_extinct"] <= 10.0 + 1e-9)),
                   (2.5, np.mean(xg[:, 0] == 0))):  # fmt: skip
        p = _alpha(1.0, 0.6, t) ** 3
        assert abs(got - p) < 4 * math.sqrt(p * (1 - p) / n), (t, got, p)
    b, d = NEAR
    near = _one_clone(2000, 5, b, d, steps=1000, dt=1.0, engine=engine, seed=6)
    p = (d / b) ** 5
    assert _alpha(b, d, 1000.0) ** 5 == pytest.approx(p, rel=2e-4)
    got = float(np.mean(np.isfinite(near["t_extinct"])))
    assert abs(got - p) < 4 * math.sqrt(p * (1 - p) / 2000), (got, p)


def _ld_moments(n0: float, b: float, u: float, t: float) -> tuple[float, float]:
    """Exact mean and variance of Luria-Delbrueck mutants (moment equations, Bartlett 1955)."""
    ls = b * (1 - u)
    a = np.zeros((5, 5))  # E S, E R, E S^2, E SR, E R^2
    a[0, 0] = ls
    a[1, 0], a[1, 1] = b * u, b
    a[2, 2], a[2, 0] = 2 * ls, ls
    a[3, 3], a[3, 2] = ls + b, b * u
    a[4, 4], a[4, 3], a[4, 0], a[4, 1] = 2 * b, 2 * b * u, b * u, b
    y = expm(a * t) @ np.array([n0, 0.0, n0 * n0, 0.0, 0.0])
    return float(y[1]), float(y[4] - y[1] ** 2)


@pytest.mark.parametrize("engine", ENGINES)
def test_luria_delbruck_mean(engine):
    """Mean mutants ``n0 (e^{bt} - e^{b(1-u)t})`` (pure birth, b = 1, u per division): cohort
    kernel with 1e4 cells, u = 1e-3, 4 daily steps (2000 runs; arrivals by quadrature), and
    the compiled Gillespie with 10 cells, u = 0.01 over 4 days (1500 runs). 4 SE from the
    exact variance."""
    n0, b, u, t = 1e4, 1.0, 1e-3, 4.0
    p = 2000
    ones = np.ones((1, p, 2))
    out = K.cohort(
        np.tile([n0, 0.0], (p, 1)), b * ones, 0 * ones, kc0=np.inf * ones,
        seg_step=np.array([0]), seg_level=np.array([0]), a=np.eye(2),
        u=np.array([[0.0, u], [0.0, 0.0]]), s=np.zeros((2, 2)), cap_src=np.array([-1, -1]),
        growth=0, dt=1.0, steps=4, rng=np.random.default_rng(7), engine=engine,
    )  # fmt: skip
    mean, var = _ld_moments(n0, b, u, t)
    got = out["x_end"][:, 1].mean()
    assert abs(got - mean) < 4 * math.sqrt(var / p), (got / mean, math.sqrt(var / p) / mean)
    assert mean == pytest.approx(n0 * (math.exp(b * t) - math.exp(b * (1 - u) * t)), rel=1e-9)
    xg = _gillespie(1500, 10, b, 0.0, t=4.0, engine=engine, seed=8, u=0.01)
    mean, var = _ld_moments(10, b, 0.01, 4.0)
    assert abs(xg[:, 1].mean() - mean) < 4 * math.sqrt(var / 1500)


# ---------------------------------------------------------------------------------------------
# Agreement with the engines of simulate()


def _bench_like(n0: float) -> Model:
    kill = (("A", DrugEffect(emax=0.05, ic50=0.1)),)
    return Model(
        clones=(
            Clone("S", 0.14, 0.13, carrying_capacity=2e5, initial=n0, effects=kill),
            Clone("R", 0.13, 0.12, carrying_capacity=2e5, resistant=True),
        ),
        transitions=(Transition("S", "R", 1e-3),),
        drugs=(Drug("A"),),
        growth="logistic",
        name="small_bench",
    )


def test_run_cohort_agrees_with_simulate_branching():
    """``run_cohort`` on simulate's arrays (logistic, two clones, mutation, drug from day 60)
    against ``simulate(method="branching")``, both engines: KS p > 0.01 on final S, R,
    ttp_nadir and the extinction time; time on drug and exposure as scheduled."""
    m = _bench_like(2e4)
    sched = Schedule("on_day_60", (Regimen("A", level=1.0, start=60.0),))
    n, t_end = 1000, 200.0
    ref = simulate(m, sched, method="branching", t_end=t_end, dt=1.0, n_runs=n, rng=9, engine="numpy",
                   record_runs=n, variation={"S.birth_rate": 0.02})  # fmt: skip
    for engine in ["numpy", "numba"] if K.HAVE_NUMBA else ["numpy"]:
        gen = np.random.default_rng(10)
        ar = S._arrays(m, n, {"S.birth_rate": 0.02}, gen)
        out = K.run_cohort(
            ar, S._plan(m, sched, t_end), sched, t_end=t_end, dt=1.0, rng=gen, record_runs=3,
            mode="burden", progression_factor=1.2, nadir_rise=1.25, engine=engine,
        )  # fmt: skip
        assert out is not None
        tr = ref.trajectories[ref.trajectories["time"] == t_end].sort_values(["run", "clone"])
        for j, clone in enumerate(("R", "S")):
            a = tr[tr["clone"] == clone]["cells"].to_numpy(float)
            assert stats.ks_2samp(a, out["x_end"][:, 1 - j]).pvalue > 0.01, clone
        for col in ("ttp_nadir", "t_extinct"):
            a = np.nan_to_num(ref.runs[col].to_numpy(float), nan=-1.0)
            b = np.nan_to_num(getattr(out["met"], col), nan=-1.0)
            assert stats.ks_2samp(a, b).pvalue > 0.01, col
        assert out["rec_x"].shape == (201, 3, 2)
        assert out["met"].time_on[0] == pytest.approx(140.0)
        assert out["auc"][0, 0] == pytest.approx(140.0)


def test_engines_agree_in_distribution_with_simulate():
    """50 cells, Bozic's rates, 60 days: the compiled cohort (dt = 1), branching step and
    Gillespie kernels, numba and numpy, against simulate's branching and exact Gillespie
    (two-sample KS, 1500 runs, p > 0.01)."""
    b, d = NEAR
    m, s = Model(clones=(Clone("S", b, d, initial=50),), name="bd"), Schedule("none")
    ex = simulate(
        m, s, method="gillespie", t_end=60.0, n_runs=1500, rng=11, record_runs=0, engine="numpy"
    )
    br = simulate(
        m, s, method="branching", t_end=60.0, n_runs=1500, rng=12, record_runs=0, engine="numpy"
    )
    refs = [ex.runs["final_burden"].to_numpy(float), br.runs["final_burden"].to_numpy(float)]
    engines = ["numpy", "numba"] if K.HAVE_NUMBA else ["numpy"]
    samples = []
    for i, engine in enumerate(engines):
        samples.append(
            _one_clone(1500, 50, b, d, steps=60, dt=1.0, engine=engine, seed=20 + i)["x_end"][:, 0]
        )
        samples.append(_gillespie(1500, 50, b, d, t=60.0, engine=engine, seed=30 + i)[:, 0])
        x = np.full((1500, 1), 50, np.int64)
        g = np.random.default_rng(40 + i)
        for _ in range(6):
            x, _ev = K.branching_step(x, np.full((1500, 1), b), np.full((1500, 1), d), u=Z1,
                                      s=Z1, dt=10.0, rng=g, engine=engine)  # fmt: skip
        samples.append(x[:, 0])
    for ref in refs:
        for smp in samples:
            assert stats.ks_2samp(ref, smp).pvalue > 0.01


def test_gillespie_kernel_with_logistic_and_switching_agrees_with_simulate():
    """Exact Gillespie with density dependence (logistic, K = 300) and switching S <-> R,
    compiled and numpy twin, against simulate(method="gillespie"): KS p > 0.01 on both clones.
    Measured over 6 seeds with 4000 runs: p from 0.04 to 1.0 (numba), 0.06 to 0.99 (numpy);
    with 1000 runs, seed 14 gave p = 0.006 for S (numba), one of 4 tests: chance at 1%."""
    m = Model(
        clones=(Clone("S", 1.0, 0.2, carrying_capacity=300.0, initial=100),
                Clone("R", 0.8, 0.2, carrying_capacity=300.0, initial=20)),
        transitions=(Transition("S", "R", 0.05, kind="switch"), Transition("R", "S", 0.02, kind="switch"),
                     Transition("S", "R", 0.01)),
        growth="logistic", name="switching",
    )  # fmt: skip
    n, t = 1000, 2.0
    ref = simulate(
        m,
        Schedule("none"),
        method="gillespie",
        t_end=t,
        dt=t,
        n_runs=n,
        rng=13,
        record_runs=n,
        engine="numpy",
    )
    last = ref.trajectories[ref.trajectories["time"] == t].sort_values(["run", "clone"])
    gen = np.random.default_rng(15)
    ar = S._arrays(m, n, None, gen)
    b_eff, d_eff, kc0 = K.effective_rates(ar, np.zeros((n, 1)))
    for engine in ["numpy", "numba"] if K.HAVE_NUMBA else ["numpy"]:
        x, _ = K.gillespie_step(
            np.rint(ar.x0).astype(np.int64), b_eff, d_eff, kc0=kc0, a=ar.a, u=ar.u, s=ar.s,
            cap_src=ar.cap_src, growth=ar.growth, dt=t, rng=gen, engine=engine,
        )  # fmt: skip
        for j, clone in enumerate(ar.names):
            a = last[last["clone"] == clone]["cells"].to_numpy(float)
            assert stats.ks_2samp(a, x[:, j]).pvalue > 0.01, (engine, clone)


# ---------------------------------------------------------------------------------------------
# Contracts


def test_effective_rates_match_per_capita():
    """``effective_rates`` + the kernels' density factor equal ``_simulate._per_capita``."""
    kill = (
        ("A", DrugEffect(emax=0.3, ic50=0.5)),
        ("B", DrugEffect(emax=0.4, ic50=2.0, target="birth")),
    )
    cap = (("B", DrugEffect(emax=0.5, ic50=1.0, target="capacity")),)
    for growth in ("exponential", "logistic", "gompertz"):
        m = Model(
            clones=(Clone("S", 0.5, 0.1, carrying_capacity=1e4, initial=3e3, effects=kill),
                    Clone("R", 0.4, 0.1, carrying_capacity=2e4, initial=10, effects=cap)),
            drugs=(Drug("A"), Drug("B")), growth=growth, name="rates",
        )  # fmt: skip
        ar = S._arrays(m, 5, {"S.birth_rate": 0.3, "S.A.ic50": 0.5}, np.random.default_rng(0))
        c = np.random.default_rng(1).uniform(0, 3, (5, 2))
        x = np.random.default_rng(2).uniform(0, 2e4, (5, 2))
        b_eff, d_eff, kc0 = K.effective_rates(ar, c)
        got = K._rates_np(x, b_eff, d_eff, kc0, ar.a, ar.cap_src, ar.growth)
        want = S._per_capita(ar, x, c)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-12)


@pytest.mark.skipif(not K.HAVE_NUMBA, reason="numba")
def test_reproducible_from_the_seed_whatever_the_threads():
    """Per-run streams: the same seed gives the same cohort with 1 or 2 threads."""
    import numba

    b, d = NEAR
    a = _one_clone(200, 1e6, b, d, steps=50, dt=1.0, engine="numba", seed=99)
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        c = _one_clone(200, 1e6, b, d, steps=50, dt=1.0, engine="numba", seed=99)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(a["x_end"], c["x_end"])
    np.testing.assert_array_equal(a["mean_x"], c["mean_x"])


def test_run_cohort_declines_what_it_does_not_cover():
    """Adaptive rules and PK (kel > 0) go to the step loop (``None``)."""
    from oncoresist.evolution import AdaptiveRule

    m = _bench_like(1e3)
    gen = np.random.default_rng(0)
    ar = S._arrays(m, 2, None, gen)
    sched = Schedule("ad", (Regimen("A", level=1.0),), adaptive=AdaptiveRule())
    kw = dict(t_end=10.0, dt=1.0, rng=gen, record_runs=0, mode="burden",
              progression_factor=1.2, nadir_rise=1.25)  # fmt: skip
    assert K.run_cohort(ar, S._plan(m, sched, 10.0), sched, **kw) is None
    with pytest.raises(Exception, match="engine"):
        K.branching_step(np.ones((1, 1), np.int64), Z1, Z1, u=Z1, s=Z1, dt=1.0, rng=gen, engine="x")


def test_simulate_auto_uses_the_compiled_cohort_with_the_same_law(monkeypatch):
    """EVIDENCE (agreement in distribution, KS): ``simulate(engine="auto")`` runs a plain cohort
    through the compiled kernel; its outcomes follow the same law as the step loop
    (``engine="numpy"``), and models the kernel does not cover (an adaptive rule) fall back."""
    from oncoresist.errors import InputError

    m = _bench_like(2e4)
    sched = Schedule("on_day_60", (Regimen("A", level=1.0, start=60.0),))
    kw = dict(method="branching", t_end=150.0, dt=1.0, n_runs=800, record_runs=0)
    calls = []
    real = K.run_cohort
    monkeypatch.setattr(K, "run_cohort", lambda *a, **k: calls.append(1) or real(*a, **k))
    auto = simulate(m, sched, rng=3, **kw).runs
    assert calls == [1]  # the compiled cohort ran
    ref = simulate(m, sched, rng=4, engine="numpy", **kw).runs
    assert stats.ks_2samp(auto.final_burden, ref.final_burden).pvalue > 0.01
    assert auto.exposure_A.to_numpy() == pytest.approx(ref.exposure_A.to_numpy())
    assert abs(auto.resistant_at_end.mean() - ref.resistant_at_end.mean()) < 0.08
    with pytest.raises(InputError, match="engine"):
        simulate(m, sched, engine="fortran", **kw)
