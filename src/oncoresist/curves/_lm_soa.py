"""Structure-of-arrays twin of :func:`oncoresist.curves._lm_numba.lm_loglogistic`.

The same algorithm (replicates merged, two-level (b, e) start grid, variable-projection
Levenberg–Marquardt with the asymptotes solved in closed form, the same damping, box, stopping
rules and codes), laid out for SIMD: a block of curves is held point-major (``[point, curve]``)
and every pass over the points runs across the curves of the block in the innermost loop, which
LLVM vectorises (AVX2: 4 curves per instruction). The curves of a block advance in lockstep, one
trial step each per sweep; finished curves are written out and the block is compacted, so the
sweeps work on contiguous arrays of the still-active curves only.

What it changes for SIMD: an exponential written as plain arithmetic (:func:`_exp`, a
Cody–Waite reduction and a degree-13 polynomial, within 2 ulp of libm) that vectorises where
libm's ``exp`` is a scalar call; the start grid's ``exp(b (x - e))`` as ``exp(b x) exp(-b e)``;
the linear step vectorised with the scalar box rules only for curves whose asymptotes leave the
box; divisions without Python's zero check (``error_model="numpy"``). Floating point is
otherwise IEEE (``fastmath`` only for the exponential's FMA contraction), so every curve's
arithmetic is the same whatever its position in a block: results do not depend on the
blocking, the chunking or the number of threads, bit for bit. They differ from the scalar
kernel's by rounding (the exponential); the two reach the same minimum with the same iteration
counts (tests/test_curves_kernel_fast.py).

Why it is not the default (measured 2026-12-01, ``benchmarks/bench_curves.py``, 20,000 ll4
curves of 9 doses x 2, both kernels interleaved in one run): on this project's machine (AMD
EPYC Zen 1, 2 GHz, 2 shared cores) it runs at the scalar kernel's speed, 7.3-8.5 us of CPU per
curve against 7.3-8.3. Zen 1 executes each 256-bit AVX2 instruction as two 128-bit halves, so a
vector of doubles does the work of two scalar operations, and the point-major passes are
load/store-bound (14 accumulators per point go through L1). A core with full-width AVX2 or
AVX-512 should gain from it; that is not measured here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._lm_numba import (
    GRID_EC50_PAD_,
    GRID_FINE_E_,
    GRID_FINE_SLOPE_,
    GRID_N_EC50_,
    HAVE_NUMBA,
    PIN_FRAC_,
    PIN_FTOL_,
    PIN_WINDOW_,
    _blocked_gmax,
    _box_linear,
    _damped_step,
    _inverse_at_solution,
    _outer_add,
    _reduced_normal,
    njit,
)

__all__ = ["compiled_soa"]

_TINY = 2.2250738585072014e-308
#: Curves per block: the block's point-major arrays (about 10 of them, 9 doses) stay in L1/L2.
BLOCK = 128

if HAVE_NUMBA:
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic

    @intrinsic
    def _f2i(typingctx, v):  # pragma: no cover - compiled
        """The bits of a float64 as an int64 (a bitcast, which vectorises)."""
        if not isinstance(v, types.Float):
            return None

        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], ir.IntType(64))

        return types.int64(types.float64), codegen

    @intrinsic
    def _i2f(typingctx, v):  # pragma: no cover - compiled
        """An int64's bits as a float64 (a bitcast)."""
        if not isinstance(v, types.Integer):
            return None

        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], ir.DoubleType())

        return types.float64(types.int64), codegen

else:  # pragma: no cover - depends on the environment

    def _f2i(v):  # type: ignore[misc]
        return int(np.float64(v).view(np.int64))

    def _i2f(v):  # type: ignore[misc]
        return float(np.int64(v).view(np.float64))


_LOG2E = 1.4426950408889634
_LN2HI = 6.93147180369123816490e-01
_LN2LO = 1.90821492927058770002e-10
_SHIFT = 6755399441055744.0  # 1.5 * 2**52: adding it rounds to an integer held in the low bits
_C = tuple(1.0 / math.factorial(k) for k in range(14))


@njit(cache=True, inline="always", error_model="numpy", fastmath={"contract"})
def _exp(u):  # pragma: no cover - compiled
    """``exp(u)`` for ``|u| <= 700`` in plain arithmetic (vectorisable): ``u = n ln2 + r``
    (Cody–Waite, |r| <= ln2 / 2), the Taylor polynomial of degree 13 in r (truncation below
    1e-17) by Estrin's scheme (a short dependency chain), times ``2^n`` built in the exponent
    bits. Within 1 ulp of libm on [-700, 700] (tests/test_curves_kernel_fast.py)."""
    kd = u * _LOG2E + _SHIFT
    ki = _f2i(kd)
    kd -= _SHIFT
    r = (u - kd * _LN2HI) - kd * _LN2LO
    r2 = r * r
    r4 = r2 * r2
    r8 = r4 * r4
    p01 = _C[0] + r * _C[1]
    p23 = _C[2] + r * _C[3]
    p45 = _C[4] + r * _C[5]
    p67 = _C[6] + r * _C[7]
    p89 = _C[8] + r * _C[9]
    pab = _C[10] + r * _C[11]
    pcd = _C[12] + r * _C[13]
    q0 = p01 + r2 * p23
    q1 = p45 + r2 * p67
    q2 = p89 + r2 * pab
    lo = q0 + r4 * q1
    hi = q2 + r4 * pcd
    p = lo + r8 * hi
    return p * _i2f((ki + 1023) << 52)


@njit(cache=True, inline="always", error_model="numpy")
def _sigmoid(u):  # pragma: no cover - compiled
    """``1 / (1 + exp(u))``; 0.5 for NaN (slope 0 at a dose of 0), as the scalar kernel."""
    v = u if u < 700.0 else 700.0
    v = v if v > -700.0 else -700.0
    s = 1.0 / (1.0 + _exp(v))
    return 0.5 if u != u else s


@njit(cache=True, inline="always", error_model="numpy")
def _clipped_exp(u):  # pragma: no cover - compiled
    v = u if u < 700.0 else 700.0
    v = v if v > -700.0 else -700.0
    return _exp(v)


def _grid_pass(n, mmax, eb, ww, wy, kk, acc):  # pragma: no cover - compiled
    """Start-grid sums ``acc`` (5, n) for one grid point of every curve: the sigmoid is
    ``1 / (1 + exp(b x) exp(-b e))`` with ``eb = exp(b x)`` (points x curves), ``kk = exp(-b e)``."""
    for k in range(n):
        acc[0, k] = 0.0
        acc[1, k] = 0.0
        acc[2, k] = 0.0
        acc[3, k] = 0.0
        acc[4, k] = 0.0
    for t in range(mmax):
        for k in range(n):
            st = 1.0 / (1.0 + eb[t, k] * kk[k])
            ut = 1.0 - st
            w = ww[t, k]
            wyt = wy[t, k]
            acc[0, k] += w * ut * ut
            acc[1, k] += w * ut * st
            acc[2, k] += w * st * st
            acc[3, k] += wyt * ut
            acc[4, k] += wyt * st


def _linear_pass(n, acc, syy, fc, fd, cf, df, lc, hc, ld, hd, c, d, ac, ad, q):
    """The linear step of every curve (``_lm_numba._box_linear``) from the sums ``acc``: the
    interior solution (or the one-asymptote clip) in one vectorised sweep, the few curves whose
    unconstrained asymptotes leave the box then one by one; ``q`` the SSE of the sums."""
    for k in range(n):
        suu = acc[0, k]
        suv = acc[1, k]
        svv = acc[2, k]
        suy = acc[3, k]
        svy = acc[4, k]
        if fc and fd:
            det = suu * svv - suv * suv
            ck = (svv * suy - suv * svy) / det
            dk = (suu * svy - suv * suy) / det
            ins = (
                det > 1e-12 * suu * svv and lc[k] <= ck and ck <= hc[k] and ld[k] <= dk
                and dk <= hd[k]
            )  # fmt: skip
            ac[k] = ins
            ad[k] = ins
        elif fc:
            dk = df[k]
            ck = (suy - dk * suv) / suu if suu > 1e-300 else cf[k]
            ck = min(max(ck, lc[k]), hc[k])
            ac[k] = lc[k] < ck and ck < hc[k]
            ad[k] = False
        elif fd:
            ck = cf[k]
            dk = (svy - ck * suv) / svv if svv > 1e-300 else df[k]
            dk = min(max(dk, ld[k]), hd[k])
            ac[k] = False
            ad[k] = ld[k] < dk and dk < hd[k]
        else:
            ck = cf[k]
            dk = df[k]
            ac[k] = False
            ad[k] = False
        c[k] = ck
        d[k] = dk
        q[k] = (syy[k] - 2.0 * ck * suy - 2.0 * dk * svy + ck * ck * suu
                + 2.0 * ck * dk * suv + dk * dk * svv)  # fmt: skip
    if fc and fd:
        for k in range(n):
            if not ac[k]:
                ck, dk, ac[k], ad[k] = _box_linear(
                    acc[0, k], acc[1, k], acc[2, k], acc[3, k], acc[4, k], syy[k],
                    fc, fd, cf[k], df[k], lc[k], hc[k], ld[k], hd[k],
                )  # fmt: skip
                c[k] = ck
                d[k] = dk
                q[k] = (syy[k] - 2.0 * ck * acc[3, k] - 2.0 * dk * acc[4, k]
                        + ck * ck * acc[0, k] + 2.0 * ck * dk * acc[1, k]
                        + dk * dk * acc[2, k])  # fmt: skip


def _eval_pass(n, mmax, X, Y, W, bn, en, S2, acc):  # pragma: no cover - compiled
    """Sigmoid ``S2`` at (bn, en) and the weighted sums of the linear step, every curve."""
    for k in range(n):
        acc[0, k] = 0.0
        acc[1, k] = 0.0
        acc[2, k] = 0.0
        acc[3, k] = 0.0
        acc[4, k] = 0.0
    for t in range(mmax):
        for k in range(n):
            st = _sigmoid(bn[k] * (X[t, k] - en[k]))
            S2[t, k] = st
            sw = W[t, k]
            w = sw * sw
            ut = 1.0 - st
            yt = Y[t, k]
            acc[0, k] += w * ut * ut
            acc[1, k] += w * ut * st
            acc[2, k] += w * st * st
            acc[3, k] += w * ut * yt
            acc[4, k] += w * st * yt


def _resid_pass(n, mmax, X, Y, W, S2, bn, en, cn, dn, acn, adn, fb, fe, ssw, R2, s_new, A2):
    """Residuals ``R2`` and SSE ``s_new`` at the trial points, and there the J'WJ blocks and
    gradients (14 sums, ``A2``) that the next step needs if the trial is accepted."""
    for k in range(n):
        s_new[k] = ssw[k]
    for j in range(14):
        for k in range(n):
            A2[j, k] = 0.0
    for t in range(mmax):
        for k in range(n):
            sw = W[t, k]
            st = S2[t, k]
            span = dn[k] - cn[k]
            rt = sw * (Y[t, k] - (cn[k] + span * st))
            R2[t, k] = rt
            s_new[k] += rt * rt
            qq = st - st * st
            qdx = 0.0 if qq == 0.0 else qq * (X[t, k] - en[k])
            jb = -sw * span * qdx if fb else 0.0
            je_ = sw * span * qq * bn[k] if fe else 0.0
            jc = sw * (1.0 - st) if acn[k] else 0.0
            jd = sw * st if adn[k] else 0.0
            A2[0, k] += jb * jb
            A2[1, k] += jb * je_
            A2[2, k] += je_ * je_
            A2[3, k] += jb * jc
            A2[4, k] += jb * jd
            A2[5, k] += je_ * jc
            A2[6, k] += je_ * jd
            A2[7, k] += jc * jc
            A2[8, k] += jc * jd
            A2[9, k] += jd * jd
            A2[10, k] += jb * rt
            A2[11, k] += je_ * rt
            A2[12, k] += jc * rt
            A2[13, k] += jd * rt


def _finish_curve(k, mmax, X, W, S, b, c, d, e, free, am, inv_buf, piv_buf):  # pragma: no cover
    """``(J'WJ)^-1`` of the full 4-parameter problem at curve ``k``'s solution (unit rows for
    parameters that are not free), as the scalar kernel."""
    for j in range(4):
        for k2 in range(4):
            am[j, k2] = 0.0
    span = d - c
    for t in range(mmax):
        sw = W[t, k]
        if sw > 0:
            st = S[t, k]
            qq = st - st * st
            qdx = 0.0 if qq == 0.0 else qq * (X[t, k] - e)
            jv = (-sw * span * qdx, sw * (1.0 - st), sw * st, sw * span * qq * b)
            _outer_add(am, jv)
    _inverse_at_solution(am, free, inv_buf, piv_buf)


def _kernel_soa(
    x, y, sw, p0, lower, upper, free, use_grid, slopes_mag, max_iter, ftol, xtol, gtol, block,
    out_p, out_sse, out_it, out_code, out_inv, start, stop,
):  # fmt: skip  # pragma: no cover - compiled
    m_all = x.shape[1]
    fb, fc, fd, fe = free[0], free[1], free[2], free[3]
    ng = slopes_mag.shape[0]
    nbk = block
    mb = max(m_all, 1)
    # point-major arrays of a block: merged doses, responses, sqrt weights, sigmoid, residuals
    X = np.zeros((mb, nbk))
    Y = np.zeros((mb, nbk))
    W = np.zeros((mb, nbk))
    S = np.zeros((mb, nbk))
    R = np.zeros((mb, nbk))
    S2 = np.zeros((mb, nbk))
    R2 = np.zeros((mb, nbk))
    WW = np.zeros((mb, nbk))
    WY = np.zeros((mb, nbk))
    EB = np.zeros((mb, nbk))
    acc = np.zeros((5, nbk))
    A = np.zeros((14, nbk))
    A2 = np.zeros((14, nbk))
    pred_a = np.zeros(nbk)
    # per-curve state (index: slot of the block)
    cur = np.zeros(nbk, dtype=np.int64)
    ssw = np.zeros(nbk)
    syy = np.zeros(nbk)
    lb = np.zeros(nbk)
    hb = np.zeros(nbk)
    lc = np.zeros(nbk)
    hc = np.zeros(nbk)
    ld = np.zeros(nbk)
    hd = np.zeros(nbk)
    le = np.zeros(nbk)
    he = np.zeros(nbk)
    cf = np.zeros(nbk)
    df = np.zeros(nbk)
    b = np.zeros(nbk)
    e = np.zeros(nbk)
    c = np.zeros(nbk)
    d = np.zeros(nbk)
    ac = np.zeros(nbk, dtype=np.bool_)
    ad = np.zeros(nbk, dtype=np.bool_)
    sse = np.zeros(nbk)
    lam = np.zeros(nbk)
    nu = np.zeros(nbk)
    it = np.zeros(nbk, dtype=np.int64)
    code = np.zeros(nbk, dtype=np.int64)
    n_acc = np.zeros(nbk, dtype=np.int64)
    sse_ref = np.zeros(nbk)
    b_ref = np.zeros(nbk)
    bn = np.zeros(nbk)
    en = np.zeros(nbk)
    cn = np.zeros(nbk)
    dn = np.zeros(nbk)
    acn = np.zeros(nbk, dtype=np.bool_)
    adn = np.zeros(nbk, dtype=np.bool_)
    s_new = np.zeros(nbk)
    okk = np.zeros(nbk, dtype=np.bool_)
    done = np.zeros(nbk, dtype=np.bool_)
    # start grid
    xlo = np.zeros(nbk)
    xhi = np.zeros(nbk)
    h_e = np.zeros(nbk)
    sym = np.zeros(nbk, dtype=np.bool_)
    bq = np.zeros(nbk)
    bb = np.zeros(nbk)
    be = np.zeros(nbk)
    bs = np.zeros(nbk)
    es = np.zeros(nbk)
    kk = np.zeros(nbk)
    K0 = np.zeros(nbk)
    RR = np.zeros(nbk)
    x_fin = np.zeros(nbk, dtype=np.bool_)
    qg = np.zeros(nbk)
    valid = np.zeros(nbk, dtype=np.bool_)
    cb = np.zeros(nbk)
    ce = np.zeros(nbk)
    grp = np.zeros(mb, dtype=np.int64)
    am = np.zeros((4, 4))
    inv_buf = np.zeros((4, 4))
    piv_buf = np.zeros((4, 4))
    n_e = GRID_N_EC50_ if fe else 1
    n_sl = 2 * ng if fb else 1
    n_f = GRID_FINE_E_.shape[0] if fe else 1
    for blk in range(start, stop, nbk):
        n = min(nbk, stop - blk)
        mmax = 0
        # --- replicates merged (weighted means, summed weights; within-dose SS kept) ---
        for k in range(n):
            i = blk + k
            m = 0
            for t in range(m_all):
                grp[t] = -1
                if sw[i, t] > 0:
                    wt = sw[i, t] * sw[i, t]
                    q = 0
                    while q < m and X[q, k] != x[i, t]:
                        q += 1
                    if q == m:
                        X[m, k] = x[i, t]
                        W[m, k] = 0.0
                        Y[m, k] = 0.0
                        m += 1
                    W[q, k] += wt
                    Y[q, k] += wt * y[i, t]
                    grp[t] = q
            for q in range(m):
                Y[q, k] /= W[q, k]
            s_w = 0.0
            for t in range(m_all):
                if grp[t] >= 0:
                    dv = y[i, t] - Y[grp[t], k]
                    s_w += sw[i, t] * sw[i, t] * dv * dv
            ssw[k] = s_w
            lo_x = math.inf
            hi_x = -math.inf
            s_yy = 0.0
            all_fin = True
            for q in range(m):
                W[q, k] = math.sqrt(W[q, k])
                wq = W[q, k]
                WW[q, k] = wq * wq
                WY[q, k] = wq * wq * Y[q, k]
                s_yy += wq * wq * Y[q, k] * Y[q, k]
                if math.isfinite(X[q, k]):
                    lo_x = min(lo_x, X[q, k])
                    hi_x = max(hi_x, X[q, k])
                else:
                    all_fin = False
            x_fin[k] = all_fin
            for q in range(m, mb):
                X[q, k] = 0.0
                Y[q, k] = 0.0
                W[q, k] = 0.0
                WW[q, k] = 0.0
                WY[q, k] = 0.0
            syy[k] = s_yy
            if not math.isfinite(lo_x):
                lo_x = 0.0
                hi_x = 0.0
            xlo[k] = lo_x - GRID_EC50_PAD_
            xhi[k] = hi_x + GRID_EC50_PAD_
            h_e[k] = (xhi[k] - xlo[k]) / (GRID_N_EC50_ - 1.0)
            mmax = max(mmax, m)
            cur[k] = i
            lb[k], hb[k] = lower[i, 0], upper[i, 0]
            lc[k], hc[k] = lower[i, 1], upper[i, 1]
            ld[k], hd[k] = lower[i, 2], upper[i, 2]
            le[k], he[k] = lower[i, 3], upper[i, 3]
            cf[k], df[k] = p0[i, 1], p0[i, 2]
            b[k] = min(max(p0[i, 0], lb[k]), hb[k]) if fb else p0[i, 0]
            e[k] = min(max(p0[i, 3], le[k]), he[k]) if fe else p0[i, 3]
            sym[k] = fc and fd and lc[k] == ld[k] and hc[k] == hd[k] and lb[k] == -hb[k]
        if use_grid:
            # --- coarse grid: slopes outer (exp(b x) once per slope), ln EC50 inner ---
            for k in range(n):
                bq[k] = math.inf
                bb[k] = b[k]
                be[k] = e[k]
            blk_fast = True
            for k in range(n):
                blk_fast = blk_fast and x_fin[k] and max(abs(xlo[k]), abs(xhi[k])) < 50.0
                for je in range(n_e):
                    v = xlo[k] + h_e[k] * je
                    blk_fast = blk_fast and min(max(v, le[k]), he[k]) == v
            prev = -2
            for js in range(n_sl):
                any_valid = False
                for k in range(n):
                    if fb:
                        if js < ng:
                            valid[k] = hb[k] > 0
                            bs[k] = min(max(slopes_mag[js], lb[k]), hb[k])
                        else:
                            valid[k] = lb[k] < 0 and not sym[k]
                            bs[k] = min(max(-slopes_mag[js - ng], lb[k]), hb[k])
                    else:
                        valid[k] = True
                        bs[k] = b[k]
                    any_valid = any_valid or valid[k]
                if not any_valid:
                    continue
                # fast path (as the scalar kernel's): the coarse slopes grow by a factor 3, so
                # exp(3 b x) = exp(b x)^3, and equally spaced ln EC50 values give
                # exp(-b e_j) = exp(-b e_0) exp(-b h)^j; only for a block where no exponent
                # can reach the +-700 clamp and no slope or ln EC50 is clamped
                fast = fb and fe and js < ng and blk_fast
                for k in range(n):
                    fast = fast and bs[k] == slopes_mag[js]
                if fast and prev == js - 1:
                    for t in range(mmax):
                        for k in range(n):
                            v = EB[t, k]
                            EB[t, k] = v * v * v
                    for k in range(n):
                        v = K0[k]
                        K0[k] = v * v * v
                        v = RR[k]
                        RR[k] = v * v * v
                else:
                    for t in range(mmax):
                        for k in range(n):
                            EB[t, k] = _clipped_exp(bs[k] * X[t, k])
                    for k in range(n):
                        K0[k] = _clipped_exp(-bs[k] * xlo[k])
                        RR[k] = _clipped_exp(-bs[k] * h_e[k])
                prev = js if fast else -2
                for k in range(n):
                    kk[k] = K0[k]
                for je in range(n_e):
                    for k in range(n):
                        es[k] = min(max(xlo[k] + h_e[k] * je, le[k]), he[k]) if fe else e[k]
                        if fast:
                            if je > 0:
                                kk[k] *= RR[k]
                        else:
                            kk[k] = _clipped_exp(-bs[k] * es[k])
                    _grid_pass(n, mmax, EB, WW, WY, kk, acc)
                    _linear_pass(n, acc, syy, fc, fd, cf, df, lc, hc, ld, hd, cn, dn, acn, adn, qg)
                    for k in range(n):
                        if valid[k] and qg[k] < bq[k]:
                            bq[k] = qg[k]
                            bb[k] = bs[k]
                            be[k] = es[k]
            # --- fine grid around each curve's best coarse point ---
            if fb or fe:
                for k in range(n):
                    cb[k] = bb[k]
                    ce[k] = be[k]
                for js in range(3 if fb else 1):
                    any_valid = False
                    for k in range(n):
                        if fb:
                            v = cb[k] * GRID_FINE_SLOPE_[js]
                            v = min(max(v, -slopes_mag[ng - 1]), slopes_mag[ng - 1])
                            v = min(max(v, lb[k]), hb[k])
                            bs[k] = v
                            valid[k] = math.isfinite(bq[k]) and (js == 1 or v != cb[k])
                        else:
                            bs[k] = cb[k]
                            valid[k] = math.isfinite(bq[k])
                        any_valid = any_valid or valid[k]
                    if not any_valid:
                        continue
                    for t in range(mmax):
                        for k in range(n):
                            EB[t, k] = _clipped_exp(bs[k] * X[t, k])
                    for je in range(n_f):
                        for k in range(n):
                            v = ce[k] + h_e[k] * GRID_FINE_E_[je] if fe else ce[k]
                            es[k] = min(max(v, le[k]), he[k]) if fe else v
                            kk[k] = _clipped_exp(-bs[k] * es[k])
                        _grid_pass(n, mmax, EB, WW, WY, kk, acc)
                        _linear_pass(
                            n, acc, syy, fc, fd, cf, df, lc, hc, ld, hd, cn, dn, acn, adn, qg
                        )
                        for k in range(n):
                            if (
                                valid[k]
                                and not (bs[k] == cb[k] and es[k] == ce[k])
                                and qg[k] < bq[k]
                            ):
                                bq[k] = qg[k]
                                bb[k] = bs[k]
                                be[k] = es[k]
            for k in range(n):
                b[k] = bb[k]
                e[k] = be[k]
        # --- the start: linear step and SSE at (b, e) ---
        _eval_pass(n, mmax, X, Y, W, b, e, S, acc)
        _linear_pass(n, acc, syy, fc, fd, cf, df, lc, hc, ld, hd, c, d, ac, ad, qg)
        _resid_pass(n, mmax, X, Y, W, S, b, e, c, d, ac, ad, fb, fe, ssw, R, sse, A)
        for k in range(n):
            it[k] = 0
            code[k] = 4 if math.isfinite(sse[k]) else 5
            lam[k] = 1e-3
            nu[k] = 2.0
            n_acc[k] = 0
            sse_ref[k] = sse[k]
            b_ref[k] = b[k]
            done[k] = code[k] != 4 or max_iter <= 0
        # --- lockstep sweeps: one trial step per active curve ---
        while True:
            # finished curves out, the rest compacted to the front
            n_keep = 0
            for k in range(n):
                if done[k]:
                    _finish_curve(k, mmax, X, W, S, b[k], c[k], d[k], e[k], free, am,
                                  inv_buf, piv_buf)  # fmt: skip
                    i = cur[k]
                    out_inv[i] = am
                    out_p[i, 0] = b[k]
                    out_p[i, 1] = c[k]
                    out_p[i, 2] = d[k]
                    out_p[i, 3] = e[k]
                    out_sse[i] = sse[k]
                    out_it[i] = it[k]
                    out_code[i] = code[k]
                else:
                    if n_keep != k:
                        for t in range(mmax):
                            X[t, n_keep] = X[t, k]
                            Y[t, n_keep] = Y[t, k]
                            W[t, n_keep] = W[t, k]
                            S[t, n_keep] = S[t, k]
                            R[t, n_keep] = R[t, k]
                        for j in range(14):
                            A[j, n_keep] = A[j, k]
                        cur[n_keep] = cur[k]
                        ssw[n_keep] = ssw[k]
                        syy[n_keep] = syy[k]
                        lb[n_keep], hb[n_keep] = lb[k], hb[k]
                        lc[n_keep], hc[n_keep] = lc[k], hc[k]
                        ld[n_keep], hd[n_keep] = ld[k], hd[k]
                        le[n_keep], he[n_keep] = le[k], he[k]
                        cf[n_keep], df[n_keep] = cf[k], df[k]
                        b[n_keep], e[n_keep], c[n_keep], d[n_keep] = b[k], e[k], c[k], d[k]
                        ac[n_keep], ad[n_keep] = ac[k], ad[k]
                        sse[n_keep], lam[n_keep], nu[n_keep] = sse[k], lam[k], nu[k]
                        it[n_keep], code[n_keep], n_acc[n_keep] = it[k], code[k], n_acc[k]
                        sse_ref[n_keep], b_ref[n_keep] = sse_ref[k], b_ref[k]
                        done[n_keep] = False
                    n_keep += 1
            n = n_keep
            if n == 0:
                break
            for k in range(n):
                a_bb, a_be, a_ee = A[0, k], A[1, k], A[2, k]
                a_bc, a_bd, a_ec, a_ed = A[3, k], A[4, k], A[5, k], A[6, k]
                a_cc, a_cd, a_dd = A[7, k], A[8, k], A[9, k]
                g_b, g_e, g_c, g_d = A[10, k], A[11, k], A[12, k], A[13, k]
                r_bb, r_be, r_ee, gb, ge = _reduced_normal(
                    a_bb, a_be, a_ee, a_bc, a_bd, a_ec, a_ed, a_cc, a_cd, a_dd, g_b, g_e, g_c, g_d,
                    ac[k], ad[k], fb, fe,
                )  # fmt: skip
                bk, ek = b[k], e[k]
                blk_b, blk_e, gmax = _blocked_gmax(
                    bk, ek, lb[k], hb[k], le[k], he[k], gb, ge, r_bb, r_ee, fb, fe
                )
                sk = sse[k]
                if sk <= 1e-300 or gmax / math.sqrt(max(sk, _TINY)) <= gtol or not (fb or fe):
                    code[k] = 1
                    done[k] = True
                    okk[k] = False
                    bn[k] = bk
                    en[k] = ek
                    continue
                it[k] += 1
                sb, se = _damped_step(
                    r_bb, r_be, r_ee, gb, ge, lam[k], r_bb, r_ee, blk_b, blk_e, fb, fe
                )
                bnk = min(max(bk + sb, lb[k]), hb[k]) if fb else bk
                enk = min(max(ek + se, le[k]), he[k]) if fe else ek
                sb = bnk - bk
                se = enk - ek
                bn[k] = bnk
                en[k] = enk
                pred_a[k] = sb * (2.0 * gb - (r_bb * sb + r_be * se)) + se * (
                    2.0 * ge - (r_be * sb + r_ee * se)
                )
                okk[k] = abs(sb) <= xtol * (abs(bk) + xtol) and abs(se) <= xtol * (abs(ek) + xtol)
            _eval_pass(n, mmax, X, Y, W, bn, en, S2, acc)
            _linear_pass(n, acc, syy, fc, fd, cf, df, lc, hc, ld, hd, cn, dn, acn, adn, qg)
            _resid_pass(n, mmax, X, Y, W, S2, bn, en, cn, dn, acn, adn, fb, fe, ssw, R2, s_new, A2)
            any_acc = False
            for k in range(n):
                if done[k]:
                    okk[k] = False
                    continue
                pred = pred_a[k]
                small_x = okk[k]
                sk = sse[k]
                sn = s_new[k]
                actual = sk - sn
                accepted = math.isfinite(sn) and actual > 0 and pred > 0
                okk[k] = accepted
                if accepted:
                    any_acc = True
                    rho = actual / pred
                    lam[k] *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
                    nu[k] = 2.0
                    conv_f = actual <= ftol * sk and pred <= ftol * sk
                    b[k], e[k], c[k], d[k] = bn[k], en[k], cn[k], dn[k]
                    ac[k], ad[k] = acn[k], adn[k]
                    sse[k] = sn
                    if conv_f:
                        code[k] = 0
                    elif small_x:
                        code[k] = 2
                    n_acc[k] += 1
                    if code[k] == 4 and n_acc[k] % PIN_WINDOW_ == 0:
                        bk = b[k]
                        pinned = fb and (
                            (hb[k] > 0 and bk >= PIN_FRAC_ * hb[k] and bk > b_ref[k])
                            or (lb[k] < 0 and bk <= PIN_FRAC_ * lb[k] and bk < b_ref[k])
                        )
                        if pinned and sse_ref[k] - sn <= PIN_FTOL_ * sn:
                            code[k] = 0
                        sse_ref[k] = sn
                        b_ref[k] = bk
                else:
                    if small_x and math.isfinite(sn) and abs(actual) <= ftol * sk:
                        code[k] = 2
                    else:
                        lam[k] = min(lam[k] * nu[k], 1e300)
                        nu[k] = min(nu[k] * 2.0, 1e10)
                        if lam[k] > 1e16:
                            code[k] = 3
                done[k] = code[k] != 4 or it[k] >= max_iter
            if any_acc:
                for t in range(mmax):
                    for k in range(n):
                        if okk[k]:
                            S[t, k] = S2[t, k]
                            R[t, k] = R2[t, k]
                for j in range(14):
                    for k in range(n):
                        if okk[k]:
                            A[j, k] = A2[j, k]


_compiled: Any = None
if HAVE_NUMBA:
    _jit = njit(cache=True, nogil=True, error_model="numpy")
    _grid_pass = _jit(_grid_pass)
    _eval_pass = _jit(_eval_pass)
    _resid_pass = _jit(_resid_pass)
    _linear_pass = _jit(_linear_pass)
    _finish_curve = _jit(_finish_curve)
    _compiled = _jit(_kernel_soa)


def compiled_soa() -> Any:
    """The compiled kernel (run through :func:`oncoresist.curves._lm_numba.lm_loglogistic` with
    ``layout="soa"``)."""
    return _compiled
