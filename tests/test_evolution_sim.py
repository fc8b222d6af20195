"""Analytic anchors of the simulators (Bozic 2013, linear birth-death, Zhang 2017)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from oncoresist.evolution import (
    Clone,
    Model,
    Schedule,
    Transition,
    bozic_eradication_probability,
    bozic_resistance_probability,
    compare_schedules,
    simulate,
    simulate_bozic,
    zhang2017_model,
    zhang2017_schedules,
)


def test_bozic_table1_analytic():
    # Bozic et al. 2013, Table 1, patient N22 (one lesion, 8.5e8 cells): failure 0.677 (n12=1)
    # and 0.001 (n12=0); patient N20 (1.6e9 cells, 3 lesions): 0.881 and 0.002.
    assert 1 - bozic_eradication_probability(8.5e8, n12=1) == pytest.approx(0.677, abs=0.005)
    assert 1 - bozic_eradication_probability(8.5e8, n12=0) == pytest.approx(0.001, abs=0.0006)
    assert 1 - bozic_eradication_probability(1.6e9, n12=1) == pytest.approx(0.881, abs=0.005)
    assert 1 - bozic_eradication_probability(1.6e9, n12=0) == pytest.approx(0.002, abs=0.0006)


def test_bozic_preexisting_resistance_simulated_within_2se():
    # Table 1 parameters b=0.14, d=0.13, u=1e-9, 50 loci per drug, one cross-resistance locus.
    m = 2e6
    sim = simulate_bozic(m, n_runs=2500, n12=1, rng=11, treat=False, dt=1.0)
    p_a = bozic_resistance_probability(m, n1=51)  # resistance to drug A: 50 + 1 loci
    got = sim["resistant_a"].mean()
    se = math.sqrt(p_a * (1 - p_a) / len(sim))
    assert abs(got - p_a) < 2 * se, (got, p_a, se)


def test_bozic_dual_failure_simulated_within_2se():
    # Dual therapy (d' = 0.17) of lesions of 3e7 cells with one cross-resistance locus.
    m = 3e7
    sim = simulate_bozic(m, n_runs=1500, n12=1, rng=6, dt=1.0, start=1e5)
    p_fail = 1 - bozic_eradication_probability(m, n12=1)
    se = math.sqrt(p_fail * (1 - p_fail) / len(sim))
    assert abs(sim["failed"].mean() - p_fail) < 2 * se, (sim["failed"].mean(), p_fail, se)


def _bd_model(x0=20):
    return Model(
        clones=(Clone("S", 0.5, 0.3, initial=x0), Clone("R", 0.4, 0.1)),
        transitions=(Transition("S", "R", 0.01),),
        name="bd",
    )


def test_exact_and_approximate_agree_in_distribution():
    m, s = _bd_model(), Schedule("none")
    ex = simulate(m, s, method="gillespie", t_end=5, dt=0.5, n_runs=1500, rng=1, record_runs=0)
    tl = simulate(m, s, method="tau_leap", t_end=5, dt=0.05, n_runs=1500, rng=2, record_runs=0)
    br = simulate(m, s, method="branching", t_end=5, dt=0.5, n_runs=1500, rng=3, record_runs=0)
    a = ex.summary["final_burden"]
    assert stats.ks_2samp(a, tl.summary["final_burden"]).pvalue > 0.01
    assert stats.ks_2samp(a, br.summary["final_burden"]).pvalue > 0.01
    # mean of S is x0 exp((b(1-u) - d) t) exactly for the linear process
    s_end = ex.mean[(ex.mean.time == 5) & (ex.mean.clone == "S")]["mean_cells"].iloc[0]
    assert s_end == pytest.approx(20 * math.exp((0.5 * 0.99 - 0.3) * 5), rel=0.05)


def test_ode_is_mean_of_stochastic():
    m, s = _bd_model(50), Schedule("none")
    ode = simulate(m, s, t_end=10, dt=1.0)
    br = simulate(m, s, method="branching", t_end=10, dt=0.5, n_runs=4000, rng=4, record_runs=0)
    for clone in ("S", "R"):
        o = ode.mean[(ode.mean.time == 10) & (ode.mean.clone == clone)]["mean_cells"].iloc[0]
        b = br.mean[(br.mean.time == 10) & (br.mean.clone == clone)]["mean_cells"].iloc[0]
        assert b == pytest.approx(o, rel=0.05), clone


def test_zhang2017_adaptive_beats_continuous():
    # Zhang 2017: adaptive therapy lengthens TTP (clinical 33.5 vs 14.3 months = 2.34x in
    # Zhang 2022) and uses less drug.
    m = zhang2017_model()
    res = [simulate(m, s, t_end=3000, dt=5) for s in zhang2017_schedules().values()]
    comp = compare_schedules(res).set_index("schedule")
    assert comp.loc["adaptive", "median_ttp"] > comp.loc["continuous", "median_ttp"]
    assert comp.loc["adaptive", "ttp_ratio"] > 2.34  # censored at 3000 d: a lower bound
    assert comp.loc["adaptive", "exposure_ratio"] < 0.5
    cont = res[0].summary.iloc[0]
    assert cont["resistant_at_end"] and np.isfinite(cont["ttp_nadir"])


def test_cohort_vectorised_variation():
    m = _bd_model(1000)
    r = simulate(
        m,
        Schedule("none"),
        method="branching",
        t_end=20,
        dt=0.5,
        n_runs=500,
        rng=0,
        variation={"S.birth_rate": 0.2},
        record_runs=2,
    )
    assert len(r.summary) == 500 and r.trajectories["run"].nunique() == 2
    assert r.summary["final_burden"].std() > 0
