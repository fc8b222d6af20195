"""Ground truth and invariants of the synergy reference models (synthetic blocks)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oncoresist.synergy import (
    available_models,
    loewe_expected,
    make_combination_screen,
    musyc_surface,
    score_blocks,
    score_combinations,
)
from oncoresist.synergy._chou_talalay import median_effect_fit


def _scores(screen, models=("hsa", "bliss", "loewe", "zip", "ci", "musyc")):
    return score_combinations(screen, models=models, n_boot=0).score_table()


def test_bliss_surface_generated_exactly_gives_zero_bliss_and_zip():
    # Exact Bliss surface from Hill single agents, no noise: Bliss excess is 0 to rounding;
    # ZIP's reference is Bliss on fitted Hill curves, which fit exactly here.
    tab = _scores(
        make_combination_screen(8, kind="bliss", noise=0.0, rng=3), ("bliss", "zip", "loewe")
    )
    assert np.abs(tab["bliss"]).max() < 1e-9
    assert np.abs(tab["zip"]).max() < 0.05
    # Loewe is stricter than Bliss for Hill slopes > 1 but not in general; it is not 0 here
    assert np.abs(tab["loewe"]).max() > 1.0


def test_loewe_surface_generated_exactly_gives_zero_loewe():
    tab = _scores(make_combination_screen(8, kind="loewe", noise=0.0, rng=4), ("loewe", "bliss"))
    assert np.abs(tab["loewe"]).max() < 0.05
    assert np.abs(tab["bliss"]).max() > 1.0


def test_musyc_null_recovered():
    s = make_combination_screen(10, kind="musyc", noise=0.01, rng=5)
    res = score_combinations(s, models=["musyc"], n_boot=0)
    m = res.scores
    assert np.abs(m["score"]).max() < 1.0  # percentage points
    assert np.abs(m["beta"]).max() < 0.1
    assert np.abs(m["log10_alpha12"]).median() < 0.15
    assert np.abs(m["log10_alpha21"]).median() < 0.15


def test_musyc_parameters_recovered_when_synergistic():
    s = make_combination_screen(
        10, kind="musyc", noise=0.01, alpha12=10.0, alpha21=10.0, beta=0.25, rng=6
    )
    m = score_combinations(s, models=["musyc"], n_boot=0).scores
    # true log10 alpha = 1, beta = 0.25
    assert np.abs(m["log10_alpha12"] - 1.0).max() < 0.2
    assert np.abs(m["log10_alpha21"] - 1.0).max() < 0.2
    assert np.abs(m["beta"] - 0.25).max() < 0.06


@pytest.mark.parametrize(
    ("kw", "sign"),
    [
        ({"alpha12": 10.0, "alpha21": 10.0, "beta": 0.25}, 1),
        ({"alpha12": 0.1, "alpha21": 0.1, "beta": -0.3}, -1),
    ],
)
def test_every_model_has_the_right_sign(kw, sign):
    tab = _scores(make_combination_screen(6, kind="musyc", noise=0.01, rng=7, **kw))
    models = ["bliss", "loewe", "zip", "ci", "musyc"] + (["hsa"] if sign > 0 else [])
    # HSA is the most lenient reference: an antagonistic surface may still beat the best drug
    for m in models:
        assert (np.sign(tab[m]) == sign).all(), (m, tab[m].tolist())


def test_registry_contract():
    assert available_models() == ["hsa", "bliss", "loewe", "zip", "ci", "musyc"]
    s = make_combination_screen(3, n_doses=(4, 6), rng=8)
    _, c1, c2, r = s.to_arrays()[0]
    out = score_blocks(c1, c2, r, models=available_models())
    for name, d in out.items():
        assert d["excess"].shape == (3, 4, 6), name
        assert np.all(d["excess"][:, 0, :] == 0) and np.all(d["excess"][:, :, 0] == 0), name
        assert np.isfinite(d["score"]).all(), name
        assert (d["status"] != "").all()


def test_loewe_closed_form_same_drug():
    # Sham combination (a drug with itself): Loewe gives the curve at the summed dose
    p = np.array([[0.0, 1.0, np.log(2.0), 1.5]])
    d = np.array([[0.0, 0.5, 1.0, 4.0]])
    with np.errstate(divide="ignore"):
        e, above = loewe_expected(np.log(d), np.log(d), params1=p, params2=p)
    tot = d[0][:, None] + d[0][None, :]
    want = tot**1.5 / (tot**1.5 + 2.0**1.5)
    assert np.allclose(e[0], want, atol=1e-12)
    assert not above.any()


def test_musyc_bliss_special_case():
    # E0 = 0, E1 = E2 = E3 = 1, alpha = 1: MuSyC equals Bliss of the two Hill curves
    p = np.array(
        [[0, 1, 1, 1, np.log(2.0), np.log(0.7), np.log(0.3), np.log(3.0), 0, 0]], dtype=float
    )
    d1 = np.array([[0.1, 0.3, 1.0, 3.0]])
    d2 = np.array([[0.5, 2.0, 8.0]])
    e = musyc_surface(np.log(d1)[:, :, None], np.log(d2)[:, None, :], p)
    y1 = 1 / (1 + (0.3 / d1[0]) ** 2.0)
    y2 = 1 / (1 + (3.0 / d2[0]) ** 0.7)
    assert np.allclose(e[0], y1[:, None] + y2[None, :] - y1[:, None] * y2[None, :], atol=1e-12)


def test_median_effect_fit_recovers_dm_and_m():
    d = np.array([[0.1, 0.3, 1.0, 3.0, 10.0]])
    fa = 1 / (1 + (2.0 / d) ** 1.3)
    m, ldm = median_effect_fit(d, fa)
    assert m[0] == pytest.approx(1.3) and np.exp(ldm[0]) == pytest.approx(2.0)


_grid = st.integers(min_value=0, max_value=10_000)


@settings(max_examples=15, deadline=None)
@given(seed=_grid)
def test_bliss_and_hsa_symmetric_in_a_and_b(seed):
    rng = np.random.default_rng(seed)
    c1 = np.array([[0.0, 0.1, 1.0, 10.0]])
    c2 = np.array([[0.0, 0.3, 3.0]])
    y = rng.uniform(-0.05, 1.0, (1, 4, 3, 2))
    a = score_blocks(c1, c2, y, models=["bliss", "hsa"])
    b = score_blocks(c2, c1, y.transpose(0, 2, 1, 3), models=["bliss", "hsa"])
    for m in ("bliss", "hsa"):
        assert a[m]["score"][0] == pytest.approx(b[m]["score"][0], abs=1e-12)
        assert np.allclose(a[m]["excess"][0], b[m]["excess"][0].T, atol=1e-12)


@settings(max_examples=10, deadline=None)
@given(seed=_grid, exponent=st.integers(min_value=-3, max_value=3))
def test_loewe_and_ci_invariant_to_concentration_unit(seed, exponent):
    s = make_combination_screen(1, noise=0.02, alpha12=3.0, rng=seed)
    _, c1, c2, r = s.to_arrays()[0]
    k = 10.0**exponent
    a = score_blocks(c1, c2, r, models=["loewe", "ci"])
    b = score_blocks(c1 * k, c2 * k, r, models=["loewe", "ci"])
    assert a["loewe"]["score"][0] == pytest.approx(b["loewe"]["score"][0], abs=1e-4)
    assert a["ci"]["score"][0] == pytest.approx(b["ci"]["score"][0], abs=1e-6)
    assert a["ci"]["ci_ed50"][0] == pytest.approx(b["ci"]["ci_ed50"][0], rel=1e-6, nan_ok=True)


def test_bootstrap_interval_and_pvalue():
    s = make_combination_screen(4, noise=0.03, alpha12=10.0, alpha21=10.0, beta=0.2, rng=9)
    res = score_combinations(s, models=["bliss", "loewe"], n_boot=60, rng=0)
    m = res.scores
    assert (m["ci_low"] <= m["score"]).all() and (m["score"] <= m["ci_high"]).all()
    assert (m["pvalue"] < 0.01).all()
    assert (m["uncertainty"] == "bootstrap").all()
    # same seed, same numbers
    again = score_combinations(s, models=["bliss", "loewe"], n_boot=60, rng=0).scores
    assert np.array_equal(m["ci_low"].to_numpy(), again["ci_low"].to_numpy())


def test_outlier_flagged():
    s = make_combination_screen(2, noise=0.01, n_replicates=4, rng=10)
    d = s.data.copy()
    hit = (d["block_id"] == "1") & (d["conc1"] > 0) & (d["conc2"] > 0) & (d["replicate"] == 2)
    idx = d.index[hit][3]
    d.loc[idx, "response"] += 0.5
    from oncoresist.data._combination import CombinationScreen

    res = score_combinations(CombinationScreen(d), models=["bliss"], n_boot=0)
    assert len(res.outliers) == 1
    assert res.outliers["block_id"].iloc[0] == "1"
    assert res.blocks.set_index("block_id").loc["0", "n_outliers"] == 0


def test_models_disagree_flag():
    # MuSyC-null surface with partial efficacy: Bliss calls antagonism (about -4.5 pp on
    # average for these parameters) while HSA calls synergy
    s = make_combination_screen(3, noise=0.0, rng=11)
    res = score_combinations(s, models=["hsa", "bliss"], n_boot=0)
    assert res.blocks["models_disagree"].all()


def test_zip_numpy_fallback_matches_compiled_engine():
    # The ZIP row/column fits through the curve engine's numpy reference and its compiled
    # kernel: same surfaces up to the LM tolerance, except on the few lines (3 of 640 here)
    # with two local minima of nearly equal SSE (a step-like and a gentle curve; each engine's
    # start grid finds the lower one on some of them)
    from oncoresist.curves._lm_numba import HAVE_NUMBA
    from oncoresist.synergy._batch import BlockBatch
    from oncoresist.synergy._zip import zip_delta

    if not HAVE_NUMBA:
        pytest.skip("numba not installed: only the numpy engine exists")
    s = make_combination_screen(40, noise=0.03, alpha12=3.0, beta=0.1, rng=12)
    _, c1, c2, r = s.to_arrays()[0]
    a, _, _ = zip_delta(BlockBatch(c1, c2, r), engine="numba")
    b, _, _ = zip_delta(BlockBatch(c1, c2, r), engine="numpy")
    assert (np.abs(a - b)[:, 1:, 1:] < 1e-4).mean() > 0.98  # percentage points
    assert np.abs(a[:, 1:, 1:]).max() > 1.0  # not trivially zero


def _musyc_random_params(n, rng):
    return np.column_stack(
        [
            rng.uniform(-0.1, 0.1, n),
            rng.uniform(0.3, 1.0, n),
            rng.uniform(0.3, 1.0, n),
            rng.uniform(0.3, 1.2, n),
            rng.uniform(-1.0, 1.5, n),  # ln h
            rng.uniform(-1.0, 1.5, n),
            rng.uniform(-2.0, 2.0, n),  # ln C
            rng.uniform(-2.0, 2.0, n),
            rng.uniform(-5.0, 5.0, n),  # ln alpha
            rng.uniform(-5.0, 5.0, n),
        ]
    )


def _markov_steady_state_effect(ld1, ld2, p):
    """Reference: MuSyC's effect from the steady state of its four-state Markov chain, solved
    numerically (pi Q = 0, sum pi = 1), one point at a time; independent of the closed form."""
    e0, e1, e2, e3, lh1, lh2, lc1, lc2, la12, la21 = p
    h1, h2 = np.exp(lh1), np.exp(lh2)
    d1, d2 = np.exp(ld1 - lc1), np.exp(ld2 - lc2)
    a, d = d1**h1, d2**h2  # U -> A1, U -> A2
    b, c = (np.exp(la12) * d2) ** h2, (np.exp(la21) * d1) ** h1  # A1 -> A12, A2 -> A12
    q = np.zeros((4, 4))  # states U, A1, A2, A12; every backward rate is 1
    q[0, 1], q[0, 2], q[1, 3], q[2, 3] = a, d, b, c
    q[1, 0] = q[2, 0] = q[3, 1] = q[3, 2] = 1.0
    q -= np.diag(q.sum(axis=1))
    lhs = np.vstack([q.T, np.ones(4)])
    pi = np.linalg.lstsq(lhs, np.r_[np.zeros(4), 1.0], rcond=None)[0]
    return pi @ np.array([e0, e1, e2, e3])


def test_musyc_closed_form_matches_the_markov_steady_state_and_finite_differences():
    # The eleven-product closed form of the steady state (MusycModel, used by musyc_surface and
    # the fits) must equal the chain's steady state solved numerically (rates kept below ~1e4
    # so the linear solve is accurate to ~1e-12), and its analytic Jacobian central
    # differences (step 1e-6: truncation ~1e-12, rounding ~1e-10), dose-0 rows included
    # (the compiled callback is held to the same model in tests/test_lm_contract.py)
    from oncoresist.synergy._musyc import MusycModel

    rng = np.random.default_rng(13)
    n = 40
    p = _musyc_random_params(n, rng)
    with np.errstate(divide="ignore"):
        l1 = np.log([0.0, 0.01, 0.1, 1.0, 10.0, 100.0])
        l2 = np.log([0.0, 0.03, 0.3, 3.0, 30.0])
    ld1 = np.broadcast_to(l1[None, :, None], (n, 6, 5)).reshape(n, -1)
    ld2 = np.broadcast_to(l2[None, None, :], (n, 6, 5)).reshape(n, -1)
    x = np.stack([ld1, ld2], axis=-1)
    model = MusycModel()
    e, jac = model.f(x, p), model.jac(x, p)
    assert (
        np.abs(e - musyc_surface(l1[None, :, None], l2[None, None, :], p).reshape(n, -1)).max() == 0
    )
    mild = p.copy()
    mild[:, 4:6] = np.clip(mild[:, 4:6], -1.0, 0.5)  # h <= 1.65
    mild[:, 8:10] /= 2.5  # alpha within [e^-2, e^2]
    e_mild = model.f(x, mild)
    for i in range(0, n, 4):
        ref = [
            _markov_steady_state_effect(u, v, mild[i]) for u, v in zip(ld1[i], ld2[i], strict=True)
        ]
        assert np.abs(e_mild[i] - ref).max() < 1e-10, i
    step = 1e-6
    for c in range(10):
        up, dn = p.copy(), p.copy()
        up[:, c] += step
        dn[:, c] -= step
        fd = model.f(x, up) - model.f(x, dn)
        assert np.abs(jac[..., c] - fd / (2 * step)).max() < 1e-8, c
    assert np.abs(jac[..., 8:]).max() > 1e-2  # the alpha columns are not trivially zero


def test_musyc_unknown_engine_is_an_input_error():
    from oncoresist.errors import InputError
    from oncoresist.synergy._batch import BlockBatch
    from oncoresist.synergy._musyc import fit_musyc

    s = make_combination_screen(2, rng=15)
    _, c1, c2, r = s.to_arrays()[0]
    with pytest.raises(InputError, match="engine"):
        fit_musyc(BlockBatch(c1, c2, r), engine="cuda")


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_curve_engine_fixed_asymptote_zero_dose_and_short_series(engine):
    # What the synergy fits ask of the curve engine: an asymptote held fixed per curve by
    # equal bounds (exactly, in both engines), the zero-dose point x = -inf, and 2-4 point
    # series fitted with status 'underdetermined' (min_doses) or refused without it
    from oncoresist.curves import fit_curves, predict
    from oncoresist.curves._lm_numba import HAVE_NUMBA

    if engine == "numba" and not HAVE_NUMBA:
        pytest.skip("numba not installed")
    rng = np.random.default_rng(3)
    n = 300
    x = np.log(np.array([0.03, 0.3, 3.0, 30.0]))
    base = rng.uniform(0.0, 0.5, n)
    truth = np.column_stack([rng.uniform(0.5, 3, n), rng.uniform(0.6, 1, n), base,
                             rng.uniform(-2, 2, n)])  # fmt: skip
    y = predict("ll4", np.tile(x, (n, 1)), truth) + rng.normal(0, 0.02, (n, 4))
    bounds = {"top": (base, base), "hill_slope": (0.0, 20.0), "bottom": (-1.0, 1.0)}
    fit = fit_curves(x, y, bounds=bounds, engine=engine, min_doses=1)
    assert np.array_equal(fit.params[:, 2], base)  # held exactly
    assert not fit.at_bound()[:, 2].any()  # a fixed parameter is not "on a bound"
    assert np.isfinite(fit.stderr[:, [0, 1, 3]]).mean() > 0.9
    assert (fit.stderr[:, 2] == 0).all()
    # 4 points, 3 free parameters: determined (1 step-like curve of 300 creeps > 400 steps)
    assert set(fit.status) <= {"ok", "flat", "failed"} and (fit.status == "failed").sum() <= 3
    # 2 points, 3 free: fitted (through the points) and said to be underdetermined
    short = fit_curves(x[:2], y[:5, :2], bounds={k: (v[0][:5], v[1][:5]) if k == "top" else v
                                                for k, v in bounds.items()},
                       engine=engine, min_doses=2)  # fmt: skip
    assert (short.status == "underdetermined").all()
    assert "for 3 free parameters" in short.reason[0]
    assert np.isfinite(short.params).all() and np.median(short.sse) < 1e-12  # interpolated
    assert (fit_curves(x[:2], y[:5, :2], engine=engine).status == "insufficient_data").all()
    # 4 points, 4 free parameters: an exact fit keeps its status, said in the reason
    exact = fit_curves(x, y[:5], engine=engine, min_doses=2)
    assert "underdetermined" not in set(exact.status) and "an exact fit" in exact.reason[0]
    assert np.isnan(exact.stderr).all()
    # the zero-dose point: -inf is the asymptote at dose 0
    x0 = np.r_[-np.inf, x]
    y0 = np.column_stack([base + rng.normal(0, 0.02, n), y])
    f0 = fit_curves(x0, y0, engine=engine)
    assert (f0.status != "insufficient_data").all() and np.isfinite(f0.params).all()
