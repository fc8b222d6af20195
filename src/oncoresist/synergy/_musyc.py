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
this cycle is written in closed form with the Markov-chain tree theorem (the sum over its
spanning trees: eleven products of the four forward rates, each scaled by the largest so nothing
overflows, :class:`MusycModel`), so the surface of every well of every block is one vectorised
expression. Synergistic efficacy, in inhibition terms::

    beta = (E3 - max(E1, E2)) / (max(E1, E2) - E0)

(equal to Meyer's ``(min(E1, E2) - E3) / (E0 - min(E1, E2))`` on viability). ``alpha = 1,
beta = 0`` is no interaction; with ``E0 = 0, E1 = E2 = E3 = 1`` it is Bliss independence.
Each block is one box-bounded Levenberg–Marquardt fit (ten parameters) with the analytic
Jacobian, started from the single-agent Hill fits (E0, E1, E2, h, C; alpha = 1; E3 from the
highest-dose corner), by the package's one Levenberg–Marquardt: the compiled kernel
(:func:`oncoresist.curves._lm_kernel.lm_compiled` with the callback of ``_musyc_numba.py``) when
numba is installed, else the numpy reference (:func:`oncoresist.curves._lm.levenberg_marquardt`
with :class:`MusycModel`); they agree to rounding. A fit that fails says why, in the words of
:data:`oncoresist.curves._lm.CODE_TEXT`.
"""

from __future__ import annotations

import numpy as np

from ..curves._lm import CODE_TEXT, NONFINITE, LMResult, levenberg_marquardt
from ..curves._lm_numba import HAVE_NUMBA
from ..errors import InputError
from ._batch import BlockBatch
from ._hill import H_MAX, H_MIN, M_MARGIN, hill_predict
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


def musyc_surface(ld1: np.ndarray, ld2: np.ndarray, params: np.ndarray) -> np.ndarray:
    """MuSyC effect at log doses ``ld1``, ``ld2`` (broadcastable, leading axis = block).

    ``params`` is ``(n, 10)`` in the order of :data:`PARAM_NAMES`.

    >>> p = np.array([[0, 1, 1, 1, 0, 0, 0, 0, 0, 0]], dtype=float)   # Bliss case
    >>> e = musyc_surface(np.log([[1.0]]), np.log([[1.0]]), p)
    >>> round(float(e[0, 0]), 6)   # 0.5 + 0.5 - 0.25
    0.75
    """
    n = len(params)
    shape = (n, *np.broadcast_shapes(ld1.shape, ld2.shape)[1:])
    x = np.stack([np.broadcast_to(v, shape).reshape(n, -1) for v in (ld1, ld2)], axis=-1)
    return MusycModel().f(x, params).reshape(shape)


class MusycModel:
    """MuSyC surface and Jacobian for :func:`oncoresist.curves._lm.levenberg_marquardt`.

    ``x`` is ``(n, m, 2)``: the log doses of drug 1 and 2 at every point of every block. The
    numpy twin of the compiled callback (``_musyc_numba.musyc_model``), same formulas: with
    forward rates ``a, b, c, d`` (U->A1, A1->A12, A2->A12, U->A2) the unnormalised occupancies
    are ``2 + b + c``, ``2a + ac + cd``, ``2d + bd + ab``, ``ab + cd + abc + bcd`` (U, A1,
    A2, A12), each product taken as ``exp(log-product - max)`` so nothing overflows.
    """

    def f(self, x: np.ndarray, p: np.ndarray) -> np.ndarray:
        return self._eval(x, p, jac=False)[0]

    def jac(self, x: np.ndarray, p: np.ndarray) -> np.ndarray:
        return self._eval(x, p, jac=True)[1]

    @staticmethod
    def _eval(x: np.ndarray, p: np.ndarray, *, jac: bool):
        h1 = np.exp(p[:, 4:5])
        h2 = np.exp(p[:, 5:6])
        la12 = p[:, 8:9]
        la21 = p[:, 9:10]
        x1 = x[..., 0] - p[:, 6:7]
        x2 = x[..., 1] - p[:, 7:8]
        fin1 = x1 > -np.inf
        fin2 = x2 > -np.inf
        ra = np.where(fin1, h1 * x1, -np.inf)
        rc = np.where(fin1, h1 * (x1 + la21), -np.inf)
        rb = np.where(fin2, h2 * (x2 + la12), -np.inf)
        rd = np.where(fin2, h2 * x2, -np.inf)
        lab = ra + rb
        lac = ra + rc
        lbd = rb + rd
        lcd = rc + rd
        labc = lab + rc
        lbcd = lbd + rc
        mx = np.maximum(0.0, np.maximum(ra, np.maximum(rb, np.maximum(rc, rd))))
        mx = np.maximum(mx, np.maximum(lab, np.maximum(lac, np.maximum(lbd, lcd))))
        mx = np.maximum(mx, np.maximum(labc, lbcd))
        w0 = np.exp(-mx)
        wa, wb, wc, wd = (np.exp(v - mx) for v in (ra, rb, rc, rd))
        wab, wac, wbd, wcd = (np.exp(v - mx) for v in (lab, lac, lbd, lcd))
        wabc = np.exp(labc - mx)
        wbcd = np.exp(lbcd - mx)
        pu = 2.0 * w0 + wb + wc
        p1 = 2.0 * wa + wac + wcd
        p2 = 2.0 * wd + wbd + wab
        p3 = wab + wcd + wabc + wbcd
        z = pu + p1 + p2 + p3
        pu, p1, p2, p3 = pu / z, p1 / z, p2 / z, p3 / z
        e = pu * p[:, 0:1] + p1 * p[:, 1:2] + p2 * p[:, 2:3] + p3 * p[:, 3:4]
        if not jac:
            return e, None
        du, d1, d2, d3 = (p[:, c : c + 1] - e for c in range(4))
        ca = (d1 * (2.0 * wa + wac) + d2 * wab + d3 * (wab + wabc)) / z
        cb = (du * wb + d2 * (wbd + wab) + d3 * (wab + wabc + wbcd)) / z
        cc = (du * wc + d1 * (wac + wcd) + d3 * (wcd + wabc + wbcd)) / z
        cd = (d1 * wcd + d2 * (2.0 * wd + wbd) + d3 * (wcd + wbcd)) / z
        x1f = np.where(fin1, x1, 0.0)
        x2f = np.where(fin2, x2, 0.0)
        out = np.empty((*e.shape, 10))
        out[..., 0], out[..., 1], out[..., 2], out[..., 3] = pu, p1, p2, p3
        out[..., 4] = np.where(fin1, h1 * (ca * x1f + cc * (x1f + la21)), 0.0)
        out[..., 5] = np.where(fin2, h2 * (cb * (x2f + la12) + cd * x2f), 0.0)
        out[..., 6] = np.where(fin1, -h1 * (ca + cc), 0.0)
        out[..., 7] = np.where(fin2, -h2 * (cb + cd), 0.0)
        out[..., 8] = np.where(fin2, h2 * cb, 0.0)
        out[..., 9] = np.where(fin1, h1 * cc, 0.0)
        return e, out


def _null_params(p: np.ndarray) -> np.ndarray:
    q = p.copy()
    q[:, 3] = np.maximum(p[:, 1], p[:, 2])
    q[:, 8] = 0.0
    q[:, 9] = 0.0
    return q


def fit_musyc(batch: BlockBatch, *, max_iter: int = 200, engine: str = "auto") -> LMResult:
    """Batched MuSyC fits: one :class:`~oncoresist.curves._lm.LMResult` (params ``(n, 10)``).

    ``engine``: ``"auto"`` (the compiled kernel when numba is installed), ``"numba"`` or
    ``"numpy"`` (the numpy reference, same algorithm; agrees to rounding).
    """
    if engine not in ("auto", "numba", "numpy"):
        raise InputError(f"engine must be 'auto', 'numba' or 'numpy', got {engine!r}")
    if engine == "numba" and not HAVE_NUMBA:
        raise InputError("engine='numba' needs numba: pip install numba, or use engine='numpy'")
    n, n1, n2, r = batch.response.shape
    f1, f2 = batch.single_fits
    shape = (n, n1, n2, r)
    x = np.stack(
        [
            np.broadcast_to(batch.log_conc1[:, :, None, None], shape).reshape(n, -1),
            np.broadcast_to(batch.log_conc2[:, None, :, None], shape).reshape(n, -1),
        ],
        axis=-1,
    )
    y = batch.response.reshape(n, -1)
    corner = batch.mean[:, -1, -1]
    e0 = 0.5 * (f1.bottom + f2.bottom)
    # E3 from the highest-dose corner (not max(E1, E2, corner)): antagonistic blocks then
    # start below the better single agent, and fewer fits end in a worse local minimum
    e3 = np.clip(np.where(np.isfinite(corner), corner, np.maximum(f1.top, f2.top)), -0.5, 1.5)
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

    w = np.isfinite(y).astype(float)
    yy = np.where(w > 0, y, 0.0)
    if HAVE_NUMBA and engine != "numpy":
        from ..curves._lm_kernel import lm_compiled
        from ._musyc_numba import musyc_model

        return lm_compiled(musyc_model, x, yy, w, p0, lower, upper, max_iter=max_iter)
    return levenberg_marquardt(MusycModel(), x, yy, w, p0, lower, upper, max_iter=max_iter)


@register_model
class MuSyC(SynergyModel):
    """MuSyC 2-D Hill fit; the surface is fitted minus fitted-with-no-interaction."""

    name = "musyc"
    label = "MuSyC"
    needs_fit = True
    uses_single_fits = True

    def surface(self, batch: BlockBatch) -> ModelOutput:
        n, n1, n2 = batch.mean.shape
        fit = fit_musyc(batch)
        params, sse, conv = fit.params, fit.sse, fit.converged
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
        reason[~conv] = [f"MuSyC fit: {CODE_TEXT[int(c)]}" for c in fit.code[~conv]]
        status[fit.code == NONFINITE] = "failed"
        # alpha on its bound (1e-3 or 1e3): the data do not determine the potency shift, so
        # the score is what the bound allows, not an estimate
        pinned = (np.abs(np.abs(params[:, 8:10]) - _LOG_ALPHA_MAX) < 1e-6).any(axis=1)
        status[pinned & conv] = "unreliable"
        reason[pinned] = [
            "; ".join(x for x in (r, "MuSyC alpha at its bound (1e-3 or 1e3)") if x)
            for r in reason[pinned]
        ]
        bad = ~np.isfinite(excess).all(axis=(1, 2))
        status[bad] = "failed"
        reason[bad] = "non-finite MuSyC surface"
        return ModelOutput(excess, full, extra=extra, status=status, reason=reason)


def musyc_single(
    log_conc: np.ndarray, e0: np.ndarray, emax: np.ndarray, ln_c: np.ndarray, h: np.ndarray
) -> np.ndarray:
    """Single-agent edge of the MuSyC surface (a Hill curve), for plotting and generators."""
    return hill_predict(log_conc, np.column_stack([e0, emax, ln_c, h]))
