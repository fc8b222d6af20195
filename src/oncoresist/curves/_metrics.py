"""Vectorised per-curve metrics of fitted log-logistic curves.

All functions take arrays of the four log-logistic quantities (``hill_slope``, ``bottom``,
``top``, ``ln_ec50``; natural-log concentration in micromolar) and return arrays.

Definitions (responses are viability, 1 = untreated):

* relative IC50 = EC50 = ``exp(ln_ec50)``, the inflection point of the fitted curve;
* absolute IC50: the concentration where the fitted curve equals 0.5; NaN when the curve never
  crosses 0.5 (0.5 not between bottom and top); *extrapolated* when outside the tested range;
* Emax: fitted response at the highest tested concentration; Einf: fitted response at infinite
  concentration (``bottom`` for a decreasing curve);
* AUC: integral of the fitted curve over an ln-concentration range divided by the range
  width (1 = no effect for a curve at 1, 0 = complete kill); activity area AA = 1 - AUC;
* DSS (Yadav et al. 2014, Sci Rep 4:5193) on the % inhibition scale I = 100 (1 - f) with
  activity threshold t = 10 %: A = integral over [x1, x2] of (I - t), where [x1, x2] is the part
  of the tested range where I > t; DSS1 = 100 A / ((100 - t)(x2 - x1)),
  DSS2 = DSS1 / log10(Rmax) with Rmax = 100 (1 - Einf) the maximal inhibition in %, and
  DSS3 = DSS2 (x2 - x1) / (xmax - xmin). Curves with Rmax < t score 0. The ratio is the same in
  ln or log10 units.
"""

from __future__ import annotations

import numpy as np

from .._special import t_ppf

__all__ = ["auc_loglogistic", "dss", "inverse_loglogistic", "loglogistic", "wald_ci"]


def loglogistic(x, slope, bottom, top, ln_ec50):
    """bottom + (top - bottom) / (1 + exp(slope (x - ln_ec50))) with broadcasting."""
    with np.errstate(over="ignore", invalid="ignore"):
        u = np.asarray(slope) * (np.asarray(x) - np.asarray(ln_ec50))
        s = 1.0 / (1.0 + np.exp(u))
        s = np.where(np.isnan(s) & (np.asarray(slope) == 0), 0.5, s)
        return bottom + (top - bottom) * s


def inverse_loglogistic(level, slope, bottom, top, ln_ec50):
    """ln concentration where the curve equals ``level`` (NaN when it never does)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (top - level) / (level - bottom)
        out = ln_ec50 + np.log(ratio) / slope
    ok = (ratio > 0) & np.isfinite(ratio) & (slope != 0)
    return np.where(ok, out, np.nan)


def _integral_s(x, slope, ln_ec50):
    """Antiderivative of 1 / (1 + exp(b (x - e))) : x - log(1 + exp(b (x - e))) / b."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return x - np.logaddexp(0.0, slope * (x - ln_ec50)) / slope


def auc_loglogistic(lo, hi, slope, *, bottom, top, ln_ec50):
    """Mean of the fitted curve over [lo, hi] (ln units): the normalised AUC.

    Examples
    --------
    >>> float(auc_loglogistic(-5.0, 5.0, 1.0, bottom=0.0, top=1.0, ln_ec50=0.0))
    0.5
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        width = hi - lo
        tiny = np.abs(slope) * np.maximum(np.abs(width), 1.0) < 1e-9
        s_int = _integral_s(hi, slope, ln_ec50) - _integral_s(lo, slope, ln_ec50)
        mean_s = np.where(tiny, 0.5, s_int / width)
        mean_s = np.where(width == 0, loglogistic(lo, slope, 0.0, 1.0, ln_ec50), mean_s)
        return bottom + (top - bottom) * mean_s


def dss(xmin, xmax, slope, *, bottom, top, ln_ec50, threshold: float = 0.10):
    """DSS1, DSS2, DSS3 (Yadav 2014) on the tested range [xmin, xmax] (ln concentrations).

    Examples
    --------
    >>> d1, d2, d3 = dss(-5.0, 5.0, 1.0, bottom=0.0, top=1.0, ln_ec50=0.0)
    >>> round(float(d1), 2) > 0
    True
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _dss(xmin, xmax, slope, bottom, top, ln_ec50, threshold)


def _dss(xmin, xmax, slope, bottom, top, ln_ec50, threshold):
    t = 100.0 * threshold
    level = 1.0 - threshold  # viability at which inhibition equals the threshold
    f_lo = loglogistic(xmin, slope, bottom, top, ln_ec50)
    f_hi = loglogistic(xmax, slope, bottom, top, ln_ec50)
    xt = inverse_loglogistic(level, slope, bottom, top, ln_ec50)
    act_lo, act_hi = f_lo < level, f_hi < level
    x1 = np.where(act_lo, xmin, np.where(act_hi, xt, np.nan))
    x2 = np.where(act_hi, xmax, np.where(act_lo, xt, np.nan))
    x1 = np.clip(x1, xmin, xmax)
    x2 = np.clip(x2, xmin, xmax)
    width = x2 - x1
    mean_f = auc_loglogistic(x1, x2, slope, bottom=bottom, top=top, ln_ec50=ln_ec50)
    with np.errstate(divide="ignore", invalid="ignore"):
        area = width * ((100.0 - t) - 100.0 * mean_f)  # integral of (I - t)
        dss1 = 100.0 * area / ((100.0 - t) * width)
        einf = np.where(slope > 0, bottom, np.where(slope < 0, top, 0.5 * (bottom + top)))
        rmax = 100.0 * (1.0 - einf)
        dss2 = dss1 / np.log10(rmax)
        dss3 = dss2 * width / (xmax - xmin)
    none = ~(act_lo | act_hi) | ~(width > 0) | ~(rmax > t)
    fitted = np.isfinite(slope) & np.isfinite(bottom)
    out = []
    for v in (dss1, dss2, dss3):
        v = np.where(none, 0.0, np.maximum(v, 0.0))
        out.append(np.where(fitted, v, np.nan))
    return tuple(out)


def wald_ci(estimate, stderr, df, *, level: float = 0.95):
    """``estimate -+ t_{df, (1+level)/2} stderr`` (df <= 0 or NaN gives NaN)."""
    dfa = np.asarray(df, dtype=float)
    q = t_ppf(0.5 + level / 2.0, np.where(dfa > 0, dfa, np.nan))
    return estimate - q * stderr, estimate + q * stderr
