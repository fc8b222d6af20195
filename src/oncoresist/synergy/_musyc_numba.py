"""MuSyC's surface and Jacobian for one block, as a callback of the compiled LM kernel.

The twin of :class:`oncoresist.synergy._musyc.MusycModel` (same formulas): the steady state of
the four-state cycle is the sum of its spanning-tree weights, eleven distinct products of the
four forward rates ``a = U->A1, b = A1->A12, c = A2->A12, d = U->A2`` (all backward rates 1)::

    pi_U   = 2 + b + c              pi_A1  = 2a + ac + cd
    pi_A2  = 2d + bd + ab           pi_A12 = ab + cd + abc + bcd

Each product is ``exp(log-product - M)`` with ``M`` the largest log-product of the point, so
no weight overflows and the surface and its analytic Jacobian cost eleven exponentials per
point. The fit itself is :func:`oncoresist.curves._lm_kernel.lm_compiled` (one box-bounded
Levenberg–Marquardt per block, blocks in parallel); numba is optional and compiles this only
when the kernel is used.
"""

from __future__ import annotations

import math

__all__ = ["musyc_model"]


def musyc_model(p, x, aux, f, jac):  # pragma: no cover - compiled
    """Surface ``f`` and Jacobian ``jac`` at the log doses ``x[:, 0], x[:, 1]`` of one block."""
    h1 = math.exp(p[4])
    h2 = math.exp(p[5])
    la12 = p[8]
    la21 = p[9]
    ninf = -math.inf
    for k in range(x.shape[0]):
        x1 = x[k, 0] - p[6]
        x2 = x[k, 1] - p[7]
        fin1 = x1 > ninf
        fin2 = x2 > ninf
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
        pu, p1, p2, p3 = pu / z, p1 / z, p2 / z, p3 / z
        e = pu * p[0] + p1 * p[1] + p2 * p[2] + p3 * p[3]
        f[k] = e
        du = p[0] - e
        d1 = p[1] - e
        d2 = p[2] - e
        d3 = p[3] - e
        ca = (d1 * (2.0 * wa + wac) + d2 * wab + d3 * (wab + wabc)) / z
        cb = (du * wb + d2 * (wbd + wab) + d3 * (wab + wabc + wbcd)) / z
        cc = (du * wc + d1 * (wac + wcd) + d3 * (wcd + wabc + wbcd)) / z
        cd = (d1 * wcd + d2 * (2.0 * wd + wbd) + d3 * (wcd + wbcd)) / z
        jac[k, 0] = pu
        jac[k, 1] = p1
        jac[k, 2] = p2
        jac[k, 3] = p3
        if fin1:
            jac[k, 4] = h1 * (ca * x1 + cc * (x1 + la21))
            jac[k, 6] = -h1 * (ca + cc)
            jac[k, 9] = h1 * cc
        else:
            jac[k, 4] = jac[k, 6] = jac[k, 9] = 0.0
        if fin2:
            jac[k, 5] = h2 * (cb * (x2 + la12) + cd * x2)
            jac[k, 7] = -h2 * (cb + cd)
            jac[k, 8] = h2 * cb
        else:
            jac[k, 5] = jac[k, 7] = jac[k, 8] = 0.0
