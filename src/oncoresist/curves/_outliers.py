"""Outlier detection in dose-response curves: the ROUT method (Motulsky & Brown 2006).

ROUT (Robust regression and OUTlier removal; BMC Bioinformatics 7:123), the method GraphPad
Prism uses, in three steps, all batched over curves:

1. a robust fit that assumes Lorentzian (Cauchy) scatter, so that outliers barely pull the
   curve: iteratively reweighted least squares with weights ``1 / (1 + (r / RSDR)^2)``, the
   scale re-estimated at each step. A least-squares start can sit in the basin an outlier
   made (one wild point at a high dose makes a sigmoid look flat), so the reweighting starts
   from the most robust of the least-squares fit and the fits that leave out one of the three
   points it misses most (the one with the smallest RSDR over all points): the paper's
   "gradually more robust" start, done in a way that batches;
2. each residual of that fit gets ``t = |r| / RSDR`` with the robust standard deviation of the
   residuals ``RSDR = P68.27(|r|) N / (N - K)`` (N points, K parameters) and a two-sided
   p-value from the t distribution with N - K degrees of freedom; the p-values of a curve are
   ranked and the Benjamini-Hochberg step-up procedure at the false discovery rate ``Q``
   decides which points are outliers (the paper's threshold ``alpha_i = Q (N - (i - 1)) / N``
   for the residual ranked i-th from the smallest is the same rule);
3. the flagged points are removed and the curve is refitted by least squares (done by the
   caller, :func:`oncoresist.curves.fit_screen` with ``outliers="exclude"``).

At most 30% of a curve's points can be flagged (as in Prism); curves with N - K < 2 are not
tested (their residual scale is not estimable). One addition to the paper: when a screen has
enough points (150 or more) and the scatter differs at least twofold between low and high responses, the way scatter grows with the response (luminescence reads
scatter in proportion to the signal) is learnt from all curves and each residual is scaled by
it before the test, as a weighted fit would; otherwise high-viability points of every curve
would be called outliers.
"""

from __future__ import annotations

import numpy as np

from .._special import t_sf
from ._fit import fit_curves, rsdr
from ._models import get_model

__all__ = ["rout_outliers"]

MAX_FRACTION = 0.30
#: Leave-one-out starts per curve (the points the least-squares fit misses most).
LOO_POINTS = 3
#: Lorentzian reweighting steps at most (curves that have converged drop out).
IRLS_STEPS = 6
#: Points needed to learn how the scatter depends on the response (see _relative_scale).
MIN_POOLED = 150
N_BINS = 10
#: The scatter is modelled only when it differs by this factor between the lowest and the
#: highest fitted responses.
HETERO_RATIO = 2.0


def rout_outliers(
    log_conc: np.ndarray,
    response: np.ndarray,
    *,
    model: str = "ll4",
    q: float = 0.01,
    least_squares: np.ndarray | None = None,
    chunk_size: int = 20_000,
) -> tuple[np.ndarray, np.ndarray]:
    """ROUT outliers of every curve (row): ``(outlier mask, p-values)``, both ``(n, m)``.

    Parameters
    ----------
    log_conc, response
        ``(n_curves, n_points)`` arrays as for :func:`oncoresist.curves.fit_curves` (NaN marks
        a missing point).
    model
        The curve model of the robust fit.
    q
        The false discovery rate Q (Prism's default is 1%).
    least_squares
        The ordinary least-squares parameters of every curve (``fit_curves(...).params``) when
        the caller has them already: the robust fit starts from them instead of refitting.

    Examples
    --------
    >>> import numpy as np
    >>> from oncoresist.curves import predict
    >>> x = np.log(np.repeat(np.logspace(-3, 1, 9), 2))
    >>> y = predict("ll4", x, [1.2, 0.05, 1.0, np.log(0.05)])
    >>> y = y + np.random.default_rng(1).normal(0, 0.02, y.shape)
    >>> y[0, 14] = 1.1  # a wild point at 1 uM
    >>> mask, p = rout_outliers(x, y)
    >>> np.flatnonzero(mask[0]).tolist()
    [14]
    """
    if not 0.0 < q < 1.0:
        from ..errors import InputError

        raise InputError(
            f"outlier_q={q!r}: the false discovery rate Q must be in (0, 1), e.g. 0.01"
        )
    y = np.atleast_2d(np.asarray(response, dtype=float))
    x = np.broadcast_to(np.asarray(log_conc, dtype=float), y.shape)
    m = get_model(model)
    k = m.n_params
    mask = np.zeros(y.shape, dtype=bool)
    pval = np.full(y.shape, np.nan)
    block = max(1, 200_000 // max(y.shape[1], 1))
    for s0 in range(0, y.shape[0], block):
        sl = slice(s0, s0 + block)
        ls = None if least_squares is None else np.asarray(least_squares, dtype=float)[sl]
        mask[sl], pval[sl] = _rout_block(x[sl], y[sl], m, k, q, chunk_size, ls)
    return mask, pval


def _rsdr_of(m, x, y, valid, params, k):
    """RSDR and residuals of ``params`` over every valid point (inf for unfitted rows)."""
    xr = np.where(valid, x, 0.0)
    res = np.where(valid, y - m.f(xr, np.where(np.isfinite(params), params, 0.0)), np.nan)
    s = rsdr(res, valid, k)
    return np.where(np.isfinite(params).all(axis=1), s, np.inf), res


def _robust_fit(x, y, valid, m, k, chunk_size, ls) -> np.ndarray:
    """Lorentzian IRLS started from the most robust least-squares / leave-one-out fit."""
    n, w = y.shape
    if ls is None:
        ls = fit_curves(x, y, model=m.name, flat_alpha=1.0, chunk_size=chunk_size).params
    best_s, res0 = _rsdr_of(m, x, y, valid, ls, k)
    # leave out, one at a time, each of the points the least-squares fit misses most (a point
    # that distorts the fit is among them): LOO_POINTS refits per curve, in one batch
    n_loo = min(LOO_POINTS, w)
    cand = np.argsort(np.where(valid, -np.abs(np.nan_to_num(res0, nan=0.0)), np.inf), axis=1)
    cand = cand[:, :n_loo]
    yl = np.repeat(y[:, None, :], n_loo, axis=1)
    np.put_along_axis(yl, cand[:, :, None], np.nan, axis=2)
    xl = np.broadcast_to(x[:, None, :], (n, n_loo, w)).reshape(n * n_loo, w)
    vl = np.repeat(valid, n_loo, axis=0)
    loo = fit_curves(
        xl, yl.reshape(n * n_loo, w), model=m.name, flat_alpha=1.0, chunk_size=chunk_size
    )
    s_loo, _ = _rsdr_of(m, xl, np.repeat(y, n_loo, axis=0), vl, loo.params, k)
    existed = np.take_along_axis(valid, cand, axis=1)  # the left-out point was a real point
    s_loo = np.where(existed.reshape(-1), s_loo, np.inf).reshape(n, n_loo)
    j = np.argmin(s_loo, axis=1)
    better = s_loo[np.arange(n), j] < best_s
    params = np.where(better[:, None], loo.params.reshape(n, n_loo, -1)[np.arange(n), j], ls)
    active = np.arange(n)
    for _ in range(IRLS_STEPS):
        scale, res = _rsdr_of(m, x[active], y[active], valid[active], params[active], k)
        scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        va = valid[active]
        rw = np.where(va, 1.0 / (1.0 + (np.nan_to_num(res) / scale[:, None]) ** 2), 0.0)
        new = fit_curves(
            x[active], y[active], model=m.name, weights=rw, flat_alpha=1.0, chunk_size=chunk_size
        )
        fin = np.isfinite(new.params).all(axis=1)
        step = np.where(fin, np.max(np.abs(new.params - params[active]), axis=1), 0.0)
        params[active] = np.where(fin[:, None], new.params, params[active])
        active = active[step >= 1e-6]
        if active.size == 0:
            break
    return params


def _relative_scale(m, x, valid, params, res, scale) -> np.ndarray | None:
    """Scatter relative to the fitted response, pooled over the screen (None: too few points).

    ROUT assumes the same scatter everywhere on a curve; luminescence reads scatter roughly in
    proportion to the signal, so near the top of a curve ordinary points would be called
    outliers. With enough curves the shape of the scatter is learnt from all of them: the
    median of |residual| / RSDR of each curve in ten bins of the fitted response, with a
    straight line through them; each residual is divided by it before the test (as a weighted
    fit would). Used only when the line differs twofold or more between its ends.
    """
    ok = valid & np.isfinite(res) & (np.isfinite(scale) & (scale > 0))[:, None]
    if ok.sum() < MIN_POOLED:
        return None
    xr = np.where(valid, x, 0.0)
    fhat = m.f(xr, np.where(np.isfinite(params), params, 0.0))
    u = np.abs(res) / np.where(scale > 0, scale, np.nan)[:, None]
    fv, uv = fhat[ok], u[ok]
    edges = np.unique(np.quantile(fv, np.linspace(0.0, 1.0, N_BINS + 1)))
    if edges.size < 3:
        return None
    idx = np.clip(np.searchsorted(edges, fv, side="right") - 1, 0, edges.size - 2)
    centres = np.array([np.median(fv[idx == b]) for b in range(edges.size - 1)])
    level = np.array([np.median(uv[idx == b]) for b in range(edges.size - 1)])
    # a straight line in the fitted response: points near the asymptotes have smaller
    # residuals by leverage alone, which a line through the bins does not chase
    beta, alpha = np.polyfit(centres, level, 1)
    lo_end, hi_end = alpha + beta * centres.min(), alpha + beta * centres.max()
    if not (lo_end > 0 and hi_end > 0) or max(lo_end, hi_end) < HETERO_RATIO * min(lo_end, hi_end):
        return None  # no strong dependence of the scatter on the response
    rel = np.clip(alpha + beta * fhat, 0.2 * max(lo_end, hi_end), None)
    rel = rel / np.median(np.clip(alpha + beta * fv, 0.2 * max(lo_end, hi_end), None))
    return np.where(valid, rel, 1.0)


def _rout_block(x, y, m, k, q, chunk_size, ls):
    valid = ~np.isnan(x) & np.isfinite(y) & ~np.isposinf(x)
    mask = np.zeros(y.shape, dtype=bool)
    pval = np.full(y.shape, np.nan)
    n_valid = valid.sum(axis=1)
    testable = n_valid - k >= 2
    if not testable.any():
        return mask, pval
    rows = np.flatnonzero(testable)
    xr, yr, vr = x[rows], y[rows], valid[rows]
    params = _robust_fit(xr, yr, vr, m, k, chunk_size, None if ls is None else ls[rows])
    scale, res = _rsdr_of(m, xr, yr, vr, params, k)
    rel = _relative_scale(m, xr, vr, params, res, scale)
    if rel is not None:
        res = res / rel
        scale = rsdr(res, vr, k)
    nv = n_valid[rows]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.abs(res) / scale[:, None]
    p = 2.0 * t_sf(t, np.maximum(nv - k, 1)[:, None])
    # a perfect fit (scale 0) leaves t = 0/0: no evidence of anything
    p = np.where(scale[:, None] > 0, p, 1.0)
    p = np.where(vr & np.isfinite(p) & np.isfinite(scale)[:, None], p, np.nan)
    order = np.argsort(np.where(np.isnan(p), np.inf, p), axis=1, kind="stable")
    ps = np.take_along_axis(p, order, axis=1)
    rank = np.arange(1, p.shape[1] + 1)[None, :]
    with np.errstate(invalid="ignore"):
        passed = ps <= q * rank / nv[:, None]
    last = np.where(passed.any(axis=1), p.shape[1] - np.argmax(passed[:, ::-1], axis=1), 0)
    last = np.minimum(last, np.floor(MAX_FRACTION * nv).astype(int))
    flags = np.zeros(p.shape, dtype=bool)
    np.put_along_axis(flags, order, rank <= last[:, None], axis=1)
    mask[rows] = flags & vr
    pval[rows] = p
    return mask, pval
