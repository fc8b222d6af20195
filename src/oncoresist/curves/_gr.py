"""Growth-rate inhibition (GR) metrics (Hafner et al. 2016, Nat Methods 13:521).

``GR(c) = 2 ** (log2(x(c) / x0) / log2(x_ctrl / x0)) - 1`` from cell counts of treated wells
``x``, untreated controls ``x_ctrl`` and time zero ``x0``; or, without time-zero counts, from the
relative viability and the doubling time. The GR curve
``GR(c) = GRinf + (1 - GRinf) / (1 + (c / GEC50) ** h_GR)`` is the ``ll3`` model (top 1) with
GRmetrics' bounds (GRinf in [-1, 1], h in [0.1, 5], GEC50 within 2 decades of the tested
range) and the same F-test against a flat line (p > 0.05: flat fit, GR50 and GEC50 reported as
+inf or -inf / 0 as GRmetrics does).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ._fit import fit_curves
from ._metrics import auc_loglogistic, inverse_loglogistic, loglogistic

__all__ = ["fit_gr", "gr_from_doubling_time", "gr_values"]


def gr_values(x: Any, x_ctrl: Any, x0: Any) -> np.ndarray:
    """GR values from treated counts ``x``, control counts ``x_ctrl`` and time-zero ``x0``.

    Examples
    --------
    >>> gr_values([400.0, 100.0, 50.0], 400.0, 100.0).round(3).tolist()
    [1.0, 0.0, -0.293]
    """
    x, xc, x0 = (np.asarray(a, dtype=float) for a in (x, x_ctrl, x0))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 2.0 ** (np.log2(x / x0) / np.log2(xc / x0)) - 1.0
    return out


def gr_from_doubling_time(
    relative_viability: Any, *, treatment_time: float, doubling_time: float
) -> np.ndarray:
    """GR values from viability relative to control when no time-zero counts exist.

    ``x_ctrl / x0 = 2 ** (T / Td)``, hence ``GR = 2 ** (1 + log2(rel) Td / T) - 1``.

    Examples
    --------
    >>> gr_from_doubling_time([1.0, 0.5], treatment_time=72, doubling_time=24).round(3).tolist()
    [1.0, 0.587]
    """
    if not (treatment_time > 0 and doubling_time > 0):
        raise InputError("treatment_time and doubling_time must be > 0 (hours)")
    rel = np.asarray(relative_viability, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 2.0 ** (1.0 + np.log2(rel) * doubling_time / treatment_time) - 1.0


def fit_gr(log_conc: Any, gr: Any, *, flat_alpha: float = 0.05) -> pd.DataFrame:
    """Fit GR curves (one per row) and compute GR50, GRmax, GRinf, GEC50, h_GR and GR_AOC.

    ``log_conc`` is the natural log of micromolar concentration ``(n, m)`` (or ``(m,)``), ``gr``
    the GR values ``(n, m)`` with NaN for missing points. GR_AOC is the area over the fitted
    GR curve, ``mean over the tested ln range of (1 - GR)``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.log(np.logspace(-3, 1, 9))
    >>> g = -0.4 + 1.4 / (1 + np.exp(1.5 * (x - np.log(0.05))))
    >>> out = fit_gr(x, g)
    >>> round(float(out.loc[0, "gec50"]), 4), round(float(out.loc[0, "grinf"]), 3)
    (0.05, -0.4)
    """
    y = np.atleast_2d(np.asarray(gr, dtype=float))
    x = np.broadcast_to(np.asarray(log_conc, dtype=float), y.shape)
    fin = np.isfinite(x) & ~np.isnan(y)
    with np.errstate(invalid="ignore"):
        lo = np.where(fin, x, np.inf).min(axis=1)
        hi = np.where(fin, x, -np.inf).max(axis=1)
    lo = np.where(np.isfinite(lo), lo, 0.0)
    hi = np.where(np.isfinite(hi), hi, 0.0)
    ln100 = np.log(100.0)
    fit = fit_curves(
        x, y, model="ll3", flat_alpha=flat_alpha,
        bounds={"hill_slope": (0.1, 5.0), "bottom": (-1.0, 1.0), "ln_ec50": (lo - ln100, hi + ln100)},
    )  # fmt: skip
    b, c, e = fit.params[:, 0], fit.params[:, 1], fit.params[:, 2]
    flat = fit.status == "flat"
    xmin, xmax = fit.min_log_conc, fit.max_log_conc
    mean_flat = auc_loglogistic(xmin, xmax, b, bottom=c, top=1.0, ln_ec50=e)
    x50 = inverse_loglogistic(0.0, b, c, 1.0, e)
    x50 = np.where(np.isnan(x50) & np.isfinite(c), np.inf, x50)  # GR never reaches 0
    x50 = np.where(flat, np.where(mean_flat > 0, np.inf, -np.inf), x50)
    grmax = np.where(flat, mean_flat, loglogistic(xmax, b, c, 1.0, e))
    grinf = np.where(flat, mean_flat, c)
    aoc = 1.0 - np.where(
        flat, mean_flat, auc_loglogistic(xmin, xmax, b, bottom=c, top=1.0, ln_ec50=e)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - fit.sse / fit.sse_flat
    return pd.DataFrame(
        {
            "status": fit.status,
            "reason": fit.reason,
            "gr50": np.exp(x50),
            "grmax": grmax,
            "grinf": grinf,
            "gec50": np.where(flat, 0.0, np.exp(e)),
            "h_gr": np.where(flat, 0.01, b),
            "gr_aoc": aoc,
            "r2": r2,
            "pvalue_flat": fit.pvalue_flat,
            "n_points": fit.n_points,
        }
    )
