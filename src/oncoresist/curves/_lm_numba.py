"""Compiled (numba) variable-projection Levenberg–Marquardt for the log-logistic family.

For fixed (hill_slope b, ln EC50 e) the model ``f = bottom (1 - s) + top s`` with
``s = 1 / (1 + exp(b (x - e)))`` is linear in the asymptotes, so they are eliminated in closed
form (box bounds handled exactly, :func:`oncoresist.curves._lm.box_linear`) and only the
nonlinear (b, e) are iterated: variable projection (Golub & Pereyra 1973) with Kaufman's (1975)
Jacobian, i.e. the Gauss–Newton matrix of (b, e) is the Schur complement of the asymptote block
in the full J'WJ. Damping, scaling, projection onto the box and stopping rules are those of
:func:`oncoresist.curves._lm.levenberg_marquardt` (Nielsen 1999; Moré 1978). Iterations start
at the best point of a two-level (b, e) grid (a coarse grid as in
:func:`oncoresist.curves._lm.grid_start`, then a local fine grid around its best point), which
puts them in the basin of the best local minimum; far fewer iterations are needed than for the
full four-parameter problem. Replicates of a dose are merged first (weighted mean, summed
weight; the within-dose sum of squares is added to the SSE, an exact decomposition), so a
duplicate design costs half. A slope creeping towards its bound with a negligible SSE decrease
over several steps (a step-function fit) is stopped early (``PIN_*``).

One curve per loop iteration; blocks of curves run on threads (the kernel releases the GIL).
Every curve's arithmetic is independent of the others and of the blocking, so results are
bitwise identical for any ``n_threads``.
numba is optional; without it the numpy engine (grid start + full LM) is used.

Why it is kept (measured 2026-12-01, CPU time on 2 shared cores, ``fit_curves`` end to end):
ZIP's row/column fits (4 points, zero-dose asymptote held) 8.9 us per curve vs 73 us with the
numpy engine; single-agent curves of 5 x 5 blocks (5 doses x 3 replicates) 8.4 vs 58 us. A
parameter held for every curve (ZIP's asymptote) leaves the linear step (``free``); a
per-curve held one (equal bounds) is exact through the box-constrained linear step.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ._lm import GRID_EC50_PAD

try:  # numba is optional: without it the numpy engine is used
    from numba import njit

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_NUMBA = False

    def njit(*args: Any, **kwargs: Any) -> Any:  # type: ignore[no-redef]
        return lambda f: f


__all__ = ["HAVE_NUMBA", "lm_loglogistic"]

_TINY = 2.2250738585072014e-308


@njit(cache=True)
def _box_linear(suu, suv, svv, suy, svy, syy, fc, fd, cf, df, lc, hc, ld, hd):
    """Scalar twin of ``_lm.box_linear``: (bottom, top, bottom_free_inside, top_free_inside)."""
    tiny = 1e-300
    if fc and fd:
        det = suu * svv - suv * suv
        if det > 1e-12 * suu * svv:
            c = (svv * suy - suv * svy) / det
            d = (suu * svy - suv * suy) / det
            if lc <= c <= hc and ld <= d <= hd:
                return c, d, True, True
        bq = math.inf
        bc = math.nan
        bd = math.nan
        for k in range(4):
            if k < 2:
                cb = lc if k == 0 else hc
                if not math.isfinite(cb):
                    continue
                d = (svy - cb * suv) / svv if svv > tiny else 0.0
                d = min(max(d, ld), hd)
                c = cb
            else:
                db = ld if k == 2 else hd
                if not math.isfinite(db):
                    continue
                c = (suy - db * suv) / suu if suu > tiny else 0.0
                c = min(max(c, lc), hc)
                d = db
            q = syy - 2.0 * c * suy - 2.0 * d * svy + c * c * suu + 2.0 * c * d * suv + d * d * svv
            if q < bq:
                bq = q
                bc = c
                bd = d
        if bq == math.inf:
            mean = (suy + svy) / (suu + 2.0 * suv + svv)
            return mean, mean, False, False
        return bc, bd, lc < bc < hc, ld < bd < hd
    if fc:
        c = (suy - df * suv) / suu if suu > tiny else cf
        c = min(max(c, lc), hc)
        return c, df, lc < c < hc, False
    if fd:
        d = (svy - cf * suv) / svv if svv > tiny else df
        d = min(max(d, ld), hd)
        return cf, d, False, ld < d < hd
    return cf, df, False, False


@njit(cache=True)
def _evaluate(xi, yi, swi, b, e, fc, fd, cf, df, lc, hc, ld, hd, s, r, ssw):
    """Sigmoid ``s``, best asymptotes, residuals ``r`` and SSE (plus ``ssw``) at (b, e)."""
    suu = suv = svv = suy = svy = syy = 0.0
    for t in range(xi.shape[0]):
        if swi[t] > 0:
            u = b * (xi[t] - e)
            st = 1.0 / (1.0 + math.exp(min(u, 700.0))) if not math.isnan(u) else 0.5
            s[t] = st
            w = swi[t] * swi[t]
            ut = 1.0 - st
            suu += w * ut * ut
            suv += w * ut * st
            svv += w * st * st
            suy += w * ut * yi[t]
            svy += w * st * yi[t]
            syy += w * yi[t] * yi[t]
    c, d, ac, ad = _box_linear(suu, suv, svv, suy, svy, syy, fc, fd, cf, df, lc, hc, ld, hd)
    sse = ssw
    for t in range(xi.shape[0]):
        if swi[t] > 0:
            rt = swi[t] * (yi[t] - (c + (d - c) * s[t]))
            r[t] = rt
            sse += rt * rt
        else:
            r[t] = 0.0
    return c, d, ac, ad, sse


@njit(cache=True, fastmath={"reassoc", "contract"})
def _grid_row(eb, wy, kk, n_e, acc):
    """Weighted sums ``acc`` (5, n_e) of the start grid for one slope and ``n_e`` ln EC50 values
    (``kk = exp(-b e)``); grid values outer, points inner with register accumulators."""
    n_t = eb.shape[0]
    for j in range(n_e):
        kj = kk[j]
        a0 = a1 = a2 = a3 = a4 = 0.0
        for t in range(n_t):
            st = 1.0 / (1.0 + eb[t] * kj)
            ut = 1.0 - st
            w = wy[0, t]
            wyt = w * wy[1, t]
            a0 += w * ut * ut
            a1 += w * ut * st
            a2 += w * st * st
            a3 += wyt * ut
            a4 += wyt * st
        acc[0, j] = a0
        acc[1, j] = a1
        acc[2, j] = a2
        acc[3, j] = a3
        acc[4, j] = a4


@njit(cache=True)
def _reduced_normal(
    a_bb, a_be, a_ee, a_bc, a_bd, a_ec, a_ed, a_cc, a_cd, a_dd, g_b, g_e, g_c, g_d, ac, ad, fb, fe
):  # fmt: skip
    """Normal equations ``(r_bb, r_be, r_ee, gb, ge)`` of (b, e) from the J'WJ blocks and
    gradients: the Schur complement of the (free, inside) asymptote block (Kaufman's VarPro
    Jacobian); unit rows for a slope or ln EC50 that is not free."""
    if ac and ad:
        det = a_cc * a_dd - a_cd * a_cd
        if det > 0:
            i_cc, i_cd, i_dd = a_dd / det, -a_cd / det, a_cc / det
        else:
            i_cc = i_cd = i_dd = 0.0
    elif ac:
        i_cc, i_cd, i_dd = (1.0 / a_cc if a_cc > 0 else 0.0), 0.0, 0.0
    elif ad:
        i_cc, i_cd, i_dd = 0.0, 0.0, (1.0 / a_dd if a_dd > 0 else 0.0)
    else:
        i_cc = i_cd = i_dd = 0.0
    # t_x = A_xl A_ll^-1 for x in (b, e)
    tb_c = a_bc * i_cc + a_bd * i_cd
    tb_d = a_bc * i_cd + a_bd * i_dd
    te_c = a_ec * i_cc + a_ed * i_cd
    te_d = a_ec * i_cd + a_ed * i_dd
    r_bb = a_bb - (tb_c * a_bc + tb_d * a_bd)
    r_be = a_be - (tb_c * a_ec + tb_d * a_ed)
    r_ee = a_ee - (te_c * a_ec + te_d * a_ed)
    gb = g_b - (tb_c * g_c + tb_d * g_d)
    ge = g_e - (te_c * g_c + te_d * g_d)
    if not fb:
        r_bb, r_be, gb = 1.0, 0.0, 0.0
    if not fe:
        r_ee, r_be, ge = 1.0, 0.0, 0.0
    return max(r_bb, 0.0), r_be, max(r_ee, 0.0), gb, ge


@njit(cache=True)
def _blocked_gmax(b, e, lb, hb, le, he, gb, ge, r_bb, r_ee, fb, fe):
    """Which of (b, e) sit on a bound with the gradient pushing outwards (held for the step),
    and the scaled projected gradient of the others (the gtol test)."""
    blk_b = fb and ((b <= lb and gb < 0) or (b >= hb and gb > 0))
    blk_e = fe and ((e <= le and ge < 0) or (e >= he and ge > 0))
    gmax = 0.0
    if fb and not blk_b:
        gmax = max(gmax, abs(gb) / math.sqrt(max(r_bb, _TINY)))
    if fe and not blk_e:
        gmax = max(gmax, abs(ge) / math.sqrt(max(r_ee, _TINY)))
    return blk_b, blk_e, gmax


@njit(cache=True)
def _damped_step(r_bb, r_be, r_ee, gb, ge, lam, diag0, diag1, blk_b, blk_e, fb, fe):
    """The damped (Marquardt-scaled) 2 x 2 step ``(sb, se)``; a held parameter does not move."""
    dmax = max(diag0, diag1)
    m00 = r_bb + lam * max(diag0, 1e-12 * dmax + _TINY)
    m11 = r_ee + lam * max(diag1, 1e-12 * dmax + _TINY)
    m01 = r_be
    sb = 0.0
    se = 0.0
    if (blk_b or not fb) and not (blk_e or not fe):
        se = ge / m11
    elif (blk_e or not fe) and not (blk_b or not fb):
        sb = gb / m00
    elif not (blk_b or blk_e):
        dt = m00 * m11 - m01 * m01
        if dt > 0 and math.isfinite(dt):
            sb = (m11 * gb - m01 * ge) / dt
            se = (m00 * ge - m01 * gb) / dt
    return sb, se


@njit(cache=True)
def _invert4(a, work, eye):
    """Invert the 4 x 4 matrix ``a`` in place (NaN when singular)."""
    for j in range(4):
        for k in range(4):
            work[j, k] = a[j, k]
            eye[j, k] = 1.0 if j == k else 0.0
    for col in range(4):
        piv = col
        for row in range(col + 1, 4):
            if abs(work[row, col]) > abs(work[piv, col]):
                piv = row
        scale = 0.0
        for row in range(4):
            scale = max(scale, abs(work[row, col]))
        if not (abs(work[piv, col]) > 1e-13 * scale) or not math.isfinite(work[piv, col]):
            for j in range(4):
                for k in range(4):
                    a[j, k] = math.nan
            return
        if piv != col:
            for k in range(4):
                work[col, k], work[piv, k] = work[piv, k], work[col, k]
                eye[col, k], eye[piv, k] = eye[piv, k], eye[col, k]
        inv_p = 1.0 / work[col, col]
        for k in range(4):
            work[col, k] *= inv_p
            eye[col, k] *= inv_p
        for row in range(4):
            if row != col:
                f = work[row, col]
                if f != 0.0:
                    for k in range(4):
                        work[row, k] -= f * work[col, k]
                        eye[row, k] -= f * eye[col, k]
    for j in range(4):
        for k in range(4):
            a[j, k] = eye[j, k]


@njit(cache=True)
def _outer_add(am, jv):
    """``am += jv jv'`` on and above the diagonal (one point's term of J'WJ)."""
    for j in range(4):
        for k2 in range(j, 4):
            am[j, k2] += jv[j] * jv[k2]


@njit(cache=True)
def _inverse_at_solution(am, free, inv_buf, piv_buf):
    """``am`` (J'WJ, upper triangle filled) made symmetric, unit rows and columns for the
    parameters that are not free, and inverted in place (NaN when singular)."""
    for j in range(4):
        for k2 in range(j):
            am[j, k2] = am[k2, j]
        if not free[j]:
            for k2 in range(4):
                am[j, k2] = 0.0
                am[k2, j] = 0.0
            am[j, j] = 1.0
    _invert4(am, inv_buf, piv_buf)


def _kernel(
    x, y, sw, p0, lower, upper, free, use_grid, slopes_mag, max_iter, ftol, xtol, gtol,
    out_p, out_sse, out_it, out_code, out_inv, start, stop,
):  # fmt: skip
    m_all = x.shape[1]
    fb, fc, fd, fe = free[0], free[1], free[2], free[3]
    ng = slopes_mag.shape[0]
    xu = np.empty(m_all)
    yu = np.empty(m_all)
    wu = np.empty(m_all)
    grp = np.empty(m_all, dtype=np.int64)
    swu = np.zeros(m_all)
    s_buf = np.zeros(m_all)
    r_buf = np.zeros(m_all)
    s2_buf = np.zeros(m_all)
    r2_buf = np.zeros(m_all)
    wy = np.zeros((2, m_all))
    inv_buf = np.zeros((4, 4))
    piv_buf = np.zeros((4, 4))
    n_row = max(GRID_N_EC50_, GRID_FINE_E_.shape[0])
    es_row = np.zeros(n_row)
    kk_row = np.zeros(n_row)
    acc = np.zeros((5, n_row))
    eb_all = np.zeros((ng, m_all))
    for i in range(start, stop):
        # replicates of a dose share the model value: fit the weighted means of the distinct
        # doses (weights summed) and add the within-dose sum of squares, an exact decomposition
        # of the SSE that halves the work of a duplicate design
        m = 0
        for t in range(m_all):
            grp[t] = -1
            if sw[i, t] > 0:
                wt = sw[i, t] * sw[i, t]
                k = 0
                while k < m and xu[k] != x[i, t]:
                    k += 1
                if k == m:
                    xu[m] = x[i, t]
                    wu[m] = 0.0
                    yu[m] = 0.0
                    m += 1
                wu[k] += wt
                yu[k] += wt * y[i, t]
                grp[t] = k
        for k in range(m):
            yu[k] /= wu[k]
        ssw = 0.0
        for t in range(m_all):
            if grp[t] >= 0:
                dv = y[i, t] - yu[grp[t]]
                ssw += sw[i, t] * sw[i, t] * dv * dv
        for k in range(m):
            swu[k] = math.sqrt(wu[k])
        # views of the per-call work buffers (no allocation per curve)
        xi = xu[:m]
        yi = yu[:m]
        swi = swu[:m]
        s = s_buf[:m]
        r = r_buf[:m]
        s2 = s2_buf[:m]
        r2 = r2_buf[:m]
        lb, hb, lc, hc = lower[i, 0], upper[i, 0], lower[i, 1], upper[i, 1]
        ld, hd, le, he = lower[i, 2], upper[i, 2], lower[i, 3], upper[i, 3]
        cf, df = p0[i, 1], p0[i, 2]
        b = min(max(p0[i, 0], lb), hb) if fb else p0[i, 0]
        e = min(max(p0[i, 3], le), he) if fe else p0[i, 3]
        if use_grid:
            # two-level start grid over (b, e): a coarse grid, then a local fine grid around its
            # best point; exp(b x) once per slope, exp(-b e) once per grid point
            xlo = math.inf
            xhi = -math.inf
            syy = 0.0
            x_fin = True
            for t in range(m):
                wy[0, t] = swi[t] * swi[t] if swi[t] > 0 else 0.0
                wy[1, t] = yi[t] if swi[t] > 0 else 0.0
                if swi[t] > 0:
                    syy += swi[t] * swi[t] * yi[t] * yi[t]
                    if math.isfinite(xi[t]):
                        xlo = min(xlo, xi[t])
                        xhi = max(xhi, xi[t])
                    else:
                        x_fin = False
            if not math.isfinite(xlo):
                xlo = 0.0
                xhi = 0.0
            xlo -= GRID_EC50_PAD_
            xhi += GRID_EC50_PAD_
            sym = fc and fd and lc == ld and hc == hd and lb == -hb
            n_sl = 2 * ng if fb else 1
            n_e = GRID_N_EC50_ if fe else 1
            h_e = (xhi - xlo) / (GRID_N_EC50_ - 1.0)
            bq = math.inf
            bb = b
            be = e
            # fast path: the coarse slopes grow by a factor 3, so exp(3 b x) = exp(b x)^3 and
            # the equally spaced ln EC50 values give exp(-b e_j) = exp(-b e_0) exp(-b h)^j;
            # only where no exponent can reach the +-700 clamp (|x|, |ln EC50| < 60 and
            # |b| <= 10.8 in the fast path) and no ln EC50 is clamped onto its bound
            es_free = True
            for je in range(n_e):
                es_row[je] = min(max(xlo + h_e * je, le), he) if fe else e
                es_free = es_free and es_row[je] == xlo + h_e * je
            fast = fb and fe and x_fin and es_free and max(abs(xlo), abs(xhi)) < 50.0
            prev = -2
            bjs = -1
            k0 = 0.0
            rr = 0.0
            for js in range(n_sl):
                if fb:
                    if js < ng:
                        if not hb > 0:
                            continue
                        bs = min(max(slopes_mag[js], lb), hb)
                    else:
                        if not (lb < 0 and not sym):
                            continue
                        bs = min(max(-slopes_mag[js - ng], lb), hb)
                else:
                    bs = b
                if fast and js < ng and bs == slopes_mag[js]:
                    ebj = eb_all[js, :m]
                    if prev == js - 1:
                        ebp = eb_all[js - 1, :m]
                        for t in range(m):
                            ebj[t] = ebp[t] * ebp[t] * ebp[t]
                        k0 = k0 * k0 * k0
                        rr = rr * rr * rr
                    else:
                        for t in range(m):
                            ebj[t] = math.exp(bs * xi[t]) if swi[t] > 0 else 0.0
                        k0 = math.exp(-bs * xlo)
                        rr = math.exp(-bs * h_e)
                    prev = js
                    kv = k0
                    for je in range(n_e):
                        kk_row[je] = kv
                        kv *= rr
                    _grid_row(ebj, wy, kk_row, n_e, acc)
                else:
                    for t in range(m):
                        s2[t] = math.exp(min(max(bs * xi[t], -700.0), 700.0)) if swi[t] > 0 else 0.0
                    # all ln EC50 values of this slope at once (the inner loop runs over them)
                    for je in range(n_e):
                        kk_row[je] = math.exp(min(max(-bs * es_row[je], -700.0), 700.0))
                    _grid_row(s2, wy, kk_row, n_e, acc)
                for je in range(n_e):
                    c, d, _, _ = _box_linear(
                        acc[0, je], acc[1, je], acc[2, je], acc[3, je], acc[4, je], syy,
                        fc, fd, cf, df, lc, hc, ld, hd,
                    )  # fmt: skip
                    q = (syy - 2.0 * c * acc[3, je] - 2.0 * d * acc[4, je] + c * c * acc[0, je]
                         + 2.0 * c * d * acc[1, je] + d * d * acc[2, je])  # fmt: skip
                    if q < bq:
                        bq = q
                        bb = bs
                        be = es_row[je]
                        bjs = js if prev == js else -1
            if use_grid and (fb or fe) and math.isfinite(bq):
                cb = bb
                ce = be
                n_f = GRID_FINE_E_.shape[0] if fe else 1
                es_free = True
                for je in range(n_f):
                    es_row[je] = min(max(ce + h_e * GRID_FINE_E_[je], le), he) if fe else ce
                    es_free = es_free and es_row[je] == ce + h_e * GRID_FINE_E_[je]
                # fast path: exp(b x / 2) = sqrt(exp(b x)), exp(2 b x) = exp(b x)^2, and the
                # ln EC50 offsets are multiples of h / 4 (GRID_FINE_E_)
                fast_f = bjs >= 0 and fe and es_free
                kc = 0.0
                rq = 0.0
                if fast_f:
                    kc = math.exp(-cb * ce)
                    rq = math.exp(-cb * h_e * 0.25)
                for js in range(3 if fb else 1):
                    if fb:
                        # not steeper than the coarse grid: a start on a near-step sigmoid
                        # sits in a flat region of ln EC50 between two doses (a local minimum
                        # at the slope bound); the iterations steepen it when the data say so
                        bs = cb * GRID_FINE_SLOPE_[js]
                        bs = min(max(bs, -slopes_mag[ng - 1]), slopes_mag[ng - 1])
                        bs = min(max(bs, lb), hb)
                        if js != 1 and bs == cb:
                            continue  # clamped onto the centre slope: nothing new
                    else:
                        bs = cb
                    if (
                        fast_f
                        and fb
                        and bs == cb * GRID_FINE_SLOPE_[js]
                        and (js == 1 or FINE_POW2_)
                    ):
                        ebc = eb_all[bjs, :m]
                        if js == 0:
                            for t in range(m):
                                s2[t] = math.sqrt(ebc[t])
                            kcf = math.sqrt(kc)
                            rqf = math.sqrt(rq)
                        elif js == 1:
                            for t in range(m):
                                s2[t] = ebc[t]
                            kcf = kc
                            rqf = rq
                        else:
                            for t in range(m):
                                s2[t] = ebc[t] * ebc[t]
                            kcf = kc * kc
                            rqf = rq * rq
                        kk_row[2] = kcf
                        kk_row[3] = kcf * rqf
                        kk_row[4] = kk_row[3] * rqf
                        irq = 1.0 / rqf
                        kk_row[1] = kcf * irq
                        kk_row[0] = kk_row[1] * irq
                    else:
                        for t in range(m):
                            s2[t] = (
                                math.exp(min(max(bs * xi[t], -700.0), 700.0)) if swi[t] > 0 else 0.0
                            )
                        for je in range(n_f):
                            kk_row[je] = math.exp(min(max(-bs * es_row[je], -700.0), 700.0))
                    _grid_row(s2, wy, kk_row, n_f, acc)
                    for je in range(n_f):
                        es = es_row[je]
                        if bs == cb and es == ce:
                            continue
                        c, d, _, _ = _box_linear(
                            acc[0, je], acc[1, je], acc[2, je], acc[3, je], acc[4, je], syy,
                            fc, fd, cf, df, lc, hc, ld, hd,
                        )  # fmt: skip
                        q = (syy - 2.0 * c * acc[3, je] - 2.0 * d * acc[4, je]
                             + c * c * acc[0, je] + 2.0 * c * d * acc[1, je]
                             + d * d * acc[2, je])  # fmt: skip
                        if q < bq:
                            bq = q
                            bb = bs
                            be = es
            b = bb
            e = be
        c, d, ac, ad, sse = _evaluate(xi, yi, swi, b, e, fc, fd, cf, df, lc, hc, ld, hd, s, r, ssw)
        code = 4
        it = 0
        if not math.isfinite(sse):
            code = 5
        lam = 1e-3
        nu = 2.0
        diag0 = 0.0
        diag1 = 0.0
        n_acc = 0
        sse_ref = sse
        b_ref = b
        while code == 4 and it < max_iter:
            # J'WJ blocks: nonlinear (b, e) and the free asymptotes inside their bounds
            a_bb = a_be = a_ee = 0.0
            a_bc = a_bd = a_ec = a_ed = a_cc = a_cd = a_dd = 0.0
            g_b = g_e = g_c = g_d = 0.0
            span = d - c
            for t in range(m):
                if swi[t] > 0:
                    st = s[t]
                    qq = st - st * st
                    qdx = 0.0 if qq == 0.0 else qq * (xi[t] - e)
                    jb = -swi[t] * span * qdx if fb else 0.0
                    je_ = swi[t] * span * qq * b if fe else 0.0
                    jc = swi[t] * (1.0 - st) if ac else 0.0
                    jd = swi[t] * st if ad else 0.0
                    rt = r[t]
                    a_bb += jb * jb
                    a_be += jb * je_
                    a_ee += je_ * je_
                    a_bc += jb * jc
                    a_bd += jb * jd
                    a_ec += je_ * jc
                    a_ed += je_ * jd
                    a_cc += jc * jc
                    a_cd += jc * jd
                    a_dd += jd * jd
                    g_b += jb * rt
                    g_e += je_ * rt
                    g_c += jc * rt
                    g_d += jd * rt
            # Schur complement: eliminate the asymptotes (Kaufman's VarPro Jacobian)
            r_bb, r_be, r_ee, gb, ge = _reduced_normal(
                a_bb, a_be, a_ee, a_bc, a_bd, a_ec, a_ed, a_cc, a_cd, a_dd, g_b, g_e, g_c, g_d,
                ac, ad, fb, fe,
            )  # fmt: skip
            diag0 = r_bb if SCALING_CURRENT else max(diag0, r_bb)
            diag1 = r_ee if SCALING_CURRENT else max(diag1, r_ee)
            blk_b, blk_e, gmax = _blocked_gmax(b, e, lb, hb, le, he, gb, ge, r_bb, r_ee, fb, fe)
            if sse <= 1e-300 or gmax / math.sqrt(max(sse, _TINY)) <= gtol or not (fb or fe):
                code = 1
                break
            accepted = False
            while not accepted:
                it += 1
                sb, se = _damped_step(
                    r_bb, r_be, r_ee, gb, ge, lam, diag0, diag1, blk_b, blk_e, fb, fe
                )
                bn = min(max(b + sb, lb), hb) if fb else b
                en = min(max(e + se, le), he) if fe else e
                sb = bn - b
                se = en - e
                small_x = abs(sb) <= xtol * (abs(b) + xtol) and abs(se) <= xtol * (abs(e) + xtol)
                pred = sb * (2.0 * gb - (r_bb * sb + r_be * se)) + se * (
                    2.0 * ge - (r_be * sb + r_ee * se)
                )
                cn, dn, acn, adn, s_new = _evaluate(
                    xi, yi, swi, bn, en, fc, fd, cf, df, lc, hc, ld, hd, s2, r2, ssw
                )
                actual = sse - s_new
                if math.isfinite(s_new) and actual > 0 and pred > 0:
                    accepted = True
                    rho = actual / pred
                    lam *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
                    nu = 2.0
                    conv_f = actual <= ftol * sse and pred <= ftol * sse
                    b, e, c, d, ac, ad, sse = bn, en, cn, dn, acn, adn, s_new
                    for t in range(m):
                        s[t] = s2[t]
                        r[t] = r2[t]
                    if conv_f:
                        code = 0
                    elif small_x:
                        code = 2
                    n_acc += 1
                    if code == 4 and n_acc % PIN_WINDOW_ == 0:
                        # a slope creeping towards its bound (a step-like fit) lowers the SSE
                        # ever more slowly: stop once PIN_WINDOW_ steps gained < PIN_FTOL_
                        pinned = fb and (
                            (hb > 0 and b >= PIN_FRAC_ * hb and b > b_ref)
                            or (lb < 0 and b <= PIN_FRAC_ * lb and b < b_ref)
                        )
                        if pinned and sse_ref - sse <= PIN_FTOL_ * sse:
                            code = 0
                        sse_ref = sse
                        b_ref = b
                else:
                    if small_x and math.isfinite(s_new) and abs(actual) <= ftol * sse:
                        # the step is below xtol and cannot lower the SSE: at the minimum
                        code = 2
                        break
                    lam = min(lam * nu, 1e300)
                    nu = min(nu * 2.0, 1e10)
                    if lam > 1e16:
                        code = 3
                        break
                if it >= max_iter:
                    break
        # (J'WJ)^-1 of the free parameters at the solution (unit rows for fixed ones), for the
        # covariance; Gauss-Jordan with partial pivoting, NaN when singular
        am = out_inv[i]
        for j in range(4):
            for k2 in range(4):
                am[j, k2] = 0.0
        span = d - c
        for t in range(m):
            if swi[t] > 0:
                st = s[t]
                qq = st - st * st
                qdx = 0.0 if qq == 0.0 else qq * (xi[t] - e)
                jv = (
                    -swi[t] * span * qdx,
                    swi[t] * (1.0 - st),
                    swi[t] * st,
                    swi[t] * span * qq * b,
                )
                _outer_add(am, jv)
        _inverse_at_solution(am, free, inv_buf, piv_buf)
        out_p[i, 0] = b
        out_p[i, 1] = c
        out_p[i, 2] = d
        out_p[i, 3] = e
        out_sse[i] = sse
        out_it[i] = it
        out_code[i] = code


#: Slope magnitudes of the coarse start grid of the compiled engine (ratio ~3 between them).
COARSE_SLOPES = 0.4 * 3.0 ** np.arange(4.0)  # exactly x3 apart: the kernel's fast path uses it
#: Number of ln EC50 values of the coarse grid over the tested range widened by the pad.
GRID_N_EC50_ = 7
#: Local fine grid around the best coarse point: slope factors and ln EC50 offsets (in units of
#: the coarse ln EC50 spacing).
GRID_FINE_SLOPE_ = np.array([0.5, 1.0, 2.0])  # halving/doubling: sqrt/square in the fast path
#: True when GRID_FINE_SLOPE_ is (1/2, 1, 2): the kernel then takes sqrt/square of exp(b x).
FINE_POW2_ = bool(GRID_FINE_SLOPE_[0] == 0.5 and GRID_FINE_SLOPE_[2] == 2.0)
GRID_FINE_E_ = np.array([-0.5, -0.25, 0.0, 0.25, 0.5])
#: Early stop of a slope creeping to its bound: beyond PIN_FRAC_ of the bound and still rising
#: in magnitude, with the SSE down by less than PIN_FTOL_ (relative) over the last PIN_WINDOW_
#: accepted steps.
PIN_FRAC_ = 0.75
PIN_WINDOW_ = 5
PIN_FTOL_ = 1e-8
SCALING_CURRENT = True
GRID_EC50_PAD_ = GRID_EC50_PAD

_compiled: Any = njit(cache=True, nogil=True)(_kernel) if HAVE_NUMBA else None


def lm_loglogistic(
    x: np.ndarray,
    y: np.ndarray,
    sw: np.ndarray,
    p0_full: np.ndarray,
    lower_full: np.ndarray,
    upper_full: np.ndarray,
    free: np.ndarray,
    *,
    grid: bool,
    max_iter: int,
    ftol: float,
    xtol: float,
    gtol: float,
    n_threads: int | None = None,
    layout: str = "scalar",
    block: int = 128,
):
    """Fit ``(b, bottom, top, ln_e)`` (n, 4) with the parameters where ``free`` is False fixed.

    ``grid=True`` starts from the best point of the (b, e) start grid, else from ``p0_full``'s
    (b, e); the asymptotes are always the least-squares ones. ``n_threads`` threads (default: all
    cores) each fit a block of curves; results do not depend on it. Also returns
    ``(J'WJ)^-1`` ``(n, 4, 4)`` at the solution (unit rows/columns for fixed parameters, NaN
    when singular). ``layout="scalar"``: this module's kernel, one curve per loop iteration;
    ``"soa"``: its structure-of-arrays twin (``_lm_soa.py``), ``block`` curves in lockstep (the
    results do not depend on ``block``; they equal the scalar kernel's to rounding).
    """
    n = x.shape[0]
    outs = (
        np.empty((n, 4)), np.empty(n), np.empty(n, dtype=np.int32), np.empty(n, dtype=np.int8),
        np.empty((n, 4, 4)),
    )  # fmt: skip
    fr = np.asarray(free, dtype=np.bool_)
    args = tuple(
        np.ascontiguousarray(a, dtype=float) for a in (x, y, sw, p0_full, lower_full, upper_full)
    )
    opts = (fr, bool(grid), COARSE_SLOPES, int(max_iter), float(ftol), float(xtol), float(gtol))
    extra: tuple[Any, ...] = ()
    if layout == "soa":
        from ._lm_soa import compiled_soa

        kernel, extra = compiled_soa(), (int(block),)
    elif layout == "scalar":
        kernel = _compiled
    else:
        raise ValueError(f"layout={layout!r}; use 'scalar' or 'soa'")
    n_workers = (os.cpu_count() or 1) if n_threads is None else int(n_threads)
    n_workers = max(1, min(n_workers, n // 64 or 1))
    bounds = np.linspace(0, n, n_workers + 1).astype(np.int64)

    def run(j: int) -> None:
        kernel(*args, *opts, *extra, *outs, int(bounds[j]), int(bounds[j + 1]))

    if n_workers == 1:
        run(0)
    else:  # the kernel releases the GIL; blocks of curves are independent
        with ThreadPoolExecutor(n_workers) as pool:
            list(pool.map(run, range(n_workers)))
    return outs
