"""Maximum-likelihood fits of a two-population (sensitive/resistant) model to burden data.

Model: sensitive cells grow at ``r_s`` and are killed at ``delta`` while treatment is on;
resistant cells grow at ``r_r`` regardless::

    B(t) = S0 exp(r_s t - delta T_on(t)) + R0 exp(r_r t)

with ``T_on(t)`` the cumulative time on treatment (the on/off flag of a visit holds until the
next visit). Noise is log-normal: ``log y = log B(t) + e``, ``e ~ N(0, sigma^2)``; ``sigma`` is
profiled out (``sigma^2 = RSS / n``). Identifiability: Wald intervals from the Jacobian and a
profile likelihood per parameter (:func:`profile_likelihood`).

Units: every fit runs on ``y / ref`` (``ref`` the median measured value) with bounds on the log
sizes relative to it, so rates do not depend on the unit of the data and log sizes shift by
exactly ``log(scale)``. Values <= 0 or below a detection limit are censored observations
(Tobit likelihood: ``P(log y < log limit)``), never replaced by a made-up floor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from .._results import ResultMixin
from ..errors import InputError, SchemaError
from ._model import _as_bool

__all__ = ["BurdenFit", "fit_burden", "fit_psa_cohort", "forecast_next_cycle", "profile_likelihood"]

PARAMS = ("log_s0", "log_r0", "r_s", "delta", "r_r")
_SIZES = (0, 1)  # log_s0, log_r0: natural log of a size in the units of the data
# Bounds on the log sizes are relative to the data's reference level (``log ref``, the median
# positive measurement), so a change of units (mm^3 -> um^3, ng/mL -> pg/mL) shifts them with
# the data instead of pinning a fit to an absolute bound; rates are per day and unit-free.
_LOWER = np.array([-20.0, -30.0, -0.2, 0.0, -0.2])
_UPPER = np.array([20.0, 20.0, 0.3, 2.0, 0.3])
# log(y / ref) is rounded to 1e-9 (far finer than any assay): a change of unit perturbs it in
# the last float bits, which least squares amplifies along the flat ridges of poorly
# identified fits (measured: up to 9e-4 per day on Bruchovsky PSA); rounded, the optimiser
# sees the same numbers whatever the unit
_LOG_DECIMALS = 9
_LOG_SIGMA = (math.log(1e-6), 5.0)  # bounds on log sigma in the censored (Tobit) likelihood


def _on_time(t: np.ndarray, t_obs: np.ndarray, on_obs: np.ndarray) -> np.ndarray:
    """Cumulative time on treatment at ``t`` (flags hold from one visit to the next)."""
    edges = np.asarray(t_obs, float)
    seg_on = np.asarray(on_obs, bool)[:-1].astype(float)
    cum = np.concatenate([[0.0], np.cumsum(np.diff(edges) * seg_on)])
    i = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, len(edges) - 1)
    last_on = np.asarray(on_obs, bool)[i].astype(float)
    return cum[i] + (np.asarray(t, float) - edges[i]) * last_on


def _flags(values: Any, where: str, labels: Any = None) -> np.ndarray:
    """Treatment flags as a bool array: true/false, 1/0 or their strings, nothing else.

    ``"yes"``, ``3`` or a missing flag is an :class:`InputError` naming the row (``labels``:
    row labels, default positions) and ``where`` (the column).
    """
    arr = np.asarray(values)
    if arr.dtype == bool:
        return arr
    flat = arr.reshape(-1)
    out = np.empty(flat.size, dtype=bool)
    for i, v in enumerate(flat.tolist()):
        try:
            out[i] = _as_bool(v, where)
        except InputError:
            row = i if labels is None else list(labels)[i]
            raise InputError(
                f"{where}, row {row}: {v!r:.40} is not a treatment flag; use true/false or 1/0 "
                "(also 'true'/'false'/'1'/'0'): 'yes', 'on' or 3 are not read as on"
            ) from None
    return out.reshape(arr.shape)


def _numbers(values: Any, where: str, labels: Any = None) -> np.ndarray:
    """Floats (NaN allowed); text that is not a number names the row and ``where``."""
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError, OverflowError):
        pass
    flat = list(np.asarray(values, dtype=object).reshape(-1))
    out = np.empty(len(flat))
    for i, v in enumerate(flat):
        try:
            out[i] = np.nan if v is None else float(v)
        except (TypeError, ValueError, OverflowError):
            row = i if labels is None else list(labels)[i]
            raise InputError(f"{where}, row {row}: {v!r:.40} is not a number") from None
    return out.reshape(np.shape(values))


def _predict(theta: np.ndarray, t: np.ndarray, ton: np.ndarray) -> np.ndarray:
    ls0, lr0, rs, de, rr = theta
    return np.logaddexp(ls0 + rs * t - de * ton, lr0 + rr * t)


@dataclass(frozen=True, eq=False)
class BurdenFit(ResultMixin):
    """Result of :func:`fit_burden` (``status`` ``ok`` or ``failed`` with a ``reason``).

    ``params`` hold log sizes in the units of the data and rates per day; ``n`` counts the
    usable observations, of which ``n_censored`` were below ``detection_limit`` (in the units of
    the data) and enter the likelihood as ``P(y < limit)``. ``residuals`` (log scale) and
    ``times`` are those of the measured (uncensored) observations; ``reference`` is the level
    the fit was computed relative to (the median positive measurement).
    """

    status: str
    reason: str
    params: dict[str, float]
    se: dict[str, float]
    sigma: float
    loglik: float
    n: int
    n_censored: int
    residuals: np.ndarray = field(repr=False)
    times: np.ndarray = field(repr=False)
    on_times: np.ndarray = field(repr=False)
    on_flags: np.ndarray = field(repr=False)
    detection_limit: float = math.nan
    reference: float = math.nan

    @property
    def n_floored(self) -> int:
        """Former name of :attr:`n_censored` (values are censored now, not floored)."""
        return self.n_censored

    @property
    def aic(self) -> float:
        """Akaike information criterion (5 parameters + sigma)."""
        return 2 * (len(PARAMS) + 1) - 2 * self.loglik

    def predict(self, t: Any) -> np.ndarray:
        """Predicted burden at times ``t`` (flags extrapolated from the last visit)."""
        tt = np.asarray(t, float)
        theta = np.array([self.params[p] for p in PARAMS])
        return np.exp(_predict(theta, tt, _on_time(tt, self.on_times, self.on_flags)))

    def net_rate(self, t: float = 0.0) -> float:
        """Fitted net growth rate of the burden, ``d log B / dt`` (per day) at day ``t``.

        The sensitive and resistant rates weighted by the two populations at ``t`` (with the
        treatment flag in force at ``t``); NaN for a failed fit.

        Examples
        --------
        >>> t = np.arange(0, 60, 4.0); y = 100 * np.exp(0.05 * t)
        >>> round(fit_burden(t, y, t < 0).net_rate(), 3)
        0.05
        """
        if self.status != "ok":
            return math.nan
        p = self.params
        tt = np.array([float(t)])
        k = int(np.clip(np.searchsorted(self.on_times, tt[0], side="right") - 1, 0, None))
        on = float(bool(self.on_flags[min(k, self.on_flags.size - 1)]))
        ls = (
            p["log_s0"]
            + p["r_s"] * tt[0]
            - p["delta"] * _on_time(tt, self.on_times, self.on_flags)[0]
        )
        lr = p["log_r0"] + p["r_r"] * tt[0]
        w = 1.0 / (1.0 + math.exp(min(lr - ls, 700.0)))  # share of sensitive cells
        return float(w * (p["r_s"] - p["delta"] * on) + (1.0 - w) * p["r_r"])

    def to_frame(self) -> pd.DataFrame:
        """One row per parameter: estimate, se, Wald 95% CI, identifiable flag."""
        rows = []
        for p in PARAMS:
            est, se = self.params.get(p, math.nan), self.se.get(p, math.nan)
            ok = bool(np.isfinite(se) and se < 10 * max(abs(est), 0.05))
            rows.append(
                {
                    "parameter": p,
                    "estimate": est,
                    "se": se,
                    "ci_low": est - 1.96 * se,
                    "ci_high": est + 1.96 * se,
                    "identifiable": ok,
                }
            )
        return pd.DataFrame(rows)

    def diagnostics(self) -> dict[str, float]:
        """Residual checks: Shapiro-Wilk p, lag-1 autocorrelation, RMSE on log scale."""
        r = self.residuals
        sw = float(stats.shapiro(r).pvalue) if r.size >= 3 and np.ptp(r) > 0 else math.nan
        ac = float(np.corrcoef(r[:-1], r[1:])[0, 1]) if r.size > 3 and np.std(r) > 0 else math.nan
        return {
            "shapiro_pvalue": sw,
            "lag1_autocorr": ac,
            "rmse_log": float(np.sqrt(np.mean(r**2))),
        }

    def summary(self) -> str:
        """One line: status, observations, residual sd and identifiable parameters."""
        if self.status != "ok":
            return f"BurdenFit: {self.status} ({self.reason}); {self.n} observations"
        ok = int(self.to_frame()["identifiable"].sum())
        return (
            f"BurdenFit: ok, {self.n} observations ({self.n_censored} censored), "
            f"sigma {self.sigma:.3g}, log-likelihood {self.loglik:.2f}; "
            f"{ok} of {len(PARAMS)} parameters identifiable"
        )


def _failed(reason: str, n: int) -> BurdenFit:
    e = np.empty(0)
    return BurdenFit(
        "failed",
        reason,
        {p: math.nan for p in PARAMS},
        {p: math.nan for p in PARAMS},
        math.nan,
        math.nan,
        n,
        0,
        e,
        e,
        e,
        e,
    )


def _limit(detection_limit: Any, where: str) -> float | None:
    """A detection limit as a positive float (``None``: default rule)."""
    if detection_limit is None:
        return None
    if isinstance(detection_limit, bool):
        raise InputError(f"{where}: detection_limit must be a positive number, got True/False")
    try:
        lim = float(detection_limit)
    except (TypeError, ValueError):
        raise InputError(
            f"{where}: detection_limit must be a positive number in the units of the data, "
            f"got {detection_limit!r:.40}"
        ) from None
    if not (math.isfinite(lim) and lim > 0):
        raise InputError(
            f"{where}: detection_limit must be a positive finite number in the units of the "
            f"data, got {lim!r}"
        )
    return lim


def _censoring(y: np.ndarray, limit: float | None) -> tuple[np.ndarray, float]:
    """Which observations are below the detection limit, and the limit used.

    With a limit, values below it (and values <= 0) are censored at it. Without one, only values
    <= 0 are censored, at the smallest positive observation: the assay reported that value, so its
    limit is no higher (the least assumption the data allow). NaN limit: nothing positive.
    """
    pos = y[y > 0]
    if limit is None:
        lim = float(pos.min()) if pos.size else math.nan
        return y <= 0, lim
    return (y <= 0) | (y < limit), limit


def _tobit_nll(
    z: np.ndarray,
    full: Any,
    t: np.ndarray,
    ton: np.ndarray,
    ly: np.ndarray,
    cens: np.ndarray,
    llim: float,
) -> float:
    """Negative log-likelihood (log scale) with observations below ``llim`` censored.

    ``z`` ends with ``log sigma``; measured points contribute the normal density of ``log y``,
    censored ones ``log Phi((log limit - log B) / sigma)``.
    """
    ls = z[-1]
    sig = math.exp(ls)
    mu = _predict(full(z[:-1]), t, ton)
    r = (ly[~cens] - mu[~cens]) / sig
    ll = -0.5 * np.sum(r**2) - r.size * (ls + 0.5 * math.log(2 * math.pi))
    ll += np.sum(special.log_ndtr((llim - mu[cens]) / sig))
    return float(-ll) if np.isfinite(ll) else 1e300


def _hessian(f: Any, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``x`` (standard errors of the censored fit)."""
    k = x.size
    hs = np.empty((k, k))
    e = np.eye(k) * h
    for i in range(k):
        for j in range(i, k):
            v = (
                f(x + e[i] + e[j]) - f(x + e[i] - e[j]) - f(x - e[i] + e[j]) + f(x - e[i] - e[j])
            ) / (4 * h * h)
            hs[i, j] = hs[j, i] = v
    return hs


def fit_burden(
    times: Any,
    burden: Any,
    on: Any,
    *,
    fixed: dict[str, float] | None = None,
    detection_limit: float | None = None,
) -> BurdenFit:
    """Fit the two-population model by maximum likelihood (log-normal noise).

    The fit is invariant to the units of ``burden``: it runs on the data divided by their median
    positive value (bounds on the log sizes are relative to it) and the log sizes are converted
    back, so data in um^3 and mm^3 give the same rates and sizes that differ by exactly
    ``log(1e9)``. Observations at or below the detection limit are censored: they contribute
    ``P(log y < log limit)`` to the likelihood (a Tobit model, ``sigma`` then estimated jointly)
    instead of a made-up value.

    Parameters
    ----------
    times
        Observation days (increasing).
    burden
        Measurements (PSA, tumour volume) in any unit; NaN rows are dropped and counted, values
        <= 0 or below ``detection_limit`` are censored.
    on
        Treatment flag per observation, holding until the next one: booleans, 1/0 or the
        strings "true"/"false"/"1"/"0" (any case); anything else ("yes", 3, a missing flag) is
        an :class:`~oncoresist.errors.InputError` naming the row.
    fixed
        Parameters held at a value (used by :func:`profile_likelihood`); log sizes in the units
        of the data.
    detection_limit
        Assay limit in the units of ``burden``; values below it are censored at it. Default: only
        values <= 0 are censored, below the smallest positive observation (the assay reported
        that value, so its limit is no higher).

    Returns
    -------
    BurdenFit
        ``status`` ``failed`` with a reason when fewer than ``k + 1`` usable observations
        (measured or censored, at least one measured) are left for ``k`` free parameters: the
        residual variance needs one more than the model has.

    Examples
    --------
    >>> t = np.arange(0, 400, 20.0); on = (t < 200)
    >>> y = np.exp(_predict(np.array([2.0, -2.0, 0.01, 0.05, 0.008]), t, _on_time(t, t, on)))
    >>> fit = fit_burden(t, y, on)
    >>> round(fit.params["delta"], 2)
    0.05
    >>> round(fit_burden(t, y * 1e9, on).params["delta"], 2)  # um^3 instead of mm^3
    0.05
    """
    t = _numbers(times, "times")
    y = _numbers(burden, "burden")
    flags = _flags(on, "on (treatment flags)")
    if not (t.ndim == 1 and t.shape == y.shape == flags.shape):
        raise InputError(
            f"times, burden and on must be 1-D and of the same length, got shapes {t.shape}, "
            f"{y.shape} and {flags.shape}"
        )
    fixed = dict(fixed or {})
    unknown = sorted(set(fixed) - set(PARAMS))
    if unknown:
        raise InputError(f"fixed: unknown parameter(s) {unknown}; use names from {PARAMS}")
    limit = _limit(detection_limit, "fit_burden")
    ok = np.isfinite(y) & np.isfinite(t)
    t_all, on_all = t[np.isfinite(t)], flags[np.isfinite(t)]
    t, y = t[ok], y[ok]
    free = [i for i, p in enumerate(PARAMS) if p not in fixed]
    cens, lim = _censoring(y, limit)
    n_meas = int(np.sum(~cens))
    if t.size < len(free) + 1 or n_meas == 0:
        return _failed(
            f"only {t.size} usable observations ({n_meas} measured, {int(cens.sum())} censored "
            f"below the detection limit); the model has {len(free)} free parameters and needs "
            f">= {len(free) + 1} (n_params + 1), at least one of them measured",
            int(t.size),
        )
    if np.any(np.diff(t_all) < 0):
        raise InputError("times must be increasing")
    # the data's own level: fitting log(y / ref) makes rates independent of the unit
    ref = float(np.median(y[~cens]))
    lref = math.log(ref)
    ly = np.full(y.shape, -np.inf)
    ly[~cens] = np.round(np.log(y[~cens]) - lref, _LOG_DECIMALS)
    llim = round(math.log(lim) - lref, _LOG_DECIMALS)
    ton = _on_time(t, t_all, on_all)
    rel_fixed = {
        p: round(v - lref, _LOG_DECIMALS) if PARAMS.index(p) in _SIZES else v
        for p, v in fixed.items()
    }
    lower, upper = _LOWER[free], _UPPER[free]

    def full(z: np.ndarray) -> np.ndarray:
        th = np.empty(len(PARAMS))
        for i, p in enumerate(PARAMS):
            th[i] = rel_fixed[p] if p in rel_fixed else 0.0
        th[free] = z
        return th

    tm, tonm, lym = t[~cens], ton[~cens], ly[~cens]

    def resid(z: np.ndarray) -> np.ndarray:
        return _predict(full(z), tm, tonm) - lym

    y0 = lym[0]
    starts = [
        np.array([y0, y0 - 3, 0.01, 0.05, 0.005]),
        np.array([y0, y0 - 6, 0.02, 0.02, 0.01]),
        np.array([y0 - 0.5, y0 - 1.5, 0.005, 0.1, 0.002]),
    ]
    sols = []
    for s in starts:
        z0 = np.clip(s, _LOWER + 1e-6, _UPPER - 1e-6)[free]
        try:
            sols.append(optimize.least_squares(resid, z0, bounds=(lower, upper), method="trf"))
        except (ValueError, FloatingPointError):
            continue
    sols = [s for s in sols if np.all(np.isfinite(s.x))]
    if not sols:
        return _failed("optimiser failed from every start", int(t.size))
    best = min(sols, key=lambda s: s.cost)
    n = int(t.size)
    se = {p: math.nan for p in PARAMS}
    if not cens.any():
        z = best.x
        r = best.fun
        sigma2 = max(float(np.sum(r**2) / n), 1e-12)
        loglik = -0.5 * n * (math.log(2 * math.pi * sigma2) + 1)
        try:
            jtj = best.jac.T @ best.jac
            cov = np.linalg.pinv(jtj) * sigma2
            if np.linalg.matrix_rank(jtj) == len(free):
                for k, i in enumerate(free):
                    se[PARAMS[i]] = float(math.sqrt(max(cov[k, k], 0.0)))
            else:
                for i in free:
                    se[PARAMS[i]] = math.inf
        except np.linalg.LinAlgError:
            pass
        sigma = math.sqrt(sigma2)
    else:
        # censored (Tobit) likelihood, refined from each least-squares solution on the
        # measured points; sigma is a parameter here (no closed form with censored terms)
        def nll(w: np.ndarray) -> float:
            return _tobit_nll(w, full, t, ton, ly, cens, llim)

        bnds = [*zip(lower, upper, strict=True), _LOG_SIGMA]
        tob = None
        for s in sols:
            s2 = max(float(np.mean(s.fun**2)), 1e-8)
            w0 = np.append(s.x, np.clip(0.5 * math.log(s2), *_LOG_SIGMA))
            res = optimize.minimize(nll, w0, method="L-BFGS-B", bounds=bnds)
            if np.all(np.isfinite(res.x)) and (tob is None or res.fun < tob.fun):
                tob = res
        if tob is None:
            return _failed("optimiser failed from every start", n)
        z, loglik, sigma = tob.x[:-1], -float(tob.fun), math.exp(tob.x[-1])
        r = _predict(full(z), tm, tonm) - lym
        try:
            cov = np.linalg.pinv(_hessian(nll, tob.x))
            for k, i in enumerate(free):
                se[PARAMS[i]] = float(math.sqrt(cov[k, k])) if cov[k, k] > 0 else math.inf
        except np.linalg.LinAlgError:
            pass
    th = full(z)
    th[list(_SIZES)] += lref
    return BurdenFit(
        "ok",
        "",
        {p: float(v) for p, v in zip(PARAMS, th, strict=True)},
        se,
        sigma,
        loglik,
        n,
        int(cens.sum()),
        r,
        tm,
        t_all,
        on_all,
        detection_limit=lim,
        reference=ref,
    )


def profile_likelihood(
    times: Any,
    burden: Any,
    on: Any,
    *,
    parameter: str,
    grid: Any,
    detection_limit: float | None = None,
) -> pd.DataFrame:
    """Profile log-likelihood of ``parameter`` over ``grid`` (others re-optimised).

    The 95% profile interval is where ``2 (max - profile) <= 3.84``; a flat profile means the
    parameter is not identifiable from these data. A grid of ``log_s0``/``log_r0`` is in the
    units of ``burden``; ``detection_limit`` as in :func:`fit_burden`. Too few measured
    observations for the full model (5 parameters: at least 6) is an
    :class:`~oncoresist.errors.InputError`, since no profile can be drawn.

    Examples
    --------
    >>> t = np.arange(0, 400, 20.0); on = (t < 200)
    >>> y = np.exp(_predict(np.array([2.0, -2.0, 0.01, 0.05, 0.008]), t, _on_time(t, t, on)))
    >>> prof = profile_likelihood(t, y * 1.01, on, parameter="delta", grid=[0.03, 0.05, 0.07])
    >>> list(prof.columns)
    ['parameter', 'value', 'loglik', 'within_95']
    """
    if parameter not in PARAMS:
        raise InputError(f"parameter must be one of {PARAMS}, got {parameter!r}")
    vals = _numbers(grid, "grid")
    if vals.ndim != 1 or vals.size == 0 or not np.all(np.isfinite(vals)):
        raise InputError(f"grid must be a non-empty list of finite {parameter} values")
    best = fit_burden(times, burden, on, detection_limit=detection_limit)
    if best.status != "ok":
        raise InputError(f"profile_likelihood: cannot fit these data: {best.reason}")
    ll = np.array(
        [
            fit_burden(
                times, burden, on, fixed={parameter: float(v)}, detection_limit=detection_limit
            ).loglik
            for v in vals
        ]
    )
    top = max(np.nanmax(ll), best.loglik) if np.isfinite(ll).any() else best.loglik
    return pd.DataFrame(
        {
            "parameter": parameter,
            "value": vals,
            "loglik": ll,
            "within_95": 2 * (top - ll) <= stats.chi2.ppf(0.95, 1),
        }
    )


def _checked_psa(psa: Any, required: tuple[str, ...], fn: str) -> pd.DataFrame:
    """A copy of a Bruchovsky-style table with numeric columns and boolean flags checked."""
    if not isinstance(psa, pd.DataFrame):
        raise InputError(f"{fn}: expected a DataFrame, got {type(psa).__name__}")
    missing = [c for c in required if c not in psa.columns]
    if missing:
        raise SchemaError(
            f"{fn}: the PSA table lacks column(s) {missing}; need {list(required)} "
            "(see fetch_bruchovsky_psa)"
        )
    out = psa.copy()
    out["on_treatment"] = _flags(out["on_treatment"], "column 'on_treatment'", out.index)
    for col in ("day", "psa", "cycle"):
        if col in required:
            out[col] = _numbers(out[col], f"column {col!r}", out.index)
    if out["patient"].isna().any():
        row = out.index[out["patient"].isna().to_numpy()][0]
        raise InputError(f"{fn}: column 'patient', row {row}: missing patient id")
    return out


def _table_limit(psa: pd.DataFrame, detection_limit: Any, fn: str) -> float | None:
    """The assay limit for a whole table: given, else the smallest positive PSA in it.

    One assay measured every patient, so zeros are censored below the smallest value it ever
    reported (not each patient's own smallest value).
    """
    lim = _limit(detection_limit, fn)
    if lim is not None:
        return lim
    pos = psa["psa"].to_numpy(float)
    pos = pos[np.isfinite(pos) & (pos > 0)]
    return float(pos.min()) if pos.size else None


def fit_psa_cohort(
    psa: pd.DataFrame,
    *,
    patients: list[int] | None = None,
    detection_limit: float | None = None,
) -> pd.DataFrame:
    """Per-patient fits of a Bruchovsky-style table (``patient, day, psa, on_treatment``).

    One row per patient with parameters, standard errors, ``sigma``, ``aic``, residual
    diagnostics, ``n_censored``, ``status`` and ``reason`` (failed fits are rows, never
    exceptions). Rates do not depend on the PSA unit (see :func:`fit_burden`). PSA values
    <= 0 or below ``detection_limit`` (same unit as ``psa``) are censored; by default the limit
    is the smallest positive PSA in the table.
    """
    psa = _checked_psa(psa, ("patient", "day", "psa", "on_treatment"), "fit_psa_cohort")
    limit = _table_limit(psa, detection_limit, "fit_psa_cohort")
    rows = []
    for pid, g in psa.groupby("patient"):
        if patients is not None and pid not in patients:
            continue
        g = g.sort_values("day")
        fit = fit_burden(g["day"], g["psa"], g["on_treatment"], detection_limit=limit)
        row: dict[str, Any] = {
            "patient": pid,
            "status": fit.status,
            "reason": fit.reason,
            "n": fit.n,
            "n_censored": fit.n_censored,
            "sigma": fit.sigma,
            "aic": fit.aic if fit.status == "ok" else math.nan,
        }
        row.update(fit.params)
        row.update({f"se_{k}": v for k, v in fit.se.items()})
        if fit.status == "ok":
            row.update(fit.diagnostics())
        rows.append(row)
    return pd.DataFrame(rows)


def forecast_next_cycle(
    psa: pd.DataFrame, *, train_cycles: int = 2, detection_limit: float | None = None
) -> pd.DataFrame:
    """Fit each patient on cycles ``<= train_cycles`` and predict the PSA of the next cycle.

    Returns one row per patient: ``n_train``, ``n_test``, ``n_test_censored``, ``rmse_log``
    (out-of-sample, natural log PSA), ``mape`` (median absolute percentage error), ``status``,
    ``reason``. Both scores are unit-free. Test values <= 0 or below the detection limit
    (default: the smallest positive PSA in the table, as in :func:`fit_psa_cohort`) have no
    measured value to score against; they are counted in ``n_test_censored`` and left out of
    the scores.
    """
    if isinstance(train_cycles, bool) or not isinstance(train_cycles, int | np.integer):
        raise InputError(f"train_cycles must be a whole number of cycles, got {train_cycles!r}")
    psa = _checked_psa(
        psa, ("patient", "day", "psa", "on_treatment", "cycle"), "forecast_next_cycle"
    )
    limit = _table_limit(psa, detection_limit, "forecast_next_cycle")
    rows = []
    for pid, g in psa.groupby("patient"):
        g = g.sort_values("day")
        train = g[g["cycle"] <= train_cycles]
        test = g[(g["cycle"] == train_cycles + 1) & g["psa"].notna()]
        below = (test["psa"] <= 0) | (test["psa"] < (limit if limit is not None else 0.0))
        row: dict[str, Any] = {
            "patient": pid,
            "n_train": int(train["psa"].notna().sum()),
            "n_test": len(test),
            "n_test_censored": int(below.sum()),
        }
        test = test[~below]
        if test.empty:
            row.update(
                status="skipped",
                reason=f"no measured PSA above the detection limit in cycle {train_cycles + 1}"
                if row["n_test"]
                else f"no cycle {train_cycles + 1}",
                rmse_log=math.nan,
                mape=math.nan,
            )
            rows.append(row)
            continue
        # the test period's own on/off flags are known (they are the protocol), PSA is not
        fit = fit_burden(train["day"], train["psa"], train["on_treatment"], detection_limit=limit)
        if fit.status != "ok":
            row.update(status="failed", reason=fit.reason, rmse_log=math.nan, mape=math.nan)
            rows.append(row)
            continue
        upto = g[g["cycle"] <= train_cycles + 1]
        theta = np.array([fit.params[p] for p in PARAMS])
        tt = test["day"].to_numpy(float)
        pred = np.exp(
            _predict(
                theta,
                tt,
                _on_time(tt, upto["day"].to_numpy(float), upto["on_treatment"].to_numpy(bool)),
            )
        )
        obs = test["psa"].to_numpy(float)
        err = np.log(pred) - np.log(obs)
        row.update(
            status="ok",
            reason="",
            rmse_log=float(np.sqrt(np.mean(err**2))),
            mape=float(np.median(np.abs(pred - obs) / obs)),
        )
        rows.append(row)
    return pd.DataFrame(rows)
