"""Out-of-sample PSA forecasts under intermittent androgen deprivation (issue 13)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from oncoresist.data import mirror_available
from oncoresist.errors import InputError
from oncoresist.evolution import (
    Clone,
    Drug,
    DrugEffect,
    Model,
    Regimen,
    Schedule,
    evaluate_psa_forecasts,
    fetch_bruchovsky_psa,
    plot_psa_forecast,
    simulate,
)
from oncoresist.evolution._forecast import _A_RS, _A_SR, _LV_STEP, _baselines, _Grid, _lv, _window

# a Bruchovsky-like protocol: 36 weeks on, 28 weeks off, visits every 4 weeks
_ON, _OFF, _VISIT = 252.0, 196.0, 28.0


def _synthetic_cohort(n: int, *, cycles: int = 4, noise: float = 0.15, seed: int = 0):
    """Patients drawn from the two-population model around a population mean."""
    rng = np.random.default_rng(seed)
    rows, truth = [], {}
    for pid in range(1, n + 1):
        z = {
            "log_b0": rng.normal(2.5, 0.5),
            "logit_resistant": rng.normal(-6.0, 0.5),
            # r_s / delta ~ 252 / 448: sensitive cells regrow each off phase to about their
            # level at the start of the cycle, as PSA does under IAD
            "log_r_s": rng.normal(math.log(0.033), 0.1),
            "log_delta": rng.normal(math.log(0.06), 0.1),
            "r_r": rng.normal(0.004, 0.0005),
        }
        truth[pid] = z
        days, on, cyc = [], [], []
        t = 0.0
        for c in range(1, cycles + 1):
            for phase_on, length in ((True, _ON), (False, _OFF)):
                for d in np.arange(0.0, length, _VISIT):
                    days.append(t + d)
                    on.append(phase_on)
                    cyc.append(c)
                t += length
        days_a, on_a = np.array(days), np.array(on)
        ton = np.concatenate([[0.0], np.cumsum(np.diff(days_a) * on_a[:-1])])
        f = 1 / (1 + math.exp(-z["logit_resistant"]))
        lb = z["log_b0"] + np.logaddexp(
            math.log(1 - f) + math.exp(z["log_r_s"]) * days_a - math.exp(z["log_delta"]) * ton,
            math.log(f) + z["r_r"] * days_a,
        )
        psa = np.exp(lb + rng.normal(0, noise, days_a.size))
        rows.append(
            pd.DataFrame(
                {"patient": pid, "day": days_a, "psa": psa, "on_treatment": on_a, "cycle": cyc}
            )
        )
    return pd.concat(rows, ignore_index=True), truth


def test_synthetic_two_population_recovered_and_beats_baselines():
    """REGRESSION GUARD (simulated ground truth, not evidence about patients): 16 virtual
    patients from the two-population model (noise sd 0.15 log PSA, Bruchovsky-like 36/28-week
    cycles). Fitted on cycles 1-2 with the leave-one-out population prior, the MAP estimates
    recover the parameters (measured median |error|: log_delta 0.022, log_r_s 0.034, r_r 1.1e-4
    per day, logit_resistant 0.09) and the cycle-3 forecast beats both naive baselines in every
    patient (median RMSE 0.154 = the noise; skill 0.84 vs LVCF, 0.82 vs trend). Its 90%
    intervals cover 0.84 of the points even here, where the model is right: the Laplace
    approximation is somewhat narrow; rescaled by the other patients' errors (conformal) 0.89.
    """
    psa, truth = _synthetic_cohort(16)
    ev = evaluate_psa_forecasts(psa, ("two_population",), cycles_fit=2)
    sc = ev.scores.set_index("patient")
    assert (sc["status"] == "ok").all()
    for p, tol in (("log_delta", 0.1), ("log_r_s", 0.1), ("r_r", 5e-4), ("logit_resistant", 0.3)):
        err = np.array([sc.loc[pid, p] - truth[pid][p] for pid in truth])
        assert np.median(np.abs(err)) < tol, p
    s = ev.by_model().set_index("model").loc["two_population"]
    assert s["frac_beats_better_baseline"] >= 0.9
    assert s["median_skill_lvcf"] > 0.7 and s["median_skill_trend"] > 0.7
    assert s["median_rmse"] < 0.2
    assert 0.75 <= s["coverage"] <= 0.98
    assert 0.8 <= s["coverage_conformal"] <= 0.98


def test_prior_never_uses_the_held_out_patient():
    """REGRESSION GUARD (design rule of the issue): the forecast of a patient depends only on
    its own cycles 1..k and on the other patients. Rewriting patient 1's cycles 3-4 (what is
    forecast) leaves its forecast bit-identical, with leave-one-out and with K folds."""
    psa, _ = _synthetic_cohort(8, seed=1)
    for folds in (None, 4):
        a = evaluate_psa_forecasts(psa, ("two_population",), cycles_fit=2, n_folds=folds)
        changed = psa.copy()
        sel = (changed["patient"] == 1) & (changed["cycle"] >= 3)
        changed.loc[sel, "psa"] *= 7.0
        b = evaluate_psa_forecasts(changed, ("two_population",), cycles_fit=2, n_folds=folds)
        fa = a.forecasts[a.forecasts["patient"] == 1]
        fb = b.forecasts[b.forecasts["patient"] == 1]
        np.testing.assert_array_equal(fa["forecast"].to_numpy(), fb["forecast"].to_numpy())


def test_baselines_follow_their_definition():
    """REGRESSION GUARD (the baselines' definition in the module docstring): on a series whose
    log PSA is exactly piecewise linear per phase, the phase trend forecasts cycle 3 without
    error and LVCF carries the last training value."""
    days = np.arange(0.0, 3 * 448, 28.0)
    on = (days % 448) < _ON
    cyc = (days // 448).astype(int) + 1
    ton = np.concatenate([[0.0], np.cumsum(np.diff(days) * on[:-1])])
    ly = 3.0 - 0.01 * ton + 0.006 * (days - ton)
    g = pd.DataFrame({"day": days, "psa": np.exp(ly), "on_treatment": on, "cycle": cyc})
    w = _window(g, 2, math.log(1e-3))
    lvcf, trend = _baselines(w)
    np.testing.assert_allclose(trend, w.ly_test, atol=1e-9)
    np.testing.assert_allclose(lvcf, ly[cyc <= 2][-1])


def test_lotka_volterra_kernel_matches_the_ode_engine():
    """EVIDENCE (the package's ODE engine, ``simulate(method="ode")``, LSODA): the forecasting
    kernel of the Zhang-style LV model (14-day Strang steps, exact logistic sub-steps) follows
    the same two-clone model built with the public API through two IAD cycles within 0.02 log
    (measured max 0.016 over 900 days)."""
    k, rs, rr, kon, u0, f = 1e4, 0.05, 0.004, 0.02, 0.5, 0.01
    adt = DrugEffect(emax=1 - kon, ic50=1e-3, hill_slope=4.0, target="capacity")
    model = Model(
        clones=(
            Clone("S", rs, 0.0, carrying_capacity=k, initial=u0 * (1 - f) * k,
                  effects=(("adt", adt),)),
            Clone("R", rr, 0.0, carrying_capacity=k, initial=u0 * f * k, resistant=True),
        ),
        drugs=(Drug("adt"),),
        growth="logistic",
        competition=((1.0, _A_SR), (_A_RS, 1.0)),
        name="lv2",
    )  # fmt: skip
    sched = Schedule("iad", (Regimen("adt", kind="blocks", blocks=((0, 252, 1), (400, 650, 1))),))
    b = simulate(model, sched, method="ode", t_end=900, dt=1).burden
    te = np.arange(0.0, 900.0, 30.0)
    grid = _Grid.build(np.array([0, 252, 400, 650.0]), np.array([1, 0, 1, 0], bool), te, _LV_STEP)
    z = np.array([[0.0, math.log(f / (1 - f)), math.log(u0), math.log(rs), math.log(rr),
                   math.log(kon)]])  # fmt: skip
    mine = _lv(z, grid)[0][grid.index(te)] + math.log(u0 * k)
    engine = np.log(np.interp(te, b["time"], b["total"]))
    assert np.abs(mine - engine).max() < 0.02


def test_bad_input_is_an_input_error():
    psa, _ = _synthetic_cohort(3)
    with pytest.raises(InputError, match="unknown"):
        evaluate_psa_forecasts(psa, ("spline",))
    with pytest.raises(InputError, match="cycles_fit"):
        evaluate_psa_forecasts(psa, cycles_fit=0)
    with pytest.raises(InputError, match="n_folds"):
        evaluate_psa_forecasts(psa, n_folds=1)


@pytest.mark.realdata
@pytest.mark.skipif(
    not mirror_available("bruchovsky_psa_iad"),
    reason="needs ONCORESIST_DATA_MIRROR with bruchovsky_psa_iad",
)
def test_bruchovsky_forecasts_against_naive_baselines():
    """EVIDENCE (out-of-sample Bruchovsky PSA, all 72 patients, leave-one-patient-out priors;
    naive baselines on the same points). Measured, natural log PSA, median per-patient RMSE:

    =============== ================= ================= =========
    cycles fitted    1-2 -> 3 (n=47)   1-3 -> 4 (n=23)
    =============== ================= ================= =========
    lotka_volterra   0.99              0.82
    two_population   1.10              0.80
    LVCF             1.91              2.07
    phase trend      1.24              1.40
    =============== ================= ================= =========

    (the unpenalised ``fit_burden`` forecast the issue started from: 1.62 and 1.96.) The LV
    model beats the better baseline in 25 of 47 patients (53%) from two cycles: a bare
    majority, so it is NOT reliably better than a naive trend from two cycles (median skill
    vs trend 0.14). From three cycles it beats the better baseline in 18 of 23 (78%, median
    skill vs trend 0.48). Its 90% intervals cover 0.81 and 0.86 of the held-out points: the
    intervals are somewhat too narrow (residuals are autocorrelated), and the test says so.
    Rescaled by the other patients' held-out errors (split-conformal across patients, never
    the patient's own) they cover 0.90 and 0.87.
    """
    psa = fetch_bruchovsky_psa()
    ev = evaluate_psa_forecasts(psa, ("two_population", "lotka_volterra"), cycles_fit=(2, 3))
    s = ev.by_model().set_index(["cycles_fit", "model"])
    lv2, lv3 = s.loc[(2, "lotka_volterra")], s.loc[(3, "lotka_volterra")]
    assert lv2["n_patients"] == 47 and lv3["n_patients"] == 23
    assert s.loc[(2, "baseline_lvcf"), "median_rmse"] == pytest.approx(1.908, abs=0.01)
    assert s.loc[(2, "baseline_trend"), "median_rmse"] == pytest.approx(1.240, abs=0.01)
    assert s.loc[(3, "baseline_trend"), "median_rmse"] == pytest.approx(1.403, abs=0.01)
    assert lv2["median_rmse"] == pytest.approx(0.99, abs=0.08)
    assert lv3["median_rmse"] == pytest.approx(0.82, abs=0.08)
    assert s.loc[(2, "two_population"), "median_rmse"] == pytest.approx(1.10, abs=0.08)
    # both models beat both baselines in median skill
    for k in (2, 3):
        for m in ("two_population", "lotka_volterra"):
            assert s.loc[(k, m), "median_skill_lvcf"] > 0.3
            assert s.loc[(k, m), "median_skill_trend"] > 0.0
    # from two cycles, only a bare majority beats the better baseline (measured 0.53)
    assert 0.45 <= lv2["frac_beats_better_baseline"] <= 0.62
    # from three cycles, most do (measured 0.78)
    assert lv3["frac_beats_better_baseline"] >= 0.65
    # intervals under-cover (nominal 0.90; measured 0.81 and 0.86)
    assert 0.72 <= lv2["coverage"] < 0.9 and 0.75 <= lv3["coverage"] <= 0.93
    assert 0.85 <= lv2["coverage_conformal"] <= 0.95 and 0.8 <= lv3["coverage_conformal"] <= 0.95
    # every patient is a row: the 25 without a cycle 3 are skipped with a reason
    rows = ev.scores[(ev.scores["cycles_fit"] == 2) & (ev.scores["model"] == "lotka_volterra")]
    assert len(rows) == 72 and (rows["status"] == "skipped").sum() == 25
    assert len(ev.to_frame()) == 2 * len(ev.scores)
    assert "PsaForecastEvaluation" in ev._repr_html_()
    assert len(plot_psa_forecast(ev, 1).data) >= 6


@pytest.mark.realdata
@pytest.mark.skipif(not mirror_available("bruchovsky_psa_iad"), reason="needs the PSA series")
def test_forecasts_do_not_depend_on_the_unit_of_psa():
    """EVIDENCE (invariance): the same series in ng/mL, x1e3 and x1e9 give the same forecast
    errors, skills and rates (measured: within 1e-7 on 24 patients); before, bounds and starting
    points on the absolute log scale moved the forecasts by up to 0.04 log PSA at x1e3."""
    psa = fetch_bruchovsky_psa()
    pats = sorted(psa.patient.unique())[:12]
    cols = ["rmse", "skill_lvcf", "skill_trend", "r_r"]
    out = {}
    for scale in (1.0, 1e3, 1e9):
        ev = evaluate_psa_forecasts(
            psa.assign(psa=psa.psa * scale), ("two_population",), cycles_fit=(2,), patients=pats
        )
        sc = ev.scores[ev.scores.status != "skipped"].set_index("patient")
        out[scale] = sc[cols].astype(float)
        if scale == 1.0:
            log_fc = ev.forecasts.forecast.to_numpy()
        else:  # forecasts come back in the data's unit
            assert ev.forecasts.forecast.to_numpy() == pytest.approx(
                log_fc + np.log(scale), abs=1e-5
            )
    for scale in (1e3, 1e9):
        assert (out[scale] - out[1.0]).abs().to_numpy().max() < 1e-5
