"""Compiled MuSyC fits: one box-bounded Levenberg–Marquardt per block (numba, optional).

Same algorithm and the same closed form as the numpy fallback in ``_musyc.py``
(:func:`oncoresist.synergy._musyc._lm_numpy`): the steady state of the four-state cycle is the
sum of its spanning-tree weights, eleven distinct products of the four forward rates
``a = U->A1, b = A1->A12, c = A2->A12, d = U->A2`` (all backward rates 1)::

    pi_U   = 2 + b + c              pi_A1  = 2a + ac + cd
    pi_A2  = 2d + bd + ab           pi_A12 = ab + cd + abc + bcd

Each product is ``exp(log-product - M)`` with ``M`` the largest log-product of the point, so
no weight overflows and the surface and its analytic Jacobian cost eleven exponentials per
point. Blocks are independent (one ``prange`` iteration each): results do not depend on the
number of threads. Sums run over points in a fixed order, so they agree with the numpy
version to rounding (numpy's matrix products may add in another order).
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

__all__ = ["HAVE_NUMBA", "fit_blocks_numba"]

_K = 10
_TINY = 1e-300


def _eval_py(ld1, ld2, y, w, p, f, jac, need_jac):  # pragma: no cover - compiled
    """Model values ``f``, weighted Jacobian ``jac`` (if asked) and SSE of one block."""
    h1 = math.exp(p[4])
    h2 = math.exp(p[5])
    la12 = p[8]
    la21 = p[9]
    sse = 0.0
    for k in range(ld1.shape[0]):
        x1 = ld1[k] - p[6]
        x2 = ld2[k] - p[7]
        fin1 = x1 > -math.inf
        fin2 = x2 > -math.inf
        ninf = -math.inf
        ra = h1 * x1 if fin1 else ninf
        rc = h1 * (x1 + la21) if fin1 else ninf
        rb = h2 * (x2 + la12) if fin2 else ninf
        rd = h2 * x2 if fin2 else ninf
        lab = ra + rb
        lac = ra + rc
        lbd = rb + rd
        lcd = rc + rd
        labc = lab + rc
        lbcd = lbd + rc
        mx = max(0.0, max(ra, max(rb, max(rc, rd))))
        mx = max(mx, max(lab, max(lac, max(lbd, lcd))))
        mx = max(mx, max(labc, lbcd))
        w0 = math.exp(-mx)
        wa = math.exp(ra - mx)
        wb = math.exp(rb - mx)
        wc = math.exp(rc - mx)
        wd = math.exp(rd - mx)
        wab = math.exp(lab - mx)
        wac = math.exp(lac - mx)
        wbd = math.exp(lbd - mx)
        wcd = math.exp(lcd - mx)
        wabc = math.exp(labc - mx)
        wbcd = math.exp(lbcd - mx)
        pu = 2.0 * w0 + wb + wc
        p1 = 2.0 * wa + wac + wcd
        p2 = 2.0 * wd + wbd + wab
        p3 = wab + wcd + wabc + wbcd
        z = pu + p1 + p2 + p3
        pu = pu / z
        p1 = p1 / z
        p2 = p2 / z
        p3 = p3 / z
        e = pu * p[0] + p1 * p[1] + p2 * p[2] + p3 * p[3]
        f[k] = e
        wk = w[k]
        rk = wk * (y[k] - e)
        sse = sse + rk * rk
        if need_jac:
            du = p[0] - e
            d1 = p[1] - e
            d2 = p[2] - e
            d3 = p[3] - e
            ca = (d1 * (2.0 * wa + wac) + d2 * wab + d3 * (wab + wabc)) / z
            cb = (du * wb + d2 * (wbd + wab) + d3 * (wab + wabc + wbcd)) / z
            cc = (du * wc + d1 * (wac + wcd) + d3 * (wcd + wabc + wbcd)) / z
            cd = (d1 * wcd + d2 * (2.0 * wd + wbd) + d3 * (wcd + wbcd)) / z
            jac[k, 0] = wk * pu
            jac[k, 1] = wk * p1
            jac[k, 2] = wk * p2
            jac[k, 3] = wk * p3
            if fin1:
                jac[k, 4] = wk * h1 * (ca * x1 + cc * (x1 + la21))
                jac[k, 6] = -wk * h1 * (ca + cc)
                jac[k, 9] = wk * h1 * cc
            else:
                jac[k, 4] = 0.0
                jac[k, 6] = 0.0
                jac[k, 9] = 0.0
            if fin2:
                jac[k, 5] = wk * h2 * (cb * (x2 + la12) + cd * x2)
                jac[k, 7] = -wk * h2 * (cb + cd)
                jac[k, 8] = wk * h2 * cb
            else:
                jac[k, 5] = 0.0
                jac[k, 7] = 0.0
                jac[k, 8] = 0.0
    return sse


def _kernel(
    ld1, ld2, y, w, p0, lo, hi, max_iter, tol, out_p, out_sse, out_conv
):  # pragma: no cover
    n, m = y.shape
    for i in prange(n):
        p = np.empty(_K)
        for j in range(_K):
            p[j] = min(max(p0[i, j], lo[i, j]), hi[i, j])
        f = np.empty(m)
        jac = np.empty((m, _K))
        f_new = np.empty(m)
        jac_new = np.empty((m, _K))
        a = np.empty((_K, _K))
        low = np.zeros((_K, _K))
        g = np.empty(_K)
        zv = np.empty(_K)
        step = np.empty(_K)
        trial = np.empty(_K)
        sse = _eval(ld1[i], ld2[i], y[i], w[i], p, f, jac, True)
        conv = False
        lam = 1e-3
        it_max = max_iter
        if not math.isfinite(sse):
            sse = math.inf
            it_max = 0
        for _ in range(it_max):
            for r in range(_K):
                for c in range(r + 1):
                    s = 0.0
                    for k in range(m):
                        s = s + jac[k, r] * jac[k, c]
                    a[r, c] = s
                    a[c, r] = s
                s = 0.0
                for k in range(m):
                    s = s + jac[k, r] * (w[i, k] * (y[i, k] - f[k]))
                g[r] = s
            # a parameter on its bound whose gradient points outwards is held for this step
            for j in range(_K):
                if (p[j] <= lo[i, j] and g[j] < 0.0) or (p[j] >= hi[i, j] and g[j] > 0.0):
                    for c in range(_K):
                        a[j, c] = 0.0
                        a[c, j] = 0.0
                    a[j, j] = 1.0
                    g[j] = 0.0
            for j in range(_K):
                a[j, j] = a[j, j] + lam * (a[j, j] + 1e-9)
            # Cholesky, then the two triangular solves
            for j in range(_K):
                s = a[j, j]
                for c in range(j):
                    s = s - low[j, c] * low[j, c]
                d = math.sqrt(max(s, _TINY))
                low[j, j] = d
                for r in range(j + 1, _K):
                    s = a[r, j]
                    for c in range(j):
                        s = s - low[r, c] * low[j, c]
                    low[r, j] = s / d
            for r in range(_K):
                s = g[r]
                for c in range(r):
                    s = s - low[r, c] * zv[c]
                zv[r] = s / low[r, r]
            for r in range(_K - 1, -1, -1):
                s = zv[r]
                for c in range(r + 1, _K):
                    s = s - low[c, r] * step[c]
                step[r] = s / low[r, r]
            moved = 0.0
            for j in range(_K):
                trial[j] = min(max(p[j] + step[j], lo[i, j]), hi[i, j])
                moved = max(moved, abs(trial[j] - p[j]))
            sse_n = _eval(ld1[i], ld2[i], y[i], w[i], trial, f_new, jac_new, True)
            if math.isfinite(sse_n) and sse_n <= sse:
                rel = (sse - sse_n) / max(sse, 1e-30)
                for j in range(_K):
                    p[j] = trial[j]
                sse = sse_n
                f, f_new = f_new, f
                jac, jac_new = jac_new, jac
                lam = max(lam / 5.0, 1e-12)
                if rel < tol or moved < 1e-10 or sse_n < 1e-28:
                    conv = True
                    break
            else:
                lam = lam * 8.0
                if lam > 1e10:
                    conv = True
                    break
        for j in range(_K):
            out_p[i, j] = p[j]
        out_sse[i] = sse
        out_conv[i] = conv


_compiled: Any = None
if HAVE_NUMBA:
    _eval: Any = njit(cache=True, nogil=True)(_eval_py)
    _compiled = njit(parallel=True, cache=True, nogil=True)(_kernel)


def fit_blocks_numba(
    ld1: np.ndarray,
    ld2: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    p0: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    max_iter: int,
    tol: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit every block (rows of the ``(n, m)`` arrays); ``(params, sse, converged)``."""
    n = y.shape[0]
    out_p = np.empty((n, _K))
    out_sse = np.empty(n)
    out_conv = np.empty(n, dtype=np.bool_)
    c = np.ascontiguousarray
    _compiled(
        c(ld1, dtype=float),
        c(ld2, dtype=float),
        c(y, dtype=float),
        c(w, dtype=float),
        c(p0, dtype=float),
        c(lower, dtype=float),
        c(upper, dtype=float),
        int(max_iter),
        float(tol),
        out_p,
        out_sse,
        out_conv,
    )
    return out_p, out_sse, out_conv
