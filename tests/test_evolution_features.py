"""Issue 13 features: stem-cell hierarchy, dynamic microenvironment, state-dependent rules,
drug interaction, common random numbers; each with the outcome the field expects."""

from __future__ import annotations

import math

import numpy as np
import pytest
from typer.testing import CliRunner

from oncoresist.errors import InputError
from oncoresist.evolution import (
    Clone,
    Division,
    Drug,
    DrugEffect,
    Model,
    Regimen,
    Schedule,
    Transition,
    example_path,
    load_model,
    load_schedule,
    model_from_dict,
    schedule_from_dict,
    simulate,
)


def _traj(res, clone):
    t = res.trajectories
    return t[t.clone == clone].set_index("time")["cells"]


def _stem_model(ps, pa, pd_, *, b=0.1, d_stem=0.0, d_diff=0.05):
    return Model(
        clones=(
            Clone("S", b, d_stem, initial=1000.0, role="stem", division=Division(ps, pa, pd_, "D")),
            Clone("D", 0.0, d_diff, initial=0.0, role="differentiated"),
        )
    )


@pytest.mark.parametrize(("ps", "pa", "pd_", "d"), [(0.5, 0.3, 0.2, 0.01), (0.3, 0.4, 0.3, 0.0)])
def test_stem_pool_grows_at_b_ps_minus_pd(ps, pa, pd_, d):
    """EVIDENCE (closed form; Dingli & Michor 2006 PMID:16597832): the stem pool obeys
    dS/dt = (b (p_s - p_d) - d) S, so S(t) = S0 exp((b (p_s - p_d) - d) t) (0.02/day for the
    first case, homeostatic S = S0 at p_s = p_d), and the differentiated cells obey
    dD/dt = b (p_a + 2 p_d) S - d_D D. Measured ODE relative error < 1e-6."""
    b, d_d = 0.1, 0.05
    m = _stem_model(ps, pa, pd_, b=b, d_stem=d)
    res = simulate(m, Schedule("none"), t_end=100, dt=1)
    r = b * (ps - pd_) - d
    t = np.arange(101.0)
    s_exact = 1000 * np.exp(r * t)
    np.testing.assert_allclose(_traj(res, "S").to_numpy(), s_exact, rtol=1e-6)
    k = b * (pa + 2 * pd_) * 1000
    d_exact = k * (np.exp(r * t) - np.exp(-d_d * t)) / (r + d_d)
    np.testing.assert_allclose(_traj(res, "D").to_numpy()[1:], d_exact[1:], rtol=1e-6)


def test_stem_fates_mean_matches_ode_in_stochastic_engines():
    """EVIDENCE (closed form): the branching engine's mean over 400 runs of S and D at day
    30 matches the ODE (the mean-field) within 4 standard errors; measured < 2 se."""
    m = _stem_model(0.5, 0.3, 0.2)
    ode = simulate(m, Schedule("none"), t_end=30, dt=1).trajectories
    br = simulate(m, Schedule("none"), method="branching", t_end=30, dt=0.5, n_runs=400, rng=3)
    last = br.trajectories[br.trajectories.time == 30]
    for clone in ("S", "D"):
        exact = float(ode[(ode.time == 30) & (ode.clone == clone)].cells.iloc[0])
        mean = br.mean[(br.mean.time == 30) & (br.mean.clone == clone)].mean_cells.iloc[0]
        se = br.runs.shape[0] ** -0.5 * max(float(last[last.clone == clone].cells.std()), 1.0)
        assert abs(mean - exact) < 4 * se + 1e-9 * exact, (clone, mean, exact, se)


def test_bulk_killer_regrows_from_stem_cells_stem_killer_does_not():
    """EVIDENCE (literature: cancer-stem-cell tolerance, Dingli & Michor 2006): 120 days of a
    drug that kills only differentiated cells shrinks the bulk (measured nadir 26% of the
    start) but the untouched stem pool regrows the tumour after stopping (day 365: 38x the
    start, progression at day 125); the same course of a stem-cell killer leaves 4% of the
    start at day 365 and no progression."""
    m = load_model(example_path("stem_cell_hierarchy.yaml"))
    bulk = simulate(m, load_schedule(example_path("kill_bulk_then_stop.yaml")), t_end=365, dt=1)
    stem = simulate(m, load_schedule(example_path("kill_stem_then_stop.yaml")), t_end=365, dt=1)
    b0 = bulk.burden.total.iloc[0]
    assert bulk.burden.total.min() < 0.5 * b0
    assert bulk.runs.final_burden.iloc[0] > 10 * b0
    assert math.isfinite(bulk.runs.ttp_baseline.iloc[0])
    assert stem.runs.final_burden.iloc[0] < 0.1 * b0
    assert math.isnan(stem.runs.ttp_baseline.iloc[0])


def _stroma_model(level, protection=0.05):
    return model_from_dict(
        {
            "drugs": ["A"],
            "clones": [
                {
                    "name": "T",
                    "birth_rate": 0.0,
                    "initial": 1e6,
                    "effects": {"A": {"emax": 0.2, "ic50": 1.0}},
                }
            ],
            "compartments": [
                {
                    "name": "caf",
                    "initial": level,
                    "source": 0.1 * level,
                    "decay_rate": 0.1,
                    "protection": protection,
                }
            ],
        }
    )


@pytest.mark.parametrize("level", [0.0, 4.0, 8.0])
def test_stroma_protection_lowers_kill_in_proportion(level):
    """EVIDENCE (the model written down; Straussman 2012 PMID:22763439 for the mechanism):
    at a steady stroma level L the drug's kill is E (1 - p L): with E = 0.1/day (emax 0.2 at
    the IC50) and p = 0.05 per unit, log(x0 / x(10)) / 10 = 0.1, 0.08, 0.06 at L = 0, 4, 8
    (ODE; measured relative error < 1e-6)."""
    res = simulate(_stroma_model(level), Schedule("A", (Regimen("A"),)), t_end=10, dt=1)
    rate = math.log(1e6 / res.runs.final_burden.iloc[0]) / 10
    assert rate == pytest.approx(0.1 * (1 - 0.05 * level), rel=1e-6)


def test_stroma_depleting_drug_restores_the_kill():
    """EVIDENCE (expected outcome, Straussman 2012): with protective CAFs the drug alone
    leaves 2.3e7 of 1e9 cells at day 100 (CAF ~5 units, 30% protection); adding a drug that
    depletes the CAFs (level 0.35) leaves 1.2e6, a 20-fold deeper kill (measured)."""
    m = load_model(example_path("protective_stroma.yaml"))
    alone = simulate(m, load_schedule(example_path("drug_alone.yaml")), t_end=100, dt=1)
    both = simulate(m, load_schedule(example_path("drug_plus_depleter.yaml")), t_end=100, dt=1)
    assert alone.runs.final_caf.iloc[0] > 4
    assert both.runs.final_caf.iloc[0] < 0.5
    assert both.runs.final_burden.iloc[0] < 0.1 * alone.runs.final_burden.iloc[0]
    assert "level_caf" in alone.burden.columns


def test_immune_predation_holds_tumour_at_the_analytical_equilibrium():
    """EVIDENCE (analytical equilibrium; immune predation as in Kuznetsov et al. 1994):
    dN/dt = N (r - k I), dI/dt = s + rho N - delta I has N* = (delta r / k - s) / rho and
    I* = r / k, stable (trace -delta < 0, det k rho N* > 0). With r = 0.04, k = 0.01,
    s = 0.5, rho = 1e-6, delta = 0.2 (N* = 3.0e5, I* = 4): the ODE settles there from
    N0 = 1e5 (measured relative error < 1e-4 at day 1500)."""
    r, k, s, rho, delta = 0.04, 0.01, 0.5, 1e-6, 0.2
    m = model_from_dict(
        {
            "clones": [{"name": "T", "birth_rate": 0.05, "death_rate": 0.01, "initial": 1e5}],
            "compartments": [
                {
                    "name": "nk",
                    "kind": "immune",
                    "initial": 2.5,
                    "source": s,
                    "decay_rate": delta,
                    "recruitment": rho,
                    "kill_rate": k,
                }
            ],
        }
    )
    res = simulate(m, Schedule("none"), t_end=1500, dt=5)
    n_star = (delta * r / k - s) / rho
    assert res.runs.final_burden.iloc[0] == pytest.approx(n_star, rel=1e-4)
    assert res.runs.final_nk.iloc[0] == pytest.approx(r / k, rel=1e-4)
    # the stochastic engine keeps the compartment deterministic: its mean stays near N*
    br = simulate(m, Schedule("none"), method="branching", t_end=600, dt=1, n_runs=50, rng=1)
    assert br.runs.final_burden.mean() == pytest.approx(n_star, rel=0.15)


def test_switch_at_progression_outlasts_continuing_the_first_drug():
    """EVIDENCE (expected outcome): when the clone resistant to A responds to B, switching
    to B at progression (20% over the nadir, 4-weekly checks) delays the burden's passing
    1.2x baseline from day 236 (A throughout) to day 404, and the strategy's failure from
    day 168 to 252 (measured, ODE)."""
    m = load_model(example_path("switch_at_progression_model.yaml"))
    sw = simulate(m, load_schedule(example_path("switch_at_progression.yaml")), t_end=730)
    a = simulate(m, load_schedule(example_path("continue_first_drug.yaml")), t_end=730)
    s_sw, s_a = sw.runs.iloc[0], a.runs.iloc[0]
    assert s_sw.n_switches == 1 and s_a.n_switches == 0
    assert s_sw.ttp_baseline > 1.5 * s_a.ttp_baseline
    assert s_sw.ttp_failure > s_a.ttp_failure
    assert s_sw.first_switch == s_a.ttp_failure  # the same rule fires at the same check


def test_collateral_sensitivity_cycling_outlasts_either_monotherapy():
    """EVIDENCE (expected outcome; Zhao et al. 2016 Cancer Discov, Yoon et al. 2018): with
    resistance to A conferring hypersensitivity to B and vice versa, cycling A/B at each
    progression keeps the burden under 1.2x baseline until day 635 (13 switches) against
    day 294 for A alone and for B alone (measured, ODE)."""
    m = load_model(example_path("collateral_sensitivity.yaml"))
    kw = {"t_end": 1000.0, "dt": 1.0}
    cyc = simulate(m, load_schedule(example_path("collateral_cycling.yaml")), **kw)
    mono = [
        simulate(m, load_schedule(example_path(f)), **kw)
        for f in ("continue_first_drug.yaml", "monotherapy_B.yaml")
    ]
    t_cyc = cyc.runs.ttp_baseline.iloc[0]
    assert cyc.runs.n_switches.iloc[0] >= 5
    for r in mono:
        assert t_cyc > 1.5 * r.runs.ttp_baseline.iloc[0]


def test_adaptive_rule_on_a_clone_with_absolute_thresholds():
    """REGRESSION GUARD (the rule's definition): with absolute thresholds on burden the drug
    stops when the burden falls below 5e5 cells (its minimum, within 2%); a rule on the
    resistant clone's size (clone:R, which only grows) never stops it; a relative rule on a
    measure that is 0 at day 0 is refused with the fix."""
    m = Model(
        clones=(
            Clone("S", 0.02, 0.0, initial=1e6, effects=(("A", DrugEffect(0.1, 1.0)),)),
            Clone("R", 0.02, 0.0, initial=10.0, resistant=True),
        ),
        drugs=(Drug("A"),),
    )
    rule = {"stop_below": 5e5, "resume_above": 8e5, "thresholds": "absolute"}
    s = schedule_from_dict({"regimens": [{"drug": "A"}], "adaptive": {**rule, "measure": "burden"}})
    res = simulate(m, s, t_end=200, dt=1)
    assert res.burden.total.min() == pytest.approx(5e5, rel=0.02)
    s2 = schedule_from_dict(
        {
            "regimens": [{"drug": "A"}],
            "adaptive": {
                "stop_below": 1,
                "resume_above": 2,
                "thresholds": "absolute",
                "measure": "clone:R",
            },
        }
    )
    assert simulate(m, s2, t_end=50, dt=1).runs.time_off_drug.iloc[0] == 0
    m0 = Model(
        clones=(m.clones[0], Clone("R", 0.02, initial=0.0)),
        drugs=m.drugs,
        transitions=(Transition("S", "R", 1e-6),),
    )
    rel = schedule_from_dict({"regimens": [{"drug": "A"}], "adaptive": {"measure": "clone:R"}})
    with pytest.raises(InputError, match="is 0 at day 0"):
        simulate(m0, rel, t_end=10)


def _two_drug(combination, a_eff, b_eff):
    return Model(
        clones=(Clone("T", 0.0, 0.0, initial=1e6, effects=(("A", a_eff), ("B", b_eff))),),
        drugs=(Drug("A"), Drug("B")),
        combination=combination,
    )


def _daily_kill(model, ca, cb):
    regs = tuple(Regimen(d, level=c) for d, c in (("A", ca), ("B", cb)) if c > 0)
    res = simulate(model, Schedule("s", regs), t_end=1, dt=1)
    return math.log(1e6 / res.runs.final_burden.iloc[0])


def test_bliss_of_two_drugs_each_giving_fraction_e():
    """EVIDENCE (definition, Bliss 1939): two drugs each at a fraction e = 0.5 of the
    maximal kill (emax 0.3/day at the IC50) combine to 1 - (1 - e)^2 = 0.75 of it:
    0.225/day (measured relative error < 1e-7)."""
    eff = DrugEffect(0.3, ic50=1.0)
    m = _two_drug("bliss", eff, eff)
    assert _daily_kill(m, 1.0, 0.0) == pytest.approx(0.15, rel=1e-7)
    assert _daily_kill(m, 1.0, 1.0) == pytest.approx(0.3 * (1 - 0.5**2), rel=1e-7)


@pytest.mark.parametrize(("ca", "cb"), [(0.3, 0.7), (1.0, 2.5)])
def test_loewe_sham_combination_equals_single_drug_at_summed_dose(ca, cb):
    """EVIDENCE (definition, Loewe 1926): a drug combined with itself (A and its copy B)
    equals the single drug at the summed dose (sham combination); Hill slope 1.7, emax 0.4
    (measured relative error < 5e-8, the ODE tolerance)."""
    eff = DrugEffect(0.4, ic50=0.8, hill_slope=1.7)
    m = _two_drug("loewe", eff, eff)
    single = 0.4 / (1 + (0.8 / (ca + cb)) ** 1.7)
    assert _daily_kill(m, ca, cb) == pytest.approx(single, rel=1e-6)


def _crn_model():
    return Model(
        clones=(
            Clone("S", 0.3, 0.1, initial=200, effects=(("A", DrugEffect(0.3, 1.0)),)),
            Clone("R", 0.3, 0.1, initial=0, resistant=True),
        ),
        transitions=(Transition("S", "R", 1e-3),),
        drugs=(Drug("A"),),
    )


def test_common_random_numbers_identical_and_reduce_variance():
    """EVIDENCE (the variance-reduction property of common random numbers; Law & Kelton,
    Simulation Modeling and Analysis, ch. 11): a schedule against itself under CRN gives
    identical per-patient outcomes; for two similar schedules (dose 1.0 vs 1.05, branching,
    150 patients, 30 days) the variance of the per-patient difference in final burden is
    measured about 4-5x smaller with one seed and CRN than with independent seeds."""
    m = _crn_model()
    a = Schedule("a", (Regimen("A", level=1.0),))
    b = Schedule("b", (Regimen("A", level=1.05),))
    kw = {"method": "branching", "t_end": 30.0, "dt": 1.0, "n_runs": 150, "record_runs": 0}
    fa = simulate(m, a, rng=1, crn=True, **kw).runs.final_burden.to_numpy()
    fa2 = simulate(m, a, rng=1, crn=True, **kw).runs.final_burden.to_numpy()
    fb = simulate(m, b, rng=1, crn=True, **kw).runs.final_burden.to_numpy()
    fb_ind = simulate(m, b, rng=2, crn=True, **kw).runs.final_burden.to_numpy()
    np.testing.assert_array_equal(fa, fa2)
    assert np.var(fa - fb) < 0.5 * np.var(fa - fb_ind)


@pytest.mark.parametrize(
    ("where", "patch", "match"),
    [
        ("clone", {"division": {"self_renewal": 0.5, "asymetric": 0.5, "into": "D"}}, "asymetric"),
        ("clone", {"division": {"self_renewal": 0.5, "asymmetric": 0.2, "into": "D"}}, "sum to 1"),
        ("clone", {"division": {"self_renewal": "lots", "into": "D"}}, "self_renewal"),
        ("clone", {"role": "stem"}, "needs division"),
        ("top", {"compartments": [{"name": "c", "decay_rate": 0.1, "protect": 1}]}, "protect"),
        ("top", {"compartments": [{"name": "c", "decay_rate": "x"}]}, "decay_rate"),
        ("top", {"compartments": [{"name": "c", "decay_rate": 0.1, "clones": ["Q"]}]}, "'Q'"),
        ("top", {"combination": "blis"}, "combination"),
    ],
)
def test_bad_model_keys_name_the_key(where, patch, match):
    """REGRESSION GUARD (house rule): misspelled keys and wrong types are errors naming them."""
    clone = {"name": "S", "birth_rate": 0.1, "initial": 10, "role": "bulk"}
    data = {
        "clones": [
            clone,
            {
                "name": "D",
                "birth_rate": 0,
                "death_rate": 0.1,
                "role": "differentiated",
                "initial": 1,
            },
        ]
    }
    if where == "clone":
        clone.update(patch)
        if "division" in patch:
            clone["role"] = "stem"
    else:
        data.update(patch)
    with pytest.raises(InputError, match=match):
        model_from_dict(data)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"lines": [{"regimens": [{"drug": "A"}]}], "switch": {"when": "nadri"}}, "when"),
        ({"lines": [{"regimens": [{"drug": "A"}]}], "switch": {"factr": 1.2}}, "factr"),
        ({"lines": [{"regimen": [{"drug": "A"}]}]}, "regimen"),
        ({"lines": [{"regimens": [{"drug": "A"}]}, {"regimens": [{"drug": "B"}]}]}, "switch"),
        ({"regimens": [], "lines": []}, "not both"),
        ({"regimens": [{"drug": "A"}], "adaptive": {"measure": "clone"}}, "measure"),
        ({"regimens": [{"drug": "A"}], "adaptive": {"thresholds": "abs"}}, "thresholds"),
    ],
)
def test_bad_schedule_keys_name_the_key(data, match):
    """REGRESSION GUARD (house rule): schedule errors name the key and the fix."""
    with pytest.raises(InputError, match=match):
        schedule_from_dict(data)


def test_differentiated_clone_cannot_divide():
    """REGRESSION GUARD: role differentiated with a birth rate is refused with the fix."""
    with pytest.raises(InputError, match="does not divide"):
        Clone("D", 0.1, 0.1, role="differentiated")


def test_examples_run_from_the_cli(tmp_path):
    """REGRESSION GUARD: the new examples run from ``oncoresist simulate`` (CRN policy)."""
    from oncoresist.cli import app

    model = example_path("switch_at_progression_model.yaml")
    scheds = ",".join(
        str(example_path(f)) for f in ("switch_at_progression.yaml", "continue_first_drug.yaml")
    )
    out = tmp_path / "o"
    res = CliRunner().invoke(
        app, ["simulate", str(model), "--schedules", scheds, "-o", str(out), "--t-end", "400"]
    )
    assert res.exit_code == 0, res.output
    assert (out / "comparison.csv").is_file()
    for m, s in (
        ("stem_cell_hierarchy.yaml", "kill_bulk_then_stop.yaml"),
        ("protective_stroma.yaml", "drug_plus_depleter.yaml"),
        ("collateral_sensitivity.yaml", "collateral_cycling.yaml"),
    ):
        r = CliRunner().invoke(
            app,
            [
                "simulate",
                str(example_path(m)),
                "--schedules",
                str(example_path(s)),
                "-o",
                str(tmp_path / m),
                "--t-end",
                "200",
                "--method",
                "branching",
                "--n-runs",
                "2",
            ],
        )
        assert r.exit_code == 0, r.output
