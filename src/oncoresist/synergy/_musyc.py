"""MuSyC: multi-dimensional synergy of combinations (Meyer et al. 2019, Cell Syst 9:1).

The 2-D Hill equation is the steady state of a four-state model: unaffected ``U``, affected by
drug 1 only ``A1``, by drug 2 only ``A2``, by both ``A12``, with effects ``E0, E1, E2, E3``
(here in fractional inhibition). Transition rates, in doses scaled by ``C1, C2``::

    U  -> A1  : (d1/C1)^h1            A1  -> U  : 1
    U  -> A2  : (d2/C2)^h2            A2  -> U  : 1
    A1 -> A12 : (alpha12 d2/C2)^h2    A12 -> A1 : 1
    A2 -> A12 : (alpha21 d1/C1)^h1    A12 -> A2 : 1

``alpha12`` is the change of potency of drug 2 when drug 1 acts (synergistic potency, > 1 =
synergy), ``alpha21`` the converse; cooperativity ``gamma`` is fixed at 1 and the rates at 1
(so without detailed balance the model still has a unique steady state). The steady state of
this cycle is written in closed form with the Markov-chain tree theorem (sum over the four
spanning trees), in log space, so the surface of every well of every block is one vectorised
expression. Synergistic efficacy, in inhibition terms::

    beta = (E3 - max(E1, E2)) / (max(E1, E2) - E0)

(equal to Meyer's ``(min(E1, E2) - E3) / (E0 - min(E1, E2))`` on viability). ``alpha = 1,
beta = 0`` is no interaction; with ``E0 = 0, E1 = E2 = E3 = 1`` it is Bliss independence.
All blocks are fitted together by a batched Levenberg–Marquardt (ten parameters per block).
"""

from __future__ import annotations

import numpy as np

from ._batch import BlockBatch
from ._hill import H_MAX, H_MIN, M_MARGIN, batched_lm, hill_predict
from ._registry import ModelOutput, SynergyModel, combination_mask, ok_status, register_model

__all__ = ["PARAM_NAMES", "MuSyC", "musyc_surface"]

#: Parameter vector of one block: effects, then natural logs of h, C and alpha.
PARAM_NAMES = (
    "e0",
    "e1",
    "e2",
    "e3",
    "ln_h1",
    "ln_h2",
    "ln_c1",
    "ln_c2",
    "ln_alpha12",
    "ln_alpha21",
)
_LOG_ALPHA_MAX = np.log(1e3)


def _log_occupancy(ld1: np.ndarray, ld2: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Unnormalised log steady-state occupancy of (U, A1, A12, A2), shape (4, n, ...)."""
    shape = (-1,) + (1,) * (ld1.ndim - 1)
    h1 = np.exp(p[:, 4]).reshape(shape)
    h2 = np.exp(p[:, 5]).reshape(shape)
    lc1 = p[:, 6].reshape(shape)
    lc2 = p[:, 7].reshape(shape)
    la12 = p[:, 8].reshape(shape)
    la21 = p[:, 9].reshape(shape)
    x1 = ld1 - lc1
    x2 = ld2 - lc2
    zero = np.zeros(np.broadcast_shapes(x1.shape, x2.shape))
    # edges of the cycle U -(0)- A1 -(1)- A12 -(2)- A2 -(3)- U: forward k -> k+1, backward
    lf = [h1 * x1 + zero, h2 * (la12 + x2) + zero, zero, zero]
    lb = [zero, zero, h1 * (la21 + x1) + zero, h2 * x2 + zero]
    out = []
    for i in range(4):
        trees = []
        for k in range(4):
            s = zero
            for j in range(4):
                if j == k:
                    continue
                s = s + (lb[j] if (j - i) % 4 < (k - i) % 4 else lf[j])
            trees.append(s)
        t = np.stack(trees)
        mx = np.max(t, axis=0)
        mx = np.where(np.isfinite(mx), mx, 0.0)
        with np.errstate(divide="ignore"):
            out.append(mx + np.log(np.sum(np.exp(t - mx), axis=0)))
    return np.stack(out)


def musyc_surface(ld1: np.ndarray, ld2: np.ndarray, params: np.ndarray) -> np.ndarray:
    """MuSyC effect at log doses ``ld1``, ``ld2`` (broadcastable, leading axis = block).

    ``params`` is ``(n, 10)`` in the order of :data:`PARAM_NAMES`.

    >>> p = np.array([[0, 1, 1, 1, 0, 0, 0, 0, 0, 0]], dtype=float)   # Bliss case
    >>> e = musyc_surface(np.log([[1.0]]), np.log([[1.0]]), p)
    >>> round(float(e[0, 0]), 6)   # 0.5 + 0.5 - 0.25
    0.75
    """
    lo = _log_occupancy(ld1, ld2, params)
    mx = np.max(lo, axis=0)
    w = np.exp(lo - mx)
    w = w / np.sum(w, axis=0)
    shape = (-1,) + (1,) * (lo.ndim - 2)
    e = [params[:, c].reshape(shape) for c in (0, 1, 3, 2)]  # order U, A1, A12, A2
    return w[0] * e[0] + w[1] * e[1] + w[2] * e[2] + w[3] * e[3]


#: Which of the four non-zero log-rates (U->A1, A1->A12, A2->A12, U->A2) enter the spanning
#: tree ``k`` (the cycle without edge ``k``) directed to state ``i``: ``_TREE[i, k, e]``. A
#: tree to ``i`` uses, on each kept edge, the direction pointing to ``i`` along the path.
_TREE = np.zeros((4, 4, 4), dtype=bool)
for _i in range(4):
    for _k in range(4):
        for _j in range(4):
            if _j == _k:
                continue
            backward = (_j - _i) % 4 < (_k - _i) % 4
            # edges 0, 1 carry their rate forwards; edges 2, 3 backwards (others are rate 1)
            if (_j in (0, 1) and not backward) or (_j in (2, 3) and backward):
                _TREE[_i, _k, _j] = True


def _surface_and_jac(
    ld1: np.ndarray, ld2: np.ndarray, p: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """MuSyC surface ``(n, m)`` and its analytic Jacobian ``(n, m, 10)`` at points (n, m).

    With ``L_ik`` the log weight of tree ``k`` to state ``i`` (a sum of log-rates ``r_e``),
    ``pi`` the state occupancies and ``rho_ik`` the share of tree ``k`` in state ``i``::

        dE/dE_s = pi_s,   dE/dtheta = sum_e c_e dr_e/dtheta,
        c_e = sum_i pi_i (E_i - E) sum_k rho_ik [e in tree ik]
    """
    h1 = np.exp(p[:, 4:5])
    h2 = np.exp(p[:, 5:6])
    la12 = p[:, 8:9]
    la21 = p[:, 9:10]
    x1 = ld1 - p[:, 6:7]
    x2 = ld2 - p[:, 7:8]
    u1 = x1 + la21
    u2 = x2 + la12
    rates = (h1 * x1, h2 * u2, h1 * u1, h2 * x2)  # U->A1, A1->A12, A2->A12, U->A2
    zero = np.zeros(np.broadcast_shapes(x1.shape, x2.shape))
    logw = []
    shares = []
    for i in range(4):
        trees = []
        for k in range(4):
            t = zero
            for e in range(4):
                if _TREE[i, k, e]:
                    t = t + rates[e]
            trees.append(t)
        tr = np.stack(trees)
        mx = np.max(tr, axis=0)
        mx = np.where(np.isfinite(mx), mx, 0.0)
        ex = np.exp(tr - mx)
        tot = np.sum(ex, axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            logw.append(mx + np.log(tot))
            rho = ex / tot
        rho = np.where(np.isfinite(rho), rho, 0.0)
        shares.append([np.sum(rho[_TREE[i, :, e]], axis=0) for e in range(4)])
    lw = np.stack(logw)
    mx = np.max(lw, axis=0)
    pi = np.exp(lw - mx)
    pi = pi / np.sum(pi, axis=0)
    eff = (p[:, 0:1], p[:, 1:2], p[:, 3:4], p[:, 2:3])  # effects of U, A1, A12, A2
    e_val = pi[0] * eff[0] + pi[1] * eff[1] + pi[2] * eff[2] + pi[3] * eff[3]
    c = [sum(pi[i] * (eff[i] - e_val) * shares[i][e] for i in range(4)) for e in range(4)]
    # dose 0: the rate is 0 (log -inf) and its coefficient 0; its derivatives do not count
    fin1 = np.isfinite(x1)
    fin2 = np.isfinite(x2)
    c0 = np.where(fin1, c[0], 0.0)
    c2 = np.where(fin1, c[2], 0.0)
    c1 = np.where(fin2, c[1], 0.0)
    c3 = np.where(fin2, c[3], 0.0)
    x1f = np.where(fin1, x1, 0.0)
    x2f = np.where(fin2, x2, 0.0)
    jac = np.empty((*e_val.shape, 10))
    jac[..., 0] = pi[0]
    jac[..., 1] = pi[1]
    jac[..., 2] = pi[3]
    jac[..., 3] = pi[2]
    jac[..., 4] = h1 * (c0 * x1f + c2 * (x1f + la21))
    jac[..., 5] = h2 * (c1 * (x2f + la12) + c3 * x2f)
    jac[..., 6] = -h1 * (c0 + c2)
    jac[..., 7] = -h2 * (c1 + c3)
    jac[..., 8] = h2 * c1
    jac[..., 9] = h1 * c2
    return e_val, jac


def _null_params(p: np.ndarray) -> np.ndarray:
    q = p.copy()
    q[:, 3] = np.maximum(p[:, 1], p[:, 2])
    q[:, 8] = 0.0
    q[:, 9] = 0.0
    return q


def fit_musyc(
    batch: BlockBatch, *, max_iter: int = 80
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batched MuSyC fits: ``(params (n, 10), sse (n,), converged (n,))``."""
    n, n1, n2, r = batch.response.shape
    f1, f2 = batch.single_fits
    ld1 = np.broadcast_to(batch.log_conc1[:, :, None, None], (n, n1, n2, r)).reshape(n, -1)
    ld2 = np.broadcast_to(batch.log_conc2[:, None, :, None], (n, n1, n2, r)).reshape(n, -1)
    y = batch.response.reshape(n, -1)
    corner = batch.mean[:, -1, -1]
    e0 = 0.5 * (f1.bottom + f2.bottom)
    e3 = np.clip(np.maximum(np.maximum(f1.top, f2.top), corner), -0.5, 1.5)
    p0 = np.column_stack(
        [
            e0,
            f1.top,
            f2.top,
            e3,
            np.log(f1.hill_slope),
            np.log(f2.hill_slope),
            f1.params[:, 2],
            f2.params[:, 2],
            np.zeros(n),
            np.zeros(n),
        ]
    )
    x1min, x1max = batch.log_conc1[:, 1], batch.log_conc1[:, -1]
    x2min, x2max = batch.log_conc2[:, 1], batch.log_conc2[:, -1]
    lower = np.column_stack(
        [
            np.full((n, 4), -0.5),
            np.full((n, 2), np.log(H_MIN)),
            x1min - M_MARGIN,
            x2min - M_MARGIN,
            np.full((n, 2), -_LOG_ALPHA_MAX),
        ]
    )
    upper = np.column_stack(
        [
            np.full((n, 4), 1.5),
            np.full((n, 2), np.log(H_MAX)),
            x1max + M_MARGIN,
            x2max + M_MARGIN,
            np.full((n, 2), _LOG_ALPHA_MAX),
        ]
    )

    def fun(p: np.ndarray, idx: np.ndarray):
        return _surface_and_jac(ld1[idx], ld2[idx], p)

    return batched_lm(fun, p0, y, lower, upper, max_iter=max_iter, tol=1e-10)


@register_model
class MuSyC(SynergyModel):
    """MuSyC 2-D Hill fit; the surface is fitted minus fitted-with-no-interaction."""

    name = "musyc"
    label = "MuSyC"
    needs_fit = True

    def surface(self, batch: BlockBatch) -> ModelOutput:
        n, n1, n2 = batch.mean.shape
        params, sse, conv = fit_musyc(batch)
        ld1 = batch.log_conc1[:, :, None]
        ld2 = batch.log_conc2[:, None, :]
        full = musyc_surface(ld1, ld2, params)
        null = musyc_surface(ld1, ld2, _null_params(params))
        excess = np.where(combination_mask((n1, n2)), (full - null) * 100.0, 0.0)
        emax = np.maximum(params[:, 1], params[:, 2])
        with np.errstate(divide="ignore", invalid="ignore"):
            beta = (params[:, 3] - emax) / (emax - params[:, 0])
        extra = {
            "beta": beta,
            "log10_alpha12": params[:, 8] / np.log(10),
            "log10_alpha21": params[:, 9] / np.log(10),
            "e0": params[:, 0],
            "e1": params[:, 1],
            "e2": params[:, 2],
            "e3": params[:, 3],
            "h1": np.exp(params[:, 4]),
            "h2": np.exp(params[:, 5]),
            "c1": np.exp(params[:, 6]),
            "c2": np.exp(params[:, 7]),
            "musyc_sse": sse,
        }
        status, reason = ok_status(n)
        status[~conv] = "not_converged"
        reason[~conv] = "MuSyC fit did not converge within the iteration limit"
        bad = ~np.isfinite(excess).all(axis=(1, 2))
        status[bad] = "failed"
        reason[bad] = "non-finite MuSyC surface"
        return ModelOutput(excess, full, extra=extra, status=status, reason=reason)


def musyc_single(
    log_conc: np.ndarray, e0: np.ndarray, emax: np.ndarray, ln_c: np.ndarray, h: np.ndarray
) -> np.ndarray:
    """Single-agent edge of the MuSyC surface (a Hill curve), for plotting and generators."""
    return hill_predict(log_conc, np.column_stack([e0, emax, ln_c, h]))
