"""Benchmark of the evolution simulators (run: python benchmarks/bench_evolution.py [--quick]).

Prints wall times and rates, each against a naive implementation measured in the same run:

1. a cohort of 10,000 stochastic virtual patients over 5 years (1e9 cells each, resistant
   clone, drug from day 365, log-normal spread of parameters) with the ``branching`` engine
   (exact birth-death law per step, arrivals by 6-point Gauss-Legendre quadrature), against
   one ``simulate`` call per patient (measured on a few patients, per patient);
2. exact Gillespie events per second at 1e6 cells (1000 runs vectorised), against a plain
   Python direct-method loop on the same process;
3. one 1e9-cell tumour over 2 years by ``branching`` and by ``tau_leap`` (the same exact
   per-step kernel since issue 13; tau-leap keeps its stricter step-size warning);
4. the compiled kernels (``evolution._kernels``, numba): the same cohort by ``run_cohort``
   (the loop over 5 years of daily steps compiled, same model, spread and law) against the
   numpy ``simulate`` of item 1, and the compiled direct-method Gillespie at 1e6 cells (same
   1000 runs, then one run of 1e6 near-critical cells over a year) against the numpy engine of
   item 2. The first call compiles (cached on disk after); its time is printed apart.

No thresholds: the figures are for reading (``--quick``: fewer patients, shorter runs, < 1 min).
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np

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
from oncoresist.evolution import _kernels as kernels
from oncoresist.evolution import _simulate as engine

B, D = 0.14, 0.13  # Bozic et al. 2013 rates per day


def _model(n0: float) -> Model:
    kill = (("A", DrugEffect(emax=0.05, ic50=0.1)),)
    return Model(
        clones=(
            Clone("S", B, D, carrying_capacity=1e11, initial=n0, effects=kill),
            Clone("R", 0.13, 0.13, carrying_capacity=1e11, resistant=True),
        ),
        transitions=(Transition("S", "R", 5e-8),),
        drugs=(Drug("A"),),
        growth="logistic",
        name="bench",
    )


def _naive_gillespie(n0: int, b: float, d: float, t_end: float, seed: int) -> int:
    """Gillespie's direct method for one birth-death population, one event per Python step."""
    rnd = random.Random(seed)
    n, t, events = n0, 0.0, 0
    while n > 0:
        t += rnd.expovariate((b + d) * n)
        if t > t_end:
            break
        n += 1 if rnd.random() * (b + d) < b else -1
        events += 1
    return events


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    sched = Schedule("treat_day_365", (Regimen("A", level=1.0, start=365.0),))
    n_pat = 1000 if args.quick else 10_000
    years = 5
    spread = {"S.birth_rate": 0.01, "R.initial": 0.5}

    # 1. cohort: vectorised branching vs one call per patient
    t = time.perf_counter()
    co = simulate(
        _model(1e9),
        sched,
        method="branching",
        t_end=365.0 * years,
        dt=1.0,
        n_runs=n_pat,
        rng=2,
        variation=spread,
        record_runs=1,
        engine="numpy",
    )
    t_co = time.perf_counter() - t
    n_naive = 2 if args.quick else 5
    t = time.perf_counter()
    for i in range(n_naive):
        simulate(
            _model(1e9),
            sched,
            method="branching",
            t_end=365.0 * years,
            dt=1.0,
            n_runs=1,
            rng=100 + i,
            variation=spread,
            record_runs=1,
            engine="numpy",
        )
    t_one = (time.perf_counter() - t) / n_naive
    # the default engine: the compiled cohort where numba is installed (one warm-up call)
    simulate(_model(1e9), sched, method="branching", t_end=36.0, dt=1.0, n_runs=4, rng=1)
    t = time.perf_counter()
    auto = simulate(
        _model(1e9),
        sched,
        method="branching",
        t_end=365.0 * years,
        dt=1.0,
        n_runs=n_pat,
        rng=2,
        variation=spread,
        record_runs=1,
    )
    t_auto = time.perf_counter() - t
    print(
        f"simulate() default engine (compiled cohort: {kernels.HAVE_NUMBA}): {n_pat} patients x "
        f"{years} y in {t_auto:.2f} s, {t_co / t_auto:.1f}x the numpy step loop ({t_co:.2f} s); "
        f"p_resistant_at_end {float(auto.outcomes()['p_resistant_at_end'].iloc[0]):.3f}, "
        f"median ttp_nadir {float(auto.outcomes()['median_ttp_nadir'].iloc[0]):.0f}"
    )
    print(
        f"cohort: {n_pat} patients x {years} y, branching (the unbiased engine), dt = 1 d: "
        f"{t_co:8.2f} s ({t_co / n_pat * 1e3:.2f} ms/patient); one simulate() per patient: "
        f"{t_one * 1e3:.0f} ms/patient (x{n_pat} = {t_one * n_pat:.0f} s, "
        f"{t_one * n_pat / t_co:.0f}x slower)"
    )
    print(
        co.outcomes()[["n_runs", "p_resistant_at_end", "median_ttp_nadir"]].to_string(index=False)
    )

    # 2. exact Gillespie at 1e6 cells: vectorised engine vs a plain Python loop
    n_cells, n_runs = 1_000_000, 1000
    t_g = 0.01 if args.quick else 0.1
    one_clone = Model(clones=(Clone("S", B, D, initial=n_cells),), name="birth_death")
    t = time.perf_counter()
    ex = simulate(
        one_clone,
        Schedule("none"),
        method="gillespie",
        t_end=t_g,
        dt=t_g,
        n_runs=n_runs,
        rng=0,
        record_runs=0,
    )
    t_ex = time.perf_counter() - t
    rate_ex = ex.info["events"] / t_ex
    t = time.perf_counter()
    ev_naive = _naive_gillespie(n_cells, B, D, t_g, seed=0)
    t_nv = time.perf_counter() - t
    rate_nv = ev_naive / t_nv
    print(
        f"gillespie (exact) at 1e6 cells, {n_runs} runs x {t_g:g} d: {t_ex:8.2f} s "
        f"{rate_ex:12.3g} events/s; plain Python loop: {rate_nv:.3g} events/s "
        f"({rate_ex / rate_nv:.2f}x)"
    )

    # 3. one 1e9-cell tumour over 2 years, against exact Gillespie's event rate
    ev = 0.0
    for method, dt, label in (
        ("branching", 1.0, "exact birth-death law per step"),
        ("tau_leap", 0.5, "same exact per-step kernel"),
    ):
        t = time.perf_counter()
        one = simulate(_model(1e9), sched, method=method, t_end=730.0, dt=dt, rng=1)
        t_one = time.perf_counter() - t
        # birth and death events a direct method would simulate for this tumour
        cells = float(one.mean.groupby("time")["mean_cells"].sum().mean())
        ev = ev or cells * (B + D) * 730.0
        print(
            f"{method} 1e9 cells, 2 y, dt = {dt:g} d ({label}): {t_one:8.2f} s for ~{ev:.3g} "
            f"cell events ({ev / t_one / rate_ex:.3g}x the exact-Gillespie rate)"
        )
    print(f"exact Gillespie at {rate_ex:.3g} events/s: ~{ev / rate_ex / 86400:.3g} days")

    # 4. compiled kernels against the numpy engines above (same run)
    if not kernels.HAVE_NUMBA:
        print("compiled kernels: numba not installed (pip install oncoresist[fast])")
        return
    model = _model(1e9)

    def compiled_cohort(n: int, steps_years: float) -> tuple[float, dict]:
        t_end = 365.0 * steps_years
        gen = np.random.default_rng(2)
        ar = engine._arrays(model, n, spread, gen)
        plan = engine._plan(model, sched, t_end)
        t0 = time.perf_counter()
        out = kernels.run_cohort(ar, plan, sched, t_end=t_end, dt=1.0, rng=gen, record_runs=1,
                                 mode="burden", progression_factor=1.2, nadir_rise=1.25)  # fmt: skip
        assert out is not None
        return time.perf_counter() - t0, out

    t_compile, _ = compiled_cohort(2, 0.1)
    t_cc, out = compiled_cohort(n_pat, years)
    p_res = float(np.mean(out["x_end"][:, 1] >= 1.0))
    print(
        f"compiled cohort: {n_pat} patients x {years} y (run_cohort, numba, "
        f"{kernels.numba_threads()} threads): {t_cc:8.2f} s ({t_cc / n_pat * 1e3:.2f} ms/patient; "
        f"first call with compile/cache load {t_compile:.1f} s); numpy simulate(): {t_co:.2f} s "
        f"({t_co / t_cc:.1f}x faster); p_resistant_at_end {p_res:.3f} vs "
        f"{float(co.outcomes()['p_resistant_at_end'].iloc[0]):.3f}, median ttp_nadir "
        f"{np.nanmedian(out['met'].ttp_nadir):.0f} vs "
        f"{float(co.outcomes()['median_ttp_nadir'].iloc[0]):.0f}"
    )

    def compiled_gillespie(runs: int, t: float, b: float, d: float) -> tuple[float, int]:
        ones = np.ones((runs, 1))
        x0 = np.full((runs, 1), n_cells, np.int64)
        z = np.zeros((1, 1))
        t0 = time.perf_counter()
        _, events = kernels.gillespie_step(
            x0, b * ones, d * ones, kc0=np.inf * ones, a=np.ones((1, 1)), u=z, s=z,
            cap_src=np.array([-1]), growth=0, dt=t, rng=np.random.default_rng(0),
            max_events=10**10,
        )  # fmt: skip
        return time.perf_counter() - t0, events

    compiled_gillespie(2, 1e-4, B, D)  # compile or load the cache
    t_cg, ev_cg = compiled_gillespie(n_runs, t_g, B, D)
    print(
        f"compiled gillespie (exact, one event at a time) at 1e6 cells, {n_runs} runs x "
        f"{t_g:g} d: {t_cg:8.2f} s {ev_cg / t_cg:12.3g} events/s ({ev_cg / t_cg / rate_ex:.1f}x "
        "the numpy engine)"
    )
    t_year = 36.5 if args.quick else 365.0
    t_cy, ev_cy = compiled_gillespie(1, t_year, B, B)
    print(
        f"compiled gillespie, one run of 1e6 cells at b = d = {B} over {t_year:g} d: "
        f"{t_cy:8.2f} s for {ev_cy:.3g} events ({ev_cy / t_cy:.3g} events/s)"
    )


if __name__ == "__main__":
    main()
