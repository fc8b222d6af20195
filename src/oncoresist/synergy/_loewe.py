"""Loewe additivity: the iso-effect equation solved per well from the fitted single-agent curves.

For a well with doses ``(d1, d2)`` the Loewe-additive effect ``y`` solves::

    d1 / X1(y) + d2 / X2(y) = 1

where ``Xi(y)`` is the dose of drug ``i`` alone giving effect ``y`` (inverse of its Hill fit).
The left side decreases monotonically in ``y``, so every well is solved at once by bisection.

Effect above a drug's Emax: drug ``i`` alone can never reach ``y``, so ``Xi(y) = inf`` and its
term is 0 (it contributes no dose equivalent); the iso-effect is then carried by the other drug.
This keeps the left side continuous and the root unique, so no well is left undefined; wells
where the solution lies above a drug's Emax are counted per block (``n_above_emax``). A drug
whose fit is flat or decreasing (``top <= bottom``) contributes nothing either.

Relation to the published algorithms: Loewe (1953) and Greco et al. (1995) define the
iso-effect equation only for effects both drugs can reach; above the lesser Emax it has no
solution. SynergyFinder Plus (Zheng et al. 2022) writes the same 4PL form of the equation;
its documented solver (``.SolveLoewe(concs, drug_par, drug_type, nsteps = 100)``, package
manual) steps through 100 concentration combinations approaching the iso-effect line and
returns the effect of the closest one together with that ``distance``, so where no root exists
it reports the nearest approach rather than a solution, and elsewhere it is exact only to its
step size. Here the root is solved exactly (bisection, 60 halvings) wherever it exists, so the
two agree there up to SynergyFinder's step resolution; the no-root case is not claimed to
match its numbers (its manual does not give the rule in closed form). The choice here (a drug that
cannot reach the effect adds no dose equivalent) is the continuous extension of the equation:
it equals the exact solution wherever one exists, keeps one root per well, and reduces to the
single-agent curve of the stronger drug beyond the weaker one's Emax. Where it applies the
count is reported (``n_above_emax``), and a block whose single-agent fits are flat, on a
parameter bound or not converged is marked ``unreliable`` (:mod:`._score`): Loewe inverts
those curves and is the model most sensitive to them.
"""

from __future__ import annotations

import numpy as np

from ._batch import BlockBatch
from ._hill import hill_inverse_log, hill_predict
from ._registry import ModelOutput, SynergyModel, combination_mask, ok_status, register_model

__all__ = ["Loewe", "loewe_expected"]


def _terms(y: np.ndarray, log_d: np.ndarray, params: np.ndarray) -> np.ndarray:
    log_x = hill_inverse_log(y, params)
    active = (params[:, 1] > params[:, 0]).reshape((-1,) + (1,) * (y.ndim - 1))
    with np.errstate(invalid="ignore", over="ignore"):
        lt = log_d - log_x
        t = np.where(np.isneginf(log_d) | np.isposinf(log_x), 0.0, np.exp(np.clip(lt, -700, 700)))
    t = np.where(np.isneginf(log_x) & np.isfinite(log_d), np.inf, t)
    return np.where(active, t, 0.0)


def loewe_expected(
    log_d1: np.ndarray,
    log_d2: np.ndarray,
    *,
    params1: np.ndarray,
    params2: np.ndarray,
    n_iter: int = 60,
) -> tuple[np.ndarray, np.ndarray]:
    """Loewe-additive inhibition on the grid ``log_d1 (n, n1) x log_d2 (n, n2)``.

    ``params1``/``params2`` are Hill parameters (bottom, top, ln EC50, h) per block. Returns
    ``(expected (n, n1, n2), above_emax (n, n1, n2) bool)``.

    Examples
    --------
    >>> p = np.array([[0.0, 1.0, 0.0, 1.0]])     # EC50 = 1, h = 1, for both drugs
    >>> ld = np.array([[-np.inf, np.log(0.5)]])   # doses 0 and 0.5
    >>> e, _ = loewe_expected(ld, ld, params1=p, params2=p)
    >>> round(float(e[0, 1, 1]), 6)   # 0.5 + 0.5 of the same drug = EC50
    0.5
    """
    n = params1.shape[0]
    ld1 = np.broadcast_to(log_d1[:, :, None], (n, log_d1.shape[1], log_d2.shape[1]))
    ld2 = np.broadcast_to(log_d2[:, None, :], ld1.shape)
    b = np.minimum(params1[:, 0], params2[:, 0])
    t = np.maximum(
        np.maximum(params1[:, 1], params2[:, 1]), np.maximum(params1[:, 0], params2[:, 0])
    )
    lo = np.broadcast_to(b[:, None, None], ld1.shape).copy()
    hi = np.broadcast_to(t[:, None, None], ld1.shape).copy()
    for _ in range(n_iter):
        mid = 0.5 * (lo + hi)
        g = _terms(mid, ld1, params1) + _terms(mid, ld2, params2) - 1.0
        pos = g > 0
        lo = np.where(pos, mid, lo)
        hi = np.where(pos, hi, mid)
    y = 0.5 * (lo + hi)
    # exact single-agent values on the zero-dose row and column
    y[:, :, 0] = hill_predict(log_d1, params1)
    y[:, 0, :] = hill_predict(log_d2, params2)
    above = (y > params1[:, 1, None, None]) | (y > params2[:, 1, None, None])
    above &= combination_mask(y.shape[1:])
    return y, above


@register_model
class Loewe(SynergyModel):
    """Loewe additivity from batched 4-parameter Hill fits of the single agents."""

    name = "loewe"
    label = "Loewe"
    needs_fit = True
    uses_single_fits = True

    def surface(self, batch: BlockBatch) -> ModelOutput:
        f1, f2 = batch.single_fits
        expected, above = loewe_expected(
            batch.log_conc1, batch.log_conc2, params1=f1.params, params2=f2.params
        )
        excess = np.where(combination_mask(batch.shape), (batch.mean - expected) * 100.0, 0.0)
        status, reason = ok_status(batch.n_blocks)
        bad = ~np.isfinite(excess).all(axis=(1, 2))
        status[bad] = "failed"
        reason[bad] = "non-finite Loewe expectation (single-agent fit failed)"
        extra = {"n_above_emax": above.sum(axis=(1, 2)).astype(float)}
        return ModelOutput(excess, expected, extra=extra, status=status, reason=reason)
