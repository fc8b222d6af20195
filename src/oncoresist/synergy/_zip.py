"""Zero interaction potency (ZIP; Yadav et al. 2015, Comput Struct Biotechnol J 13:504).

Delta score as SynergyFinder defines it:

1. fit a 4-parameter Hill curve to each drug alone (``y1``, ``y2``);
2. along every row (drug 1 fixed at ``d1``), fit a Hill curve of drug 2 whose effect at
   ``d2 = 0`` is fixed at the baseline ``y1(d1)`` (top capped at 100 % inhibition), and
   symmetrically along every column;
3. the observed interaction surface is the average of the row and column fits;
4. ``delta = (row_fit + col_fit) / 2 - (y1 + y2 - y1 y2)``, in percentage points; the
   single-agent row and column are 0.

The single-agent fits are shared with the other models (:attr:`BlockBatch.single_fits`, the
curve engine's ``ll4`` fits). All row and column fits of all blocks run in one call of the
curve engine (:func:`oncoresist.curves.fit_curves`, ``ll4`` with the zero-dose asymptote held
at the baseline per curve: compiled variable projection when numba is installed), each started
at the best point of the engine's (slope, EC50) grid.

Choices, and where they differ from the published algorithms (Yadav et al. 2015; Ianevski et
al. 2017; SynergyFinder Plus, Zheng et al. 2022):

* Reference surface: Bliss independence of the *fitted* single-agent 4PL curves, with bottom
  and top free, as SynergyFinder Plus computes it by default (``CalculateSynergy(Emin = NA,
  Emax = NA)`` in its vignette). SynergyFinder 1.x defaulted to ``Emin = 0, Emax = 100``; pass
  data normalised that way to get that behaviour. The formula printed in Yadav 2015 and the
  SynergyFinder Plus vignette is the special case bottom 0, top 1.
* Row and column fits: the effect at dose 0 fixed at the single-agent fitted effect of the
  fixed drug, the maximal effect within [-100 %, 100 %] inhibition (Ianevski 2017); the delta
  surface averages the two.
* Bounds: the single agents get those of the dose-response reports (slope magnitude <= 20,
  EC50 within e^10 of the tested doses, asymptotes within one response range beyond the data);
  the row and column fits the same slope and EC50 bounds, the slope >= 0 so that the fixed
  asymptote is the zero-dose effect (4 free points per line: 3 free parameters). SynergyFinder
  fits unbounded log-logistic curves; on well-behaved data the two agree, and where a
  single-agent fit ends on a bound the data do not determine it, so the block is marked
  ``unreliable`` (:func:`oncoresist.synergy._hill.fit_problems`) instead of reporting a score
  that depends on the bound.
* Summary score: the mean delta over the combination wells (SynergyFinder Plus). Its
  closed-form p-value for blocks without replicates (``exp(-0.717 z - 0.416 z^2)``) is not
  used: p-values here come from the replicate bootstrap (:mod:`._score`).
"""

from __future__ import annotations

import numpy as np

from ..curves._fit import fit_curves, predict
from ..curves._models import SLOPE_BOUND
from ._batch import BlockBatch
from ._hill import hill_predict
from ._registry import ModelOutput, SynergyModel, combination_mask, ok_status, register_model

__all__ = ["ZIP", "zip_delta"]


def _line_fits(lines: list[tuple[np.ndarray, np.ndarray, np.ndarray]], engine: str) -> list:
    """Fitted values of every line (one curve engine call for all): ``lines`` holds, per
    direction, the fixed drug's effect ``base`` (n, k), the log doses of the varying drug
    ``log_conc`` (n, p; dose 0 excluded) and the observed means ``y`` (n, k, p); returns the
    fitted ``(n, k, p)`` per direction."""
    width = max(y.shape[2] for _, _, y in lines)
    xs, ys, bs = [], [], []
    for base, log_conc, y in lines:
        n, k, p = y.shape
        x = np.full((n * k, width), np.nan)
        x[:, :p] = np.broadcast_to(log_conc[:, None, :], (n, k, p)).reshape(-1, p)
        yy = np.full((n * k, width), np.nan)
        yy[:, :p] = y.reshape(-1, p)
        xs.append(x)
        ys.append(yy)
        bs.append(base.reshape(-1))
    x, y, b = np.concatenate(xs), np.concatenate(ys), np.concatenate(bs)
    # ll4 top = f(-inf) is the zero-dose effect when the slope is >= 0 (inhibition rising)
    bounds = {"top": (b, b), "hill_slope": (0.0, SLOPE_BOUND), "bottom": (-1.0, 1.0)}
    # every line's fit is used: no covariance, and no F-test status (with the top fixed, a
    # free flat line is not the alternative)
    fit = fit_curves(
        x, y, model="ll4", bounds=bounds, engine=engine, min_doses=1, covariance="none",
        flat_alpha=1.0,
    )  # fmt: skip
    params = np.where(np.isfinite(fit.params), fit.params, np.nan)
    pred = predict("ll4", np.where(np.isnan(x), 0.0, x), params)
    out, start = [], 0
    for _, _, yl in lines:
        n, k, p = yl.shape
        out.append(pred[start : start + n * k, :p].reshape(n, k, p))
        start += n * k
    return out


def zip_delta(
    batch: BlockBatch, *, engine: str = "auto"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ZIP ``(delta (n, n1, n2) in percentage points, reference surface, fitted surface)``.

    ``engine``: ``"auto"`` (compiled kernel when numba is installed), ``"numba"``, ``"numpy"``.
    """
    _, n1, n2 = batch.mean.shape
    y = batch.mean
    f1, f2 = batch.single_fits
    y1 = hill_predict(batch.log_conc1, f1.params)  # (n, n1)
    y2 = hill_predict(batch.log_conc2, f2.params)  # (n, n2)
    comb = y[:, 1:, 1:]
    # rows: drug 1 fixed at conc1[i] (i >= 1, baseline y1), drug 2 varies over conc2[1:];
    # columns: drug 2 fixed at conc2[j] (j >= 1, baseline y2), drug 1 varies over conc1[1:]
    row_pred, col_pred = _line_fits(
        [
            (y1[:, 1:], batch.log_conc2[:, 1:], comb),
            (y2[:, 1:], batch.log_conc1[:, 1:], comb.transpose(0, 2, 1)),
        ],
        engine,
    )
    col_pred = col_pred.transpose(0, 2, 1)
    fitted = np.empty_like(y)
    fitted[:, :, 0] = y1
    fitted[:, 0, :] = y2
    fitted[:, 1:, 1:] = 0.5 * (row_pred + col_pred)
    reference = y1[:, :, None] + y2[:, None, :] - y1[:, :, None] * y2[:, None, :]
    delta = np.where(combination_mask((n1, n2)), (fitted - reference) * 100.0, 0.0)
    return delta, reference, fitted


@register_model
class ZIP(SynergyModel):
    """ZIP delta score (SynergyFinder's definition), batched over blocks."""

    name = "zip"
    label = "ZIP"
    needs_fit = True
    uses_single_fits = True

    def surface(self, batch: BlockBatch) -> ModelOutput:
        delta, reference, _ = zip_delta(batch)
        status, reason = ok_status(batch.n_blocks)
        bad = ~np.isfinite(delta).all(axis=(1, 2))
        status[bad] = "failed"
        reason[bad] = "non-finite ZIP delta (a row or column fit failed)"
        return ModelOutput(delta, reference, status=status, reason=reason)
