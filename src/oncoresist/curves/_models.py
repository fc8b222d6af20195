"""Dose-response models: one small registered class per formula, with its Jacobian.

Every model works on *batches*: ``x`` is an ``(n_curves, n_points)`` array of natural-log
concentrations (NaN = missing point, ``-inf`` = concentration 0), ``p`` an ``(n_curves, k)``
array of parameters in the model's internal parameterisation. The registry ``MODELS`` maps a
name to an instance, so contract tests and the fitting engine loop over every model.

Parameterisation (drc ``LL.4`` on the natural-log scale, Ritz et al. 2015)::

    ll4   f(x) = bottom + (top - bottom) / (1 + exp(hill_slope * (x - ln_ec50)))
    ll3   top fixed at 1 (viability relative to untreated control, GDSC convention)
    ll2   top fixed at 1, bottom fixed at 0
    flat  f(x) = mean                                         (the null model)

A positive ``hill_slope`` is a *decreasing* curve when ``top > bottom``; ``ln_ec50`` is the
natural log of the relative IC50 / EC50 (the inflection point) in the concentration unit of
``x`` (micromolar in oncoresist).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

__all__ = ["MODELS", "CurveModel", "get_model", "register_model"]

#: Registry of models by name (``ll4``, ``ll3``, ``ll2``, ``flat``).
MODELS: dict[str, CurveModel] = {}

#: Default box bound on the Hill slope: steeper curves are step functions between two doses.
SLOPE_BOUND = 20.0
#: Default margin (natural-log units) by which ln EC50 may leave the tested range (e^10 ~ 22,000x).
EC50_MARGIN = 10.0
#: Default margin, in units of the observed response range, for the asymptotes.
ASYMPTOTE_MARGIN = 1.0


def register_model(cls: type[CurveModel]) -> type[CurveModel]:
    """Class decorator adding an instance of ``cls`` to :data:`MODELS` under ``cls.name``."""
    MODELS[cls.name] = cls()
    return cls


def get_model(model: str | CurveModel) -> CurveModel:
    """The registered model called ``model`` (or ``model`` itself when it is a CurveModel)."""
    if isinstance(model, CurveModel):
        return model
    if model not in MODELS:
        from ..errors import InputError

        raise InputError(f"unknown curve model {model!r}; use one of {', '.join(sorted(MODELS))}")
    return MODELS[model]


def _xrange(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-curve min and max of the finite log-concentrations (NaN when there are none)."""
    fin = np.isfinite(x)
    with np.errstate(invalid="ignore"):
        lo = np.where(fin, x, np.inf).min(axis=1)
        hi = np.where(fin, x, -np.inf).max(axis=1)
    ok = np.isfinite(lo)
    return np.where(ok, lo, np.nan), np.where(ok, hi, np.nan)


def _sigmoid_parts(x: np.ndarray, slope: np.ndarray, ln_ec50: np.ndarray, *, deriv: bool = True):
    """s = 1 / (1 + exp(b (x - ln e))), q = s (1 - s) and q (x - ln e); safe at x = +-inf."""
    dx = x - ln_ec50[:, None]
    with np.errstate(over="ignore", invalid="ignore"):
        s = 1.0 / (1.0 + np.exp(slope[:, None] * dx))
    infinite = not np.isfinite(dx).all()
    if infinite:
        s = np.where(np.isnan(s) & ~np.isnan(x), 0.5, s)  # slope 0 at x = +-inf
    if not deriv:
        return s, None, None
    q = s - s * s
    with np.errstate(invalid="ignore"):
        qdx = q * dx
    if infinite:
        qdx = np.where(q == 0.0, 0.0, qdx)  # limit of q * dx at x = +-inf is 0
    return s, q, qdx


class CurveModel:
    """Base class of a dose-response model (subclass, set the class attributes, register)."""

    name: ClassVar[str] = ""
    #: Names of the free parameters, in the column order of ``params``.
    param_names: ClassVar[tuple[str, ...]] = ()
    #: True for sigmoid models (they have an EC50 and a Hill slope); False for the null model.
    sigmoid: ClassVar[bool] = True
    #: For the log-logistic family: which of (hill_slope, bottom, top, ln_ec50) are free, and the
    #: values of the fixed ones; lets the compiled engine fit the model.
    ll_free: ClassVar[tuple[bool, bool, bool, bool] | None] = None
    ll_fixed: ClassVar[tuple[float, float, float, float]] = (0.0, 0.0, 1.0, 0.0)

    def to_full(self, p: np.ndarray) -> np.ndarray:
        """Log-logistic family: the ``(n, 4)`` array (hill_slope, bottom, top, ln_ec50)."""
        free = np.asarray(self.ll_free)
        full = np.tile(np.asarray(self.ll_fixed, dtype=float), (len(p), 1))
        full[:, free] = p
        return full

    def __init__(self) -> None:
        """Models take no constructor arguments; instances live in :data:`MODELS`."""

    def from_full(self, full: np.ndarray) -> np.ndarray:
        """Log-logistic family: the free columns of a ``(n, 4)`` full parameter array."""
        return full[:, np.asarray(self.ll_free)]

    @property
    def n_params(self) -> int:
        return len(self.param_names)

    def f(self, x: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Model response at ``x`` ``(n, m)`` for parameters ``p`` ``(n, k)``."""
        raise NotImplementedError

    def jac(self, x: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Jacobian ``d f / d p`` with shape ``(n, m, k)``."""
        raise NotImplementedError

    def start(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Data-driven starting values ``(n, k)`` (NaN points ignored)."""
        raise NotImplementedError

    def default_bounds(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-curve box bounds ``(lower, upper)``, each ``(n, k)``; NaN points ignored."""
        n = x.shape[0]
        return (np.full((n, self.n_params), -np.inf), np.full((n, self.n_params), np.inf))

    def curve_params(self, p: np.ndarray) -> dict[str, np.ndarray]:
        """The four log-logistic quantities ``hill_slope, bottom, top, ln_ec50`` for ``p``."""
        raise NotImplementedError


def _ll_start(x: np.ndarray, y: np.ndarray, bottom: np.ndarray, top: np.ndarray):
    """Slope and ln EC50 from the logit-linear regression ln((top-y)/(y-bottom)) = b (x - ln e)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.log((top[:, None] - y) / (y - bottom[:, None]))
    ok = np.isfinite(z) & np.isfinite(x)
    nok = ok.sum(axis=1)
    xm = np.where(ok, x, 0.0)
    zm = np.where(ok, z, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = xm.sum(axis=1) / nok
        mz = zm.sum(axis=1) / nok
        dxx = np.where(ok, x - mx[:, None], 0.0)
        sxx = (dxx**2).sum(axis=1)
        slope = (dxx * (zm - mz[:, None])).sum(axis=1) / sxx
        ln_e = mx - mz / slope
    lo, hi = _xrange(x)
    mid = 0.5 * (lo + hi)
    good = np.isfinite(slope) & (np.abs(slope) > 1e-3) & np.isfinite(ln_e)
    slope = np.where(good, np.clip(slope, -SLOPE_BOUND / 2, SLOPE_BOUND / 2), 1.0)
    ln_e = np.where(good, np.clip(ln_e, lo - 2.0, hi + 2.0), mid)
    return slope, np.where(np.isfinite(ln_e), ln_e, 0.0)


def _plateaus(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Widened min/max of the responses: a start for the two asymptotes."""
    ok = np.isfinite(y) & ~np.isnan(x)
    with np.errstate(invalid="ignore"):
        ymin = np.where(ok, y, np.inf).min(axis=1)
        ymax = np.where(ok, y, -np.inf).max(axis=1)
    ymin = np.where(np.isfinite(ymin), ymin, 0.0)
    ymax = np.where(np.isfinite(ymax), ymax, 1.0)
    span = np.maximum(ymax - ymin, 1e-6)
    return ymin - 0.05 * span, ymax + 0.05 * span


def _ll_bounds(x: np.ndarray, y: np.ndarray, k: int, slope_col: int, ec_col: int, asym_cols=()):
    lo, hi = _xrange(x)
    lo = np.where(np.isfinite(lo), lo, 0.0)
    hi = np.where(np.isfinite(hi), hi, 0.0)
    n = x.shape[0]
    lower = np.full((n, k), -np.inf)
    upper = np.full((n, k), np.inf)
    lower[:, slope_col] = -SLOPE_BOUND
    upper[:, slope_col] = SLOPE_BOUND
    lower[:, ec_col] = lo - EC50_MARGIN
    upper[:, ec_col] = hi + EC50_MARGIN
    if asym_cols:
        # asymptotes within one data range beyond the observed responses: without this, a curve
        # that only starts to fall at the top dose sends bottom to -1e4 along a flat SSE ridge
        ok = np.isfinite(y) & ~np.isnan(x)
        with np.errstate(invalid="ignore"):
            ymin = np.where(ok, y, np.inf).min(axis=1)
            ymax = np.where(ok, y, -np.inf).max(axis=1)
            span = np.maximum(ymax - ymin, 1e-3 * np.maximum(np.abs(ymax), 1e-12))
            fin = np.isfinite(span)
            for j in asym_cols:
                lower[:, j] = np.where(fin, ymin - ASYMPTOTE_MARGIN * span, -np.inf)
                upper[:, j] = np.where(fin, ymax + ASYMPTOTE_MARGIN * span, np.inf)
    return lower, upper


@register_model
class LL4(CurveModel):
    """Four-parameter log-logistic (drc ``LL.4``): free slope, bottom, top and ln EC50."""

    name = "ll4"
    param_names = ("hill_slope", "bottom", "top", "ln_ec50")
    ll_free = (True, True, True, True)

    def f(self, x, p):
        s, _, _ = _sigmoid_parts(x, p[:, 0], p[:, 3], deriv=False)
        return p[:, 1:2] + (p[:, 2:3] - p[:, 1:2]) * s

    def jac(self, x, p):
        b, c, d, e = p.T
        s, q, qdx = _sigmoid_parts(x, b, e)
        span = (d - c)[:, None]
        out = np.empty((*x.shape, 4))
        np.multiply(-span, qdx, out=out[..., 0])
        np.subtract(1.0, s, out=out[..., 1])
        out[..., 2] = s
        np.multiply(span * b[:, None], q, out=out[..., 3])
        return out

    def start(self, x, y):
        bottom, top = _plateaus(x, y)
        slope, ln_e = _ll_start(x, y, bottom, top)
        return np.stack([slope, bottom, top, ln_e], axis=1)

    def default_bounds(self, x, y):
        return _ll_bounds(x, y, 4, 0, 3, (1, 2))

    def curve_params(self, p):
        return {"hill_slope": p[:, 0], "bottom": p[:, 1], "top": p[:, 2], "ln_ec50": p[:, 3]}


@register_model
class LL3(CurveModel):
    """Three-parameter log-logistic with the top fixed at 1 (GDSC-like viability convention)."""

    name = "ll3"
    param_names = ("hill_slope", "bottom", "ln_ec50")
    ll_free = (True, True, False, True)

    def f(self, x, p):
        s, _, _ = _sigmoid_parts(x, p[:, 0], p[:, 2], deriv=False)
        return p[:, 1:2] + (1.0 - p[:, 1:2]) * s

    def jac(self, x, p):
        b, c, e = p.T
        s, q, qdx = _sigmoid_parts(x, b, e)
        span = (1.0 - c)[:, None]
        return np.stack([-span * qdx, 1.0 - s, span * q * b[:, None]], axis=-1)

    def start(self, x, y):
        bottom, _ = _plateaus(x, y)
        bottom = np.minimum(bottom, 0.9)
        slope, ln_e = _ll_start(x, y, bottom, np.maximum(np.full_like(bottom, 1.0), bottom + 0.2))
        return np.stack([slope, bottom, ln_e], axis=1)

    def default_bounds(self, x, y):
        return _ll_bounds(x, y, 3, 0, 2, (1,))

    def curve_params(self, p):
        return {
            "hill_slope": p[:, 0],
            "bottom": p[:, 1],
            "top": np.ones(len(p)),
            "ln_ec50": p[:, 2],
        }


@register_model
class LL2(CurveModel):
    """Two-parameter log-logistic: top fixed at 1, bottom fixed at 0."""

    name = "ll2"
    param_names = ("hill_slope", "ln_ec50")
    ll_free = (True, False, False, True)

    def f(self, x, p):
        s, _, _ = _sigmoid_parts(x, p[:, 0], p[:, 1], deriv=False)
        return s

    def jac(self, x, p):
        b, e = p.T
        _, q, qdx = _sigmoid_parts(x, b, e)
        return np.stack([-qdx, q * b[:, None]], axis=-1)

    def start(self, x, y):
        n = len(x)
        slope, ln_e = _ll_start(x, y, np.full(n, -0.05), np.full(n, 1.05))
        return np.stack([slope, ln_e], axis=1)

    def default_bounds(self, x, y):
        return _ll_bounds(x, y, 2, 0, 1)

    def curve_params(self, p):
        n = len(p)
        return {"hill_slope": p[:, 0], "bottom": np.zeros(n), "top": np.ones(n), "ln_ec50": p[:, 1]}


@register_model
class Flat(CurveModel):
    """The null model: a constant response (no dose dependence)."""

    name = "flat"
    param_names = ("mean",)
    sigmoid = False

    def f(self, x, p):
        return np.broadcast_to(p[:, 0:1], x.shape).copy()

    def jac(self, x, p):
        return np.ones((*x.shape, 1))

    def start(self, x, y):
        ok = np.isfinite(y) & ~np.isnan(x)
        n = ok.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where(ok, y, 0.0).sum(axis=1) / n
        return np.where(np.isfinite(m), m, 0.0)[:, None]

    def curve_params(self, p):
        n = len(p)
        nan = np.full(n, np.nan)
        return {"hill_slope": np.zeros(n), "bottom": p[:, 0], "top": p[:, 0], "ln_ec50": nan}
