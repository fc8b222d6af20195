"""ZIP's row and column fits: Hill curves with a per-curve fixed bottom, fitted by the million.

Each curve is ``f(x) = b + (t - b) / (1 + exp(-h (x - m)))`` with ``b`` fixed (the other
drug's effect at that row or column), ``t <= top_max``, ``m`` within ``M_MARGIN`` of the tested
log-dose range and ``h`` in ``[H_MIN, H_MAX]``. ``oncoresist.curves.fit_curves`` cannot do these
fits: the bottom is fixed to a different value per curve and a 5 x 5 block leaves 4 points
per row (fit_curves, rightly for a standalone curve, refuses a 4-parameter model on 4 points).

One Levenberg–Marquardt algorithm, written twice with the same arithmetic in the same order:

* a compiled numba kernel (one curve per iteration of a parallel loop), used when numba is
  installed (optional extra);
* a pure-numpy version, vectorised over curves (points are a short Python loop so every sum
  adds in the same order as the kernel), that is the reference and the fallback.

Both agree to rounding (the exponential of numba and of numpy may differ in the last bit).
The 3 x 3 damped normal equations are solved by an explicit Cholesky factorisation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

try:  # numba is optional: without it the numpy version runs
    from numba import njit, prange

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_NUMBA = False

__all__ = ["HAVE_NUMBA", "fit_fixed_bottom"]

_ZCLIP = 60.0
_TINY = 1e-300


def _kernel(x, y, w, b, p0, lo, hi, max_iter, tol, out_p, out_sse, out_conv):  # pragma: no cover
    n, npt = x.shape
    for i in prange(n):
        bb = b[i]
        t = min(max(p0[i, 0], lo[i, 0]), hi[i, 0])
        m = min(max(p0[i, 1], lo[i, 1]), hi[i, 1])
        h = min(max(p0[i, 2], lo[i, 2]), hi[i, 2])
        j0 = np.empty(npt)
        j1 = np.empty(npt)
        j2 = np.empty(npt)
        r = np.empty(npt)
        st = np.empty(npt)  # sigmoid at the trial point, reused when the step is accepted
        sse = 0.0
        amp = t - bb
        for k in range(npt):
            z = min(max(-h * (x[i, k] - m), -_ZCLIP), _ZCLIP)
            s = 1.0 / (1.0 + math.exp(z))
            q = s * (1.0 - s)
            wk = w[i, k]
            rk = wk * (y[i, k] - (bb + amp * s))
            r[k] = rk
            sse = sse + rk * rk
            j0[k] = wk * s
            j1[k] = -wk * amp * q * h
            j2[k] = wk * amp * q * (x[i, k] - m)
        conv = False
        lam = 1e-3
        if not math.isfinite(sse):
            sse = math.inf
            it_max = 0
        else:
            it_max = max_iter
        for _ in range(it_max):
            a00 = 0.0
            a01 = 0.0
            a02 = 0.0
            a11 = 0.0
            a12 = 0.0
            a22 = 0.0
            g0 = 0.0
            g1 = 0.0
            g2 = 0.0
            for k in range(npt):
                a00 = a00 + j0[k] * j0[k]
                a01 = a01 + j0[k] * j1[k]
                a02 = a02 + j0[k] * j2[k]
                a11 = a11 + j1[k] * j1[k]
                a12 = a12 + j1[k] * j2[k]
                a22 = a22 + j2[k] * j2[k]
                g0 = g0 + j0[k] * r[k]
                g1 = g1 + j1[k] * r[k]
                g2 = g2 + j2[k] * r[k]
            # a parameter on its bound whose gradient points outwards is held for this step
            if (t <= lo[i, 0] and g0 < 0.0) or (t >= hi[i, 0] and g0 > 0.0):
                a00 = 1.0
                a01 = 0.0
                a02 = 0.0
                g0 = 0.0
            if (m <= lo[i, 1] and g1 < 0.0) or (m >= hi[i, 1] and g1 > 0.0):
                a11 = 1.0
                a01 = 0.0
                a12 = 0.0
                g1 = 0.0
            if (h <= lo[i, 2] and g2 < 0.0) or (h >= hi[i, 2] and g2 > 0.0):
                a22 = 1.0
                a02 = 0.0
                a12 = 0.0
                g2 = 0.0
            a00 = a00 + lam * (a00 + 1e-9)
            a11 = a11 + lam * (a11 + 1e-9)
            a22 = a22 + lam * (a22 + 1e-9)
            l00 = math.sqrt(max(a00, _TINY))
            l10 = a01 / l00
            l20 = a02 / l00
            l11 = math.sqrt(max(a11 - l10 * l10, _TINY))
            l21 = (a12 - l20 * l10) / l11
            l22 = math.sqrt(max(a22 - l20 * l20 - l21 * l21, _TINY))
            z0 = g0 / l00
            z1 = (g1 - l10 * z0) / l11
            z2 = (g2 - l20 * z0 - l21 * z1) / l22
            s2 = z2 / l22
            s1 = (z1 - l21 * s2) / l11
            s0 = (z0 - l10 * s1 - l20 * s2) / l00
            tn = min(max(t + s0, lo[i, 0]), hi[i, 0])
            mn = min(max(m + s1, lo[i, 1]), hi[i, 1])
            hn = min(max(h + s2, lo[i, 2]), hi[i, 2])
            amp_n = tn - bb
            sse_n = 0.0
            for k in range(npt):
                z = min(max(-hn * (x[i, k] - mn), -_ZCLIP), _ZCLIP)
                s = 1.0 / (1.0 + math.exp(z))
                st[k] = s
                rk = w[i, k] * (y[i, k] - (bb + amp_n * s))
                sse_n = sse_n + rk * rk
            if math.isfinite(sse_n) and sse_n <= sse:
                rel = (sse - sse_n) / max(sse, 1e-30)
                moved = max(abs(tn - t), max(abs(mn - m), abs(hn - h)))
                t = tn
                m = mn
                h = hn
                sse = sse_n
                amp = amp_n
                for k in range(npt):
                    s = st[k]
                    q = s * (1.0 - s)
                    wk = w[i, k]
                    r[k] = wk * (y[i, k] - (bb + amp * s))
                    j0[k] = wk * s
                    j1[k] = -wk * amp * q * h
                    j2[k] = wk * amp * q * (x[i, k] - m)
                lam = max(lam / 5.0, 1e-12)
                if rel < tol or moved < 1e-10 or sse_n < 1e-28:
                    conv = True
                    break
            else:
                lam = lam * 8.0
                if lam > 1e10:
                    conv = True
                    break
        out_p[i, 0] = t
        out_p[i, 1] = m
        out_p[i, 2] = h
        out_sse[i] = sse
        out_conv[i] = conv


_compiled: Any = (
    njit(parallel=True, cache=True, nogil=True, fastmath=False)(_kernel) if HAVE_NUMBA else None
)


def _curves(x, y, w, b, t, m, h, *, jac: bool):
    """Residuals (and Jacobian columns) per point; lists over points of (n,) arrays."""
    amp = t - b
    r, j0, j1, j2 = [], [], [], []
    sse = np.zeros_like(t)
    for k in range(len(x)):
        dx = x[k] - m
        z = np.minimum(np.maximum(-h * dx, -_ZCLIP), _ZCLIP)
        s = 1.0 / (1.0 + np.exp(z))
        rk = w[k] * (y[k] - (b + amp * s))
        sse = sse + rk * rk
        if jac:
            q = s * (1.0 - s)
            r.append(rk)
            j0.append(w[k] * s)
            j1.append(-w[k] * amp * q * h)
            j2.append(w[k] * amp * q * dx)
    return sse, r, j0, j1, j2


def _numpy_lm(x, y, w, b, p0, lo, hi, max_iter, tol):
    """The kernel's algorithm, vectorised over curves; arrays are (n_points, n) here."""
    n = b.shape[0]
    t = np.minimum(np.maximum(p0[:, 0], lo[:, 0]), hi[:, 0])
    m = np.minimum(np.maximum(p0[:, 1], lo[:, 1]), hi[:, 1])
    h = np.minimum(np.maximum(p0[:, 2], lo[:, 2]), hi[:, 2])
    with np.errstate(invalid="ignore", over="ignore"):
        sse, r, j0, j1, j2 = _curves(x, y, w, b, t, m, h, jac=True)
    sse = np.where(np.isfinite(sse), sse, np.inf)
    out_p = np.column_stack([t, m, h])
    out_sse = sse.copy()
    out_conv = np.zeros(n, dtype=bool)
    lam = np.full(n, 1e-3)
    gi = np.flatnonzero(np.isfinite(sse))  # global index of the working set
    if gi.size < n:
        x, y, w, b = x[:, gi], y[:, gi], w[:, gi], b[gi]
        lo, hi = lo[gi], hi[gi]
        t, m, h, sse, lam = t[gi], m[gi], h[gi], sse[gi], lam[gi]
        r, j0, j1, j2 = ([v[gi] for v in lst] for lst in (r, j0, j1, j2))
    act = np.ones(gi.size, dtype=bool)
    for _ in range(max_iter):
        if gi.size == 0:
            break
        a00 = a01 = a02 = a11 = a12 = a22 = g0 = g1 = g2 = 0.0
        for k in range(len(x)):
            a00 = a00 + j0[k] * j0[k]
            a01 = a01 + j0[k] * j1[k]
            a02 = a02 + j0[k] * j2[k]
            a11 = a11 + j1[k] * j1[k]
            a12 = a12 + j1[k] * j2[k]
            a22 = a22 + j2[k] * j2[k]
            g0 = g0 + j0[k] * r[k]
            g1 = g1 + j1[k] * r[k]
            g2 = g2 + j2[k] * r[k]
        b0 = ((t <= lo[:, 0]) & (g0 < 0.0)) | ((t >= hi[:, 0]) & (g0 > 0.0))
        b1 = ((m <= lo[:, 1]) & (g1 < 0.0)) | ((m >= hi[:, 1]) & (g1 > 0.0))
        b2 = ((h <= lo[:, 2]) & (g2 < 0.0)) | ((h >= hi[:, 2]) & (g2 > 0.0))
        a00 = np.where(b0, 1.0, a00)
        a11 = np.where(b1, 1.0, a11)
        a22 = np.where(b2, 1.0, a22)
        a01 = np.where(b0 | b1, 0.0, a01)
        a02 = np.where(b0 | b2, 0.0, a02)
        a12 = np.where(b1 | b2, 0.0, a12)
        g0 = np.where(b0, 0.0, g0)
        g1 = np.where(b1, 0.0, g1)
        g2 = np.where(b2, 0.0, g2)
        a00 = a00 + lam * (a00 + 1e-9)
        a11 = a11 + lam * (a11 + 1e-9)
        a22 = a22 + lam * (a22 + 1e-9)
        l00 = np.sqrt(np.maximum(a00, _TINY))
        l10 = a01 / l00
        l20 = a02 / l00
        l11 = np.sqrt(np.maximum(a11 - l10 * l10, _TINY))
        l21 = (a12 - l20 * l10) / l11
        l22 = np.sqrt(np.maximum(a22 - l20 * l20 - l21 * l21, _TINY))
        z0 = g0 / l00
        z1 = (g1 - l10 * z0) / l11
        z2 = (g2 - l20 * z0 - l21 * z1) / l22
        s2 = z2 / l22
        s1 = (z1 - l21 * s2) / l11
        s0 = (z0 - l10 * s1 - l20 * s2) / l00
        tn = np.minimum(np.maximum(t + s0, lo[:, 0]), hi[:, 0])
        mn = np.minimum(np.maximum(m + s1, lo[:, 1]), hi[:, 1])
        hn = np.minimum(np.maximum(h + s2, lo[:, 2]), hi[:, 2])
        with np.errstate(invalid="ignore", over="ignore"):
            sse_n, rn, k0, k1, k2 = _curves(x, y, w, b, tn, mn, hn, jac=True)
        ok = act & np.isfinite(sse_n) & (sse_n <= sse)
        with np.errstate(invalid="ignore"):
            rel = (sse - sse_n) / np.maximum(sse, 1e-30)
        moved = np.maximum(np.abs(tn - t), np.maximum(np.abs(mn - m), np.abs(hn - h)))
        t = np.where(ok, tn, t)
        m = np.where(ok, mn, m)
        h = np.where(ok, hn, h)
        sse = np.where(ok, sse_n, sse)
        r = [np.where(ok, u, v) for u, v in zip(rn, r, strict=True)]
        j0 = [np.where(ok, u, v) for u, v in zip(k0, j0, strict=True)]
        j1 = [np.where(ok, u, v) for u, v in zip(k1, j1, strict=True)]
        j2 = [np.where(ok, u, v) for u, v in zip(k2, j2, strict=True)]
        bad = act & ~ok
        lam = np.where(ok, np.maximum(lam / 5.0, 1e-12), np.where(bad, lam * 8.0, lam))
        done = (ok & ((rel < tol) | (moved < 1e-10) | (sse_n < 1e-28))) | (bad & (lam > 1e10))
        act = act & ~done
        if done.any():
            fin = done
            out_p[gi[fin]] = np.column_stack([t[fin], m[fin], h[fin]])
            out_sse[gi[fin]] = sse[fin]
            out_conv[gi[fin]] = True
        if act.sum() < 0.5 * act.size:  # compact the working set (per-curve maths unchanged)
            keep = np.flatnonzero(act)
            gi = gi[keep]
            x, y, w, b = x[:, keep], y[:, keep], w[:, keep], b[keep]
            lo, hi = lo[keep], hi[keep]
            t, m, h, sse, lam = t[keep], m[keep], h[keep], sse[keep], lam[keep]
            r, j0, j1, j2 = ([v[keep] for v in lst] for lst in (r, j0, j1, j2))
            act = np.ones(keep.size, dtype=bool)
    left = gi[act]
    out_p[left] = np.column_stack([t[act], m[act], h[act]])
    out_sse[left] = sse[act]
    return out_p, out_sse, out_conv


def fit_fixed_bottom(
    log_conc: np.ndarray,
    response: np.ndarray,
    bottom: np.ndarray,
    *,
    p0: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    max_iter: int = 40,
    tol: float = 1e-9,
    engine: str = "auto",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit ``(top, m, h)`` of Hill curves with a fixed ``bottom`` to every row.

    ``log_conc``/``response`` are ``(n, n_points)`` (finite doses; NaN responses ignored),
    ``bottom`` ``(n,)``, ``p0``/``lower``/``upper`` ``(n, 3)``. ``engine``: ``"auto"``
    (numba when installed), ``"numba"`` or ``"numpy"``. Returns ``(params (n, 3), sse,
    converged)``.
    """
    x = np.asarray(log_conc, dtype=float)
    yv = np.asarray(response, dtype=float)
    w = np.isfinite(yv).astype(float)
    y = np.where(w > 0, yv, 0.0)
    b = np.ascontiguousarray(bottom, dtype=float)
    p0 = np.ascontiguousarray(p0, dtype=float)
    lower = np.ascontiguousarray(lower, dtype=float)
    upper = np.ascontiguousarray(upper, dtype=float)
    use_numba = HAVE_NUMBA and engine != "numpy"
    if use_numba:
        n = x.shape[0]
        out_p = np.empty((n, 3))
        out_sse = np.empty(n)
        out_conv = np.empty(n, dtype=np.bool_)
        _compiled(
            np.ascontiguousarray(x),
            np.ascontiguousarray(y),
            np.ascontiguousarray(w),
            b,
            p0,
            lower,
            upper,
            int(max_iter),
            float(tol),
            out_p,
            out_sse,
            out_conv,
        )
        return out_p, out_sse, out_conv
    xt = np.ascontiguousarray(x.T)
    yt = np.ascontiguousarray(y.T)
    wt = np.ascontiguousarray(w.T)
    return _numpy_lm(xt, yt, wt, b, p0, lower, upper, int(max_iter), float(tol))
