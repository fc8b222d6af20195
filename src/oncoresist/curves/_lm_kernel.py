"""Compiled twin of :func:`oncoresist.curves._lm.levenberg_marquardt`, generic over the model.

One ``@njit(parallel=True)`` driver fits many small box-bounded least-squares problems, one per
``prange`` iteration, with the algorithm of the numpy reference step for step: Nielsen (1999)
damping updates, Marquardt's diagonal scaling kept as a running maximum (Moré 1978), projection
of the trial point onto the box, an active set (a parameter on its bound whose gradient points
outwards is held for the step), the gain-ratio test on the projected step, the same stopping
rules and the same codes (:data:`oncoresist.curves._lm.CODE_TEXT`). The two agree to rounding
(``tests/test_lm_contract.py``).

The model is a callback ``model(p, x, aux, f_out, jac_out)``: ``p`` the ``(k,)`` parameters of
one problem, ``x`` its ``(m, d)`` points, ``aux`` its ``(a,)`` float data, writing the ``(m,)``
values and the ``(m, k)`` Jacobian (unweighted; points with ``sw == 0`` are ignored, non-finite
Jacobian entries count as 0, as in the reference). It is passed as a numba first-class function
of one fixed signature (:func:`compile_model`), not as a dispatcher: numba keys a dispatcher
argument by an identity that changes with every process, so a driver specialised per model is
recompiled (seconds) in every session and its cache grows by one file each time (numba issues
#2956, #6972); through a function pointer the driver is compiled once and cached, and the call
costs nothing next to the model's loop over its points (measured, ll4, one thread: 42,700
curves/s through the pointer, 43,200 specialised, which compiled for 23 s).

Variable projection is kept for the log-logistic family (``_lm_numba.lm_loglogistic``): it is
2x faster than this kernel's iterations alone and 3x faster end to end. Measured on the
``benchmarks/bench_curves.py`` design (20,000 ll4 curves, 9 doses x 2, noise 0.05; one thread,
CPU time, 2026-12-01), curves/s: variable projection with its own start grid 106,000; this
kernel from the numpy start grid (``_lm.grid_start``) 16,000 (52,000 without the grid's cost),
from ``model.start`` 36,000; the numpy reference 11,000. ll3: 98,000 / 16,000 (61,000) / 47,000;
ll2: 104,000 / 18,000 (92,000) / 83,000. All reach the same minimum (SSE within 1e-6 relative of
variable projection for 99.7-100 % of the curves, the rest split between better and worse).
numba is optional and imported only when this module is; without it the numpy reference is the
fallback (``_lm_numba.HAVE_NUMBA``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np

from ._lm import (
    CONVERGED_FTOL,
    CONVERGED_GTOL,
    CONVERGED_XTOL,
    MAX_ITER,
    NONFINITE,
    STALLED,
    LMResult,
)

__all__ = ["compile_model", "curve_kernel", "lm_compiled"]

_TINY = 2.2250738585072014e-308
prange = range  # numba's prange once compiled (``_jit``)


def _solve(m, g, out, a):  # pragma: no cover - compiled
    """``out = m^-1 g`` by Gaussian elimination with partial pivoting (``a``: workspace).

    ``m`` is symmetric and damped, so it is singular only with a zero row and column (a
    parameter the model does not depend on, damping underflowed); that component of the step
    is 0 and the rest solves the other equations: the pseudo-inverse solution the numpy
    reference takes on LinAlgError.
    """
    k = g.shape[0]
    a[:, :] = m
    out[:] = g
    for col in range(k):
        piv = col
        for row in range(col + 1, k):
            if abs(a[row, col]) > abs(a[piv, col]):
                piv = row
        if a[piv, col] == 0.0:
            continue
        if piv != col:
            for c in range(k):
                a[col, c], a[piv, c] = a[piv, c], a[col, c]
            out[col], out[piv] = out[piv], out[col]
        for row in range(col + 1, k):
            fac = a[row, col] / a[col, col]
            if fac != 0.0:
                for c in range(col, k):
                    a[row, c] -= fac * a[col, c]
                out[row] -= fac * out[col]
    for row in range(k - 1, -1, -1):
        if a[row, row] == 0.0:
            out[row] = 0.0
            continue
        s = out[row]
        for c in range(row + 1, k):
            s -= a[row, c] * out[c]
        out[row] = s / a[row, row]


def _clip(v, lo, hi):  # pragma: no cover - compiled
    """``np.clip`` of a scalar: NaN stays NaN (``min``/``max`` would drop it)."""
    if v < lo:
        return lo
    if v > hi:
        return hi
    return v


def _residuals(model, p, xi, auxi, yi, swi, f, jac, r):  # pragma: no cover - compiled
    """Model at ``p``: weighted residuals ``r``, weighted Jacobian in ``jac``; the SSE."""
    model(p, xi, auxi, f, jac)
    sse = 0.0
    for t in range(yi.shape[0]):
        w = swi[t]
        if w > 0:
            rt = w * (yi[t] - f[t])
            r[t] = rt
            sse += rt * rt
            for j in range(jac.shape[1]):
                v = w * jac[t, j]
                jac[t, j] = v if math.isfinite(v) else 0.0
        else:
            r[t] = 0.0
            for j in range(jac.shape[1]):
                jac[t, j] = 0.0
    return sse


def _driver_py(
    model, x, y, sw, p0, lower, upper, aux, max_iter, ftol, xtol, gtol, lam0,
    out_p, out_sse, out_it, out_code,
):  # fmt: skip  # pragma: no cover - compiled
    n, m = y.shape
    k = p0.shape[1]
    for i in prange(n):
        lo, hi = lower[i], upper[i]
        p = np.empty(k)
        for j in range(k):
            p[j] = _clip(p0[i, j], lo[j], hi[j])
        f, f_n = np.empty(m), np.empty(m)
        r, r_n = np.empty(m), np.empty(m)
        jac, jac_n = np.empty((m, k)), np.empty((m, k))
        a, mm, work = np.empty((k, k)), np.empty((k, k)), np.empty((k, k))
        g, gs, step, p_n = np.empty(k), np.empty(k), np.empty(k), np.empty(k)
        diag = np.zeros(k)
        blocked = np.zeros(k, dtype=np.bool_)
        sse = _residuals(model, p, x[i], aux[i], y[i], sw[i], f, jac, r)
        it = 0
        code = MAX_ITER
        if not math.isfinite(sse):
            code = NONFINITE
        lam, nu = lam0, 2.0
        for _ in range(max_iter if code == MAX_ITER else 0):
            it += 1
            for j in range(k):
                for c in range(j + 1):
                    s = 0.0
                    for t in range(m):
                        s += jac[t, j] * jac[t, c]
                    a[j, c] = s
                    a[c, j] = s
                s = 0.0
                for t in range(m):
                    s += jac[t, j] * r[t]
                g[j] = s
            dmax = 0.0
            gnorm = 0.0
            any_blocked = False
            for j in range(k):
                diag[j] = max(diag[j], a[j, j])
                dmax = max(dmax, diag[j])
                blocked[j] = (p[j] <= lo[j] and g[j] < 0) or (p[j] >= hi[j] and g[j] > 0)
                any_blocked = any_blocked or blocked[j]
                if not blocked[j]:
                    gnorm = max(gnorm, abs(g[j]) / math.sqrt(max(a[j, j], _TINY)))
            gnorm /= math.sqrt(max(sse, _TINY))
            if gnorm <= gtol or sse <= 1e-300:
                code = CONVERGED_GTOL
                break
            for j in range(k):
                for c in range(k):
                    mm[j, c] = a[j, c]
                mm[j, j] += lam * max(diag[j], 1e-12 * dmax + _TINY)
                gs[j] = g[j]
            if any_blocked:
                for j in range(k):
                    if blocked[j]:
                        for c in range(k):
                            mm[j, c] = 0.0
                            mm[c, j] = 0.0
                        mm[j, j] = 1.0
                        gs[j] = 0.0
            _solve(mm, gs, step, work)
            for j in range(k):
                p_n[j] = _clip(p[j] + step[j], lo[j], hi[j])
                step[j] = p_n[j] - p[j]
            s_new = _residuals(model, p_n, x[i], aux[i], y[i], sw[i], f_n, jac_n, r_n)
            pred = 0.0
            small_x = True
            for j in range(k):
                a_step = 0.0
                for c in range(k):
                    a_step += a[j, c] * step[c]
                pred += step[j] * (2.0 * g[j] - a_step)
                small_x = small_x and abs(step[j]) <= xtol * (abs(p[j]) + xtol)
            actual = sse - s_new
            ok = math.isfinite(s_new) and actual > 0 and pred > 0
            if ok:
                rho = actual / pred
                small_f = actual <= ftol * sse and pred <= ftol * sse
                p, p_n = p_n, p
                f, f_n = f_n, f
                r, r_n = r_n, r
                jac, jac_n = jac_n, jac
                sse = s_new
                lam *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
                nu = 2.0
                if small_f:
                    code = CONVERGED_FTOL
                    break
                if small_x:
                    code = CONVERGED_XTOL
                    break
            else:
                lam = min(lam * nu, 1e300)
                nu = min(nu * 2.0, 1e10)
                if lam > 1e16:
                    code = STALLED
                    break
        for j in range(k):
            out_p[i, j] = p[j]
        out_sse[i] = sse
        out_it[i] = it
        out_code[i] = code


# --- models of the curve registry, as callbacks (``oncoresist.curves._models``) ---


def _ll_family_py(p, x, aux, f, jac):  # pragma: no cover - compiled
    """Log-logistic ``bottom + (top - bottom) s``, ``s = 1 / (1 + exp(b (x - ln e)))``, with
    ``aux = (free flags of b, bottom, top, ln e; their fixed values)`` (ll4, ll3, ll2)."""
    # column of each of (b, bottom, top, ln e) in p, -1 when fixed (its value then from aux)
    jb = 0 if aux[0] > 0 else -1
    jc = jb + 1 if aux[1] > 0 else -1
    jd = max(jb, jc) + 1 if aux[2] > 0 else -1
    je = max(jb, jc, jd) + 1 if aux[3] > 0 else -1
    b = p[jb] if jb >= 0 else aux[4]
    c = p[jc] if jc >= 0 else aux[5]
    d = p[jd] if jd >= 0 else aux[6]
    e = p[je] if je >= 0 else aux[7]
    span = d - c
    for t in range(x.shape[0]):
        dx = x[t, 0] - e
        u = b * dx
        # slope 0 at a dose of 0 or inf (0 * inf): the sigmoid's midpoint, as in _models
        s = 0.5 if math.isnan(u) and math.isinf(dx) else 1.0 / (1.0 + math.exp(u))
        f[t] = c + span * s
        q2 = s - s * s
        qdx = 0.0 if q2 == 0.0 else q2 * dx
        if jb >= 0:
            jac[t, jb] = -span * qdx
        if jc >= 0:
            jac[t, jc] = 1.0 - s
        if jd >= 0:
            jac[t, jd] = s
        if je >= 0:
            jac[t, je] = span * b * q2


def _flat_py(p, x, aux, f, jac):  # pragma: no cover - compiled
    """The null model: a constant."""
    for t in range(x.shape[0]):
        f[t] = p[0]
        jac[t, 0] = 1.0


@cache
def _jit() -> Any:
    """numba's pieces, compiled on first use (numba is imported only here)."""
    import numba
    from numba import types

    arr1 = types.float64[::1]
    model_sig = types.void(arr1, types.float64[:, ::1], arr1, arr1, types.float64[:, ::1])
    fn_type = types.FunctionType(model_sig)
    jit = numba.njit(cache=True, nogil=True)
    # the driver's helpers, rebound to their compiled versions before the driver is compiled
    g = globals()
    for name in ("_solve", "_clip", "_residuals"):  # (py_func: safe when two threads race here)
        g[name] = jit(getattr(g[name], "py_func", g[name]))
    g["prange"] = numba.prange
    arr2, arr3 = types.float64[:, ::1], types.float64[:, :, ::1]
    driver_sig = types.void(
        fn_type, arr3, arr2, arr2, arr2, arr2, arr2, arr2, types.int64, types.float64,
        types.float64, types.float64, types.float64, arr2, arr1, types.int32[::1],
        types.int8[::1],
    )  # fmt: skip
    driver = numba.njit(driver_sig, parallel=True, cache=True, nogil=True)(_driver_py)
    return model_sig, driver


@cache
def compile_model(py_func: Callable) -> Any:
    """``py_func`` compiled (and cached on disk) with the one model signature of the driver."""
    import numba

    return numba.njit(_jit()[0], cache=True, nogil=True)(py_func)


def curve_kernel(model) -> tuple[Callable, np.ndarray]:
    """The callback and per-problem ``aux`` row of a curve model of ``_models.MODELS``."""
    if model.ll_free is not None:
        aux = np.concatenate([np.asarray(model.ll_free, float), np.asarray(model.ll_fixed)])
        return _ll_family_py, aux
    if model.name == "flat":
        return _flat_py, np.zeros(0)
    raise NotImplementedError(f"no compiled callback for curve model {model.name!r}")


def lm_compiled(
    model: Callable,
    x: np.ndarray,
    y: np.ndarray,
    sw: np.ndarray,
    p0: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    aux: np.ndarray | None = None,
    max_iter: int = 400,
    ftol: float = 1e-10,
    xtol: float = 1e-10,
    gtol: float = 1e-8,
    lam0: float = 1e-3,
) -> LMResult:
    """Compiled :func:`~oncoresist.curves._lm.levenberg_marquardt` with a callback ``model``.

    ``model`` is a numba-compilable Python function ``model(p, x, aux, f_out, jac_out)``
    (compiled once, :func:`compile_model`); ``x`` is ``(n, m)`` or ``(n, m, d)``, ``aux``
    ``(n, a)`` or ``(a,)`` (shared) or None. Problems run in parallel (numba threads); each is
    independent of the others, so results do not depend on the number of threads.
    """
    _, driver = _jit()
    n, k = p0.shape
    x3 = x[..., None] if x.ndim == 2 else x
    if aux is None:
        aux = np.zeros((n, 0))
    aux = np.tile(aux, (n, 1)) if aux.ndim == 1 else aux

    out = (np.empty((n, k)), np.empty(n), np.empty(n, np.int32), np.empty(n, np.int8))
    arrays = [np.require(a, float, ["C", "W"]) for a in (x3, y, sw, p0, lower, upper, aux)]
    driver(compile_model(model), *arrays, int(max_iter), ftol, xtol, gtol, lam0, *out)
    out_p, out_sse, out_it, out_code = out
    return LMResult(params=out_p, sse=out_sse, n_iter=out_it, code=out_code)
