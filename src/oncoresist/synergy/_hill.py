"""Single-agent Hill curves of the synergy models, fitted by the curve engine.

The synergy models work in *fractional inhibition* (0 = no effect, 1 = every cell killed), with
curves written as ``params = (bottom, top, m, h)``, ``bottom`` the effect at dose 0, ``top`` the
maximal effect, ``m = ln EC50`` and ``h > 0``::

    y(x) = bottom + (top - bottom) / (1 + exp(-h (ln x - m)))

The fits are those of the dose-response reports: :func:`oncoresist.curves.fit_curves` with the
``ll4`` model ``f = c + (d - c) / (1 + exp(b (x - e)))``, its default bounds (slope, EC50
margin and asymptote margins of :mod:`oncoresist.curves._models`) and its status vocabulary, on
the same points. The two parameterisations are one curve: ``bottom = f(-inf)`` (``d`` when
``b > 0``, else ``c``), ``top`` the other asymptote, ``h = |b|``, ``m = e``; so a single-agent
curve has one EC50 (relative IC50) and one absolute IC50 in every report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from ..curves._fit import CurveFitArrays, fit_curves
from ..curves._metrics import inverse_loglogistic
from ..curves._models import EC50_MARGIN

__all__ = [
    "FLAT_EFFECT",
    "HillFit",
    "fit_hill",
    "fit_problems",
    "hill_inverse_log",
    "hill_predict",
]

_ZCLIP = 60.0
#: MuSyC's bounds of the Hill slopes and of ln EC50 beyond the tested doses (e^5 ~ 150-fold).
H_MIN, H_MAX = 0.1, 10.0
M_MARGIN = 5.0


def hill_predict(log_conc: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Values of Hill curves ``params = (bottom, top, m, h)`` (n, 4) at ``log_conc`` (n, p).

    ``log_conc`` is the natural log of the concentration; ``-inf`` (dose 0) gives ``bottom``.
    """
    b, t, m, h = params.T
    zero = ~np.isfinite(log_conc)
    x = np.where(zero, 0.0, log_conc)
    z = np.clip(-h[:, None] * (x - m[:, None]), -_ZCLIP, _ZCLIP)
    s = np.where(zero, 0.0, 1.0 / (1.0 + np.exp(z)))
    return b[:, None] + (t - b)[:, None] * s


def hill_inverse_log(effect: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Natural log of the dose at which each curve reaches ``effect`` (broadcast over rows).

    ``effect`` has shape ``(n, ...)``. Outside the open interval (bottom, top) the dose is
    ``-inf`` (effect at or below bottom) or ``+inf`` (effect not reachable).
    """
    b, t, m, h = (params[:, i].reshape((-1,) + (1,) * (effect.ndim - 1)) for i in range(4))
    lo, hi = np.minimum(b, t), np.maximum(b, t)
    inside = (effect > lo) & (effect < hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(inside, (effect - b) / (t - effect), 1.0)
        out = m + np.log(ratio) / h
    increasing = t > b
    below = np.where(increasing, effect <= lo, effect >= hi)
    out = np.where(inside, out, np.where(below, -np.inf, np.inf))
    return out


@dataclass(frozen=True)
class HillFit:
    """Batched Hill fits: ``params`` (n, 4) as (bottom, top, m = ln EC50, h), and the curve
    engine's ``status``/``reason``, estimates on a bound ``at_bound`` (n, 4, same order) and
    absolute IC50 ``ic50_abs`` (dose of 50 % inhibition, NaN when never reached)."""

    params: np.ndarray
    sse: np.ndarray
    converged: np.ndarray
    n_points: np.ndarray
    status: np.ndarray | None = None
    reason: np.ndarray | None = None
    at_bound: np.ndarray | None = None
    ic50_abs: np.ndarray | None = None

    @property
    def bottom(self) -> np.ndarray:
        return self.params[:, 0]

    @property
    def top(self) -> np.ndarray:
        return self.params[:, 1]

    @property
    def ec50(self) -> np.ndarray:
        return np.exp(self.params[:, 2])

    @property
    def hill_slope(self) -> np.ndarray:
        return self.params[:, 3]

    def take(self, index: slice | np.ndarray) -> HillFit:
        """The fits of the curves ``index``."""
        kw: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            kw[f.name] = None if v is None else v[index]
        return HillFit(**kw)

    @classmethod
    def from_curves(cls, fit: CurveFitArrays) -> HillFit:
        """The ``ll4`` fits of :func:`oncoresist.curves.fit_curves` in this convention."""
        b, c, d, e = fit.params.T
        rising = b < 0  # f(-inf) = c: inhibition rises with the dose
        bottom = np.where(rising, c, d)
        top = np.where(rising, d, c)
        bound = fit.at_bound()
        at = np.column_stack(
            [np.where(rising, bound[:, 1], bound[:, 2]), np.where(rising, bound[:, 2], bound[:, 1]),
             bound[:, 3], bound[:, 0]]
        )  # fmt: skip
        with np.errstate(invalid="ignore"):
            ic50_abs = np.exp(inverse_loglogistic(0.5, b, c, d, e))
        return cls(
            params=np.column_stack([bottom, top, e, np.abs(b)]),
            sse=fit.sse,
            converged=fit.converged,
            n_points=fit.n_points,
            status=fit.status,
            reason=fit.reason,
            at_bound=at,
            ic50_abs=ic50_abs,
        )


def fit_hill(log_conc: np.ndarray, response: np.ndarray, *, engine: str = "auto") -> HillFit:
    """Fit 4-parameter Hill curves to many curves with :func:`oncoresist.curves.fit_curves`.

    ``log_conc``, ``response``: ``(n_curves, n_points)``, natural log of the dose (``-inf`` for
    dose 0) and the fractional inhibition (NaN ignored). The dose-response defaults apply;
    curves of 2-3 distinct doses (3 x 3 blocks) are fitted too (``min_doses=2``) and get the
    engine's status ``underdetermined``.

    Examples
    --------
    >>> x = np.log([[0.01, 0.1, 1.0, 10.0, 100.0]])
    >>> fit = fit_hill(x, 1 / (1 + 1 / np.exp(x)))
    >>> round(float(fit.ec50[0]), 3), fit.status[0]
    (1.0, 'ok')
    """
    y = np.asarray(response, dtype=float)
    fit = fit_curves(np.asarray(log_conc, dtype=float), y, model="ll4", engine=engine, min_doses=2)
    return HillFit.from_curves(fit)


#: Largest effect (fraction of inhibition, over the tested doses) of a drug called *flat*: a
#: curve that moves less than 5 percentage points has no measurable potency, so every model
#: that inverts or extrapolates it (Loewe, ZIP, CI, MuSyC) has nothing to stand on.
FLAT_EFFECT = 0.05
_BOUND_TEXT = ("effect at dose 0", "maximal effect", "EC50", "Hill slope")


def fit_problems(fit: HillFit, log_conc: np.ndarray) -> np.ndarray:
    """Why each single-agent fit of :func:`fit_hill` is not trustworthy (``""`` = fine).

    In the curve engine's vocabulary: a status other than ``ok`` (``flat``: not better than a
    flat line; ``failed``: not converged or non-finite; ``insufficient_data``,
    ``underdetermined``, ``constant``) with the engine's reason; a free parameter that ends on
    a bound of its box (the data do not determine it); or an effect that changes by less than
    :data:`FLAT_EFFECT` over the tested doses (``flat``).

    ``log_conc`` (n, p) are the doses the curves were fitted on (``-inf`` = dose 0). Returns
    an object array of ``n`` strings, several problems joined with ``"; "``.

    >>> x = np.log([[0.01, 0.1, 1.0, 10.0, 100.0]])
    >>> fit_problems(fit_hill(x, np.full((1, 5), 0.01 * np.arange(5))), x)[0]
    'flat: no effect (changes by 4.0 percentage points over the tested doses)'
    """
    lc = np.asarray(log_conc, dtype=float)
    finite = np.isfinite(lc)
    n = fit.params.shape[0]
    pred = hill_predict(np.where(finite, lc, -np.inf), fit.params)
    pred = np.where(finite | np.isneginf(lc), pred, np.nan)
    with np.errstate(invalid="ignore"):
        span = np.nanmax(np.where(np.isnan(pred), -np.inf, pred), axis=1) - np.nanmin(
            np.where(np.isnan(pred), np.inf, pred), axis=1
        )
    span = np.where(np.isfinite(span), span, 0.0)
    status = fit.status if fit.status is not None else np.full(n, "ok", dtype=object)
    reason = fit.reason if fit.reason is not None else np.full(n, "", dtype=object)
    at = fit.at_bound if fit.at_bound is not None else np.zeros((n, 4), dtype=bool)
    ok = status == "ok"
    flat = ok & (span < FLAT_EFFECT)
    checks: list[tuple[np.ndarray, Callable[[int], str]]] = [
        (~ok, lambda i: f"{status[i]}: {reason[i]}" if reason[i] else str(status[i])),
        (
            flat,
            lambda i: (
                f"flat: no effect (changes by {100 * span[i]:.1f} percentage points over the "
                "tested doses)"
            ),
        ),
    ]
    fold = f"{np.exp(EC50_MARGIN):,.0f}-fold outside the tested doses"
    for j, what in enumerate(_BOUND_TEXT):

        def on_bound(i: int, j: int = j, what: str = what) -> str:
            value = fold if j == 2 else f"{fit.params[i, j]:.3g}"
            return f"{what} at its bound ({value})"

        checks.append((ok & ~flat & at[:, j], on_bound))
    out = np.full(n, "", dtype=object)
    for mask, text in checks:
        for i in np.flatnonzero(mask).tolist():
            out[i] = f"{out[i]}; {text(i)}" if out[i] else text(i)
    return out
