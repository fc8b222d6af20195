"""Zero interaction potency (ZIP; Yadav et al. 2015, Comput Struct Biotechnol J 13:504).

Delta score as SynergyFinder defines it:

1. fit a 4-parameter Hill curve to each drug alone (``y1``, ``y2``);
2. along every row (drug 1 fixed at ``d1``), fit a Hill curve of drug 2 whose effect at
   ``d2 = 0`` is fixed at the baseline ``y1(d1)`` (top capped at 100 % inhibition), and
   symmetrically along every column;
3. the observed interaction surface is the average of the row and column fits;
4. ``delta = (row_fit + col_fit) / 2 - (y1 + y2 - y1 y2)``, in percentage points; the
   single-agent row and column are 0.

All row, column and single-agent fits of all blocks run in three batched Levenberg–Marquardt
calls.
"""

from __future__ import annotations

import numpy as np

from ._batch import BlockBatch
from ._hill import fit_hill, hill_predict
from ._registry import ModelOutput, SynergyModel, combination_mask, ok_status, register_model

__all__ = ["ZIP", "zip_delta"]


def zip_delta(batch: BlockBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ZIP ``(delta (n, n1, n2) in percentage points, reference surface, fitted surface)``."""
    n, n1, n2 = batch.mean.shape
    y = batch.mean
    f1, f2 = batch.single_fits
    y1 = hill_predict(batch.log_conc1, f1.params)  # (n, n1)
    y2 = hill_predict(batch.log_conc2, f2.params)  # (n, n2)
    # rows: drug 1 fixed at conc1[i] (i >= 1), drug 2 varies over conc2[1:]
    xr = np.broadcast_to(batch.log_conc2[:, None, 1:], (n, n1 - 1, n2 - 1)).reshape(-1, n2 - 1)
    yr = y[:, 1:, 1:].reshape(-1, n2 - 1)
    # columns: drug 2 fixed at conc2[j] (j >= 1), drug 1 varies over conc1[1:]
    xc = np.broadcast_to(
        batch.log_conc1[:, 1:, None].transpose(0, 2, 1), (n, n2 - 1, n1 - 1)
    ).reshape(-1, n1 - 1)
    yc = y[:, 1:, 1:].transpose(0, 2, 1).reshape(-1, n1 - 1)
    p = max(n1, n2) - 1
    xx = np.full((xr.shape[0] + xc.shape[0], p), -np.inf)
    yy = np.full(xx.shape, np.nan)
    xx[: xr.shape[0], : n2 - 1] = xr
    yy[: xr.shape[0], : n2 - 1] = yr
    xx[xr.shape[0] :, : n1 - 1] = xc
    yy[xr.shape[0] :, : n1 - 1] = yc
    base = np.concatenate([y1[:, 1:].reshape(-1), y2[:, 1:].reshape(-1)])
    fit = fit_hill(xx, yy, fixed_bottom=base, top_max=1.0, max_iter=30)
    pred = hill_predict(xx, fit.params)
    row_pred = pred[: xr.shape[0], : n2 - 1].reshape(n, n1 - 1, n2 - 1)
    col_pred = pred[xr.shape[0] :, : n1 - 1].reshape(n, n2 - 1, n1 - 1).transpose(0, 2, 1)
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

    def surface(self, batch: BlockBatch) -> ModelOutput:
        delta, reference, _ = zip_delta(batch)
        status, reason = ok_status(batch.n_blocks)
        bad = ~np.isfinite(delta).all(axis=(1, 2))
        status[bad] = "failed"
        reason[bad] = "non-finite ZIP delta (a row or column fit failed)"
        return ModelOutput(delta, reference, status=status, reason=reason)
