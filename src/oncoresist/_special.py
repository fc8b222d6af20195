"""The few distribution functions the curve-fitting path needs, from ``scipy.special``.

``scipy.stats`` takes about a second to import (it builds every distribution's docstring), more
than a small fit takes; the functions below are the ``scipy.special`` routines that
``scipy.stats`` itself evaluates for these distributions (``f.sf`` is ``fdtrc``, ``t.ppf`` is
``stdtrit``, ``t.sf(x)`` is ``stdtr(df, -x)``, ``norm.sf(z)`` is ``ndtr(-z)``), with the same
argument checks (degrees of freedom must be > 0, else NaN), so the values are the same to the
last bit (tests/test_special.py compares them with ``scipy.stats``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

__all__ = ["f_sf", "norm_sf", "t_ppf", "t_sf"]


def _positive(df: Any) -> np.ndarray:
    d = np.asarray(df, dtype=float)
    return np.where(d > 0, d, np.nan)


def _out(value: np.ndarray) -> Any:
    return value[()] if value.ndim == 0 else value


def f_sf(x: Any, dfn: Any, dfd: Any) -> Any:
    """Survival function of the F distribution (``scipy.stats.f.sf``)."""
    xv = np.asarray(x, dtype=float)
    with np.errstate(invalid="ignore"):
        v = special.fdtrc(_positive(dfn), _positive(dfd), np.maximum(xv, 0.0))
    return _out(np.where(np.isnan(xv), np.nan, v))


def t_ppf(q: Any, df: Any) -> Any:
    """Quantile of Student's t distribution (``scipy.stats.t.ppf``)."""
    qv = np.asarray(q, dtype=float)
    d = _positive(df)
    with np.errstate(invalid="ignore"):
        v = special.stdtrit(d, qv)
    v = np.where(qv == 0, -np.inf, np.where(qv == 1, np.inf, v))  # the support's ends
    return _out(np.where((qv >= 0) & (qv <= 1) & ~np.isnan(d), v, np.nan))


def t_sf(x: Any, df: Any) -> Any:
    """Survival function of Student's t distribution (``scipy.stats.t.sf``)."""
    with np.errstate(invalid="ignore"):
        return _out(np.asarray(special.stdtr(_positive(df), -np.asarray(x, dtype=float))))


def norm_sf(z: Any) -> Any:
    """Survival function of the standard normal distribution (``scipy.stats.norm.sf``)."""
    return _out(np.asarray(special.ndtr(-np.asarray(z, dtype=float))))


def neg_log10_p(p: Any) -> np.ndarray:
    """``-log10 p`` for plots: a p-value of 0 (below the smallest double) is drawn at the
    smallest non-zero p-value of the same data, not at 1e-300, so one such point does not
    stretch the axis to 300; NaN stays NaN.

    >>> neg_log10_p([0.1, 0.0, 1e-5]).round(6).tolist()
    [1.0, 5.0, 5.0]
    """
    pv = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    positive = pv[pv > 0]
    floor = positive.min() if positive.size else 1e-300
    with np.errstate(divide="ignore"):
        return -np.log10(np.where(np.isnan(pv) | (pv > 0), pv, floor))
