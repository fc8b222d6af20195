"""Batched Hill (4-parameter log-logistic) fits used inside the synergy models.

Every function works on many curves at once: arrays are ``(n_curves, n_points)`` with NaN
marking absent points. The effect convention is *fractional inhibition* (0 = no effect,
1 = every cell killed), increasing with dose for an active drug::

    y(x) = bottom + (top - bottom) / (1 + exp(-h (ln x - m)))        m = ln EC50

A dose of 0 gives ``bottom`` exactly. The optimiser is a batched, box-bounded
Levenberg–Marquardt whose small damped normal equations are solved by an unrolled Cholesky
factorisation over the batch (no Python loop over curves).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "FLAT_EFFECT",
    "HillFit",
    "batched_lm",
    "fit_hill",
    "fit_problems",
    "hill_inverse_log",
    "hill_predict",
]

_ZCLIP = 60.0
#: Bounds of the Hill slope; the lower bound keeps flat curves identifiable.
H_MIN, H_MAX = 0.1, 10.0
#: How far (natural-log units) EC50 may leave the tested range (e^5 ~ 150-fold).
M_MARGIN = 5.0


def _chol_solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve ``a x = b`` for a batch of small SPD matrices ``a`` (n, k, k), ``b`` (n, k)."""
    k = a.shape[-1]
    low = np.zeros_like(a)
    for j in range(k):
        s = a[:, j, j] - np.sum(low[:, j, :j] ** 2, axis=1)
        d = np.sqrt(np.maximum(s, 1e-300))
        low[:, j, j] = d
        for i in range(j + 1, k):
            low[:, i, j] = (a[:, i, j] - np.sum(low[:, i, :j] * low[:, j, :j], axis=1)) / d
    z = np.empty_like(b)
    for i in range(k):
        z[:, i] = (b[:, i] - np.sum(low[:, i, :i] * z[:, :i], axis=1)) / low[:, i, i]
    x = np.empty_like(b)
    for i in range(k - 1, -1, -1):
        x[:, i] = (z[:, i] - np.sum(low[:, i + 1 :, i] * x[:, i + 1 :], axis=1)) / low[:, i, i]
    return x


def batched_lm(
    fun: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray | None]],
    p0: np.ndarray,
    y: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    max_iter: int = 40,
    tol: float = 1e-9,
    fd_step: float = 1e-6,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minimise ``sum((y - f(p))^2)`` for every row at once, within ``lower <= p <= upper``.

    ``fun(p, idx)`` returns the model values ``(m, n_points)`` for the rows ``idx`` and,
    optionally, the Jacobian ``(m, n_points, k)`` (else forward differences are used).
    NaN in ``y`` are ignored. Returns ``(params, sse, converged)``.
    """
    n, k = p0.shape
    w = np.isfinite(y)
    yy = np.where(w, y, 0.0)
    lower = np.broadcast_to(lower, p0.shape)
    upper = np.broadcast_to(upper, p0.shape)
    p = np.clip(p0, lower, upper).astype(float)
    all_idx = np.arange(n)

    def evaluate(pp: np.ndarray, idx: np.ndarray, need_jac: bool):
        f, jac = fun(pp, idx)
        if need_jac and jac is None:
            jac = np.empty((*f.shape, k))
            for c in range(k):
                step = fd_step * np.maximum(np.abs(pp[:, c]), 1.0)
                q = pp.copy()
                q[:, c] += step
                jac[..., c] = (fun(q, idx)[0] - f) / step[:, None]
        return f, jac

    f, jac = evaluate(p, all_idx, True)
    r = np.where(w, yy - f, 0.0)
    sse = np.sum(r * r, axis=1)
    lam = np.full(n, 1e-3)
    active = np.isfinite(sse)
    sse = np.where(active, sse, np.inf)
    converged = np.zeros(n, dtype=bool)
    jac_all = np.where(w[..., None], jac, 0.0)
    r_all = r
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        full = idx.size == n
        jj = jac_all if full else jac_all[idx]
        rr = r_all if full else r_all[idx]
        jt = jj.transpose(0, 2, 1)
        jtj = jt @ jj
        g = (jt @ rr[:, :, None])[:, :, 0]
        diag = np.diagonal(jtj, axis1=1, axis2=2)
        a = jtj + (lam[idx, None] * (diag + 1e-9))[:, :, None] * np.eye(k)
        step = _chol_solve(a, g)
        trial = np.clip(p[idx] + step, lower[idx], upper[idx])
        f_new, jac_new = evaluate(trial, idx, True)
        r_new = np.where(w[idx], yy[idx] - f_new, 0.0)
        sse_new = np.sum(r_new * r_new, axis=1)
        ok = np.isfinite(sse_new) & (sse_new <= sse[idx])
        good = idx[ok]
        rel = (sse[good] - sse_new[ok]) / np.maximum(sse[good], 1e-30)
        moved = np.max(np.abs(trial[ok] - p[good]), axis=1)
        p[good] = trial[ok]
        sse[good] = sse_new[ok]
        r_all[good] = r_new[ok]
        jac_all[good] = np.where(w[good][..., None], jac_new[ok], 0.0)
        lam[good] = np.maximum(lam[good] / 5.0, 1e-12)
        bad = idx[~ok]
        lam[bad] = lam[bad] * 8.0
        done = good[(rel < tol) | (moved < 1e-10) | (sse_new[ok] < 1e-28)]
        converged[done] = True
        active[done] = False
        stalled = bad[lam[bad] > 1e10]
        converged[stalled] = True
        active[stalled] = False
    return p, sse, converged


def _logistic(
    x: np.ndarray, m: np.ndarray, h: np.ndarray, zero: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    z = np.clip(-h[:, None] * (x - m[:, None]), -_ZCLIP, _ZCLIP)
    s = 1.0 / (1.0 + np.exp(z))
    s = np.where(zero, 0.0, s)
    return s, z


def hill_predict(log_conc: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Values of Hill curves ``params = (bottom, top, m, h)`` (n, 4) at ``log_conc`` (n, p).

    ``log_conc`` is the natural log of the concentration; ``-inf`` (dose 0) gives ``bottom``.
    """
    b, t, m, h = params.T
    zero = ~np.isfinite(log_conc)
    x = np.where(zero, 0.0, log_conc)
    s, _ = _logistic(x, m, h, zero)
    return b[:, None] + (t - b)[:, None] * s


def hill_inverse_log(effect: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Natural log of the dose at which each curve reaches ``effect`` (broadcast over rows).

    ``effect`` has shape ``(n, ...)``. Outside the open interval (bottom, top) the dose is
    ``-inf`` (effect at or below bottom) or ``+inf`` (effect not reachable).
    """
    b, t, m, h = (params[:, i].reshape((-1,) + (1,) * (effect.ndim - 1)) for i in range(4))
    lo, hi = np.minimum(b, t), np.maximum(b, t)
    inside = (effect > lo) & (effect < hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(inside, (effect - b) / (t - effect), 1.0)
        out = m + np.log(ratio) / h
    increasing = t > b
    below = np.where(increasing, effect <= lo, effect >= hi)
    out = np.where(inside, out, np.where(below, -np.inf, np.inf))
    return out


@dataclass(frozen=True)
class HillFit:
    """Batched Hill fits: ``params`` (n, 4) as (bottom, top, m = ln EC50, h)."""

    params: np.ndarray
    sse: np.ndarray
    converged: np.ndarray
    n_points: np.ndarray

    @property
    def bottom(self) -> np.ndarray:
        return self.params[:, 0]

    @property
    def top(self) -> np.ndarray:
        return self.params[:, 1]

    @property
    def ec50(self) -> np.ndarray:
        return np.exp(self.params[:, 2])

    @property
    def hill_slope(self) -> np.ndarray:
        return self.params[:, 3]


def _init_params(x: np.ndarray, y: np.ndarray, zero: np.ndarray) -> np.ndarray:
    w = np.isfinite(y)
    finite_x = np.where(~zero & w, x, np.nan)
    with np.errstate(invalid="ignore"):
        xmin = np.nanmin(np.where(~zero, x, np.nan), axis=1)
        xmax = np.nanmax(np.where(~zero, x, np.nan), axis=1)
    xmin = np.where(np.isfinite(xmin), xmin, 0.0)
    xmax = np.where(np.isfinite(xmax), xmax, 0.0)
    # bottom from the lowest doses, top from the highest (robust to replicates)
    lo_mask = w & (zero | (x <= xmin[:, None] + 1e-12))
    hi_mask = w & ~zero & (x >= xmax[:, None] - 1e-12)
    b0 = _masked_mean(y, lo_mask)
    t0 = _masked_mean(y, hi_mask)
    b0 = np.where(np.isfinite(b0), b0, 0.0)
    t0 = np.where(np.isfinite(t0), t0, b0)
    # EC50 start: the dose where the data cross the midpoint (weighted by closeness)
    mid = 0.5 * (b0 + t0)
    closeness = np.exp(-((y - mid[:, None]) ** 2) / 0.02)
    wc = np.where(np.isfinite(finite_x), closeness, 0.0)
    m0 = np.sum(wc * np.nan_to_num(finite_x), axis=1) / np.maximum(np.sum(wc, axis=1), 1e-12)
    m0 = np.where(np.sum(wc, axis=1) > 1e-6, m0, 0.5 * (xmin + xmax))
    return np.column_stack([b0, t0, m0, np.ones_like(b0)])


def _masked_mean(y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    cnt = mask.sum(axis=1)
    tot = np.where(mask, y, 0.0).sum(axis=1)
    out = np.full(y.shape[0], np.nan)
    np.divide(tot, cnt, out=out, where=cnt > 0)
    return out


def fit_hill(
    log_conc: np.ndarray,
    response: np.ndarray,
    *,
    fixed_bottom: np.ndarray | None = None,
    top_max: float = 1.5,
    max_iter: int = 40,
) -> HillFit:
    """Fit 4-parameter Hill curves (or 3-parameter with ``fixed_bottom``) to many curves.

    Parameters
    ----------
    log_conc, response
        ``(n_curves, n_points)``; natural log of the dose (``-inf`` for dose 0) and the
        fractional inhibition. NaN responses are ignored.
    fixed_bottom
        ``(n_curves,)`` effect at dose 0, held fixed (ZIP's row/column fits).
    top_max
        Upper bound of ``top``.

    Examples
    --------
    >>> x = np.log([[0.01, 0.1, 1.0, 10.0, 100.0]])
    >>> y = 1 / (1 + 1 / np.exp(x))
    >>> fit = fit_hill(x, y)
    >>> round(float(fit.ec50[0]), 3)
    1.0
    """
    x_raw = np.asarray(log_conc, dtype=float)
    y = np.asarray(response, dtype=float)
    zero = ~np.isfinite(x_raw)
    x = np.where(zero, 0.0, x_raw)
    n = y.shape[0]
    p0 = _init_params(x, y, zero)
    with np.errstate(invalid="ignore"):
        xmin = np.nanmin(np.where(~zero, x, np.nan), axis=1)
        xmax = np.nanmax(np.where(~zero, x, np.nan), axis=1)
    xmin = np.where(np.isfinite(xmin), xmin, -1.0)
    xmax = np.where(np.isfinite(xmax), xmax, 1.0)
    p0[:, 2] = np.clip(p0[:, 2], xmin - M_MARGIN, xmax + M_MARGIN)
    lower = np.column_stack(
        [np.full(n, -1.0), np.full(n, -1.0), xmin - M_MARGIN, np.full(n, H_MIN)]
    )
    upper = np.column_stack(
        [np.full(n, 1.5), np.full(n, top_max), xmax + M_MARGIN, np.full(n, H_MAX)]
    )
    if fixed_bottom is not None:
        fb = np.asarray(fixed_bottom, dtype=float)
        p0[:, 0] = fb
        p0[:, 1] = np.clip(p0[:, 1], -1.0, top_max)

        def fun3(p: np.ndarray, idx: np.ndarray):
            b = fb[idx]
            t, m, h = p[:, 0], p[:, 1], p[:, 2]
            s, _ = _logistic(x[idx], m, h, zero[idx])
            amp = (t - b)[:, None]
            f = b[:, None] + amp * s
            ds = s * (1.0 - s)
            dx = x[idx] - m[:, None]
            jac = np.stack([s, -amp * ds * h[:, None], amp * ds * dx], axis=-1)
            return f, jac

        p, sse, conv = batched_lm(fun3, p0[:, 1:], y, lower[:, 1:], upper[:, 1:], max_iter=max_iter)
        params = np.column_stack([fb, p])
    else:

        def fun4(p: np.ndarray, idx: np.ndarray):
            b, t, m, h = p.T
            s, _ = _logistic(x[idx], m, h, zero[idx])
            amp = (t - b)[:, None]
            f = b[:, None] + amp * s
            ds = s * (1.0 - s)
            dx = x[idx] - m[:, None]
            jac = np.stack([1.0 - s, s, -amp * ds * h[:, None], amp * ds * dx], axis=-1)
            return f, jac

        params, sse, conv = batched_lm(fun4, p0, y, lower, upper, max_iter=max_iter)
    return HillFit(params=params, sse=sse, converged=conv, n_points=np.isfinite(y).sum(axis=1))


#: Largest effect (fraction of inhibition, over the tested doses) of a drug called *flat*: a
#: curve that moves less than 5 percentage points has no measurable potency, so every model
#: that inverts or extrapolates it (Loewe, ZIP, CI, MuSyC) has nothing to stand on.
FLAT_EFFECT = 0.05
#: A parameter within 0.5 % of a bound counts as on it (LM stops just short of a bound).
_BOUND_RTOL = 5e-3


def fit_problems(fit: HillFit, log_conc: np.ndarray, *, top_max: float = 1.5) -> np.ndarray:
    """Why each single-agent fit of :func:`fit_hill` is not trustworthy (``""`` = fine).

    A fit is flagged when it did not converge, when a parameter ends on a bound of the box
    (Hill slope at ``H_MIN``/``H_MAX``, EC50 ``M_MARGIN`` log units beyond the tested doses,
    bottom or top at their limits: the data do not determine it) or when the curve is flat
    (its effect over the tested doses changes by less than :data:`FLAT_EFFECT`).

    ``log_conc`` (n, p) are the doses the curves were fitted on (``-inf`` = dose 0). Returns
    an object array of ``n`` strings, several problems joined with ``"; "``.

    >>> x = np.log([[0.01, 0.1, 1.0, 10.0, 100.0]])
    >>> fit_problems(fit_hill(x, np.zeros((1, 5))), x)[0]
    'flat: no effect (changes by 0.0 percentage points over the tested doses)'
    """
    lc = np.asarray(log_conc, dtype=float)
    finite = np.isfinite(lc)
    with np.errstate(invalid="ignore"):
        xmin = np.nanmin(np.where(finite, lc, np.nan), axis=1)
        xmax = np.nanmax(np.where(finite, lc, np.nan), axis=1)
    b, t, m, h = fit.params.T
    pred = hill_predict(np.where(finite, lc, -np.inf), fit.params)
    pred = np.where(finite | np.isneginf(lc), pred, np.nan)
    with np.errstate(invalid="ignore"):
        span = np.nanmax(pred, axis=1) - np.nanmin(pred, axis=1)
    span = np.where(np.isfinite(span), span, 0.0)

    def at(v: np.ndarray, bound: np.ndarray | float) -> np.ndarray:
        bb = np.broadcast_to(np.asarray(bound, dtype=float), v.shape)
        return np.abs(v - bb) <= _BOUND_RTOL * np.maximum(1.0, np.abs(bb))

    out = np.full(fit.params.shape[0], "", dtype=object)
    flat = span < FLAT_EFFECT
    # texts are formatted only for the flagged curves (most curves of a screen have none)
    fold = f"{np.exp(M_MARGIN):.0f}"
    checks: list[tuple[np.ndarray, Callable[[int], str]]] = [
        (
            flat,
            lambda i: (
                f"flat: no effect (changes by {100 * span[i]:.1f} percentage points over the "
                "tested doses)"
            ),
        ),
        (~flat & at(h, H_MAX), lambda i: f"Hill slope at its upper bound {H_MAX:g}"),
        (~flat & at(h, H_MIN), lambda i: f"Hill slope at its lower bound {H_MIN:g}"),
        (
            ~flat & (at(m, xmax + M_MARGIN) | at(m, xmin - M_MARGIN)),
            lambda i: f"EC50 at its bound ({fold}-fold outside the tested doses)",
        ),
        (~flat & (at(t, top_max) | at(t, -1.0)), lambda i: f"top at its bound ({t[i]:.3g})"),
        (~flat & (at(b, 1.5) | at(b, -1.0)), lambda i: f"bottom at its bound ({b[i]:.3g})"),
        (~fit.converged, lambda i: "fit did not converge"),
    ]
    for mask, text in checks:
        for i in np.flatnonzero(mask).tolist():
            out[i] = f"{out[i]}; {text(i)}" if out[i] else text(i)
    return out
