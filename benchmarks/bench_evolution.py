"""Benchmark of the evolution simulators (run: python benchmarks/bench_evolution.py [--quick]).

Prints wall time and events/s of (1) a 1e9-cell tumour grown and treated with tau-leaping,
(2) a cohort of 10,000 stochastic virtual patients over 5 years (branching process, arrays over
patients), against (3) exact Gillespie on a small case in the same run.
"""

from __future__ import annotations

import argparse
import time

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


def _model(n0: float) -> Model:
    kill = (("A", DrugEffect(emax=0.05, ic50=0.1)),)
    return Model(
        clones=(
            Clone("S", 0.14, 0.13, carrying_capacity=1e11, initial=n0, effects=kill),
            Clone("R", 0.13, 0.13, carrying_capacity=1e11, resistant=True),
        ),
        transitions=(Transition("S", "R", 5e-8),),
        drugs=(Drug("A"),),
        growth="logistic",
        name="bench",
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    sched = Schedule("treat_day_365", (Regimen("A", level=1.0, start=365.0),))
    n_pat = 1000 if args.quick else 10_000

    t = time.perf_counter()
    ex = simulate(
        _model(200),
        sched,
        method="gillespie",
        t_end=100.0 if args.quick else 250.0,
        dt=1.0,
        n_runs=20,
        rng=0,
    )
    t_ex = time.perf_counter() - t
    rate_ex = ex.info["events"] / t_ex

    t = time.perf_counter()
    tl = simulate(_model(1e9), sched, method="tau_leap", t_end=730.0, dt=0.5, rng=1)
    t_tl = time.perf_counter() - t
    rate_tl = tl.info["events"] / t_tl

    t = time.perf_counter()
    co = simulate(
        _model(1e9),
        sched,
        method="branching",
        t_end=1825.0,
        dt=1.0,
        n_runs=n_pat,
        rng=2,
        variation={"S.birth_rate": 0.01, "R.initial": 0.5},
        record_runs=1,
    )
    t_co = time.perf_counter() - t
    rate_co = co.info["events"] / t_co

    print(f"gillespie (exact, 20 runs, 200 cells): {t_ex:8.2f} s  {rate_ex:12.3g} events/s")
    print(
        f"tau_leap 1e9 cells, 2 years:            {t_tl:8.2f} s  {rate_tl:12.3g} events/s  ({rate_tl / rate_ex:.3g}x exact)"
    )
    print(
        f"branching cohort {n_pat} patients, 5 y: {t_co:8.2f} s  {rate_co:12.3g} events/s  ({rate_co / rate_ex:.3g}x exact)"
    )
    print(
        co.outcomes()[["n_runs", "p_resistant_at_end", "median_ttp_nadir"]].to_string(index=False)
    )


if __name__ == "__main__":
    main()
