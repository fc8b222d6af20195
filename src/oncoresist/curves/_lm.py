"""Batched, box-bounded Levenberg–Marquardt for many small least-squares problems at once.

All curves of a chunk advance together: each has its own damping ``lam``, its own acceptance
test and its own convergence flag, and only the still-active curves are evaluated. The k x k
damped normal equations of all active curves are solved in one stacked ``np.linalg.solve``.
Box bounds are enforced by projecting each trial point onto the box; the gain ratio uses the
projected step, so a projected step is accepted only when it really lowers the sum of squares.

Damping follows Nielsen (1999) / Madsen, Nielsen & Tingleff (2004) "Methods for non-linear
least squares problems", with Marquardt's diagonal scaling kept as a running maximum (Moré 1978).
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
