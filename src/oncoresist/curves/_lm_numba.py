"""Compiled (numba) Levenberg–Marquardt for the log-logistic family, one curve per thread.

The same algorithm as :func:`oncoresist.curves._lm.levenberg_marquardt` (Nielsen damping,
Marquardt scaling with a running maximum, projection onto the box, the same stopping rules),
specialised to ``f = bottom + (top - bottom) / (1 + exp(b (x - ln e)))`` with any of the four
parameters held fixed. Used automatically for ``ll4``/``ll3``/``ll2`` when numba is installed;
the numpy engine is the reference and the fallback.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

try:  # numba is optional: without it the numpy engine is used
    from numba import njit, prange

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_NUMBA = False

__all__ = ["HAVE_NUMBA", "lm_loglogistic"]


def _kernel(
    x, y, sw, p0, lower, upper, free, max_iter, ftol, xtol, gtol, out_p, out_sse, out_it, out_code
):
    n, m = x.shape
    nf = 0
    for j in range(4):
        if free[j]:
            nf += 1
    fi = np.empty(nf, dtype=np.int64)
    c = 0
    for j in range(4):
        if free[j]:
            fi[c] = j
            c += 1
    tiny = 2.2250738585072014e-308
    for i in prange(n):
        p = p0[i].copy()
        for j in range(nf):
            q = fi[j]
            p[q] = min(max(p[q], lower[i, q]), upper[i, q])
        jac = np.zeros((m, nf))
        r = np.zeros(m)
        rn = np.zeros(m)
        sv = np.zeros(m)
        sn = np.zeros(m)
        a = np.zeros((nf, nf))
        g = np.zeros(nf)
        diag = np.zeros(nf)
        blk = np.zeros(nf, dtype=np.bool_)
        mm = np.zeros((nf, nf))
        step = np.zeros(nf)
        pn = p.copy()
        sse = 0.0
        for t in range(m):
            if sw[i, t] > 0:
                u = p[0] * (x[i, t] - p[3])
                s = 1.0 / (1.0 + math.exp(min(u, 700.0))) if not math.isnan(u) else 0.5
                sv[t] = s
                r[t] = sw[i, t] * (y[i, t] - (p[1] + (p[2] - p[1]) * s))
                sse += r[t] * r[t]
        code = 4
        it = 0
        if not math.isfinite(sse):
            code = 5
        lam = 1e-3
        nu = 2.0
        while code == 4 and it < max_iter:
            # Jacobian at p
            for t in range(m):
                for j in range(nf):
                    jac[t, j] = 0.0
                if sw[i, t] > 0:
                    dx = x[i, t] - p[3]
                    s = sv[t]
                    qq = s - s * s
                    qdx = 0.0 if qq == 0.0 else qq * dx
                    span = p[2] - p[1]
                    for j in range(nf):
                        q = fi[j]
                        if q == 0:
                            v = -span * qdx
                        elif q == 1:
                            v = 1.0 - s
                        elif q == 2:
                            v = s
                        else:
                            v = span * qq * p[0]
                        jac[t, j] = sw[i, t] * v
            for j in range(nf):
                g[j] = 0.0
                for ll in range(nf):
                    a[j, ll] = 0.0
            for t in range(m):
                for j in range(nf):
                    g[j] += jac[t, j] * r[t]
                    for ll in range(j, nf):
                        a[j, ll] += jac[t, j] * jac[t, ll]
            for j in range(nf):
                for ll in range(j):
                    a[j, ll] = a[ll, j]
            gmax = 0.0
            dmax = 0.0
            for j in range(nf):
                diag[j] = max(diag[j], a[j, j])
                dmax = max(dmax, diag[j])
                q = fi[j]
                blk[j] = (p[q] <= lower[i, q] and g[j] < 0) or (p[q] >= upper[i, q] and g[j] > 0)
                if not blk[j]:
                    gmax = max(gmax, abs(g[j]) / math.sqrt(max(a[j, j], tiny)))
            if sse <= 1e-300 or gmax / math.sqrt(max(sse, tiny)) <= gtol:
                code = 1
                break
            accepted = False
            while not accepted:
                it += 1
                for j in range(nf):
                    for ll in range(nf):
                        mm[j, ll] = 0.0 if (blk[j] or blk[ll]) else a[j, ll]
                    mm[j, j] += lam * max(diag[j], 1e-12 * dmax + tiny)
                    if blk[j]:
                        mm[j, j] = 1.0
                    step[j] = 0.0 if blk[j] else g[j]
                # Gaussian elimination with partial pivoting on the small damped system
                singular = False
                for col in range(nf):
                    piv = col
                    for row in range(col + 1, nf):
                        if abs(mm[row, col]) > abs(mm[piv, col]):
                            piv = row
                    if mm[piv, col] == 0.0 or not math.isfinite(mm[piv, col]):
                        singular = True
                        break
                    if piv != col:
                        for ll in range(nf):
                            tmp = mm[col, ll]
                            mm[col, ll] = mm[piv, ll]
                            mm[piv, ll] = tmp
                        tmp = step[col]
                        step[col] = step[piv]
                        step[piv] = tmp
                    for row in range(col + 1, nf):
                        fct = mm[row, col] / mm[col, col]
                        for ll in range(col, nf):
                            mm[row, ll] -= fct * mm[col, ll]
                        step[row] -= fct * step[col]
                if not singular:
                    for col in range(nf - 1, -1, -1):
                        acc = step[col]
                        for ll in range(col + 1, nf):
                            acc -= mm[col, ll] * step[ll]
                        step[col] = acc / mm[col, col]
                for ll in range(4):
                    pn[ll] = p[ll]
                small_x = True
                for j in range(nf):
                    q = fi[j]
                    v = p[q] + (0.0 if singular else step[j])
                    v = min(max(v, lower[i, q]), upper[i, q])
                    pn[q] = v
                    step[j] = v - p[q]
                    if abs(step[j]) > xtol * (abs(p[q]) + xtol):
                        small_x = False
                pred = 0.0
                for j in range(nf):
                    as_j = 0.0
                    for ll in range(nf):
                        as_j += a[j, ll] * step[ll]
                    pred += step[j] * (2.0 * g[j] - as_j)
                s_new = 0.0
                for t in range(m):
                    if sw[i, t] > 0:
                        u = pn[0] * (x[i, t] - pn[3])
                        s = 1.0 / (1.0 + math.exp(min(u, 700.0))) if not math.isnan(u) else 0.5
                        sn[t] = s
                        rt = sw[i, t] * (y[i, t] - (pn[1] + (pn[2] - pn[1]) * s))
                        rn[t] = rt
                        s_new += rt * rt
                actual = sse - s_new
                if math.isfinite(s_new) and actual > 0 and pred > 0:
                    accepted = True
                    rho = actual / pred
                    lam *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
                    nu = 2.0
                    conv_f = actual <= ftol * sse and pred <= ftol * sse
                    for ll in range(4):
                        p[ll] = pn[ll]
                    sse = s_new
                    for t in range(m):
                        r[t] = rn[t]
                        sv[t] = sn[t]
                    if conv_f:
                        code = 0
                    elif small_x:
                        code = 2
                else:
                    lam = min(lam * nu, 1e300)
                    nu = min(nu * 2.0, 1e10)
                    if lam > 1e16:
                        code = 3
                        break
                if it >= max_iter:
                    break
        out_p[i] = p
        out_sse[i] = sse
        out_it[i] = it
        out_code[i] = code


_compiled: Any = njit(parallel=True, cache=True, nogil=True)(_kernel) if HAVE_NUMBA else None


def lm_loglogistic(
    x: np.ndarray,
    y: np.ndarray,
    sw: np.ndarray,
    p0_full: np.ndarray,
    lower_full: np.ndarray,
    upper_full: np.ndarray,
    free: np.ndarray,
    *,
    max_iter: int,
    ftol: float,
    xtol: float,
    gtol: float,
):
    """Fit ``(b, bottom, top, ln_e)`` (n, 4) with the parameters where ``free`` is False fixed."""
    n = x.shape[0]
    out_p = np.empty((n, 4))
    out_sse = np.empty(n)
    out_it = np.empty(n, dtype=np.int32)
    out_code = np.empty(n, dtype=np.int8)
    _compiled(
        np.ascontiguousarray(x, dtype=float),
        np.ascontiguousarray(y, dtype=float),
        np.ascontiguousarray(sw, dtype=float),
        np.ascontiguousarray(p0_full, dtype=float),
        np.ascontiguousarray(lower_full, dtype=float),
        np.ascontiguousarray(upper_full, dtype=float),
        np.asarray(free, dtype=np.bool_),
        int(max_iter),
        float(ftol),
        float(xtol),
        float(gtol),
        out_p,
        out_sse,
        out_it,
        out_code,
    )
    return out_p, out_sse, out_it, out_code
