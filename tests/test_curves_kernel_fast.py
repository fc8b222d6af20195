"""The structure-of-arrays curve kernel (``engine="numba_soa"``, ``curves/_lm_soa.py``): its
exponential, its fits against scipy's ``curve_fit(method="lm")`` on easy and hard curves, its
agreement with the one-curve-at-a-time kernel, and results that do not depend on blocking,
chunking or threads. No timings here (``benchmarks/bench_curves.py`` measures them)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import oncoresist.curves as oc
from oncoresist.curves._lm_numba import HAVE_NUMBA

pytestmark = pytest.mark.skipif(not HAVE_NUMBA, reason="the compiled kernels need numba")

DOSES = np.log(np.logspace(-3, 1, 9))


def _ll4(xx, b, c, d, e):
    with np.errstate(over="ignore"):
        return c + (d - c) / (1 + np.exp(b * (xx - e)))


def _curves(n: int, rng: int):
    """``n`` ll4 curves of 9 doses x 2 in four kinds: ordinary, flat (no response), steep
    (slope 8-30, a near step) and ordinary with NaN and zero-weight points."""
    g = np.random.default_rng(rng)
    x = np.tile(np.repeat(DOSES, 2), (n, 1))
    p = np.stack([g.uniform(0.5, 4, n), g.uniform(0, 0.4, n), g.uniform(0.85, 1.1, n),
                  g.uniform(DOSES[1], DOSES[-2], n)], axis=1)  # fmt: skip
    kind = np.arange(n) % 4
    p[kind == 1, 1] = p[kind == 1, 2]  # flat: bottom = top
    p[kind == 2, 0] = g.uniform(8, 30, (kind == 2).sum())
    y = oc.predict("ll4", x, p) + g.normal(0, 0.05, x.shape)
    w = np.ones_like(y)
    holes = (kind == 3)[:, None] & (g.random(x.shape) < 0.15)
    y[holes & (g.random(x.shape) < 0.5)] = np.nan
    w[holes & ~np.isnan(y)] = 0.0
    return x, y, w, kind


def _scipy_sse(x, y, w, p0):
    """SSE of scipy's lm fit on the points with finite response and positive weight."""
    from scipy.optimize import curve_fit

    out = np.full(len(x), np.nan)
    par = np.full((len(x), 4), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(len(x)):
            ok = np.isfinite(y[i]) & (w[i] > 0)
            try:
                pi = curve_fit(_ll4, x[i, ok], y[i, ok], p0=p0[i], method="lm", maxfev=2000)[0]
            except RuntimeError:
                continue
            par[i] = pi
            out[i] = np.sum((y[i, ok] - _ll4(x[i, ok], *pi)) ** 2)
    return out, par


def test_exp_within_two_ulp_of_libm():
    from numba import njit

    from oncoresist.curves._lm_soa import _exp

    @njit
    def run(u, out):
        for i in range(u.size):
            out[i] = _exp(u[i])

    u = np.concatenate(
        [np.linspace(-700, 700, 200_001), np.random.default_rng(0).normal(0, 3, 10_000)]
    )
    out = np.empty_like(u)
    run(u, out)
    ref = np.exp(u)
    assert np.all(np.abs(out - ref) <= 2 * np.spacing(ref))


def test_no_worse_than_scipy_on_hard_curves():
    """Per curve, the SSE is no worse than scipy's lm fit (started from the model's data-driven
    start) by more than 1e-6 relative, on >= 99 % of the curves of every kind where scipy's
    solution lies inside the default bounds (scipy is unbounded)."""
    x, y, w, kind = _curves(400, 1)
    fit = oc.fit_curves(x, y, weights=w, engine="numba_soa")
    yy = np.where(w > 0, y, np.nan)
    p0 = oc.MODELS["ll4"].start(np.where(np.isfinite(yy), x, np.nan), yy)
    p0 = np.where(np.isfinite(p0), p0, 0.0)
    sse_sp, par_sp = _scipy_sse(x, y, w, p0)
    lo, hi = oc.MODELS["ll4"].default_bounds(x, yy)
    inside = np.isfinite(sse_sp) & np.all((par_sp >= lo) & (par_sp <= hi), axis=1)
    ok = fit.sse <= sse_sp * (1 + 1e-6) + 1e-12
    for k in range(4):
        sel = inside & (kind == k)
        assert sel.sum() >= 25, k
        assert ok[sel].mean() >= 0.99, (k, np.flatnonzero(sel & ~ok))


@pytest.mark.parametrize("model", ["ll4", "ll3", "ll2"])
def test_agrees_with_the_scalar_kernel(model):
    """Same minimum as the one-curve-at-a-time kernel: SSE within 1e-9 relative, parameters
    within 1e-4 on >= 99 % of the curves (the kernels differ by the rounding of exp)."""
    x, y, w, _ = _curves(400, 2)
    if model == "ll2":
        y = (y - 0.2) / 0.9
    a = oc.fit_curves(x, y, weights=w, model=model, engine="numba")
    b = oc.fit_curves(x, y, weights=w, model=model, engine="numba_soa")
    assert np.array_equal(a.status, b.status)
    rel = np.abs(b.sse - a.sse) / np.maximum(a.sse, 1e-12)
    assert np.mean(rel <= 1e-9) >= 0.99
    close = np.all(np.isclose(a.params, b.params, rtol=1e-4, atol=1e-4), axis=1)
    assert close.mean() >= 0.99
    assert np.nanmax(np.abs(b.sse - a.sse) / np.maximum(a.sse, 1e-12)) < 1e-3


def test_held_asymptote_and_user_bounds_agree_with_the_scalar_kernel():
    """ZIP's case (top held for every curve) and per-curve bounds take the other branches of
    the linear step; both kernels agree there too."""
    x, y, w, _ = _curves(200, 3)
    g = np.random.default_rng(3)
    bounds = {"top": (1.0, 1.0), "hill_slope": (0.2, g.uniform(2, 6, len(x)))}
    a = oc.fit_curves(x, y, weights=w, bounds=bounds, engine="numba")
    b = oc.fit_curves(x, y, weights=w, bounds=bounds, engine="numba_soa")
    rel = np.abs(b.sse - a.sse) / np.maximum(a.sse, 1e-12)
    assert np.mean(rel <= 1e-9) >= 0.99
    assert np.all(b.params[:, 0] <= bounds["hill_slope"][1] + 1e-12)
    assert np.all(b.params[:, 2] == 1.0)


def test_results_do_not_depend_on_blocking_chunking_or_threads():
    from oncoresist.curves._lm_numba import lm_loglogistic

    x, y, w, _ = _curves(300, 4)
    ref = oc.fit_curves(x, y, weights=w, engine="numba_soa")
    for kw in ({"chunk_size": 37}, {"n_threads": 1}, {"n_threads": 2, "executor": "serial"}):
        other = oc.fit_curves(x, y, weights=w, engine="numba_soa", **kw)
        np.testing.assert_array_equal(other.params, ref.params)
        np.testing.assert_array_equal(other.sse, ref.sse)
        np.testing.assert_array_equal(other.status, ref.status)
        # standard errors too: a curve with a singular J'WJ falls back to the pseudo-inverse
        # alone, never its whole chunk (it used to: 65 of these 300 curves changed)
        np.testing.assert_array_equal(other.stderr, ref.stderr)
        np.testing.assert_array_equal(other.covariance, ref.covariance)
    # the kernel itself, any block size
    m = oc.MODELS["ll4"]
    yy = np.where(np.isfinite(y), y, 0.0)
    sw = np.where(np.isfinite(y), np.sqrt(w), 0.0)
    lo, hi = m.default_bounds(x, np.where(sw > 0, y, np.nan))
    args = (x, yy, sw, np.zeros((len(x), 4)), lo, hi, np.ones(4, bool))
    kw = {"grid": True, "max_iter": 400, "ftol": 1e-10, "xtol": 1e-10, "gtol": 1e-8}
    r1 = lm_loglogistic(*args, layout="soa", block=128, **kw)
    for block, n_threads in ((1, 1), (7, 2), (300, 1)):
        r2 = lm_loglogistic(*args, layout="soa", block=block, n_threads=n_threads, **kw)
        for u, v in zip(r1, r2, strict=True):
            np.testing.assert_array_equal(u, v)
