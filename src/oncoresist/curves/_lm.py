"""Batched, box-bounded Levenberg–Marquardt for many small least-squares problems at once.

All curves of a chunk advance together: each has its own damping ``lam``, its own acceptance
test and its own convergence flag, and only the still-active curves are evaluated. The k x k
damped normal equations of all active curves are solved in one stacked ``np.linalg.solve``.
Box bounds are enforced by projecting each trial point onto the box; the gain ratio uses the
projected step, so a projected step is accepted only when it really lowers the sum of squares.

Damping follows Nielsen (1999) / Madsen, Nielsen & Tingleff (2004) "Methods for non-linear
least squares problems", with Marquardt's diagonal scaling kept as a running maximum (Moré 1978).

This is the package's one numpy reference. Its compiled twin, the same algorithm for any model
given as a numba callback, is :func:`oncoresist.curves._lm_kernel.lm_compiled` (used by MuSyC);
the log-logistic family also has variable projection (``_lm_numba.py``). The codes below are the
one vocabulary of every fit in the package; ``tests/test_lm_contract.py`` holds the engines to
each other on every model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["LMResult", "levenberg_marquardt"]

#: Codes of ``LMResult.code``.
CONVERGED_FTOL, CONVERGED_GTOL, CONVERGED_XTOL, STALLED, MAX_ITER, NONFINITE = 0, 1, 2, 3, 4, 5
CODE_TEXT = {
    CONVERGED_FTOL: "converged (relative reduction of the sum of squares below ftol)",
    CONVERGED_GTOL: "converged (projected gradient below gtol)",
    CONVERGED_XTOL: "converged (relative step below xtol)",
    STALLED: "converged (no further decrease possible: damping exhausted)",
    MAX_ITER: "did not converge within max_iter iterations",
    NONFINITE: "non-finite model values or Jacobian at the start",
}


@dataclass(frozen=True)
class LMResult:
    params: np.ndarray  # (n, k)
    sse: np.ndarray  # (n,)
    n_iter: np.ndarray  # (n,) trial steps used
    code: np.ndarray  # (n,) one of the codes above

    @property
    def converged(self) -> np.ndarray:
        return self.code <= STALLED


def _solve(m: np.ndarray, g: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(m, g[..., None])[..., 0]
    except np.linalg.LinAlgError:
        # a singular damped system happens only for degenerate curves; pinv is slow but safe
        return np.einsum("nkl,nl->nk", np.linalg.pinv(m), g)


def levenberg_marquardt(
    model,
    x: np.ndarray,
    y: np.ndarray,
    sw: np.ndarray,
    p0: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    max_iter: int = 400,
    ftol: float = 1e-10,
    xtol: float = 1e-10,
    gtol: float = 1e-8,
    lam0: float = 1e-3,
) -> LMResult:
    """Minimise ``sum_j (sw_ij (y_ij - f(x_i, p_i)_j))^2`` for every curve ``i`` at once.

    ``x`` must be finite (or +-inf where the model allows it) wherever ``sw > 0``; rows with
    ``sw == 0`` are ignored, so padded points carry ``sw = 0`` and ``y = 0``.
    """
    n, k = p0.shape
    p_out = np.clip(p0, lower, upper)
    f0 = model.f(x, p_out)
    r0 = np.where(sw > 0, sw * (y - f0), 0.0)
    sse_out = np.einsum("nm,nm->n", r0, r0)
    code = np.full(n, MAX_ITER, dtype=np.int8)
    n_iter = np.zeros(n, dtype=np.int32)
    bad = ~np.isfinite(sse_out)
    code[bad] = NONFINITE
    # working set: the still-active curves, compacted when enough of them have finished, so
    # that every iteration works on contiguous arrays instead of fancy-indexed copies
    w_idx = np.flatnonzero(~bad)
    xw, yw, sww = x[w_idx], y[w_idx], sw[w_idx]
    pw, rw, sw_sse = p_out[w_idx], r0[w_idx], sse_out[w_idx]
    low, upw = lower[w_idx], upper[w_idx]
    nw = w_idx.size
    lam, nu = np.full(nw, lam0), np.full(nw, 2.0)
    diag = np.zeros((nw, k))
    live = np.ones(nw, dtype=bool)
    iters = np.zeros(nw, dtype=np.int32)
    codes = np.full(nw, MAX_ITER, dtype=np.int8)
    eye = np.eye(k, dtype=bool)
    tiny = np.finfo(float).tiny

    def _flush(sel: np.ndarray) -> None:
        dest = w_idx[sel]
        p_out[dest] = pw[sel]
        sse_out[dest] = sw_sse[sel]
        code[dest] = codes[sel]
        n_iter[dest] = iters[sel]

    for _ in range(max_iter):
        if nw == 0:
            break
        jac = model.jac(xw, pw)
        jac *= sww[..., None]
        if not np.isfinite(jac).all():
            jac = np.where(np.isfinite(jac), jac, 0.0)
        jac_t = jac.transpose(0, 2, 1)
        a_mat = np.matmul(jac_t, jac)
        grad = np.matmul(jac_t, rw[..., None])[..., 0]
        a_diag = np.diagonal(a_mat, axis1=1, axis2=2)
        np.maximum(diag, a_diag, out=diag)
        # projected-gradient test (MINPACK-style cosine between residual and Jacobian columns)
        blocked = ((pw <= low) & (grad < 0)) | ((pw >= upw) & (grad > 0))
        pg = np.where(blocked, 0.0, grad)
        dd = np.sqrt(np.maximum(a_diag, tiny))
        gnorm = np.max(np.abs(pg) / dd, axis=1) / np.sqrt(np.maximum(sw_sse, tiny))
        done_g = live & ((gnorm <= gtol) | (sw_sse <= 1e-300))
        scale = np.maximum(diag, 1e-12 * np.max(diag, axis=1, keepdims=True) + tiny)
        m = a_mat.copy()
        m[:, eye] += lam[:, None] * scale
        # active set: a parameter on its bound with the gradient pushing outwards is held fixed
        # (its row and column removed), so the free parameters get a properly scaled step
        if blocked.any():
            keep = ~blocked
            m = m * (keep[:, :, None] & keep[:, None, :])
            m[:, eye] = np.where(blocked, 1.0, m[:, eye])
            grad_s = np.where(blocked, 0.0, grad)
        else:
            grad_s = grad
        step = _solve(m, grad_s)
        p_new = np.clip(pw + step, low, upw)
        step = p_new - pw
        r_new = sww * (yw - model.f(xw, p_new))
        if not np.isfinite(r_new).all() or nw != x.shape[0]:
            r_new = np.where(sww > 0, r_new, 0.0)
        s_new = np.einsum("nm,nm->n", r_new, r_new)
        a_step = np.matmul(a_mat, step[..., None])[..., 0]
        pred = np.einsum("nk,nk->n", step, 2.0 * grad - a_step)
        actual = sw_sse - s_new
        ok = live & ~done_g & np.isfinite(s_new) & (actual > 0) & (pred > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = np.where(ok, actual / pred, 0.0)
        iters += live
        small_f = ok & (actual <= ftol * sw_sse) & (pred <= ftol * sw_sse)
        small_x = ok & np.all(np.abs(step) <= xtol * (np.abs(pw) + xtol), axis=1)
        pw = np.where(ok[:, None], p_new, pw)
        rw = np.where(ok[:, None], r_new, rw)
        sw_sse = np.where(ok, s_new, sw_sse)
        with np.errstate(over="ignore"):
            lam = np.where(
                ok,
                lam * np.maximum(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3),
                np.minimum(lam * nu, 1e300),
            )
        nu = np.where(ok, 2.0, np.minimum(nu * 2.0, 1e10))
        stalled = live & ~ok & ~done_g & (lam > 1e16)
        codes[done_g] = CONVERGED_GTOL
        codes[small_f & ~done_g] = CONVERGED_FTOL
        codes[small_x & ~small_f & ~done_g] = CONVERGED_XTOL
        codes[stalled] = STALLED
        finished = done_g | small_f | small_x | stalled
        live &= ~finished
        n_live = int(live.sum())
        if n_live < 0.75 * nw or (n_live < nw and nw < 256):
            _flush(~live)
            keep = live
            w_idx = w_idx[keep]
            xw, yw, sww, pw, rw = xw[keep], yw[keep], sww[keep], pw[keep], rw[keep]
            sw_sse, low, upw, lam, nu = sw_sse[keep], low[keep], upw[keep], lam[keep], nu[keep]
            diag, iters, codes = diag[keep], iters[keep], codes[keep]
            live = np.ones(n_live, dtype=bool)
            nw = n_live
    if nw:
        _flush(np.ones(nw, dtype=bool))
    return LMResult(params=p_out, sse=sse_out, n_iter=n_iter, code=code)


# --- starting values: a coarse grid over (hill_slope, ln_ec50) with the linear part solved ---
#
# For fixed (slope b, ln EC50 e) the log-logistic model f = bottom (1 - s) + top s, with
# s = 1 / (1 + exp(b (x - e))), is linear in (bottom, top), so the best asymptotes for every grid
# point have a closed form (box bounds handled exactly: the minimum of a convex quadratic over a
# box is interior or on an edge). The grid point with the lowest SSE starts the iterations in the
# basin of the best local minimum; the compiled engine then runs variable projection from there
# (Golub & Pereyra 1973, Kaufman 1975), the numpy engine a full Levenberg–Marquardt.

#: Slope magnitudes of the start grid.
GRID_SLOPES = np.array([0.3, 0.7, 1.5, 3.0, 6.0, 20.0])
#: Number of ln EC50 values of the start grid, spread over the tested range widened by the pad.
GRID_N_EC50 = 10
GRID_EC50_PAD = 1.0


def grid_slopes(lower: np.ndarray, upper: np.ndarray, p0: np.ndarray, free: np.ndarray):
    """Per-curve candidate slopes ``(n, g)`` (NaN = unused) for the start grid.

    Both signs are tried unless the model is symmetric in the sign of the slope (ll4 with equal
    bounds on both asymptotes and a symmetric slope bound: ``(b, c, d)`` and ``(-b, d, c)`` are
    the same curve).
    """
    n = len(p0)
    if not free[0]:
        return p0[:, 0:1].copy()
    sym = (
        bool(free[1] and free[2])
        & (lower[:, 1] == lower[:, 2])
        & (upper[:, 1] == upper[:, 2])
        & (lower[:, 0] == -upper[:, 0])
    )
    sym = np.broadcast_to(sym, (n,))
    pos = np.clip(GRID_SLOPES[None, :], lower[:, 0:1], upper[:, 0:1])
    neg = np.clip(-GRID_SLOPES[None, :], lower[:, 0:1], upper[:, 0:1])
    use_pos = (upper[:, 0] > 0)[:, None]
    use_neg = ((lower[:, 0] < 0) & ~sym)[:, None]
    return np.concatenate([np.where(use_pos, pos, np.nan), np.where(use_neg, neg, np.nan)], 1)


def grid_ec50(x: np.ndarray, sw: np.ndarray, lower: np.ndarray, upper: np.ndarray, p0, free):
    """Per-curve candidate ln EC50 values ``(n, GRID_N_EC50)`` over the widened tested range."""
    if not free[3]:
        return p0[:, 3:4].copy()
    fin = (sw > 0) & np.isfinite(x)
    with np.errstate(invalid="ignore"):
        lo = np.where(fin, x, np.inf).min(axis=1)
        hi = np.where(fin, x, -np.inf).max(axis=1)
    ok = np.isfinite(lo)
    lo = np.where(ok, lo, 0.0) - GRID_EC50_PAD
    hi = np.where(ok, hi, 0.0) + GRID_EC50_PAD
    frac = np.arange(GRID_N_EC50) / (GRID_N_EC50 - 1.0)
    e = lo[:, None] + (hi - lo)[:, None] * frac[None, :]
    return np.clip(e, lower[:, 3:4], upper[:, 3:4])


def box_linear(sums, fc, fd, c_fix, d_fix, lc, hc, ld, hd):
    """Least-squares asymptotes ``(bottom, top, sse)`` for given sigmoid values, vectorised.

    ``sums = (Suu, Suv, Svv, Suy, Svy, Syy)`` are weighted sums with u = 1 - s, v = s; ``fc``,
    ``fd`` say whether bottom / top are free (else ``c_fix`` / ``d_fix``); ``lc..hd`` the box.
    The compiled engine implements the same rules (``_lm_numba._box_linear``).
    """
    suu, suv, svv, suy, svy, syy = sums
    tiny = 1e-300

    def quad(c, d):
        return syy - 2.0 * c * suy - 2.0 * d * svy + c * c * suu + 2.0 * c * d * suv + d * d * svv

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if fc and fd:
            det = suu * svv - suv * suv
            good = det > 1e-12 * suu * svv
            c_i = (svv * suy - suv * svy) / det
            d_i = (suu * svy - suv * suy) / det
            inside = good & (c_i >= lc) & (c_i <= hc) & (d_i >= ld) & (d_i <= hd)
            best_c = np.where(inside, c_i, np.nan)
            best_d = np.where(inside, d_i, np.nan)
            best_q = np.where(inside, quad(c_i, d_i), np.inf)
            for cb in (lc, hc):
                d = np.clip(np.where(svv > tiny, (svy - cb * suv) / svv, 0.0), ld, hd)
                q = np.where(np.isfinite(cb) & ~inside, quad(cb, d), np.inf)
                better = q < best_q
                best_c, best_d, best_q = (
                    np.where(better, cb, best_c), np.where(better, d, best_d),
                    np.where(better, q, best_q),
                )  # fmt: skip
            for db in (ld, hd):
                c = np.clip(np.where(suu > tiny, (suy - db * suv) / suu, 0.0), lc, hc)
                q = np.where(np.isfinite(db) & ~inside, quad(c, db), np.inf)
                better = q < best_q
                best_c, best_d, best_q = (
                    np.where(better, c, best_c), np.where(better, db, best_d),
                    np.where(better, q, best_q),
                )  # fmt: skip
            none = ~np.isfinite(best_q) & ~inside
            mean = (suy + svy) / (suu + 2.0 * suv + svv)
            c = np.where(none, mean, best_c)
            d = np.where(none, mean, best_d)
        elif fc:
            d = d_fix
            c = np.clip(np.where(suu > tiny, (suy - d * suv) / suu, c_fix), lc, hc)
        elif fd:
            c = c_fix
            d = np.clip(np.where(svv > tiny, (svy - c * suv) / svv, d_fix), ld, hd)
        else:
            c, d = c_fix, d_fix
        return c, d, quad(c, d)


def grid_start(x, y, sw, p0_full, lower_full, upper_full, free) -> np.ndarray:
    """Best start ``(n, 4)`` (hill_slope, bottom, top, ln_ec50) of the log-logistic start grid.

    ``x`` is ``(n, m)`` (finite or +-inf where ``sw > 0``), ``p0_full`` holds the fixed values
    of the parameters that are not ``free``.
    """
    n = len(x)
    w = sw * sw
    on = sw > 0
    yv = np.where(on, y, 0.0)
    syy = np.einsum("nm,nm->n", w, yv * yv)
    slopes = grid_slopes(lower_full, upper_full, p0_full, free)
    ecs = grid_ec50(x, sw, lower_full, upper_full, p0_full, free)
    fc, fd = bool(free[1]), bool(free[2])
    lc, hc, ld, hd = lower_full[:, 1], upper_full[:, 1], lower_full[:, 2], upper_full[:, 2]
    c_fix, d_fix = p0_full[:, 1], p0_full[:, 2]
    best = np.array(p0_full, dtype=float, copy=True)
    best_q = np.full(n, np.inf)
    xs = np.where(on, x, 0.0)
    for jb in range(slopes.shape[1]):
        b = slopes[:, jb]
        if np.isnan(b).all():
            continue
        with np.errstate(over="ignore", invalid="ignore"):
            eb = np.exp(np.clip(b[:, None] * xs, -700.0, 700.0))
        for je in range(ecs.shape[1]):
            e = ecs[:, je]
            with np.errstate(over="ignore", invalid="ignore"):
                k = np.exp(np.clip(-b * e, -700.0, 700.0))
                s = 1.0 / (1.0 + eb * k[:, None])
            u = 1.0 - s
            wu, wv = w * u, w * s
            sums = (
                np.einsum("nm,nm->n", wu, u), np.einsum("nm,nm->n", wu, s),
                np.einsum("nm,nm->n", wv, s), np.einsum("nm,nm->n", wu, yv),
                np.einsum("nm,nm->n", wv, yv), syy,
            )  # fmt: skip
            c, d, q = box_linear(sums, fc, fd, c_fix, d_fix, lc, hc, ld, hd)
            better = (q < best_q) & np.isfinite(b)
            best_q = np.where(better, q, best_q)
            best[:, 0] = np.where(better, b, best[:, 0])
            best[:, 1] = np.where(better, c, best[:, 1])
            best[:, 2] = np.where(better, d, best[:, 2])
            best[:, 3] = np.where(better, e, best[:, 3])
    return best
